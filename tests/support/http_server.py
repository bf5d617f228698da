"""A small threaded HTTP server on 127.0.0.1 for the fetch tests (no traffic ever leaves the loopback interface).

Routes:
    /ok                 200, a few PNG-looking bytes, with Content-Length
    /echo               200, body "<Host header>|<User-Agent header>"
    /status/<code>      that status
    /redirect?to=<url>  302 to <url>
    /relative           302 to "/ok"
    /chain/<n>          302 to /chain/<n-1>; /chain/0 is 200
    /slow               sends nothing until the server stops (or 10 s)
    /drip               200 headers, then one byte every 0.1 s, no Content-Length
    /stall              200 headers and 4 body bytes, then nothing until the server stops (or 10 s)
    /drip-stall?ms=<n>  like /drip for n milliseconds, then like /stall
    /big?n=<n>&cl=<0|1> n bytes, with Content-Length when cl=1, close-delimited otherwise

``start_server(tls=True)`` serves HTTPS with a certificate for ``media.test`` only, signed by a throwaway test
CA (``TEST_CA_PEM``; generated once with openssl, valid 2000-2100, never used outside these tests).
"""

from __future__ import annotations

import http.server
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

OK_BODY = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24

TEST_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBbTCCARKgAwIBAgICEAAwCgYIKoZIzj0EAwIwHDEaMBgGA1UEAwwRb21uaWVt
YmVkIHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBwx
GjAYBgNVBAMMEW9tbmllbWJlZCB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAE0viI/CUzCQxNdTEtmi4oDdHgUjTDHI0FD0nUwTMib9NvB5+LHzWBWwGW
rRd7xD04OkAoii76wRlB9cI+ughmpKNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNV
HQ8BAf8EBAMCAgQwHQYDVR0OBBYEFKm8VY7AI5jAoanvB9lB5vFJrRt+MAoGCCqG
SM49BAMCA0kAMEYCIQDjqB4CuuFHl4OBEW4V3Wbju2lAscXXAkYLcwxtKhWMKAIh
AP0E4bz37OAGeOtxFa6H6UmYkaI6bQuC/h4D2TkJWkH2
-----END CERTIFICATE-----
"""
_LEAF_PEM = """-----BEGIN CERTIFICATE-----
MIIBnDCCAUKgAwIBAgICEAEwCgYIKoZIzj0EAwIwHDEaMBgGA1UEAwwRb21uaWVt
YmVkIHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBUx
EzARBgNVBAMMCm1lZGlhLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQY
MYFPG/fIkGMSpOzIHwpniUPaGuWmsDF5DZhxfkQdg0D8tGVM/q661ByI2wrO9loa
ebZX4mF+059RX79kCWJTo3kwdzAVBgNVHREEDjAMggptZWRpYS50ZXN0MAkGA1Ud
EwQCMAAwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHwYDVR0jBBgwFoAUqbxVjsAjmMCh
qe8H2UHm8UmtG34wHQYDVR0OBBYEFBXkEfYNJ+bz0ZaGfPQOUUMwRVXXMAoGCCqG
SM49BAMCA0gAMEUCIQD0Fc9OTUEMpnu/cAL7m/0/vuAbTKRyLsb2VWitUX6KrgIg
YwwTaAvGCnSzBDxwM2xaBd62OydQG9eYHWX4Nzz5+y8=
-----END CERTIFICATE-----
"""
_LEAF_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvkyhiSU/3xOnyXk0
VqX83kaptEBlgatmAJkNMHRYW2uhRANCAAQYMYFPG/fIkGMSpOzIHwpniUPaGuWm
sDF5DZhxfkQdg0D8tGVM/q661ByI2wrO9loaebZX4mF+059RX79kCWJT
-----END PRIVATE KEY-----
"""


@dataclass
class LoopbackServer:
    server: http.server.ThreadingHTTPServer
    stop: threading.Event
    requests: list[dict] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def _handler(state: LoopbackServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, length: bool = True) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append({"path": self.path, "headers": dict(self.headers)})
            path = parts.path
            if path == "/ok":
                self._send(200, OK_BODY, {"Content-Type": "image/png"})
            elif path == "/echo":
                body = f"{self.headers.get('Host')}|{self.headers.get('User-Agent')}".encode()
                self._send(200, body, {"Content-Type": "text/plain"})
            elif path.startswith("/status/"):
                self._send(int(path.rsplit("/", 1)[1]), b"nope")
            elif path == "/redirect":
                self._send(302, headers={"Location": query["to"][0]})
            elif path == "/relative":
                self._send(302, headers={"Location": "/ok"})
            elif path.startswith("/chain/"):
                left = int(path.rsplit("/", 1)[1])
                if left:
                    self._send(302, headers={"Location": f"/chain/{left - 1}"})
                else:
                    self._send(200, b"end")
            elif path == "/slow":
                state.stop.wait(10)
            elif path == "/stall":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"abcd")
                self.wfile.flush()
                state.stop.wait(10)
            elif path in ("/drip", "/drip-stall"):
                self.send_response(200)
                self.end_headers()
                until = time.monotonic() + int(query.get("ms", ["60000"])[0]) / 1000
                try:
                    while time.monotonic() < until and not state.stop.wait(0.1):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                except OSError:  # the client hung up: exactly what the test wants
                    return
                state.stop.wait(10)
            elif path == "/big":
                n = int(query["n"][0])
                self._send(200, b"\x00" * n, {"Content-Type": "application/octet-stream"}, query["cl"][0] == "1")
            else:
                self._send(404, b"unknown route")

    return Handler


def _server_tls_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:  # load_cert_chain only reads files
        cert, key = os.path.join(folder, "leaf.pem"), os.path.join(folder, "leaf.key")
        with open(cert, "w") as handle:
            handle.write(_LEAF_PEM)
        with open(key, "w") as handle:
            handle.write(_LEAF_KEY)
        context.load_cert_chain(cert, key)
    return context


def client_tls_context() -> ssl.SSLContext:
    """A client context that trusts only the test CA (hostname checking on, as by default)."""
    return ssl.create_default_context(cadata=TEST_CA_PEM)


def start_server(tls: bool = False) -> LoopbackServer:
    stop = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.daemon_threads = True
    if tls:
        server.socket = _server_tls_context().wrap_socket(server.socket, server_side=True)
    state = LoopbackServer(server=server, stop=stop)
    server.RequestHandlerClass = _handler(state)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return state


def stop_server(state: LoopbackServer) -> None:
    state.stop.set()
    state.server.shutdown()
    state.server.server_close()
