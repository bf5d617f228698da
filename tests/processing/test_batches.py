"""Batches: modality grouping, length sorting, order restored, decoding ahead and once, the error policy."""

from __future__ import annotations

import threading

import pytest

from omniembed.errors import ConfigError, InputError, MediaDecodeError
from omniembed.processing.batches import Job, MediaLoader, check_on_error, input_length, plan_batches, run_batches


def jobs_of(items):
    return [Job(i, "image" if item.startswith("img") else "text", (item,),
                ("image",) if item.startswith("img") else ("text",), length=input_length(item))
            for i, item in enumerate(items)]


def first_side(job, sides):
    return sides[0]


def run(jobs, decode, process, *, batch_size=8, num_workers=2, on_error="raise"):
    loader = MediaLoader(jobs, decode, num_workers)
    try:
        return run_batches(plan_batches(jobs, batch_size), loader, first_side, process, on_error=on_error)
    finally:
        loader.close()


def test_plan_groups_by_modality_and_sorts_by_length():
    jobs = jobs_of(["aa", "img1", "a", "aaaa", "img22", "aaa"])
    plan = [[j.index for j in b] for b in plan_batches(jobs, batch_size=2)]
    assert plan == [[3, 5], [0, 2], [4, 1]]


def test_plan_is_stable_for_equal_lengths():
    jobs = jobs_of(["ab", "cd", "ef"])
    assert [[j.index for j in b] for b in plan_batches(jobs, batch_size=8)] == [[0, 1, 2]]


@pytest.mark.parametrize("num_workers", [0, 1, 3])
def test_results_keyed_by_input_index(num_workers):
    items = ["img" + "x" * n for n in (3, 1, 4, 1, 5, 9, 2, 6)]
    results, failures = run(jobs_of(items), lambda side, modality: side.upper(),
                            lambda jobs, values: [f"{j.index}:{v}" for j, v in zip(jobs, values)], batch_size=3,
                            num_workers=num_workers)
    assert [results[i] for i in range(len(items))] == [f"{i}:{s.upper()}" for i, s in enumerate(items)]
    assert failures == []


def test_text_needs_no_thread_and_no_decoding():
    def decode(side, modality):
        raise AssertionError("text is never decoded")

    jobs = jobs_of(["a", "bb", "ccc"])
    loader = MediaLoader(jobs, decode, num_workers=4)
    assert loader._pool is None
    assert loader.take(jobs[1]) == ("bb",)


def test_next_batch_is_decoded_while_the_current_one_is_processed():
    second_batch_decoding = threading.Event()

    def decode(side, modality):
        if side in ("c", "d"):
            second_batch_decoding.set()
        return side

    def process(jobs, values):
        if jobs[0].index < 2:  # the first batch waits until the next batch's decode has started
            assert second_batch_decoding.wait(timeout=5), "no prefetch: batch 2 was not decoding during batch 1"
        return values

    jobs = [Job(i, "image", (side,), ("image",)) for i, side in enumerate("abcd")]
    results, _ = run(jobs, decode, process, batch_size=2)
    assert results == {0: "a", 1: "b", 2: "c", 3: "d"}


def failing_decode(side, modality):
    if side == "bad":
        raise MediaDecodeError("not a valid image", item=side)
    return side


def test_raise_policy_names_the_index():
    jobs = [Job(i, "image", (side,), ("image",)) for i, side in enumerate(["a", "b", "bad"])]
    with pytest.raises(MediaDecodeError, match=r"^Item 2 \('bad'\): not a valid image$"):
        run(jobs, failing_decode, lambda j, v: v)


def test_skip_policy_records_failures_and_keeps_the_rest():
    jobs = [Job(i, "image", (side,), ("image",)) for i, side in enumerate(["a", "bad", "c"])]
    results, failures = run(jobs, failing_decode, lambda j, v: v, on_error="skip")
    assert results == {0: "a", 2: "c"}
    assert [(f.index, type(f.error).__name__) for f in failures] == [(1, "MediaDecodeError")]


