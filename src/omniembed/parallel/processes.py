"""Process plumbing for the pool: which devices, how many threads, how the model travels, how a worker ended
and how it is reaped.

Example:
    >>> from omniembed.parallel.processes import exit_description
    >>> exit_description(-9), exit_description(-11), exit_description(3)
    ('was killed by SIGKILL (out of memory?)', 'crashed with SIGSEGV', 'exited with code 3')
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import signal
from typing import Any

logger = logging.getLogger(__name__)


def default_target_devices() -> list[str]:
    """The reference's choice: every CUDA (or NPU) device, else four CPU workers."""
    import torch

    if torch.cuda.is_available():
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    npu = getattr(torch, "npu", None)
    if npu is not None and npu.is_available():  # pragma: no cover - hardware specific
        return [f"npu:{i}" for i in range(npu.device_count())]
    return ["cpu"] * 4


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def exit_description(exitcode: int | None) -> str:
    """'was killed by SIGKILL (out of memory?)', 'crashed with SIGSEGV', 'exited with code 3'."""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            return "was killed by SIGKILL (out of memory?)"
        return f"crashed with {name}"
    return f"exited with code {exitcode}"


def reap(process: Any, timeout: float) -> None:
    process.join(timeout)
    if process.is_alive():
        process.terminate()
        process.join(1.0)
    if process.is_alive():  # pragma: no cover - a worker stuck in native code
        process.kill()
        process.join(1.0)


def model_payload(model: Any) -> Any:
    """The model itself, its tensors moved to shared memory (sent as handles), or a plain pickle when the
    shared-memory filesystem cannot hold it."""
    model.to("cpu")  # as the reference: workers move their copy to their own device
    size = sum(t.numel() * t.element_size() for t in itertools.chain(model.parameters(), model.buffers()))
    try:
        free = os.statvfs("/dev/shm").f_bavail * os.statvfs("/dev/shm").f_frsize
    except (AttributeError, OSError):
        free = None  # no /dev/shm (macOS, Windows): torch picks its own sharing strategy
    if free is not None and size * 1.2 > free:
        logger.info("/dev/shm has %.0f MB free for a %.0f MB model: each pool worker gets a copy instead.",
                    free / 2**20, size / 2**20)
        return pickle.dumps(model)
    model.share_memory()
    return model
