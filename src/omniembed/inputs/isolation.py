"""Decode media in a pool of sandboxed worker processes: ``MediaOptions(isolation="process")``.

Pillow, libjpeg, libpng, FFmpeg and friends are native code. A hostile file can make them crash (SIGSEGV,
SIGABRT), spin, or allocate until the machine swaps, and no ``try``/``except`` catches that. With
``isolation="process"`` every media item that still has to be fetched or decoded (a path, URL, data URI, bytes
or file object) is handed to a worker process, except local files inside ``MediaOptions.trusted_folders`` (the
caller's own files, decoded in-process). The worker:

* caps its own address space (``RLIMIT_AS``, :attr:`IsolationLimits.memory_bytes`), its CPU time per item
  (``RLIMIT_CPU``), its open files (``RLIMIT_NOFILE``) and writes no core dumps;
* is given :attr:`IsolationLimits.wall_seconds` per item by the parent, which kills it when the time is up;
* runs the same :func:`~omniembed.inputs.load_item` as in-process decoding, so results are identical.

When a worker crashes, hangs, runs out of CPU time or memory, that one item fails with a
:class:`~omniembed.errors.MediaDecodeError` saying what happened; the pool starts a fresh worker and the other
items are unaffected. Decoded objects (PIL images, audio and video clips) come back pickled over a pipe
(:mod:`~omniembed.inputs.isolation_protocol`).
Items that are already decoded (PIL images, arrays, ``AudioClip``…) are converted in-process: there is nothing
left to parse.

Workers are separate interpreters started with ``python -m omniembed.inputs._isolation_worker`` (not
``multiprocessing``), so a script without an ``if __name__ == "__main__":`` guard is safe, and they are shared
by every model and call with the same :class:`IsolationLimits`. They exit when the parent does.

Example (``tests/harden/test_isolation.py`` runs real crashing, spinning and memory-hungry workers)::

    >>> from omniembed.inputs import IsolationLimits, MediaOptions
    >>> opts = MediaOptions(isolation="process", isolation_limits=IsolationLimits(workers=1, wall_seconds=30))
    >>> opts.isolation_limits.pool_size, opts.isolation_limits.memory_bytes // 2**30
    (1, 4)

    ``load_item(b"GIF89a broken", "image", options=opts)`` then raises ``MediaDecodeError: not a valid image…``
    from the worker, and a segfaulting decoder ``MediaDecodeError: the isolated decoder process crashed (SIGSEGV)
    on this item; it was replaced``.
"""

from __future__ import annotations

import atexit
import math
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from omniembed.errors import ConfigError, MediaDecodeError, OmniEmbedError

# The pool calls these through this module's names (tests replace receive_message here to interrupt a call).
from omniembed.inputs.isolation_protocol import receive_message, send_message, widen_pipe

__all__ = ["IsolationLimits", "decode_isolated", "in_trusted_folder", "shutdown_pools", "worth_isolating"]

GiB = 1024**3
#: The module each worker runs (``python -m``); tests point it at a worker that misbehaves on request.
WORKER_MODULE = "omniembed.inputs._isolation_worker"
#: How long a new worker may take to import its decoders and set its limits (not counted in wall_seconds).
STARTUP_SECONDS = 120.0


