"""One object listed many times in one call (a lazily opened PIL image, one path) decodes once, correctly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from omniembed import SentenceTransformer

pytestmark = pytest.mark.usefixtures("quiet_transformers")


@pytest.fixture(scope="module")
def clip(model_dirs):
    return SentenceTransformer(model_dirs["clip"], device="cpu")


def test_lazily_opened_image_repeated_in_a_batch(clip, tmp_path, images):
    path = tmp_path / "photo.jpg"
    images[0].resize((300, 200)).save(path, quality=90)
    expected = clip.encode(Image.open(path))
    for _ in range(10):  # before the fix, two decode threads raced on the one file handle about half the time
        lazy = Image.open(path)
        out = clip.encode([lazy] * 6 + ["a photo of a cat"], batch_size=2, num_workers=4)
        np.testing.assert_allclose(out[:6], np.broadcast_to(expected, (6, expected.shape[0])), atol=1e-5)


def test_repeated_broken_path_reports_every_index(clip, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    emb, failures = clip.encode(["a cat", str(broken), "a dog", str(broken)], on_error="skip",
                                return_failures=True, num_workers=2)
    assert [f.index for f in failures] == [1, 3]
    assert np.isnan(emb[[1, 3]]).all() and not np.isnan(emb[[0, 2]]).any()
