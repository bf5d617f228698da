"""fetch_bytes against a real loopback server: SSRF guard, pinning, redirects, time and size limits.

No test sends a packet beyond 127.0.0.1: name resolution is faked for test host names and numeric-only for
everything else, and the "public IP" cases run over an ``httpx.MockTransport``.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from support.http_server import OK_BODY, client_tls_context, start_server, stop_server

from omniembed.errors import ConfigError, InputError, MediaFetchError, MediaTooLargeError
from omniembed.inputs import fetch as fetch_module
from omniembed.inputs.fetch import FetchedData, FetchPolicy, fetch_bytes

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


@pytest.fixture(autouse=True)
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


# ------------------------------------------------------------------------------------------- happy paths
def test_fetch_ok_from_allowlisted_loopback(server):
    got = fetch_bytes(server.url("/ok"), LOOPBACK)
    assert isinstance(got, FetchedData)
    assert got.data == OK_BODY
    assert got.content_type == "image/png"
    assert got.url == server.url("/ok")


def test_default_user_agent_and_host_header(server):
    got = fetch_bytes(server.url("/echo"), LOOPBACK)
    host, agent = got.data.decode().split("|")
    assert host == f"127.0.0.1:{server.port}"
    assert agent.startswith("omniembed")
    custom = FetchPolicy(allow_private_hosts=True, user_agent="my-crawler/1.0")
    assert fetch_bytes(server.url("/echo"), custom).data.decode().endswith("|my-crawler/1.0")


@pytest.mark.parametrize(
    "allow",
    [True, frozenset({"127.0.0.1"}), {"127.0.0.0/8"}, ["localhost"], frozenset({"127.0.0.1/32"})],
    ids=["all", "ip", "cidr-set", "hostname-list", "cidr32"],
)
def test_allow_private_hosts_forms(server, allow):
    host = "localhost" if allow == ["localhost"] else "127.0.0.1"
    assert fetch_bytes(server.url("/ok", host=host), FetchPolicy(allow_private_hosts=allow)).data == OK_BODY


def test_allowlisted_ip_does_not_open_other_private_ranges(no_connect):
    with pytest.raises(MediaFetchError, match="blocked"):
        fetch_bytes("http://10.0.0.1/a.jpg", LOOPBACK)
    assert no_connect == []


def test_relative_redirect_is_followed(server):
    got = fetch_bytes(server.url("/relative"), LOOPBACK)
    assert got.data == OK_BODY and got.url == server.url("/ok")


def test_exact_cap_is_allowed(server):
    assert len(fetch_bytes(server.url("/big?n=1000&cl=1"), LOOPBACK, max_bytes=1000).data) == 1000
    assert len(fetch_bytes(server.url("/big?n=1000&cl=0"), LOOPBACK, max_bytes=1000).data) == 1000


def test_proxy_environment_is_ignored_by_default(server, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # a closed loopback port: using it would fail
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert fetch_bytes(server.url("/ok"), LOOPBACK).data == OK_BODY


# ------------------------------------------------------------------------------------- blocked targets
BLOCKED = [
    ("http://127.0.0.1:{port}/ok", "loopback"),
    ("http://localhost:{port}/ok", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.0.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://0.0.0.0:{port}/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[::1]:{port}/", "loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[::]/", "unspecified"),
    ("http://[2002:7f00:1::]/", "embedded in IPv6"),  # 6to4 wrapping 127.0.0.1
    ("http://[64:ff9b::a00:1]/", "embedded in IPv6"),  # NAT64 wrapping 10.0.0.1
    ("http://2130706433:{port}/", "loopback"),  # decimal 127.0.0.1
    ("http://0x7f.1:{port}/", "loopback"),  # hex shorthand
    ("https://127.0.0.1/", "loopback"),
    ("http://user:pw@127.0.0.1:{port}/", "loopback"),
]


@pytest.mark.parametrize(("template", "kind"), BLOCKED, ids=[t for t, _ in BLOCKED])
def test_default_policy_refuses_non_public_addresses(server, no_connect, template, kind):
    url = template.format(port=server.port)
    with pytest.raises(MediaFetchError) as info:
        fetch_bytes(url)
    message = str(info.value)
    assert "blocked" in message and kind in message
    assert "allow_private_hosts" in message and "intranet" in message
    assert no_connect == [] and server.requests == []


def test_refusal_happens_for_names_resolving_privately(dns, no_connect):
    dns.answers["intranet.example"] = [["10.1.2.3"]]
    with pytest.raises(MediaFetchError, match=r"intranet\.example resolves to a private/loopback address \(10\.1"):
        fetch_bytes("https://intranet.example/cat.jpg")
    assert no_connect == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.jpg",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "/relative/a.jpg",
        "",
        "ws://example.com/",
    ],
)
def test_non_http_schemes_are_refused(no_connect, url):
    with pytest.raises(MediaFetchError, match="only http and https"):
        fetch_bytes(url, FetchPolicy(allow_private_hosts=True))
    assert no_connect == []


@pytest.mark.parametrize("url", ["http://[invalid", "http://a b/c.jpg", "http:///x.jpg", "http://%5B::1%5D/"])
def test_malformed_urls_are_refused(no_connect, url):
    with pytest.raises(MediaFetchError, match="invalid"):
        fetch_bytes(url, FetchPolicy(allow_private_hosts=True))


def test_disabled_policy_refuses_everything(no_connect):
    with pytest.raises(MediaFetchError, match="disabled"):
        fetch_bytes("https://example.com/a.jpg", FetchPolicy(enabled=False))


def test_allowed_hosts_is_an_exact_allowlist(server, no_connect):
    with pytest.raises(MediaFetchError, match="not in FetchPolicy.allowed_hosts"):
        fetch_bytes(server.url("/ok"), FetchPolicy(allowed_hosts=frozenset({"example.com"}), allow_private_hosts=True))
    assert server.requests == []


def test_allowed_hosts_admits_listed_host(server):
    policy = FetchPolicy(allowed_hosts={"127.0.0.1"}, allow_private_hosts=True)
    assert fetch_bytes(server.url("/ok"), policy).data == OK_BODY


# ------------------------------------------------------------------------------------------- redirects
@pytest.mark.parametrize(
    ("target", "match"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.1/admin", "10.0.0.1"),
        ("http://[::1]/", "::1"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
def test_redirect_to_blocked_target_is_refused(server, target, match):
    with pytest.raises(MediaFetchError, match=match) as info:
        fetch_bytes(server.url(f"/redirect?to={target}"), LOOPBACK)
    assert target.split("/")[0] in str(info.value)  # the error names the hop that was refused
    assert len(server.requests) == 1


def test_redirect_off_the_allowlist_is_refused(server):
    policy = FetchPolicy(allowed_hosts={"127.0.0.1"}, allow_private_hosts=True)
    with pytest.raises(MediaFetchError, match="localhost.*not in FetchPolicy.allowed_hosts"):
        fetch_bytes(server.url(f"/redirect?to={server.url('/ok', host='localhost')}"), policy)


def test_redirect_chain_within_limit(server):
    got = fetch_bytes(server.url("/chain/3"), LOOPBACK)
    assert got.data == b"end" and got.url.endswith("/chain/0")


def test_redirect_chain_over_limit(server):
    with pytest.raises(MediaFetchError, match=r"too many redirects \(more than 3"):
        fetch_bytes(server.url("/chain/4"), LOOPBACK)
    assert len(server.requests) == 4
    with pytest.raises(MediaFetchError, match="more than 0"):
        fetch_bytes(server.url("/relative"), FetchPolicy(allow_private_hosts=True, max_redirects=0))


# --------------------------------------------------------------------------------------- HTTP failures
@pytest.mark.parametrize("status", [404, 403, 500, 503])
def test_http_error_status_names_status_and_url(server, status):
    url = server.url(f"/status/{status}")
    with pytest.raises(MediaFetchError) as info:
        fetch_bytes(url, LOOPBACK)
    assert f"HTTP {status}" in str(info.value) and url in str(info.value)
    assert isinstance(info.value, (InputError, ValueError))


def test_error_message_hides_query_string(server):
    with pytest.raises(MediaFetchError) as info:
        fetch_bytes(server.url("/status/404?X-Amz-Signature=SECRET"), LOOPBACK)
    assert "SECRET" not in str(info.value) and "/status/404?…" in str(info.value)


def test_error_takes_an_index(server):
    with pytest.raises(MediaFetchError) as info:
        fetch_bytes(server.url("/status/404"), LOOPBACK)
    assert str(info.value.at_index(2)).startswith("Item 2: Could not fetch")


def test_connection_refused():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(MediaFetchError, match="connection failed"):
        fetch_bytes(f"http://127.0.0.1:{port}/a.jpg", LOOPBACK)


# ------------------------------------------------------------------------------------------ time limits
def test_slow_server_read_timeout(server):
    policy = FetchPolicy(allow_private_hosts=True, read_timeout=0.5, total_timeout=10)
    start = time.monotonic()
    with pytest.raises(MediaFetchError, match="timed out"):
        fetch_bytes(server.url("/slow"), policy)
    assert time.monotonic() - start < 2.0


def test_trickling_server_hits_total_deadline(server):
    # Each byte arrives well inside the read timeout; only the total deadline can stop this.
    policy = FetchPolicy(allow_private_hosts=True, read_timeout=5, total_timeout=1.0)
    start = time.monotonic()
    with pytest.raises(MediaFetchError, match=r"total timeout of 1s"):
        fetch_bytes(server.url("/drip"), policy)
    assert time.monotonic() - start < 2.0


def test_stalled_body_hits_total_deadline(server):
    # Headers and a few bytes, then silence: the read timeout alone would wait 5 s.
    policy = FetchPolicy(allow_private_hosts=True, read_timeout=5, total_timeout=1.0)
    start = time.monotonic()
    with pytest.raises(MediaFetchError, match=r"total timeout of 1s"):
        fetch_bytes(server.url("/stall"), policy)
    assert time.monotonic() - start < 2.0


def test_stall_late_in_the_body_is_cut_at_the_deadline(server):
    # Reads are allowed min(read_timeout, time left at the start) = 1 s each; a stall at 0.9 s would end at
    # 1.9 s by timeouts alone. The watchdog closes the socket at the 1 s deadline instead.
    policy = FetchPolicy(allow_private_hosts=True, read_timeout=5, total_timeout=1.0)
    start = time.monotonic()
    with pytest.raises(MediaFetchError, match=r"total timeout of 1s"):
        fetch_bytes(server.url("/drip-stall?ms=900"), policy)
    assert time.monotonic() - start < 1.5


def test_slow_dns_hits_total_deadline(dns):
    dns.delay["slow-dns.example"] = 3.0
    dns.answers["slow-dns.example"] = [["93.184.216.34"]]
    start = time.monotonic()
    with pytest.raises(MediaFetchError, match="resolving"):
        fetch_bytes("http://slow-dns.example/a.jpg", FetchPolicy(total_timeout=0.5))
    assert time.monotonic() - start < 1.5


def test_unresolvable_host(dns, no_connect):
    with pytest.raises(MediaFetchError, match="cannot resolve host 'no-such-host.invalid'"):
        fetch_bytes("http://no-such-host.invalid/a.jpg")


# ------------------------------------------------------------------------------------------- size limits
@pytest.mark.parametrize("content_length", ["1", "0"], ids=["with-content-length", "close-delimited"])
def test_body_over_cap(server, content_length):
    with pytest.raises(MediaTooLargeError, match="1000-byte limit"):
        fetch_bytes(server.url(f"/big?n=5000&cl={content_length}"), LOOPBACK, max_bytes=1000)


def test_policy_cap_applies_without_override(server):
    policy = FetchPolicy(allow_private_hosts=True, max_bytes=300_000)
    with pytest.raises(MediaTooLargeError) as info:
        fetch_bytes(server.url("/big?n=1000000&cl=0"), policy)
    assert isinstance(info.value, ValueError)


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


# --------------------------------------------------------------------------------------------- policy
def test_policy_normalises_and_validates():
    policy = FetchPolicy(allow_private_hosts={"Media.Corp.", "[::1]", "10.0.0.0/8"}, allowed_hosts=["Example.COM"])
    assert policy.allow_private_hosts == frozenset({"media.corp", "::1", "10.0.0.0/8"})
    assert policy.allowed_hosts == frozenset({"example.com"})
    hash(policy)  # frozen and hashable: usable as a cache key
    with pytest.raises(ConfigError, match="not a valid CIDR"):
        FetchPolicy(allow_private_hosts={"10.0.0.0/33"})
    defaults = FetchPolicy()
    assert (defaults.connect_timeout, defaults.read_timeout, defaults.total_timeout) == (5.0, 10.0, 30.0)
    assert (defaults.max_bytes, defaults.max_redirects, defaults.trust_env) == (64 * 1024 * 1024, 3, False)
    assert defaults.allow_private_hosts is False and defaults.allowed_hosts is None


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
