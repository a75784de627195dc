"""One ``map over videos``: in-process, on a local process pool, or on a Dask cluster.

Results come back in the order of the items, whatever the number of workers, so that every
output built from them is the same for any ``--jobs``. The progress bar advances as each item
finishes. Faults end in one line: the first error of an item stops the run; a worker that dies
(``kill -9``, out of memory) gives a :class:`VpsError` naming the videos it lost; Ctrl-C reaches
only the calling process, which stops the workers; workers whose caller died exit on their own.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from .errors import VpsError
from .naming import video_name

T = TypeVar("T")
R = TypeVar("R")

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""

_CONTEXT: Any = None
_STARTED: Any = None
_SCHEDULER: str | None = None
_PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL = 0.5


def use_scheduler(address: str | None) -> None:
    """Run every later :func:`map_videos` on the Dask scheduler at ``address`` (None: locally).

    The workers must see the same files at the same paths as this process (shared storage).
    """
    global _SCHEDULER
    _SCHEDULER = address or None


def default_jobs() -> int:
    """Number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _item_name(item: object) -> str:
    """A short name of a work item for messages: ``val/0005`` for (split, video, …), ``0005``, …"""
    if isinstance(item, tuple):
        head = list(itertools.islice(itertools.takewhile(lambda x: isinstance(x, (str, int)), item), 2))
    else:
        head = [x for x in (getattr(item, "split", None), getattr(item, "video", None)) if x is not None]
    if not head:
        text = repr(item)
        return text if len(text) <= 40 else text[:37] + "..."
    return "/".join(video_name(x) if isinstance(x, int) else str(x) for x in head)


# --- in the worker processes -------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent ends."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process took the number
        return True
    return True


def _watch_parent(caller: int, parent: int) -> None:
    """Exit as soon as the caller (or the process that forked this one) is gone."""
    while os.getppid() == parent and _alive(caller):
        time.sleep(_WATCH_INTERVAL)
    os._exit(1)


def _init_worker(context: Any, started: Any, caller: int) -> None:
    global _CONTEXT, _STARTED
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the caller, which stops us
    _CONTEXT, _STARTED = context, started
    threading.Thread(target=_watch_parent, args=(caller, os.getppid()), daemon=True,
                     name="vpskit-parent-watch").start()


def _call(fn: Callable[[Any, Any], R], index: int, item: Any) -> R:
    _STARTED[index] = os.getpid()
    return fn(_CONTEXT, item)


# --- in the calling process --------------------------------------------------------------


def _mp_context() -> multiprocessing.context.BaseContext:
    """Fork where that is safe (Linux, no other thread running): workers start in milliseconds.

    Otherwise a fork server that has vpskit's modules imported, or spawn off Linux.
    """
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    with contextlib.suppress(ValueError, RuntimeError):
        ctx.set_forkserver_preload(["vpskit.pngio", "vpskit.parallel"])
    return ctx


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back while processes start, so that they start with it blocked.

    A worker (or the fork server) interrupted before its set-up would print a traceback. A
    Ctrl-C that arrives meanwhile is delivered here when the block ends.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class ProgressBar(Protocol):
    """What :func:`progress_bar` returns: a tqdm bar, or one that draws nothing."""

    def update(self, n: int = 1) -> Any: ...

    def close(self) -> None: ...


class _NoBar:
    """A bar that is not shown (tqdm is not even imported for it)."""

    def update(self, n: int = 1) -> None:
        """Nothing to draw."""

    def close(self) -> None:
        """Nothing to clear."""


def progress_bar(total: int, desc: str, enabled: bool | None = None) -> ProgressBar:
    """A progress bar on stderr, redrawn at every update; by default shown only on a terminal."""
    if enabled is None:
        try:
            enabled = sys.stderr.isatty()
        except (AttributeError, ValueError):  # no stderr, or a closed one
            enabled = False
    if not enabled:
        return _NoBar()
    from tqdm import tqdm  # here: 30-100 ms of start-up that a run without a bar does not need

    class _Bar(tqdm):
        monitor_interval = 0  # no monitor thread, so that forking workers stays safe

    return _Bar(total=total, desc=desc, unit="video", leave=False, dynamic_ncols=True, mininterval=0, miniters=1)


def map_videos(
    fn: Callable[[Any, T], R],
    items: Sequence[T] | Iterable[T],
    *,
    context: Any = None,
    jobs: int | None = None,
    desc: str = "",
    progress: bool | None = None,
    scheduler: str | None = None,
    cost: Callable[[T], float] | None = None,
) -> list[R]:
    """Return ``[fn(context, item) for item in items]``, computed on ``jobs`` processes.

    ``fn`` must be a module-level function. ``context`` is sent once to each worker.
    ``cost``: an estimate of each item's work (e.g. its frames); the workers then take the
    items costliest first, so that a long video does not come last (the results keep the
    items' order).
    ``scheduler`` is the address of a Dask distributed scheduler (the ``dask`` extra;
    default: the one set with :func:`use_scheduler`); when given, the work runs there instead of
    on local processes, and ``jobs`` is ignored.
    The first exception raised by any item stops the run and is re-raised here; a worker process
    that dies raises :class:`VpsError` naming the items it left unfinished.
    """
    items = list(items)
    if not items:
        return []
    scheduler = scheduler or _SCHEDULER
    jobs = default_jobs() if jobs is None or jobs <= 0 else jobs
    jobs = min(jobs, len(items))
    bar = progress_bar(len(items), desc, progress)
    order = list(range(len(items))) if cost is None else sorted(range(len(items)), key=lambda i: -cost(items[i]))
    try:
        if scheduler:
            return _map_dask(fn, items, context, scheduler, bar, order)
        if jobs == 1:
            out = []
            for item in items:
                out.append(fn(context, item))
                bar.update(1)
            return out
        return _map_pool(fn, items, context, jobs, bar, order)
    finally:
        bar.close()


