"""fetch_bytes against a real loopback server: SSRF guard, redirects, HTTP failures, time and size limits.

No test sends a packet beyond 127.0.0.1: name resolution is faked for test host names and numeric-only for
everything else (``support.fetch_fakes``). DNS rebinding, address pinning and TLS are in test_fetch_pinning.py.
"""

from __future__ import annotations

import socket
import time

import pytest
from support.fetch_fakes import LOOPBACK
from support.http_server import OK_BODY

from omniembed.errors import ConfigError, InputError, MediaFetchError, MediaTooLargeError
from omniembed.inputs.fetch import FetchedData, FetchPolicy, fetch_bytes

pytestmark = pytest.mark.usefixtures("dns")  # every name resolves through FakeDNS: nothing leaves 127.0.0.1


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
