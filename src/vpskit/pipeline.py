"""Two steps per video on the workers, with a step in the calling process between them that
must see the videos in order (e.g. colours unique in a split, given video after video).

:func:`map_pipeline` runs ``first`` for each item on the workers, hands each result to
``between`` in the caller in the items' order, and runs ``then`` on what ``between`` returns,
again on the workers. Second steps go ahead of new first steps, and only a few first results
wait for their turn, so memory stays bounded by a few videos' worth of them, on local processes
as on a Dask cluster. Faults end as in :func:`vpskit.parallel.map_videos`: the first error stops
the run, a local worker that dies gives :class:`~vpskit.errors.VpsError` naming the videos it
lost, Ctrl-C stops the workers.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Generic, TypeVar

from . import parallel
from .parallel import ProgressBar, _call, _dask_client, _local_pool, default_jobs, progress_bar

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")
U = TypeVar("U")

Submit = Callable[[Callable[[Any, Any], Any], int, Any], Any]
"""Starts ``fn(context, arg)`` for item ``i`` on a worker; returns its future."""


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
    worker. On one job the three steps run here, item after item; with a Dask scheduler set
    (:func:`vpskit.parallel.use_scheduler`) they run on its workers, ``jobs`` ignored.
    """
    items = list(items)
    if not items:
        return []
    jobs = default_jobs() if jobs is None or jobs <= 0 else jobs
    jobs = min(jobs, len(items))
    bar = progress_bar(len(items), desc, progress)
    try:
        if parallel._SCHEDULER is not None:
            return _on_dask(_Order(first, between, then, items, bar), context, parallel._SCHEDULER)
        if jobs == 1:
            out = []
            for item in items:
                r = first(context, item)
                s = between(item, r)
                out.append((r, None if s is None else then(context, s)))
                bar.update(1)
            return out
        return _on_pool(_Order(first, between, then, items, bar), context, jobs)
    finally:
        bar.close()


class _Order(Generic[T, R, S, U]):
    """Which step to start next and what the caller does with each finished one (wherever the
    steps run): second steps first, first steps while fewer than ``2 x slots`` first results
    wait for ``between``; ``between`` on each first result in the items' order."""

    def __init__(self, first: Callable[[Any, T], R], between: Callable[[T, R], S | None],
                 then: Callable[[Any, S], U], items: list[T], bar: ProgressBar) -> None:
        self.first, self.between, self.then, self.items, self.bar = first, between, then, items, bar
        self.out: list[Any] = [None] * len(items)
        self.collected = [False] * len(items)
        self.running: dict[Any, tuple[int, bool]] = {}  # future -> (item, is it the second step)
        self._firsts: dict[int, R] = {}  # first results waiting for `between`
        self._ready: deque[tuple[int, S]] = deque()  # second steps waiting for a worker
        self._next_first = self._next_between = 0

    def fill(self, submit: Submit, slots: int) -> None:
        """Start steps until ``slots`` + 1 run (one queued beyond the workers keeps them busy)."""
        while len(self.running) <= slots:
            if self._ready:
                i, arg = self._ready.popleft()
                self.running[submit(self.then, i, arg)] = (i, True)
            elif self._next_first < len(self.items) and self._next_first - self._next_between < 2 * slots:
                i = self._next_first
                self.running[submit(self.first, i, self.items[i])] = (i, False)
                self._next_first += 1
            else:
                return

    def take(self, done: Iterable[Any]) -> None:
        """Collect finished steps (raising a step's error) and pass first results to ``between``."""
        for fut in sorted(done, key=self.running.__getitem__):
            i, second = self.running.pop(fut)
            if second:
                self._finish(i, fut.result())
            else:
                self._firsts[i] = fut.result()
        while self._next_between in self._firsts:
            i = self._next_between
            self.out[i] = self._firsts.pop(i)
            arg = self.between(self.items[i], self.out[i])
            self._next_between += 1
            if arg is None:
                self._finish(i, None)
            else:
                self._ready.append((i, arg))

    def _finish(self, i: int, second: Any) -> None:
        self.out[i] = (self.out[i], second)
        self.collected[i] = True
        self.bar.update(1)

    def done(self) -> bool:
        return all(self.collected)


def _on_pool(order: _Order, context: Any, jobs: int) -> list:
    def submit_to(pool: ProcessPoolExecutor) -> Submit:
        return lambda fn, i, arg: pool.submit(_call, fn, i, arg)

    with _local_pool(order.items, context, jobs, order.collected,
                     lambda pool: order.fill(submit_to(pool), jobs)) as pool:
        while not order.done():
            order.take(wait(order.running, return_when=FIRST_COMPLETED)[0])
            order.fill(submit_to(pool), jobs)
    return order.out


def _on_dask(order: _Order, context: Any, scheduler: str) -> list:
    from dask.distributed import as_completed

    with _dask_client(scheduler) as client:
        ctx = client.scatter(context, broadcast=True) if context is not None else None
        slots = max(1, sum(client.nthreads().values()))
        finished = as_completed(loop=client.loop)

        def submit(fn: Callable[[Any, Any], Any], i: int, arg: Any) -> Any:
            fut = client.submit(fn, ctx, arg, pure=False)
            finished.add(fut)
            return fut

        try:
            order.fill(submit, slots)
            while not order.done():
                order.take(finished.next_batch(block=True))
                order.fill(submit, slots)
        except BaseException:
            with contextlib.suppress(Exception):
                client.cancel(list(order.running))
            raise
    return order.out
