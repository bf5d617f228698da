"""A ``device=[...]`` pool (started and stopped by the call) for audio on a tiny CLAP, and a CrossEncoder pool
used as a context manager: the same values as single-process calls on the same chunks, and no worker left
behind."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch

SPEECH = Path(__file__).resolve().parents[1] / "support" / "speech"


def live_children() -> set[int]:
    return {p.pid for p in multiprocessing.active_children()}


def per_sorted_chunk(model, pairs, size, **kwargs):
    """What a pool must equal bit for bit on text pairs: predict over the same chunks, which a call of plain texts
    cuts from its length-sorted order (parallel.calls.length_order)."""
    from omniembed.parallel.calls import length_order

    order = length_order(pairs)
    out = np.zeros(len(pairs), np.float32)
    for i in range(0, len(pairs), size):
        chunk = order[i:i + size]
        out[chunk] = model.predict([pairs[j] for j in chunk], **kwargs)
    return out


@pytest.mark.slow
def test_device_list_pool_encodes_audio_files_and_texts(tmp_path):
    from support.media import encode_audio, sine
    from support.models import build_clap

    from omniembed import SentenceTransformer

    model = SentenceTransformer(str(build_clap(tmp_path / "clap")), device="cpu")
    flac = tmp_path / "tone.flac"
    flac.write_bytes(encode_audio(sine(440, 1.5, 22_050), 22_050, "flac"))  # resampled to 48 kHz in a worker
    items = [str(SPEECH / "hello.wav"), "a dog is barking loudly in the park", str(SPEECH / "dog.wav"), str(flac),
             "hello world", str(SPEECH / "weather.wav")]
    before = live_children()
    pooled, failures = model.encode(items, device=["cpu", "cpu"], chunk_size=2, return_failures=True)
    assert failures == [] and live_children() == before  # the call's own pool is gone
    expected = np.concatenate([model.encode(items[i:i + 2]) for i in range(0, len(items), 2)])
    assert np.abs(pooled - expected).max() == 0.0
    np.testing.assert_allclose(pooled, model.encode(items), atol=1e-6, rtol=0)


@pytest.mark.slow
def test_device_list_pool_scores_and_ranks_pairs(tmp_path):
    from PIL import Image
    from support.models import build_bert

    from omniembed import CrossEncoder
    from omniembed.errors import ConfigError, UnsupportedModalityError

    model = CrossEncoder(str(build_bert(tmp_path / "ce", head="seq-cls", num_labels=1)), device="cpu")
    query = "how many people live in berlin"
    documents = ["berlin is the capital of germany", "a photo of a cat", "a rocket launching into the sky",
                 "the weather will be sunny and warm tomorrow", "how many people live in berlin", "a cup of coffee"]
    pairs = [(query, d) for d in documents]
    with model.start_multi_process_pool(["cpu", "cpu"]) as pool:
        scores = model.predict(pairs, pool=pool, chunk_size=2)
        expected = per_sorted_chunk(model, pairs, 2)
        assert scores.dtype == np.float32 and np.abs(scores - expected).max() == 0.0
        tensor = model.predict(pairs, pool=pool, chunk_size=2, convert_to_tensor=True)
        assert tensor.device.type == "cpu" and torch.equal(tensor, torch.from_numpy(scores))
        assert model.predict(pairs[0], pool=pool) == model.predict(pairs[0])  # one pair → a scalar

        ranking = model.rank(query, documents, pool=pool, chunk_size=3, return_documents=True)
        single = model.rank(query, documents, return_documents=True)
        assert [r["corpus_id"] for r in ranking] == [r["corpus_id"] for r in single]
        assert ranking[0]["text"] == documents[ranking[0]["corpus_id"]]
        assert isinstance(ranking[0]["score"], float)

        # a text-only reranker cannot take an image: that pair fails, with its index in the caller's list
        with_image = pairs[:3] + [(query, Image.new("RGB", (8, 8)))] + pairs[3:]
        skipped, failures = model.predict(with_image, pool=pool, chunk_size=2, on_error="skip",
                                          return_failures=True)
        assert [f.index for f in failures] == [3] and isinstance(failures[0].error, UnsupportedModalityError)
        assert np.isnan(skipped[3]) and np.abs(np.delete(skipped, 3) - scores).max() < 1e-6
        with pytest.raises(UnsupportedModalityError, match="^Item 3 "):
            model.predict(with_image, pool=pool, chunk_size=2)
        # the call's settings travel to the workers: a lambda cannot, and the error says which setting kind
        with pytest.raises(ConfigError, match="settings cannot be sent to a pool worker"):
            model.predict(pairs, pool=pool, activation_fn=lambda x: x)
        np.testing.assert_array_equal(model.predict(pairs, pool=pool, chunk_size=2, activation_fn=torch.nn.Tanh()),
                                      per_sorted_chunk(model, pairs, 2, activation_fn=torch.nn.Tanh()))
        processes = pool.processes
    assert not pool.running and [p.exitcode for p in processes] == [0, 0]  # they left when asked
    model.stop_multi_process_pool(pool)  # idempotent
    with pytest.raises(ConfigError, match="has been stopped"):
        model.predict(pairs, pool=pool)