@dataclass(frozen=True)
class IsolationLimits:
    """Resource limits of the decoder worker processes.

    ``workers``: processes in the pool (None: ``min(4, CPUs)``). ``memory_bytes``: each worker's address-space
    cap (``RLIMIT_AS``). ``cpu_seconds``: CPU time one item may use. ``wall_seconds``: wall-clock time one item
    may take, fetching a URL included. ``open_files``: the worker's file-descriptor limit.
    """

    workers: int | None = None
    memory_bytes: int = 4 * GiB
    cpu_seconds: float = 60.0
    wall_seconds: float = 120.0
    open_files: int = 64

    def __post_init__(self) -> None:
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ConfigError(f"IsolationLimits.workers must be a positive integer or None, got {self.workers!r}")
        for name in ("memory_bytes", "cpu_seconds", "wall_seconds", "open_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ConfigError(f"IsolationLimits.{name} must be a positive finite number, got {value!r}")
        if self.memory_bytes < 512 * 1024 * 1024:
            raise ConfigError("IsolationLimits.memory_bytes must be at least 512 MiB (an idle worker maps ~300 MiB)")
        if self.open_files < 16:
            raise ConfigError("IsolationLimits.open_files must be at least 16")

    @property
    def pool_size(self) -> int:
        return self.workers or min(4, os.cpu_count() or 1)


def worth_isolating(item: Any, trusted_folders: tuple[str, ...] = ()) -> bool:
    """True for references that still need reading and parsing (paths, URLs, data URIs, bytes, file objects),
    except local files inside one of ``trusted_folders`` (the caller's own files: decoded in-process).

    Example:
        >>> worth_isolating("https://example.com/cat.jpg"), worth_isolating(b"GIF89a")
        (True, True)
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> worth_isolating(os.path.join(folder, "cat.jpg"), (folder,)), worth_isolating("/etc/hosts", (folder,))
        (False, True)
    """
    if not (isinstance(item, (str, bytes, bytearray, memoryview, os.PathLike)) or callable(getattr(item, "read", None))):
        return False
    return not (trusted_folders and in_trusted_folder(item, trusted_folders))


def in_trusted_folder(item: Any, folders: tuple[str, ...]) -> bool:
    """Whether ``item`` is a local path (not a URL, data URI or ``file:`` URL) that resolves, symbolic links and
    ``..`` included, to a place inside one of ``folders``."""
    if not isinstance(item, (str, os.PathLike)):
        return False
    try:
        text = os.fspath(item)
        if isinstance(text, bytes) or "\x00" in text:
            return False
        if isinstance(item, str) and (":" in text.split("/", 1)[0] or text.lstrip().lower().startswith("data:")):
            return False  # a URL scheme (http:, file:, data:…): never a trusted local file
        real = os.path.realpath(text)
        for folder in folders:
            root = os.path.realpath(folder)
            if os.path.commonpath([real, root]) == root:
                return True
    except (OSError, ValueError, TypeError):
        return False
    return False


# ---------------------------------------------------------------------------------------------------- pool
def _worker_env() -> dict[str, str]:
    import omniembed

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(omniembed.__file__)))
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    # One arena and one BLAS thread: glibc reserves 64 MiB of address space per malloc arena, which would eat
    # the RLIMIT_AS budget without using memory.
    return {**os.environ, "PYTHONPATH": path, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _describe_exit(code: int | None, limits: IsolationLimits) -> str:
    if code is None:
        return "stopped responding"
    if code >= 0:
        return f"exited with status {code}"
    sig = -code
    if sig == signal.SIGXCPU:
        return f"used more than IsolationLimits.cpu_seconds={limits.cpu_seconds:g} s of CPU time"
    if sig == signal.SIGKILL:
        return "was killed (SIGKILL: usually the system's out-of-memory killer)"
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    return f"crashed ({name})"


class _Worker:
    """One worker process, started on first use and replaced after any failure."""

    def __init__(self, limits: IsolationLimits) -> None:
        self.limits = limits
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        config = {**asdict(self.limits)}
        proc = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, repr(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_worker_env(),
            close_fds=True, start_new_session=True,  # Ctrl-C reaches the parent only; workers exit on EOF
        )
        widen_pipe(proc.stdin)
        widen_pipe(proc.stdout)
        return proc

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def _await_ready(self, item: Any) -> None:
        """Wait for a new worker's start-up (imports, limits) on its own clock, so a loaded machine's slow start
        is never mistaken for a hanging decoder."""
        try:
            alive, reply = receive_message(self.proc.stdout.fileno(), time.monotonic() + STARTUP_SECONDS)
        except TimeoutError:
            alive, reply = False, None
        except BaseException:
            self.kill()
            raise
        if not alive or not isinstance(reply, tuple) or reply[0] != "ready":
            code = self.proc.poll()
            self.kill()
            raise MediaDecodeError(
                f"the isolated decoder process did not start ({_describe_exit(code, self.limits)} within "
                f"{STARTUP_SECONDS:g} s)", item=item)

    def call(self, request: tuple, item: Any) -> Any:
        if self.proc is None or self.proc.poll() is not None:
            self.kill()
            self.proc = self._start()
            self._await_ready(item)
        proc = self.proc
        deadline = time.monotonic() + self.limits.wall_seconds
        try:
            send_message(proc.stdin.fileno(), request)
            alive, reply = receive_message(proc.stdout.fileno(), deadline)
        except TimeoutError:
            self.kill()
            raise MediaDecodeError(
                f"decoding took longer than IsolationLimits.wall_seconds={self.limits.wall_seconds:g} s; the "
                "decoder process was stopped and replaced", item=item) from None
        except (BrokenPipeError, ConnectionResetError, OSError):
            alive, reply = False, None
        except BaseException:
            # Interrupted (Ctrl-C) or an unreadable reply: the worker may still owe an answer that a later item
            # would read as its own, so it is never reused.
            self.kill()
            raise
        if not alive:
            code = proc.wait()
            self.kill()
            raise MediaDecodeError(
                f"the isolated decoder process {_describe_exit(code, self.limits)} on this item; it was replaced",
                item=item)
        status, value = reply
        if status == "ok":
            return value
        if status == "oom":
            self.kill()  # a worker that hit its memory cap may be in a bad state: start afresh
            raise MediaDecodeError(
                f"decoding needed more than IsolationLimits.memory_bytes={self.limits.memory_bytes} bytes of "
                "memory; the decoder process was replaced", item=item)
        raise value  # the worker's own exception (a typed per-item error, or a missing dependency…)


class DecoderPool:
    """A fixed number of :class:`_Worker` slots shared by every thread; a call borrows one slot at a time."""

    def __init__(self, limits: IsolationLimits) -> None:
        self.limits = limits
        self._slots: queue.Queue[_Worker] = queue.Queue()
        self._all = [_Worker(limits) for _ in range(limits.pool_size)]
        for worker in self._all:
            self._slots.put(worker)

    def run(self, request: tuple, item: Any) -> Any:
        worker = self._slots.get()
        try:
            return worker.call(request, item)
        finally:
            self._slots.put(worker)

    def close(self) -> None:
        for worker in self._all:
            worker.kill()


_POOLS: dict[IsolationLimits, DecoderPool] = {}
_LOCK = threading.Lock()


def _pool(limits: IsolationLimits) -> DecoderPool:
    with _LOCK:
        pool = _POOLS.get(limits)
        if pool is None:
            pool = _POOLS[limits] = DecoderPool(limits)
        return pool


def shutdown_pools() -> None:
    """Stop every worker process (they are started again on the next isolated decode)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def _forget_pools_in_child() -> None:
    # A forked child must not share its parent's pipes: it starts its own workers when it needs them.
    global _LOCK
    _LOCK = threading.Lock()
    _POOLS.clear()


atexit.register(shutdown_pools)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)


def _absolute(item: Any) -> Any:
    """A relative path made absolute here: the worker's working directory is the one it was started in."""
    text = os.fspath(item)
    if isinstance(text, bytes) or os.path.isabs(text):
        return item
    if isinstance(item, str) and ("://" in item or item.lstrip().lower().startswith("data:")):
        return item  # a URL or data URI: the worker resolves it exactly as the caller would
    try:
        if not os.path.exists(text):
            return item  # not a file here either (a bare base64 string, a typo): the loader says what it is
    except (OSError, ValueError):
        return item
    absolute = os.path.abspath(text)
    return absolute if isinstance(item, str) else type(item)(absolute)


def decode_isolated(item: Any, modality: str, limits: IsolationLimits, **load_kwargs: Any) -> Any:
    """:func:`~omniembed.inputs.load_item` for one media reference, run in a worker process of the pool."""
    if callable(getattr(item, "read", None)) and not isinstance(item, (bytes, bytearray, memoryview)):
        from omniembed.inputs.sources import read_source

        options = load_kwargs.get("options")
        item = read_source(item, limits=getattr(options, "limits", None), kind=modality).data  # bytes, capped
    elif isinstance(item, (bytearray, memoryview)):
        item = bytes(item)
    elif isinstance(item, (str, os.PathLike)):
        item = _absolute(item)
    try:
        return _pool(limits).run(("load", item, modality, load_kwargs), item)
    except OmniEmbedError:
        raise
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise MediaDecodeError(f"the item could not be sent to the isolated decoder: {exc}", item=item) from None
