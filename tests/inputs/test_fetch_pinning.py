"""fetch_bytes pins each connection to the address it validated: DNS rebinding, pinned public addresses over an
``httpx.MockTransport``, and TLS that checks the URL's name while connecting to the pinned IP.

No test sends a packet beyond 127.0.0.1 (``support.fetch_fakes`` fakes name resolution).
"""

from __future__ import annotations

import httpx
import pytest
from support.fetch_fakes import LOOPBACK, PUBLIC_IP
from support.http_server import client_tls_context, start_server, stop_server

from omniembed.errors import MediaFetchError
from omniembed.inputs import fetch as fetch_module
from omniembed.inputs.fetch import fetch_bytes

pytestmark = pytest.mark.usefixtures("dns")  # every name resolves through FakeDNS: nothing leaves 127.0.0.1


# -------------------------------------------------------------------------------------- DNS rebinding
def test_rebinding_second_answer_is_never_used(server, dns):
    # First answer: the allowed loopback server. Any later answer points at an internal address; pinning means
    # the connection still goes to the first, validated address, with the original Host header.
    dns.answers["rebind.test"] = [["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]]
    got = fetch_bytes(f"http://rebind.test:{server.port}/echo", LOOPBACK)
    assert got.data.decode().startswith(f"rebind.test:{server.port}|")
    assert dns.lookups.count("rebind.test") == 1
    assert got.url == f"http://rebind.test:{server.port}/echo"


def test_connection_is_pinned_to_validated_public_ip(dns, mock_transport):
    dns.answers["media.example"] = [[PUBLIC_IP], ["10.0.0.5"]]
    got = fetch_bytes("https://media.example/cat.jpg?size=large")
    (request,) = mock_transport.requests
    assert request.url.host == PUBLIC_IP and request.url.scheme == "https"
    assert request.url.path == "/cat.jpg" and request.url.query == b"size=large"
    assert request.headers["host"] == "media.example"
    assert request.extensions["sni_hostname"] == "media.example"  # TLS verifies the real name, not the IP
    assert got.data == b"media" and got.url == "https://media.example/cat.jpg?size=large"


def test_rebinding_on_a_redirect_hop_is_caught(dns, mock_transport):
    dns.answers["media.example"] = [[PUBLIC_IP], ["169.254.169.254"]]
    mock_transport.routes["/start"] = httpx.Response(302, headers={"Location": "/next.jpg"})
    with pytest.raises(MediaFetchError, match="blocked: media.example resolves.*169.254.169.254"):
        fetch_bytes("http://media.example/start")
    assert [r.url.host for r in mock_transport.requests] == [PUBLIC_IP]


def test_mixed_answers_pin_to_a_public_address(dns, mock_transport):
    dns.answers["dual.example"] = [["10.0.0.5", PUBLIC_IP]]
    fetch_bytes("http://dual.example/a.jpg")
    assert [r.url.host for r in mock_transport.requests] == [PUBLIC_IP]
    assert mock_transport.requests[0].headers["host"] == "dual.example"
    assert "sni_hostname" not in mock_transport.requests[0].extensions


def test_ipv6_pinning_brackets_the_address(dns, mock_transport):
    dns.answers["v6.example"] = [["2606:4700::1111"]]
    fetch_bytes("https://v6.example:8443/a.jpg")
    request = mock_transport.requests[0]
    assert request.url.host == "2606:4700::1111" and request.url.port == 8443
    assert request.headers["host"] == "v6.example:8443"


# ------------------------------------------------------------------------------------------------ TLS
@pytest.fixture
def tls_server(monkeypatch):
    state = start_server(tls=True)
    real = fetch_module._make_client

    def client_trusting_test_ca(policy):  # the production client, but trusting the throwaway test CA
        client = real(policy)
        client.close()
        return httpx.Client(
            verify=client_tls_context(),
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    monkeypatch.setattr(fetch_module, "_make_client", client_trusting_test_ca)
    yield state
    stop_server(state)


def test_tls_verifies_the_host_name_while_connecting_to_the_pinned_ip(tls_server, dns):
    # The certificate names media.test only; the socket goes to 127.0.0.1. Success proves SNI and certificate
    # checks use the URL's name, not the pinned address.
    dns.answers["media.test"] = [["127.0.0.1"], ["10.0.0.1"]]
    got = fetch_bytes(tls_server.url("/echo", host="media.test", scheme="https"), LOOPBACK)
    assert got.data.decode().startswith(f"media.test:{tls_server.port}|")
    assert dns.lookups.count("media.test") == 1


def test_tls_rejects_a_certificate_for_another_name(tls_server, dns):
    dns.answers["other.test"] = [["127.0.0.1"]]
    with pytest.raises(MediaFetchError, match="(?i)certificate"):
        fetch_bytes(tls_server.url("/ok", host="other.test", scheme="https"), LOOPBACK)


def test_tls_to_a_bare_ip_fails_verification(tls_server):
    with pytest.raises(MediaFetchError, match="(?i)certificate|mismatch"):
        fetch_bytes(tls_server.url("/ok", scheme="https"), LOOPBACK)
