"""Fakes for the fetch_bytes tests (tests/inputs/test_fetch*.py): a loopback server, name resolution that never
leaves the machine, and an ``httpx.MockTransport`` that records what would have gone to a public address.

tests/inputs/conftest.py makes the fixtures available to the tests of that folder; the fetch test modules use
``dns`` for every test (``pytestmark = pytest.mark.usefixtures("dns")``), so none of them resolves a real name.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from omniembed.inputs import fetch as fetch_module
from omniembed.inputs.fetch import FetchPolicy
from support.http_server import start_server, stop_server

LOOPBACK = FetchPolicy(allow_private_hosts=frozenset({"127.0.0.1"}), total_timeout=5.0)
PUBLIC_IP = "93.184.216.34"  # only ever handed to a MockTransport
_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def server():
    state = start_server()
    yield state
    stop_server(state)


class FakeDNS:
    """getaddrinfo for test host names (a list of answers, one per lookup); numeric-only for anything else."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.delay: dict[str, float] = {}

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        if host in self.delay:
            time.sleep(self.delay[host])
        if host in self.answers:
            queue = self.answers[host]
            ips = queue.pop(0) if len(queue) > 1 else queue[0]
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))
                for ip in ips
            ]
        if host == "localhost":
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        # Numeric forms ("127.0.0.1", "2130706433", "0x7f.1") parse locally; a real name fails instead of
        # reaching a DNS server.
        return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def no_connect(monkeypatch) -> list:
    """Fail loudly if anything tries to open a TCP connection."""
    attempts: list = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"unexpected connection to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


class Recorder:
    """A MockTransport handler that records requests and answers from a route table."""

    def __init__(self, routes: dict[str, httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.routes = routes or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        default = httpx.Response(200, content=b"media", headers={"Content-Type": "image/jpeg"})
        return self.routes.get(request.url.path, default)


@pytest.fixture
def mock_transport(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(
        fetch_module,
        "_make_client",
        lambda policy: httpx.Client(transport=httpx.MockTransport(recorder), follow_redirects=False),
    )
    return recorder
