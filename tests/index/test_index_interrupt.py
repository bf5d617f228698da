"""Killing `omniembed index` mid-run (SIGKILL, then SIGINT) loses nothing committed, and the next run resumes with
no duplicate and no lost row."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from omniembed import SentenceTransformer
from omniembed.index.store import Store

# Many small commits, so the run is still going when the test interrupts it, even on a fast machine (~340 files/s).
FILES = 1500
COMMIT_EVERY = 2


class Run:
    """``omniembed index`` in a subprocess, with its progress bar (stderr) read as it is written: the bar moves
    after each commit, so the test signals the run the moment it has committed enough, instead of polling the
    store (one poll of a store with hundreds of versions took up to 1.8 s, long enough for a run to finish and
    exit 0 before its SIGINT arrived)."""

    def __init__(self, folder: str, db: str, model: str) -> None:
        cmd = [sys.executable, "-m", "omniembed", "index", folder, "--model", model, "--db", db,
               "--commit-every", str(COMMIT_EVERY), "--batch-size", str(COMMIT_EVERY), "--json"]
        # One torch thread: on a shared machine, spinning OpenMP threads of a two-text batch only slow the run down.
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        # A shell's background job (`make test &`) starts with SIGINT ignored, and an ignored signal stays ignored
        # across exec: the run would never see the test's SIGINT. A handled one is reset to the default by exec.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        finally:
            signal.signal(signal.SIGINT, previous)
        self.stderr = b""
        self.done = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.proc.stderr.fileno(), 4096):
            self.stderr += chunk
            counts = re.findall(rb"(\d+)/\d+ \[", self.stderr[-400:])
            if counts:
                self.done = int(counts[-1])

    def stop_after(self, files: int, sig: int) -> int:
        """Send ``sig`` once ``files`` files of this run are committed; the exit status."""
        deadline = time.monotonic() + 240
        while self.done < files:
            assert self.proc.poll() is None, f"the run ended before it could be interrupted: {self.stderr[-2000:]!r}"
            assert time.monotonic() < deadline, "the run did not commit in time"
            time.sleep(0.01)
        self.proc.send_signal(sig)
        self.proc.wait(timeout=120)
        self._reader.join(timeout=30)
        return self.proc.returncode


def snapshot(db: str) -> dict[str, np.ndarray]:
    table = Store.open(db).table.to_arrow()
    ids = table.column("id").to_pylist()
    assert len(ids) == len(set(ids)), "duplicate rows"
    return dict(zip(ids, np.array(table.column("vector").to_pylist(), np.float32)))


@pytest.mark.slow
def test_sigkill_then_sigint_then_resume(tmp_path, tiny_bert_dir):
    folder = tmp_path / "notes"
    folder.mkdir()
    texts = {}
    for i in range(FILES):
        texts[str(folder / f"note{i:04d}.txt")] = f"Note number {i}: remember item {i * 7 % 101} on the list."
    for path, text in texts.items():
        with open(path, "w") as handle:
            handle.write(text)
    db = str(tmp_path / "db")

    assert Run(str(folder), db, tiny_bert_dir).stop_after(24, signal.SIGKILL) == -signal.SIGKILL
    after_kill = snapshot(db)
    assert 24 <= len(after_kill) < FILES

    run = Run(str(folder), db, tiny_bert_dir)
    assert run.stop_after(24, signal.SIGINT) == 130, run.stderr[-2000:]
    assert b"interrupted: everything committed so far is kept" in run.stderr
    after_interrupt = snapshot(db)
    assert len(after_kill) + 24 <= len(after_interrupt) < FILES
    for row_id, vector in after_kill.items():  # nothing committed was lost or redone
        np.testing.assert_array_equal(after_interrupt[row_id], vector)

    cmd = [sys.executable, "-m", "omniembed", "index", str(folder), "--model", tiny_bert_dir, "--db", db,
           "--no-progress", "--json"]
    last = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    out, err = last.stdout, last.stderr
    assert last.returncode == 0, err
    report = json.loads(out)
    assert report["unchanged"] == len(after_interrupt) and report["embedded"] == FILES - len(after_interrupt)
    final = snapshot(db)
    assert sorted(final) == sorted(texts)
    for row_id, vector in after_interrupt.items():
        np.testing.assert_array_equal(final[row_id], vector)
    model = SentenceTransformer(tiny_bert_dir, device="cpu")
    sample = sorted(texts)[:: FILES // 12]
    np.testing.assert_allclose(np.array([final[p] for p in sample]), model.encode([texts[p] for p in sample]),
                               atol=1e-5)
    assert os.path.isdir(db)
