"""The body of one pool worker process: load the model once, then run each chunk through the runtime.

A worker runs :func:`omniembed.processing.runtime.run` with the caller's context and task (a
:class:`~omniembed.parallel.wire.CallSpec` bound to the worker's copy of the model) on the raw items of its chunk
(paths, URLs, bytes, arrays…), so media are fetched and decoded here, in parallel across workers, and the
single-process code path is the only one. Protocol over the worker's own pipe (parent → worker → parent):

* on start: ``("ready", pid)`` or ``("startup_error", exception)``;
* per task ``(call_id, chunk_id, spec, items)``: ``("done", call_id, chunk_id, packed_rows,
  [(local_index, error), ...])`` or ``("error", call_id, chunk_id, exception)``;
* ``None`` from the parent (or the parent's end closing) stops the worker.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from omniembed.parallel.wire import pack, portable_exception


def worker_main(conn: Any, model: Any, device: str, num_threads: int | None) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do, workers finish their chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import pickle
        import threading

        import torch
        from tqdm import tqdm

        # tqdm's default lock is a multiprocessing semaphore: a worker killed mid-call would leak it (and the
        # resource tracker would warn at exit). A thread lock is all a worker's own progress bars need.
        tqdm.set_lock(threading.RLock())

        if num_threads:
            torch.set_num_threads(num_threads)
        if isinstance(model, bytes):  # sent as a plain pickle when shared memory was too small
            model = pickle.loads(model)
        model.to(device)
        model.eval()
        # The parent reports the call's failures once, with the caller's indices; a worker's own summary of its
        # chunk would repeat them with local ones.
        logging.getLogger("omniembed.processing.runtime").setLevel(logging.ERROR)
        from omniembed.processing.runtime import run
        conn.send(("ready", os.getpid()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        _send(conn, ("startup_error", portable_exception(exc)))
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            task = None  # the parent is gone
        if task is None:
            _exit_now()
        call_id, chunk_id, spec, items = task
        try:
            ctx, job = spec.bind(model)
            rows, failures = run(ctx, job, items)
            message = ("done", call_id, chunk_id, pack(rows),
                       [(f.index, portable_exception(f.error)) for f in failures])
        except BaseException as exc:  # noqa: BLE001 - the parent re-raises it with the caller's indices
            message = ("error", call_id, chunk_id, portable_exception(exc))
        if not _send(conn, message):
            _exit_now()


def _send(conn: Any, message: Any) -> bool:
    try:
        conn.send(message)
        return True
    except (BrokenPipeError, EOFError, OSError):
        return False


def _exit_now() -> None:
    """Leave without the interpreter's teardown: with torch loaded it takes seconds, and a worker has nothing
    left to flush but its standard streams."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110 - a closed stream is fine
            pass
    os._exit(0)
