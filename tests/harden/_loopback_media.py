"""Loopback HTTP servers that misbehave, for the isolation and URL-safety tests (127.0.0.1 only)."""

from __future__ import annotations

import contextlib
import http.server
import threading


@contextlib.contextmanager
def stalled_server():
    """Yields a URL whose server sends headers and then nothing, until the block exits."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.flush()
            stop.wait(30)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stall.png"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