def _map_pool(fn: Callable[[Any, T], R], items: list[T], context: Any, jobs: int, bar: ProgressBar,
              order: list[int]) -> list[R]:
    results: list[Any] = [None] * len(items)
    collected = [False] * len(items)
    futures: dict[Future, int] = {}

    def start(pool: ProcessPoolExecutor) -> None:
        futures.update({pool.submit(_call, fn, i, items[i]): i for i in order})

    with _local_pool(items, context, jobs, collected, start):
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=futures.__getitem__):
                i = futures[fut]
                results[i] = fut.result()
                collected[i] = True
                bar.update(1)
    return results


@contextlib.contextmanager
def _local_pool(items: list[Any], context: Any, jobs: int, collected: list[bool],
                start: Callable[[ProcessPoolExecutor], None]) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``jobs`` workers holding ``context``, on which ``start`` submits the first tasks
    (the workers start then, with Ctrl-C held back); shut down at the end. ``_call`` with an
    item's index records which worker took it: a worker that dies gives :class:`VpsError` naming
    the items started and not ``collected``; an error stops the rest of the work."""
    mp = _mp_context()
    started = mp.RawArray("i", len(items))  # pid of the worker that took each item; 0: not yet
    pool = None
    try:
        with _sigint_held():
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp, initializer=_init_worker,
                                       initargs=(context, started, os.getpid()))
            start(pool)
        yield pool
        pool.shutdown(wait=True)
    except BrokenProcessPool:
        _stop(pool, wait_running=False)
        raise _lost(items, started, collected) from None
    except Exception:
        _stop(pool, wait_running=True)
        raise
    except BaseException:  # Ctrl-C: stop now; every output is written atomically
        _stop(pool, wait_running=False)
        raise


def _stop(pool: ProcessPoolExecutor | None, wait_running: bool) -> None:
    """Cancel what has not started; let the running items finish, or end their workers."""
    if pool is None:
        return
    if not wait_running:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _lost(items: list[Any], started: Any, collected: list[bool]) -> VpsError:
    """The error for a pool whose worker died: the items whose work was lost."""
    lost = [_item_name(item) for i, item in enumerate(items) if started[i] and not collected[i]]
    left = sum(not c for c in collected)
    problem = "a worker process ended abruptly (killed, or out of memory?); re-run to finish"
    if not lost:
        return VpsError(f"{left} video(s) not done", problem)
    shown = ", ".join(lost[:8]) + (f" and {len(lost) - 8} more" if len(lost) > 8 else "")
    return VpsError(f"video{'s' if len(lost) > 1 else ''} {shown}", "lost: " + problem)


def _map_dask(fn: Callable[[Any, T], R], items: list[T], context: Any, scheduler: str,
              bar: ProgressBar, order: list[int]) -> list[R]:
    from dask.distributed import as_completed

    with _dask_client(scheduler) as client:
        ctx = client.scatter(context, broadcast=True) if context is not None else None
        futures = [client.submit(fn, ctx, items[i], pure=False, priority=len(order) - rank)
                   for rank, i in enumerate(order)]
        index = {f.key: i for f, i in zip(futures, order, strict=True)}
        results: list[Any] = [None] * len(items)
        try:
            for fut in as_completed(futures, loop=client.loop):
                results[index[fut.key]] = fut.result()
                bar.update(1)
        except BaseException:
            with contextlib.suppress(Exception):
                client.cancel(futures)
            raise
        return results


def _dask_client(address: str) -> Any:
    """A client of the Dask scheduler at ``address``, or VpsError within about CONNECT_TIMEOUT s.

    The address is tried before a client is made: a refused or silent address, or one where
    something else answers, gives one line instead of a client that retries for 30 s and then
    complains while it is torn down.
    """
    import asyncio  # here: 40 ms of start-up that only --scheduler needs

    try:
        from dask.distributed import Client
        from distributed.comm import connect
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:  # pragma: no cover - optional extra
        raise VpsError("--scheduler", "needs Dask: install the dask extra (uv sync --extra dask)") from None
    where = f"--scheduler {address}"
    try:
        scheme, location = parse_address(address)
        host_port = parse_host_port(location) if scheme in ("tcp", "tls") else None
    except ValueError as exc:
        raise VpsError(where, f"not a scheduler address ({exc})") from None
    deadline = time.monotonic() + CONNECT_TIMEOUT

    def no_answer(reason: str) -> VpsError:
        return VpsError(where, f"no Dask scheduler answers there ({reason})")

    if host_port is not None:
        try:
            socket.create_connection(host_port, timeout=CONNECT_TIMEOUT).close()
        except OSError as exc:
            raise no_answer(exc.strerror or str(exc) or type(exc).__name__) from None

    async def handshake() -> None:
        left = max(0.5, deadline - time.monotonic())
        comm = await asyncio.wait_for(connect(address, timeout=left), left)
        await comm.close()

    try:
        _run_coroutine(handshake)
    except (asyncio.TimeoutError, TimeoutError):
        raise no_answer(f"no reply within {CONNECT_TIMEOUT:g} s") from None
    except OSError as exc:
        raise no_answer(" ".join(str(exc).split()) or type(exc).__name__) from None
    except Exception as exc:
        raise no_answer(f"the reply is not Dask's: {type(exc).__name__}") from None
    return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)


def _run_coroutine(make: Callable[[], Any]) -> Any:
    """Run ``make()`` on a fresh event loop in its own thread (the caller may be running one)."""
    import asyncio

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = asyncio.run(make())
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name="vpskit-dask-hello", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")