def test_skip_policy_isolates_an_item_that_breaks_its_batch_in_the_model_step():
    def process(jobs, values):
        if "poison" in values:
            raise InputError("the processor rejected this batch")
        return [v * 2 for v in values]

    jobs = [Job(i, "audio", (side,), ("audio",)) for i, side in enumerate(["a", "poison", "c"])]
    results, failures = run(jobs, lambda side, modality: side, process, num_workers=0, on_error="skip")
    assert results == {0: "aa", 2: "cc"}
    assert [f.index for f in failures] == [1]


def test_unknown_policy_is_a_config_error():
    with pytest.raises(ConfigError, match="on_error must be 'raise' or 'skip'") as info:
        check_on_error("ignore")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_the_same_object_listed_twice_is_decoded_once_and_failures_keep_their_own_index(num_workers):
    calls = []
    shared_bad, shared_good = object(), object()

    def decode(side, modality):
        calls.append(side)
        if side is shared_bad:
            raise MediaDecodeError("not a valid image", item="x.jpg")
        return "decoded"

    jobs = [Job(i, "image", (side,), ("image",))
            for i, side in enumerate([shared_good, shared_bad, shared_good, shared_bad])]
    results, failures = run(jobs, decode, lambda jobs, values: values, batch_size=2, num_workers=num_workers,
                            on_error="skip")
    assert results == {0: "decoded", 2: "decoded"}
    assert len(calls) == 2
    assert [f.index for f in failures] == [1, 3]
    assert [str(f.error).split(" ")[1] for f in failures] == ["1", "3"]


def test_a_decoded_object_is_freed_after_its_last_use():
    shared = object()
    jobs = [Job(0, "image", (shared,), ("image",)), Job(1, "image", (shared,), ("image",))]
    loader = MediaLoader(jobs, lambda side, modality: "decoded", num_workers=0)
    assert loader.take(jobs[0]) == ("decoded",) and len(loader._decoded) == 1
    assert loader.take(jobs[1]) == ("decoded",) and loader._decoded == {}


class TwoStep:
    """A batch step with ``prepare`` (which ``ahead`` runs in a thread) and ``finish``; records what ran where."""

    def __init__(self, *, wait_for_next_prepare: bool = False):
        self.prepared_by, self.wait = [], wait_for_next_prepare
        self.started = {}  # first index of a batch → its prepare has started

    def prepare(self, jobs, values):
        self.prepared_by.append(threading.current_thread().name)
        self.started.setdefault(jobs[0].index, threading.Event()).set()
        if "poison" in values:
            raise InputError("the processor rejected this batch")
        return [v.upper() for v in values]

    def finish(self, jobs, prepared):
        if self.wait and jobs[0].index == 0:  # batch 1 must be in preparation while batch 0 finishes
            assert self.started.setdefault(2, threading.Event()).wait(timeout=5), "batch 2 was not prepared ahead"
        return prepared

    def __call__(self, jobs, values):
        return self.finish(jobs, self.prepare(jobs, values))


def run_ahead(items, step, *, on_error="raise", batch_size=2):
    jobs = [Job(i, "image", (side,), ("image",)) for i, side in enumerate(items)]
    loader = MediaLoader(jobs, lambda side, modality: side, 0)
    return run_batches(plan_batches(jobs, batch_size), loader, first_side, step, on_error=on_error, ahead=True)


def test_ahead_prepares_the_next_batch_in_a_thread_while_the_current_one_finishes():
    step = TwoStep(wait_for_next_prepare=True)
    results, failures = run_ahead(list("abcde"), step)
    assert results == {0: "A", 1: "B", 2: "C", 3: "D", 4: "E"} and failures == []
    assert len(step.prepared_by) == 3 and all(name.startswith("omniembed-prepare") for name in step.prepared_by)


def test_ahead_a_batch_whose_preparation_fails_is_retried_item_by_item():
    step = TwoStep()
    results, failures = run_ahead(["a", "b", "poison", "d", "e"], step, on_error="skip")
    assert results == {0: "A", 1: "B", 3: "D", 4: "E"}
    assert [(f.index, type(f.error).__name__) for f in failures] == [(2, "InputError")]
    assert step.prepared_by.count("MainThread") == 2  # the failed batch's two items, one by one


def test_ahead_raise_policy_raises_the_preparation_error():
    with pytest.raises(InputError, match="the processor rejected this batch"):
        run_ahead(["a", "b", "poison", "d"], TwoStep())
