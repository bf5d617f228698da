"""One real Ray cluster for the whole session: two one-CPU nodes (``ray.cluster_utils.Cluster``) in this
machine, files under the pytest tmp dir (``RAY_TMPDIR``), no auth token written (``RAY_AUTH_MODE=disabled``),
no usage statistics (offline: Ray Data would otherwise query a metrics server at the end of every job), and a
teardown that checks no Ray process is left."""

from __future__ import annotations

import logging
import os
import time
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


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text()
        except OSError:
            continue
        if text in cmdline and "zombie" not in status:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """A head node and a worker node, one CPU each; yields the cluster (``ray`` is connected to it)."""
    import ray
    from ray.cluster_utils import Cluster

    ray_dir = str(tmp_path_factory.mktemp("ray"))  # short: Ray's socket paths must stay under 108 bytes
    settings = {"RAY_TMPDIR": ray_dir, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        deadline = time.monotonic() + 20
        while processes_mentioning(ray_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not processes_mentioning(ray_dir), "Ray processes outlived the test session"


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
