"""model/parallel.py: forked workers give the serial results in order; shards partition."""
from __future__ import annotations

import os
import time

import pytest

from zdverify.model.parallel import WorkerError, in_shard, map_forked, parse_shard


def test_forked_results_come_back_in_order_from_several_processes() -> None:
    def slow(i: int) -> tuple[int, int]:
        time.sleep(0.05)  # long enough that one worker cannot take every item
        return i * i, os.getpid()

    pids = map_forked(slow, 12, 3)
    assert [x for x, _ in pids] == [i * i for i in range(12)]
    assert len({pid for _, pid in pids}) > 1 and os.getpid() not in {pid for _, pid in pids}
    assert map_forked(lambda i: i, 3, 1) == [0, 1, 2]  # one job: no process at all


def test_a_failing_item_is_raised_with_its_traceback() -> None:
    def boom(i: int) -> int:
        if i == 2:
            raise ValueError("item two")
        return i

    with pytest.raises(WorkerError, match="item two"):
        map_forked(boom, 5, 2)


def test_shards_partition_the_keys() -> None:
    keys = [f"Deployment/default/web-{i}" for i in range(200)]
    shards = [[k for k in keys if in_shard(k, (i, 4))] for i in range(1, 5)]
    assert sorted(k for s in shards for k in s) == sorted(keys)
    assert all(shards)  # each of four shards gets some of 200 workloads
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "1", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)
