"""DynamicBatcher on its own: grouping by key, the batch-size cap, the wait, failure isolation, draining."""

from __future__ import annotations

import threading
import time

import pytest

from omniembed.server.batcher import BatcherClosedError, DynamicBatcher


class Recorder:
    def __init__(self, delay: float = 0.0, fail_on: object = None) -> None:
        self.calls: list[tuple[object, list]] = []
        self.delay, self.fail_on = delay, fail_on
        self.lock = threading.Lock()

    def __call__(self, key, items):
        with self.lock:
            self.calls.append((key, list(items)))
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError(f"cannot handle {self.fail_on!r}")
        time.sleep(self.delay)
        return [f"{key}:{item}" for item in items]


def make(run, **kwargs) -> DynamicBatcher:
    batcher = DynamicBatcher("test", run, **kwargs)
    batcher.start()
    return batcher


def test_concurrent_requests_share_one_call_and_get_their_own_rows():
    run = Recorder()
    batcher = make(run, max_batch_size=16, wait_s=0.2)
    futures = [batcher.submit("k", [f"r{i}a", f"r{i}b"]) for i in range(5)]
    assert [f.result(5) for f in futures] == [[f"k:r{i}a", f"k:r{i}b"] for i in range(5)]
    assert len(run.calls) == 1 and len(run.calls[0][1]) == 10
    batcher.close()


def test_keys_never_mix_and_the_cap_holds():
    run = Recorder()
    batcher = make(run, max_batch_size=4, wait_s=0.1)
    futures = [batcher.submit(key, [n]) for n, key in enumerate("aabbaabbaa")]
    assert [f.result(5)[0].split(":")[0] for f in futures] == list("aabbaabbaa")
    for key, items in run.calls:
        assert len(items) <= 4
    assert sorted(n for key, items in run.calls if key == "a" for n in items) == [0, 1, 4, 5, 8, 9]
    batcher.close()


def test_a_request_larger_than_the_cap_runs_alone():
    run = Recorder()
    batcher = make(run, max_batch_size=3, wait_s=0.05)
    big, small = batcher.submit("k", list(range(7))), batcher.submit("k", ["x"])
    assert len(big.result(5)) == 7 and small.result(5) == ["k:x"]
    assert [len(items) for _, items in run.calls] == [7, 1]
    batcher.close()


def test_the_wait_is_bounded_by_the_oldest_item():
    run = Recorder()
    batcher = make(run, max_batch_size=100, wait_s=0.15)
    started = time.perf_counter()
    assert batcher.submit("k", ["only"]).result(5) == ["k:only"]
    elapsed = time.perf_counter() - started
    assert 0.14 <= elapsed < 2.0
    batcher.close()


def test_a_full_batch_does_not_wait():
    run = Recorder()
    batcher = make(run, max_batch_size=2, wait_s=5.0)
    started = time.perf_counter()
    assert batcher.submit("k", ["a", "b"]).result(5) == ["k:a", "k:b"]
    assert time.perf_counter() - started < 2.0
    batcher.close()


def test_one_failing_request_does_not_fail_the_others():
    run = Recorder(fail_on="bad")
    batcher = make(run, max_batch_size=16, wait_s=0.2)
    good1, bad, good2 = (batcher.submit("k", items) for items in (["a"], ["bad", "c"], ["d"]))
    assert good1.result(5) == ["k:a"] and good2.result(5) == ["k:d"]
    with pytest.raises(RuntimeError, match="cannot handle 'bad'"):
        bad.result(5)
    assert run.calls[0][1] == ["a", "bad", "c", "d"]  # tried together first
    batcher.close()


def test_close_drains_the_queue_then_refuses_work():
    run = Recorder(delay=0.05)
    batcher = make(run, max_batch_size=2, wait_s=1.0)
    futures = [batcher.submit("k", [i]) for i in range(6)]
    batcher.close()
    assert [f.result(0) for f in futures] == [[f"k:{i}"] for i in range(6)]
    with pytest.raises(BatcherClosedError):
        batcher.submit("k", ["late"])


def test_stats_callback():
    seen = []
    batcher = make(Recorder(), max_batch_size=8, wait_s=0.1, on_batch=seen.append)
    batcher.submit("k", [1, 2]).result(5)
    batcher.close()
    assert seen[0].items == 2 and seen[0].requests == 1 and seen[0].run_seconds >= 0
    assert len(seen[0].queue_seconds) == 1 and seen[0].queue_seconds[0] >= 0.09


def test_flush_stops_waiting_for_a_batch_to_fill():
    batcher = make(Recorder(), max_batch_size=100, wait_s=60.0)
    future = batcher.submit("k", ["a"])
    time.sleep(0.1)
    assert not future.done()
    started = time.perf_counter()
    batcher.flush()
    assert future.result(10) == ["k:a"] and time.perf_counter() - started < 5
    assert batcher.submit("k", ["b"]).result(10) == ["k:b"]  # still serving, without the wait
    batcher.close()
