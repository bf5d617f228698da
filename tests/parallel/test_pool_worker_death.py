"""A worker killed mid-chunk (SIGKILL, as the OOM killer does; SIGSEGV, as a crashing decoder) never hangs the
call: the chunk is retried once in a fresh worker, then reported as failures (skip) or raised (raise)."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed.errors import WorkerError

TEXTS = [f"a photo of a {animal} number {i}" for i, animal in enumerate(["cat", "dog", "horse"] * 6)]
POISON = 9  # the item whose batch kills the worker
CHUNK = 4
# A call of texts is chunked from its length-sorted order (parallel.calls.length_order): the poison, the longest
# text, leads chunk 0 with the three longest "horse" texts.
LOST = [9, 11, 14, 17]


def sorted_chunks(texts):
    from omniembed.parallel.calls import length_order

    order = length_order(texts)
    return [order[i:i + CHUNK] for i in range(0, len(texts), CHUNK)]


@pytest.fixture(scope="module")
def deadly(tmp_path_factory):
    """A tiny BERT with a KillSwitch armed on the token "rocket", and a two-worker pool of it."""
    from support.crashing import KillSwitch
    from support.models import build_bert

    from omniembed import SentenceTransformer
    from omniembed.modules import Pooling, Transformer

    control = tmp_path_factory.mktemp("kill_control")
    transformer = Transformer(str(build_bert(tmp_path_factory.mktemp("kill_bert"))))
    token = transformer.tokenizer.convert_tokens_to_ids("rocket")
    assert transformer.tokenizer.tokenize("a rocket") == ["a", "rocket"]
    model = SentenceTransformer(modules=[transformer, KillSwitch(token, str(control)),
                                         Pooling(transformer.get_word_embedding_dimension())], device="cpu")
    texts = list(TEXTS)
    texts[POISON] = "a rocket launching into the sky"
    expected = np.zeros((len(texts), model.get_embedding_dimension()), np.float32)
    for chunk in sorted_chunks(texts):  # what the pool must equal bit for bit: encode over the same chunks
        expected[chunk] = model.encode([texts[i] for i in chunk])
    assert sorted(sorted_chunks(texts)[0]) == LOST
    with model.start_multi_process_pool(["cpu", "cpu"]) as pool:
        yield model, pool, control, texts, expected


@pytest.mark.slow
def test_killed_once_the_chunk_is_retried_and_nothing_changes(deadly, caplog):
    model, pool, control, texts, expected = deadly
    (control / "once").write_text("")
    pids = {p.pid for p in pool.processes}
    pooled = model.encode(texts, pool=pool, chunk_size=CHUNK)
    assert not (control / "once").exists()  # the switch did fire
    assert np.abs(pooled - expected).max() == 0.0
    assert len(pids - {p.pid for p in pool.processes}) == 1  # one worker replaced
    assert "killed by SIGKILL" in caplog.text and "items 9, 11, 14, 17" in caplog.text


@pytest.mark.slow
def test_killed_twice_skip_reports_the_chunk_items(deadly):
    model, pool, control, texts, expected = deadly
    (control / "always").write_text("SIGKILL")
    try:
        emb, failures = model.encode(texts, pool=pool, chunk_size=CHUNK, on_error="skip", return_failures=True)
    finally:
        (control / "always").unlink()
    lost = LOST
    assert [f.index for f in failures] == lost
    assert all(isinstance(f.error, WorkerError) and "SIGKILL" in f.reason for f in failures)
    assert np.isnan(emb[lost]).all()
    assert np.abs(np.delete(emb, lost, axis=0) - np.delete(expected, lost, axis=0)).max() == 0.0


@pytest.mark.slow
def test_crashed_twice_raise_names_the_items(deadly):
    model, pool, control, texts, expected = deadly
    (control / "always").write_text("SIGSEGV")
    try:
        with pytest.raises(WorkerError, match=r"Items 9, 11, 14, 17 were lost: .* crashed with SIGSEGV") as info:
            model.encode(texts, pool=pool, chunk_size=CHUNK)
    finally:
        (control / "always").unlink()
    assert isinstance(info.value, RuntimeError) and info.value.indices == tuple(LOST)
    assert np.abs(model.encode(texts, pool=pool, chunk_size=CHUNK) - expected).max() == 0.0  # still serving
