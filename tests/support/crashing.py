"""A module that kills the process it runs in, to test what a multi-process pool does when a worker dies.

``KillSwitch`` sits in a SentenceTransformer's stack right after the Transformer module and passes features
through, except when a batch holds the token ``token_id`` and a control file says to fire; then it sends a
signal to its own process, as a segfaulting decoder or the OOM killer would:

* ``<control_dir>/always`` — fire every time; the file holds the signal name (``SIGKILL``, ``SIGSEGV``);
* ``<control_dir>/once`` — fire once: the file is removed first, so the retry in a fresh worker succeeds.

It never fires in the process that built it (the test's own, which computes expected values with the same
model). It lives in an importable module because pool workers are spawned and unpickle the model.
"""

from __future__ import annotations

import os
import signal

from torch import nn


class KillSwitch(nn.Module):
    def __init__(self, token_id: int, control_dir: str) -> None:
        super().__init__()
        self.token_id, self.control_dir = token_id, control_dir
        self.spare_pid = os.getpid()

    def forward(self, features: dict, **kwargs) -> dict:
        if os.getpid() == self.spare_pid or not (features["input_ids"] == self.token_id).any():
            return features
        always, once = os.path.join(self.control_dir, "always"), os.path.join(self.control_dir, "once")
        if os.path.exists(always):
            with open(always) as handle:
                os.kill(os.getpid(), signal.Signals[handle.read().strip() or "SIGKILL"])
        if os.path.exists(once):
            os.remove(once)
            os.kill(os.getpid(), signal.SIGKILL)
        return features
