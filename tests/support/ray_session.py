"""Start real Ray for a test module and make sure it is gone afterwards (used by tests/ray).

``ray_running(dir, two_nodes=False)`` is ``ray.init(num_cpus=2)``; ``two_nodes=True`` is a
``ray.cluster_utils.Cluster`` with a head and a worker node of one CPU each. Ray's files go under ``dir``
(``RAY_TMPDIR``; keep it short, Ray's socket paths must stay under 108 bytes), no auth token is written and no
usage statistics are collected; on exit, no process whose command line mentions ``dir`` may remain.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path


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


@contextmanager
def ray_running(ray_dir: str, *, two_nodes: bool):
    """``ray.init(num_cpus=2)``, or a head and a worker node with one CPU each; checks nothing is left after."""
    import ray
    from ray.cluster_utils import Cluster

    settings = {"RAY_TMPDIR": ray_dir, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    cluster = None
    try:
        if two_nodes:
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
            cluster.add_node(num_cpus=1)
            ray.init(address=cluster.address, log_to_driver=False)
        else:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield cluster
    finally:
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        deadline = time.monotonic() + 20
        while processes_mentioning(ray_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not processes_mentioning(ray_dir), "Ray processes outlived their tests"
