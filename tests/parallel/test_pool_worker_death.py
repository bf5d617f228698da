"""A worker killed mid-chunk (SIGKILL, as the OOM killer does; SIGSEGV, as a crashing decoder) never hangs the
call: the chunk is retried once in a fresh worker, then reported as failures (skip) or raised (raise)."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed.errors import WorkerError

TEXTS = [f"a photo of a {animal} number {i}" for i, animal in enumerate(["cat", "dog", "horse"] * 6)]
POISON = 9  # the item whose batch kills the worker: chunk 2 (items 8-11) with chunk_size 4
CHUNK = 4


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
    expected = np.concatenate([model.encode(texts[i:i + CHUNK]) for i in range(0, len(texts), CHUNK)])
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
    assert "killed by SIGKILL" in caplog.text and "items 8-11" in caplog.text


@pytest.mark.slow
def test_killed_twice_skip_reports_the_chunk_items(deadly):
    model, pool, control, texts, expected = deadly
    (control / "always").write_text("SIGKILL")
    try:
        emb, failures = model.encode(texts, pool=pool, chunk_size=CHUNK, on_error="skip", return_failures=True)
    finally:
        (control / "always").unlink()
    lost = [8, 9, 10, 11]
    assert [f.index for f in failures] == lost
    assert all(isinstance(f.error, WorkerError) and "SIGKILL" in f.reason for f in failures)
    assert np.isnan(emb[lost]).all()
    assert np.abs(np.delete(emb, lost, axis=0) - np.delete(expected, lost, axis=0)).max() == 0.0


@pytest.mark.slow
def test_crashed_twice_raise_names_the_items(deadly):
    model, pool, control, texts, expected = deadly
    (control / "always").write_text("SIGSEGV")
    try:
        with pytest.raises(WorkerError, match=r"Items 8-11 were lost: .* crashed with SIGSEGV") as info:
            model.encode(texts, pool=pool, chunk_size=CHUNK)
    finally:
        (control / "always").unlink()
    assert isinstance(info.value, RuntimeError) and info.value.indices == (8, 9, 10, 11)
    assert np.abs(model.encode(texts, pool=pool, chunk_size=CHUNK) - expected).max() == 0.0  # still serving
