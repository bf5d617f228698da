"""encode_iter: generators in, ``(indices, embeddings)`` per chunk out, read lazily, with or without a pool."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed.errors import ConfigError, MediaDecodeError, UnsupportedInputError


class CountingSource:
    """A one-shot generator of items that records how many have been pulled."""

    def __init__(self, items):
        self.items, self.pulled = items, 0

    def __iter__(self):
        for item in self.items:
            self.pulled += 1
            yield item


def test_encode_iter_in_process_reads_lazily_and_matches_encode(minilm_dir):
    from omniembed import SentenceTransformer

    model = SentenceTransformer(minilm_dir, device="cpu")
    texts = [f"sentence {i} about {'cats' if i % 2 else 'the weather in berlin'}" for i in range(23)]
    source = CountingSource(texts)
    stream = model.encode_iter(iter(source), chunk_size=5)
    indices, first = next(stream)
    assert source.pulled == 5 and indices.tolist() == [0, 1, 2, 3, 4]  # nothing read ahead of the caller
    np.testing.assert_array_equal(first, model.encode(texts[:5]))
    rest = list(stream)
    assert [i.tolist()[0] for i, _ in rest] == [5, 10, 15, 20] and len(rest[-1][1]) == 3
    merged = np.concatenate([first] + [emb for _, emb in rest])
    np.testing.assert_allclose(merged, model.encode(texts), atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match="cannot quantise to int8"):
        next(model.encode_iter(iter(texts), precision="int8"))


def test_encode_iter_on_a_pool_with_failures(clip_model, clip_pool, image_files):
    names = ["astronaut", "coffee", "broken", "chelsea", "noise0", "noise1"]
    items = [image_files[n] if i % 2 == 0 else f"a photo number {i}" for i, n in enumerate(names * 3)]
    source = CountingSource(items)
    chunks = []
    for indices, emb, failures in clip_model.encode_iter(iter(source), chunk_size=4, pool=clip_pool,
                                                         on_error="skip", return_failures=True):
        # at most two chunks per worker are read ahead of the one being handed out
        assert source.pulled <= indices[-1] + 1 + 2 * len(clip_pool) * 4
        chunks.append((indices, emb, failures))
    assert [c[0][0] for c in chunks] == [0, 4, 8, 12, 16] and source.pulled == len(items)
    failures = [f for c in chunks for f in c[2]]
    assert [f.index for f in failures] == [2, 8, 14]  # where "broken" falls on an image slot
    assert all(isinstance(f.error, MediaDecodeError) and str(f.error).startswith(f"Item {f.index} ")
               for f in failures)
    merged = np.concatenate([c[1] for c in chunks])
    expected = np.concatenate([clip_model.encode(items[i:i + 4], on_error="skip") for i in range(0, len(items), 4)])
    np.testing.assert_array_equal(merged, expected)


def test_encode_takes_a_generator_as_a_batch(minilm_dir, tmp_path):
    from omniembed import SentenceTransformer

    model = SentenceTransformer(minilm_dir, device="cpu")
    texts = ["a cat", "the weather in berlin", "a rocket"]
    expected = model.encode(texts)
    np.testing.assert_array_equal(model.encode(t for t in texts), expected)
    np.testing.assert_array_equal(model.encode(map(str.strip, texts)), expected)
    note = tmp_path / "note.txt"
    note.write_text("a file object is one item, not lines")
    with open(note, "rb") as handle, pytest.raises(UnsupportedInputError, match="^Item 0 "):
        model.encode(handle)  # read as one media item (unrecognised bytes), never iterated line by line
