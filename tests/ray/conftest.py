"""Real Ray for the tests, started once per session (``ray_cluster``): a local two-node cluster of one-CPU nodes
(``ray.cluster_utils.Cluster``: two raylets, so actors really land on different nodes; 2 CPUs in all, as
``ray.init(num_cpus=2)`` would give). Files go under the pytest tmp dir (``RAY_TMPDIR``), no auth token is
written (``RAY_AUTH_MODE=disabled``), no usage statistics are collected (offline: Ray Data would otherwise query
a metrics server at the end of every job), and the teardown checks that no Ray process is left."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        yield


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    from support.ray_session import ray_running

    with ray_running(str(tmp_path_factory.mktemp("ray")), two_nodes=True) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> str:
    from support.models import build_clip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(build_clip(tmp_path_factory.mktemp("ray_clip")))


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory) -> Path:
    """Three JPEG/PNG photos and a broken .jpg, in one folder (read_binary_files reads all four)."""
    from PIL import Image
    from support.media import skimage_image

    folder = tmp_path_factory.mktemp("ray_photos")
    skimage_image("astronaut.png").convert("RGB").resize((120, 90)).save(folder / "astronaut.jpg")
    skimage_image("coffee.png").convert("RGB").resize((80, 100)).save(folder / "coffee.png")
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(folder / "noise.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    return folder
