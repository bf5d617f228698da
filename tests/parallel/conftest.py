"""Shared by the pool tests: tiny models, media files on disk, and one CLIP pool for the whole session.

Starting a worker costs a Python start plus torch and transformers imports (several seconds on a busy
2-core machine), so tests share pools where they can and each pool has two workers.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        yield


@pytest.fixture(scope="session")
def clip_model(tmp_path_factory):
    from support.models import build_clip

    from omniembed import SentenceTransformer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = build_clip(tmp_path_factory.mktemp("pool_clip"))
        return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="session")
def clip_pool(clip_model):
    pool = clip_model.start_multi_process_pool(["cpu", "cpu"])
    yield pool
    clip_model.stop_multi_process_pool(pool)


@pytest.fixture(scope="session")
def image_files(tmp_path_factory) -> dict[str, str]:
    """Photos of several sizes and formats, plus a broken JPEG (garbage bytes behind a .jpg name)."""
    from PIL import Image
    from support.media import skimage_image

    folder = tmp_path_factory.mktemp("pool_images")
    rng = np.random.default_rng(0)
    files = {}
    for name in ("astronaut.png", "coffee.png", "chelsea.png"):
        path = folder / name.replace(".png", ".jpg")
        skimage_image(name).convert("RGB").save(path, quality=90)
        files[path.stem] = str(path)
    for i, size in enumerate([(40, 60), (90, 30)]):
        path = folder / f"noise{i}.png"
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        files[path.stem] = str(path)
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    files["broken"] = str(broken)
    return files
