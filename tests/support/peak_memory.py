"""Peak resident memory of one decoder call, measured in a fresh Python process.

The call runs in a subprocess (so the test process's own history cannot hide or inflate it): the child warms up
the decoders on a tiny input, then reads its peak resident size (``ru_maxrss``) before and after the call; the
difference is what the call added at its peak. ``long_running=True`` first puts malloc in the state of a process
that has been encoding: a 16 MiB block allocated and freed (glibc then raises its mmap threshold by itself, as it
does after a model's first batches), so multi-megabyte frames come from the heap and are not handed back to the
system one by one — the state in which a list of frames stacked into an array costs twice the result.

Example:
    >>> from support.peak_memory import load_video_peak
    >>> outcome, mib = load_video_peak(b"not a video", "VideoSampling(num_frames=1)")
    >>> outcome.startswith("MediaDecodeError") and mib < 64
    True
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, resource, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from omniembed.inputs import VideoSampling, load_video

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

data = open(sys.argv[1], "rb").read()
sampling = eval(sys.argv[2], {"VideoSampling": VideoSampling})
frames = np.zeros((3, 8, 8, 3), np.uint8)
load_video(frames)
load_video(b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
if sys.argv[3] == "1":
    block = np.ones(16 << 20, np.uint8)  # freeing it raises glibc's mmap threshold, as a model's batches do
    del block
before = peak_kib()
try:
    clip = load_video(data, sampling=sampling)
    outcome = f"ok {tuple(clip.frames.shape)}"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {exc}"
print(json.dumps({"outcome": outcome, "peak_extra_mib": (peak_kib() - before) / 1024}))
"""


def load_video_peak(data: bytes, sampling: str, long_running: bool = False, timeout: float = 120) -> tuple[str, float]:
    """(outcome, MiB the call added to the peak resident size) of ``load_video(data, sampling=...)`` in a child.

    ``outcome`` is ``"ok (T, H, W, 3)"`` or ``"ErrorClass: message"``; ``sampling`` is a ``VideoSampling(...)``
    expression.
    """
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as handle:
        handle.write(data)
    try:
        command = [sys.executable, "-c", _CHILD, handle.name, sampling, "1" if long_running else "0"]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, "MALLOC_ARENA_MAX": "2"})
    finally:
        os.unlink(handle.name)
    if result.returncode != 0:
        raise RuntimeError(f"the measuring process failed ({result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["outcome"], report["peak_extra_mib"]
