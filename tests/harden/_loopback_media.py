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

        def do_GET(self) -> None:
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


PNG_1X1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8"
                        "cfc0000003010100c9fe92ef0000000049454e44ae426082")


class HostileServer:
    """A threaded HTTP server on 127.0.0.1 (or ::1) with misbehaving routes; ``requests`` lists the paths served.

    Routes: ``/ok.png`` (a 1×1 PNG), ``/redirect?to=<url>`` (302), ``/trickle`` (one byte per second, forever),
    ``/cl-small`` (declares 10 bytes, sends 1 MiB), ``/cl-large`` (declares 1 MiB, sends 10 bytes and closes),
    ``/gzip-bomb`` (1 GiB of zeros as one gzip layer, ~1 MB), ``/gzip2-bomb`` (the same gzipped twice, ~4 kB),
    ``/brotli`` (claims ``Content-Encoding: br``), ``/gzip-png`` (the PNG, gzip-encoded).
    """

    def __init__(self, family: int = 2) -> None:
        import gzip
        import socket
        import zlib

        self.requests: list[str] = []
        self.stop = threading.Event()
        zeros = zlib.compressobj(9, zlib.DEFLATED, 31)
        layer = b"".join(zeros.compress(b"\0" * (1 << 20)) for _ in range(1024)) + zeros.flush()
        bodies = {"gzip-bomb": layer, "gzip2-bomb": gzip.compress(layer, 9), "gzip-png": gzip.compress(PNG_1X1)}
        state = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _head(self, status: int, headers: dict) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                parts = urlsplit(self.path)
                state.requests.append(parts.path)
                name = parts.path.strip("/")
                try:
                    if name == "ok.png":
                        self._head(200, {"Content-Type": "image/png", "Content-Length": str(len(PNG_1X1))})
                        self.wfile.write(PNG_1X1)
                    elif name == "redirect":
                        self._head(302, {"Location": parse_qs(parts.query)["to"][0], "Content-Length": "0"})
                    elif name == "trickle":
                        self._head(200, {"Content-Type": "image/png"})
                        while not state.stop.wait(1.0):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                    elif name == "cl-small":
                        self._head(200, {"Content-Type": "image/png", "Content-Length": "10"})
                        self.wfile.write(PNG_1X1[:10] + b"\0" * (1 << 20))
                    elif name == "cl-large":
                        self._head(200, {"Content-Type": "image/png", "Content-Length": str(1 << 20)})
                        self.wfile.write(PNG_1X1[:10])
                        self.close_connection = True
                    elif name in bodies:
                        self._head(200, {"Content-Type": "image/png", "Content-Length": str(len(bodies[name])),
                                         "Content-Encoding": "gzip, gzip" if name == "gzip2-bomb" else "gzip"})
                        self.wfile.write(bodies[name])
                    elif name == "brotli":
                        self._head(200, {"Content-Type": "image/png", "Content-Encoding": "br",
                                         "Content-Length": "4"})
                        self.wfile.write(b"\x0b\x02\x80\x00")
                    else:
                        self._head(404, {"Content-Length": "0"})
                except OSError:  # the client hung up (a refused download): what the tests want
                    pass

        server_class = type("Server", (http.server.ThreadingHTTPServer,), {"address_family": family})
        self.server = server_class(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
