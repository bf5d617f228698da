"""Test harness: a real ``omniembed serve`` subprocess on a free loopback port, and a loopback media server.

``start_server([...])`` runs ``python -m omniembed serve ... --port 0``, reads the URL the server prints once it
is bound and its models are loaded, and returns a :class:`ServerProcess`; ``MediaServer`` serves fixed bytes
over HTTP on 127.0.0.1 (the URLs the server under test fetches).
"""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

_URL = re.compile(r"omniembed serve: (http://\S+)")


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    url: str
    stdout: list[str]
    stderr_file: str

    def stderr(self) -> str:
        return _read(self.stderr_file)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise


def start_server(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> ServerProcess:
    """Start ``omniembed serve`` with ``args`` (plus ``--port 0``) and wait until it says it is ready."""
    stderr = tempfile.NamedTemporaryFile("w", prefix="omniembed-serve-", suffix=".log", delete=False)  # noqa: SIM115
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "omniembed", "serve", *args, "--host", "127.0.0.1", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=stderr, text=True, env=full_env)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("ready"):
                ready.set()
        ready.set()  # the process ended

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.2):
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"server not ready after {timeout}s; stderr:\n{_read(stderr.name)[-4000:]}")
    match = next((m for line in lines if (m := _URL.match(line))), None)
    if proc.poll() is not None or match is None:
        proc.kill()
        raise RuntimeError(f"server failed to start (rc={proc.poll()}):\n{_read(stderr.name)[-4000:]}")
    return ServerProcess(proc, match.group(1), lines, stderr.name)


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


@dataclass
class MediaServer:
    """Fixed bytes over HTTP on 127.0.0.1: ``routes[path] = (content_type, body)``; other paths are 404."""

    routes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                owner.hits.append(self.path)
                route = owner.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404)
                    return
                content_type, body = route
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
