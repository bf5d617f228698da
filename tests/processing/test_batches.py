"""The batching engine: modality grouping, length sorting, order restored, prefetch overlap, error policy."""

from __future__ import annotations

import threading

import pytest

from omniembed.errors import InputError, MediaDecodeError
from omniembed.processing.pipeline import BatchRunner, Job, input_length, plan_batches


def jobs_of(items):
    return [Job(i, item, "image" if item.startswith("img") else "text", input_length(item))
            for i, item in enumerate(items)]


def test_plan_groups_by_modality_and_sorts_by_length():
    jobs = jobs_of(["aa", "img1", "a", "aaaa", "img22", "aaa"])
    plan = [[j.index for j in b] for b in plan_batches(jobs, batch_size=2)]
    assert plan == [[3, 5], [0, 2], [4, 1]]


def test_plan_is_stable_for_equal_lengths():
    jobs = jobs_of(["ab", "cd", "ef"])
    assert [[j.index for j in b] for b in plan_batches(jobs, batch_size=8)] == [[0, 1, 2]]


@pytest.mark.parametrize("num_workers", [0, 1, 3])
def test_results_keyed_by_input_index(num_workers):
    items = ["x" * n for n in (3, 1, 4, 1, 5, 9, 2, 6)]
    runner = BatchRunner(lambda job: job.item.upper(), num_workers=num_workers)
    results = runner.run(plan_batches(jobs_of(items), 3), lambda jobs, values: [f"{j.index}:{v}" for j, v in
                                                                                  zip(jobs, values)])
    assert [results[i] for i in range(len(items))] == [f"{i}:{s.upper()}" for i, s in enumerate(items)]


def test_next_batch_is_loaded_while_the_current_one_is_processed():
    second_batch_loading = threading.Event()

    def load(job):
        if job.index >= 2:
            second_batch_loading.set()
        return job.item

    def process(jobs, values):
        if jobs[0].index < 2:  # the first batch waits until the next batch's decode has started
            assert second_batch_loading.wait(timeout=5), "no prefetch: batch 2 was not loading during batch 1"
        return values

    runner = BatchRunner(load, num_workers=2, prefetch_batches=2)
    batches = [[Job(0, "a", "image"), Job(1, "b", "image")], [Job(2, "c", "image"), Job(3, "d", "image")]]
    assert runner.run(batches, process) == {0: "a", 1: "b", 2: "c", 3: "d"}


def failing_load(job):
    if job.item == "bad":
        raise MediaDecodeError("not a valid image", item=job.item)
    return job.item


def test_raise_policy_names_the_index():
    runner = BatchRunner(failing_load, num_workers=2)
    with pytest.raises(MediaDecodeError, match=r"^Item 2 \('bad'\): not a valid image$"):
        runner.run([[Job(0, "a", "image"), Job(1, "b", "image"), Job(2, "bad", "image")]], lambda j, v: v)


def test_skip_policy_records_failures_and_keeps_the_rest():
    runner = BatchRunner(failing_load, num_workers=2, on_error="skip")
    results = runner.run([[Job(0, "a", "image"), Job(1, "bad", "image"), Job(2, "c", "image")]], lambda j, v: v)
    assert results == {0: "a", 2: "c"}
    assert [(f.index, type(f.error).__name__) for f in runner.failures] == [(1, "MediaDecodeError")]


def test_skip_policy_isolates_an_item_that_breaks_its_batch_in_the_model_step():
    def process(jobs, values):
        if "poison" in values:
            raise InputError("the processor rejected this batch")
        return [v * 2 for v in values]

    runner = BatchRunner(lambda job: job.item, num_workers=0, on_error="skip")
    results = runner.run([[Job(0, "a", "audio"), Job(1, "poison", "audio"), Job(2, "c", "audio")]], process)
    assert results == {0: "aa", 2: "cc"}
    assert [f.index for f in runner.failures] == [1]


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        BatchRunner(lambda job: job, on_error="ignore")


def test_the_same_object_listed_twice_is_decoded_once_and_failures_keep_their_own_index():
    calls = []
    shared_bad, shared_good = object(), object()

    def load(job):
        calls.append(job.index)
        if job.item is shared_bad:
            raise MediaDecodeError("not a valid image", item="x.jpg")
        return "decoded"

    runner = BatchRunner(load, num_workers=2, on_error="skip")
    batch = [Job(0, shared_good, "image"), Job(1, shared_bad, "image"), Job(2, shared_good, "image"),
             Job(3, shared_bad, "image")]
    results = runner.run([batch], lambda jobs, values: values)
    assert results == {0: "decoded", 2: "decoded"}
    assert len(calls) == 2
    assert [f.index for f in runner.failures] == [1, 3]
    assert [str(f.error).split(" ")[1] for f in runner.failures] == ["1", "3"]
