"""The malloc tuning (processing/allocator.py): fewer page faults per call, the same numbers, and a switch back."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from support.models import minilm_path

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning applies to glibc's malloc")

# A fresh interpreter per setting (the thresholds are process-wide): encode once to warm up, then count the minor
# page faults of a second, identical call.
_PROBE = r"""
import json, resource, sys
import numpy as np
import torch
torch.set_num_threads(1)
from omniembed import SentenceTransformer
from omniembed.processing.allocator import tune_allocator
model = SentenceTransformer(sys.argv[1], device="cpu")
texts = [" ".join(["word%d" % (i % 50)] * (40 + i)) for i in range(64)]
model.encode(texts, batch_size=32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
emb = model.encode(texts, batch_size=32)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
np.save(sys.argv[2], emb)
print(json.dumps({"faults": faults, "applied": tune_allocator()}))
"""


def _probe(tmp_path, tune: str) -> tuple[dict, np.ndarray]:
    out = tmp_path / f"emb-{tune}.npy"
    env = {**os.environ, "OMNIEMBED_TUNE_MALLOC": tune, "HF_HUB_OFFLINE": "1"}
    env.pop("LD_PRELOAD", None)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(minilm_path()), str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(out)


def test_tuned_malloc_faults_far_less_and_computes_the_same(tmp_path):
    tuned, tuned_emb = _probe(tmp_path, "1")
    default, default_emb = _probe(tmp_path, "0")
    assert tuned["applied"] is True and default["applied"] is False
    # The second call reuses the first call's activation pages instead of faulting them in again.
    assert tuned["faults"] * 4 < default["faults"], (tuned, default)
    assert np.array_equal(tuned_emb, default_emb)
