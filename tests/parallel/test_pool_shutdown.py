"""No worker outlives its parent: at interpreter exit without ``stop()`` (an atexit hook stops live pools), and
when the parent is itself SIGKILLed (its workers see their pipe close and leave). ``stop()`` and ``with`` are
covered in test_pool_audio_and_scoring.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    from omniembed import SentenceTransformer

    if __name__ == "__main__":
        model = SentenceTransformer(sys.argv[1], device="cpu")
        pool = model.start_multi_process_pool(["cpu"])
        assert model.encode(["hello"], pool=pool).shape == (1, model.get_embedding_dimension())
        print(json.dumps([p.pid for p in pool.processes]), flush=True)
        if sys.argv[2] == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        # "exit": leave without stopping the pool
""")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return "zombie" not in handle.read()
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["exit", "killed"])
def test_no_worker_outlives_its_parent(tiny_bert_dir, tmp_path, ending):
    script = tmp_path / "pool_script.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), tiny_bert_dir, ending], capture_output=True, text=True,
                          check=False, timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    expected_code = -signal.SIGKILL if ending == "killed" else 0
    assert proc.returncode == expected_code, proc.stderr[-2000:]
    pids = json.loads(proc.stdout.strip().splitlines()[-1])
    assert wait_gone(pids), f"pool workers {pids} still running after their parent ended ({ending})"
    assert "leaked" not in proc.stderr
