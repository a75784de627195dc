"""One ``map over videos``: in-process, on a local process pool, or on a Dask cluster.

Results come back in the order of the items, whatever the number of workers, so that every
output built from them is the same for any ``--jobs``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")

_CONTEXT: Any = None
_SCHEDULER: str | None = None


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


def _init_worker(context: Any) -> None:
    global _CONTEXT
    _CONTEXT = context


def _call(fn: Callable[[Any, Any], R], item: Any) -> R:
    return fn(_CONTEXT, item)


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


class _Bar(tqdm):
    monitor_interval = 0  # no monitor thread, so that forking workers stays safe


def progress_bar(total: int, desc: str, enabled: bool | None = None) -> tqdm:
    """A progress bar on stderr; by default shown only when stderr is a terminal."""
    return _Bar(total=total, desc=desc, unit="video", disable=(not enabled) if enabled is not None else None,
                leave=False, dynamic_ncols=True)


def map_videos(
    fn: Callable[[Any, T], R],
    items: Sequence[T] | Iterable[T],
    *,
    context: Any = None,
    jobs: int | None = None,
    desc: str = "",
    progress: bool | None = None,
    scheduler: str | None = None,
) -> list[R]:
    """Return ``[fn(context, item) for item in items]``, computed on ``jobs`` processes.

    ``fn`` must be a module-level function. ``context`` is sent once to each worker.
    ``scheduler`` is the address of a Dask distributed scheduler (``pip install vpskit[dask]``;
    default: the one set with :func:`use_scheduler`); when given, the work runs there instead of
    on local processes, and ``jobs`` is ignored.
    The first exception raised by any item stops the run and is re-raised here.
    """
    items = list(items)
    if not items:
        return []
    scheduler = scheduler or _SCHEDULER
    jobs = default_jobs() if jobs is None or jobs <= 0 else jobs
    jobs = min(jobs, len(items))
    bar = progress_bar(len(items), desc, progress)
    try:
        if scheduler:
            return _map_dask(fn, items, context, scheduler, bar)
        if jobs == 1:
            out = []
            for item in items:
                out.append(fn(context, item))
                bar.update(1)
            return out
        results: list[Any] = [None] * len(items)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(),
                                 initializer=_init_worker, initargs=(context,)) as pool:
            futures = {pool.submit(_call, fn, item): i for i, item in enumerate(items)}
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for fut in sorted(done, key=futures.__getitem__):
                        results[futures[fut]] = fut.result()
                        bar.update(1)
            except BaseException:
                for fut in pending:
                    fut.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return results
    finally:
        bar.close()


def _map_dask(fn: Callable[[Any, T], R], items: list[T], context: Any, scheduler: str, bar: tqdm) -> list[R]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:  # pragma: no cover - optional extra
        from .errors import VpsError

        raise VpsError("--scheduler", "needs Dask: install vpskit[dask]") from None
    with Client(scheduler) as client:
        ctx = client.scatter(context, broadcast=True) if context is not None else None
        futures = [client.submit(fn, ctx, item, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(items)
        for fut in as_completed(futures):
            results[index[fut.key]] = fut.result()
            bar.update(1)
        return results
