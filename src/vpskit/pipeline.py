"""Two steps per video on one pool of workers, with a step in the calling process between them
that must see the videos in order (e.g. colours unique in a split, given video after video).

:func:`map_pipeline` runs ``first`` for each item on the workers, hands each result to
``between`` in the caller in the items' order, and runs ``then`` on what ``between`` returns,
again on the workers. The second steps go ahead of new first steps, and only a few first
results wait for their turn, so memory stays bounded by a few videos' worth of them. Faults end
as in :func:`vpskit.parallel.map_videos`: the first error stops the run, a worker that dies
gives :class:`~vpskit.errors.VpsError` naming the videos it lost, Ctrl-C stops the workers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from . import parallel
from .parallel import ProgressBar, _call, _local_pool, default_jobs, map_videos, progress_bar

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")
U = TypeVar("U")


def map_pipeline(
    first: Callable[[Any, T], R],
    between: Callable[[T, R], S | None],
    then: Callable[[Any, S], U],
    items: Sequence[T] | Iterable[T],
    *,
    context: Any = None,
    jobs: int | None = None,
    desc: str = "",
    progress: bool | None = None,
) -> list[tuple[R, U | None]]:
    """``[(r, then(context, s)) for item in items]`` with ``r = first(context, item)`` and
    ``s = between(item, r)``; ``between`` runs in this process, in the order of ``items``, and
    may return None for an item that needs no second step (its ``then`` result is None).

    ``first`` and ``then`` must be module-level functions; ``context`` is sent once to each
    worker. On one job the three steps run here, item after item; on a Dask scheduler (see
    :func:`vpskit.parallel.use_scheduler`) the first steps all run, then the second ones.
    """
    items = list(items)
    if not items:
        return []
    jobs = default_jobs() if jobs is None or jobs <= 0 else jobs
    jobs = min(jobs, len(items))
    if parallel._SCHEDULER is not None:
        firsts = map_videos(first, items, context=context, desc=f"{desc} (1/2)", progress=progress)
        args = [between(item, r) for item, r in zip(items, firsts, strict=True)]
        todo = [i for i, a in enumerate(args) if a is not None]
        done = map_videos(then, [args[i] for i in todo], context=context, desc=desc, progress=progress)
        thens: list[Any] = [None] * len(items)
        for i, u in zip(todo, done, strict=True):
            thens[i] = u
        return list(zip(firsts, thens, strict=True))
    bar = progress_bar(len(items), desc, progress)
    try:
        if jobs == 1:
            out = []
            for item in items:
                r = first(context, item)
                s = between(item, r)
                out.append((r, None if s is None else then(context, s)))
                bar.update(1)
            return out
        return _pipeline_pool(first, between, then, items, context, jobs, bar)
    finally:
        bar.close()


def _pipeline_pool(first: Callable[[Any, T], R], between: Callable[[T, R], S | None],
                   then: Callable[[Any, S], U], items: list[T], context: Any, jobs: int,
                   bar: ProgressBar) -> list[tuple[R, U | None]]:
    n = len(items)
    ahead = 2 * jobs  # first results (and first steps running) ahead of the next `between`
    firsts: dict[int, R] = {}
    out: list[Any] = [None] * n
    collected = [False] * n
    ready: deque[tuple[int, S]] = deque()  # second steps waiting for a worker
    running: dict[Future, tuple[int, bool]] = {}  # future -> (item, is it the second step)
    cursor = {"first": 0, "between": 0}

    def fill(pool: ProcessPoolExecutor) -> None:
        # one task queued beyond the workers keeps them busy; second steps go first
        while len(running) < jobs + 1:
            if ready:
                i, arg = ready.popleft()
                running[pool.submit(_call, then, i, arg)] = (i, True)
            elif cursor["first"] < n and cursor["first"] - cursor["between"] < ahead:
                i = cursor["first"]
                running[pool.submit(_call, first, i, items[i])] = (i, False)
                cursor["first"] += 1
            else:
                return

    def finish(i: int, second: U | None) -> None:
        out[i] = (out[i], second)
        collected[i] = True
        bar.update(1)

    with _local_pool(items, context, jobs, collected, fill) as pool:
        while not all(collected):
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=running.__getitem__):
                i, second = running.pop(fut)
                if second:
                    finish(i, fut.result())
                else:
                    firsts[i] = fut.result()
            while cursor["between"] in firsts:
                i = cursor["between"]
                out[i] = firsts.pop(i)
                arg = between(items[i], out[i])
                cursor["between"] += 1
                if arg is None:
                    finish(i, None)
                else:
                    ready.append((i, arg))
            fill(pool)
    return out
