"""Work spread over processes: ``map_forked(fn, n, jobs)`` is ``[fn(i) for i in range(n)]``,
computed by ``jobs`` forked workers that take indices from a queue (the next free worker
takes the next index), with the results in index order — so a parallel run's output is the
serial run's. Workers are forked (they inherit the parent's inputs; only results are
pickled back); where fork is not available, or for one job or one item, it runs serially.

Sharding splits work over CI jobs instead: ``in_shard(key, shard)`` keeps an item in one
of N shards by a stable hash of its key (CRC-32), so the split does not depend on the
order files are read, and a new file moves no other item to another shard.
"""
from __future__ import annotations

import multiprocessing
import os
import traceback
import zlib
from typing import Callable, TypeVar

T = TypeVar("T")


class WorkerError(RuntimeError):
    """An item failed in a worker: its traceback, as text."""


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def map_forked(fn: Callable[[int], T], count: int, jobs: int) -> list[T]:
    jobs = min(jobs, count)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(i) for i in range(count)]
    ctx = multiprocessing.get_context("fork")
    tasks: multiprocessing.Queue = ctx.Queue()
    done: multiprocessing.Queue = ctx.Queue()
    for i in range(count):
        tasks.put(i)
    for _ in range(jobs):
        tasks.put(None)

    def work() -> None:
        while (i := tasks.get()) is not None:
            try:
                done.put((i, True, fn(i)))
            except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
                done.put((i, False, traceback.format_exc()))

    workers = [ctx.Process(target=work, daemon=True) for _ in range(jobs)]
    for w in workers:
        w.start()
    out: dict[int, T] = {}
    try:
        while len(out) < count:
            i, ok, value = done.get()
            if not ok:
                raise WorkerError(value)
            out[i] = value
    finally:
        for w in workers:
            if w.is_alive() and len(out) < count:
                w.terminate()
            w.join()
    return [out[i] for i in range(count)]


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (1 <= I <= N) -> (I, N); ValueError otherwise."""
    i, sep, n = text.partition("/")
    if not sep or not i.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(f"expected I/N such as 1/4, got {text!r}")
    a, b = int(i), int(n)
    if not 1 <= a <= b:
        raise ValueError(f"expected 1 <= I <= N, got {text!r}")
    return a, b


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    i, n = shard
    return zlib.crc32(key.encode("utf-8")) % n == i - 1
