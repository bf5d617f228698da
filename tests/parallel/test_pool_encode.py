"""encode(pool=...) on a tiny CLIP: texts, image paths, bytes and mixtures give exactly what single-process
encode gives on the same chunks, media are decoded in the workers, and bad items keep the caller's indices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.errors import ConfigError, ItemProcessingError, MediaDecodeError, UnsupportedInputError
from omniembed.util import quantize_embeddings


def per_chunk(model, items, chunk_size, **kwargs):
    """What the pool must equal bit for bit: single-process encode over the same chunks."""
    parts = [model.encode(items[i:i + chunk_size], **kwargs) for i in range(0, len(items), chunk_size)]
    return np.concatenate(parts)


def per_chunk_list(model, items, chunk_size, **kwargs):
    return [row for i in range(0, len(items), chunk_size) for row in model.encode(items[i:i + chunk_size], **kwargs)]


@pytest.fixture(scope="module")
def mixed(image_files):
    with open(image_files["noise1"], "rb") as handle:
        png_bytes = handle.read()
    return ["a photo of a cat", image_files["astronaut"], "a cup of coffee on a table", image_files["coffee"],
            image_files["noise0"], "berlin", png_bytes, image_files["chelsea"], "a rocket launching into the sky"]


def test_pool_mixed_texts_images_bytes_equal_single_process(clip_model, clip_pool, mixed):
    pooled = clip_model.encode(mixed, pool=clip_pool, chunk_size=3)
    assert pooled.shape == (len(mixed), clip_model.get_embedding_dimension()) and pooled.dtype == np.float32
    assert np.abs(pooled - per_chunk(clip_model, mixed, 3)).max() == 0.0  # same batches → same bits
    np.testing.assert_allclose(pooled, clip_model.encode(mixed), atol=1e-6, rtol=0)  # other batches: ≤ 1e-6
    images_only = [x for x in mixed if not isinstance(x, str) or x.endswith((".jpg", ".png"))]
    assert np.abs(clip_model.encode(images_only, pool=clip_pool, chunk_size=2)
                  - per_chunk(clip_model, images_only, 2)).max() == 0.0


def test_pool_decodes_media_in_the_workers(clip_model, clip_pool, mixed, monkeypatch):
    from omniembed.inputs import loader

    def refuse(*args, **kwargs):
        raise AssertionError("the parent process decoded a media item")

    monkeypatch.setattr(loader, "load_item", refuse)  # patched here only: spawned workers import their own
    # a decoder's own exception reaches the caller as that item's ItemProcessingError (docs/inputs.md)
    with pytest.raises(ItemProcessingError, match="parent process decoded"):
        clip_model.encode(mixed[:2])
    pooled = clip_model.encode(mixed, pool=clip_pool, chunk_size=4)
    monkeypatch.undo()
    assert np.abs(pooled - per_chunk(clip_model, mixed, 4)).max() == 0.0


def test_pool_output_forms_and_quantisation_after_merge(clip_model, clip_pool, mixed):
    floats = clip_model.encode(mixed, pool=clip_pool, chunk_size=2)
    tensor = clip_model.encode(mixed, pool=clip_pool, chunk_size=2, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tensor.device.type == "cpu"
    assert torch.equal(tensor, torch.from_numpy(floats))
    single = clip_model.encode(mixed[1], pool=clip_pool)
    assert single.shape == (floats.shape[1],)
    np.testing.assert_array_equal(single, clip_model.encode(mixed[1]))
    with clip_model.truncate_embeddings(8):  # per-call state is resolved in the caller, not the worker's copy
        short = clip_model.encode(mixed, pool=clip_pool, chunk_size=2, normalize_embeddings=True)
    np.testing.assert_array_equal(short, per_chunk(clip_model, mixed, 2, truncate_dim=8, normalize_embeddings=True))
    assert short.shape == (len(mixed), 8)
    features = clip_model.encode(mixed[:4], pool=clip_pool, chunk_size=2, output_value=None)
    assert isinstance(features, list) and len(features) == 4 and isinstance(features[1], dict)
    for got, want in zip(features, per_chunk_list(clip_model, mixed[:4], 2, output_value=None)):
        assert torch.equal(got["sentence_embedding"], want["sentence_embedding"])
    empty = clip_model.encode([], pool=clip_pool)
    assert isinstance(empty, np.ndarray) and empty.size == 0
    # int8 ranges span the whole call (the reference's rule since 6.0), not one chunk
    int8 = clip_model.encode(mixed, pool=clip_pool, chunk_size=2, precision="int8")
    np.testing.assert_array_equal(int8, quantize_embeddings(floats, "int8"))
    per_chunk_int8 = np.concatenate([quantize_embeddings(floats[i:i + 2], "int8") for i in range(0, 9, 2)])
    assert (int8 != per_chunk_int8).any()
    binary = clip_model.encode(mixed, pool=clip_pool, chunk_size=2, precision="ubinary", normalize_embeddings=True)
    np.testing.assert_array_equal(binary, clip_model.encode(mixed, precision="ubinary", normalize_embeddings=True))


def test_pool_on_error_keeps_the_callers_indices(clip_model, clip_pool, mixed, image_files):
    items = list(mixed)
    items[4] = image_files["broken"]
    items.insert(7, b"\x00\x01\x02 unknown bytes")  # index 7
    emb, failures = clip_model.encode(items, pool=clip_pool, chunk_size=3, on_error="skip", return_failures=True)
    _, expected_failures = clip_model.encode(items, on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [f.index for f in expected_failures] == [4, 7]
    assert isinstance(failures[0].error, MediaDecodeError) and str(failures[0].error).startswith("Item 4 ")
    assert isinstance(failures[1].error, UnsupportedInputError) and str(failures[1].error).startswith("Item 7 ")
    assert np.isnan(emb[[4, 7]]).all() and not np.isnan(np.delete(emb, [4, 7], axis=0)).any()
    single_chunks = per_chunk(clip_model, items, 3, on_error="skip")
    np.testing.assert_array_equal(emb, single_chunks)  # NaN rows compare equal with assert_array_equal

    with pytest.raises(MediaDecodeError, match=r"^Item 4 \('.*broken\.jpg'\)"):
        clip_model.encode(items, pool=clip_pool, chunk_size=3)
    # the pool is still usable after a call that raised (the other chunks' late results are dropped)
    np.testing.assert_array_equal(clip_model.encode(mixed[:3], pool=clip_pool, chunk_size=3),
                                  clip_model.encode(mixed[:3]))


def test_pool_items_that_cannot_travel(clip_model, clip_pool, image_files):
    with open(image_files["coffee"], "rb") as handle:  # an open file is read in the caller; its bytes travel
        from_file = clip_model.encode(["a cup", handle], pool=clip_pool, chunk_size=2)
    with open(image_files["coffee"], "rb") as handle:
        np.testing.assert_array_equal(from_file, clip_model.encode(["a cup", handle.read()]))
    with pytest.raises(UnsupportedInputError, match=r"^Item 2 .*cannot be sent to a pool worker"):
        clip_model.encode(["a", "b", lambda: None], pool=clip_pool, chunk_size=2)
    np.testing.assert_array_equal(clip_model.encode(["a", "b"], pool=clip_pool, chunk_size=2),
                                  clip_model.encode(["a", "b"]))  # the pool is still whole


def test_pool_argument_checks(clip_model, clip_pool, tiny_bert_dir):
    from omniembed import SentenceTransformer

    with pytest.raises(ConfigError, match="chunk_size must be a positive integer, got 0"):
        clip_model.encode(["a"], pool=clip_pool, chunk_size=0)
    with pytest.raises(ConfigError, match="started by another model"):
        SentenceTransformer(tiny_bert_dir, device="cpu").encode(["a"], pool=clip_pool)
    with pytest.raises(ConfigError, match="additional keyword arguments"):
        clip_model.encode(["a"], pool=clip_pool, not_a_kwarg=1)
    assert clip_pool["processes"] == clip_pool.processes and len(clip_pool) == 2
