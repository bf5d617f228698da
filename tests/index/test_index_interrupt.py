"""Killing `omniembed index` mid-run (SIGKILL, then SIGINT) loses nothing committed, and the next run resumes with
no duplicate and no lost row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from omniembed import OmniEmbedError, SentenceTransformer
from omniembed.index.store import Store

# Many small commits: the run is still going when the test interrupts it, even on a fast machine. At ~120 files/s
# a resumed run of 400 files was over in ~3 s, within the latency of one row-count poll of a busy machine (up to
# 1.8 s measured), and once finished before its SIGINT arrived; 1,500 files leave it ~10 s.
FILES = 1500
COMMIT_EVERY = 2


def count_rows(db: str) -> int:
    try:
        return Store.open(db).count() if Store.exists(db) else 0
    except (OSError, ValueError, OmniEmbedError):  # the table is being created right now
        return 0


def start(folder: str, db: str, model: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "omniembed", "index", folder, "--model", model, "--db", db,
           "--commit-every", str(COMMIT_EVERY), "--batch-size", str(COMMIT_EVERY), "--no-progress", "--json"]
    # One torch thread: on a shared machine, spinning OpenMP threads of a two-text batch only slow the run down.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def stop_after(proc: subprocess.Popen, db: str, rows: int, sig: int) -> int:
    deadline = time.monotonic() + 240
    while count_rows(db) < rows:
        assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline, "the run did not commit in time"
        time.sleep(0.1)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    return proc.returncode


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

    assert stop_after(start(str(folder), db, tiny_bert_dir), db, 24, signal.SIGKILL) == -signal.SIGKILL
    after_kill = snapshot(db)
    assert 24 <= len(after_kill) < FILES

    proc = start(str(folder), db, tiny_bert_dir)
    assert stop_after(proc, db, len(after_kill) + 24, signal.SIGINT) == 130
    assert "interrupted: everything committed so far is kept" in proc.stderr.read()
    after_interrupt = snapshot(db)
    assert len(after_kill) + 24 <= len(after_interrupt) < FILES
    for row_id, vector in after_kill.items():  # nothing committed was lost or redone
        np.testing.assert_array_equal(after_interrupt[row_id], vector)

    last = start(str(folder), db, tiny_bert_dir)
    out, err = last.communicate(timeout=600)
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
