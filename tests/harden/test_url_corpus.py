"""The URL safety corpus: every address trick, redirect, credential form, slow or lying server and compression
bomb is refused with a typed error, and nothing reaches a loopback server that should not.

Servers listen on 127.0.0.1 (and ::1); host names resolve through a fake ``getaddrinfo``; no packet leaves the
machine. The default FetchPolicy (public addresses only) is what a server taking URLs from strangers uses.
"""

from __future__ import annotations

import socket
import time

import pytest
from harden._loopback_media import PNG_1X1, HostileServer

from omniembed.errors import MediaDecodeError, MediaFetchError, MediaTooLargeError
from omniembed.inputs import FetchPolicy, MediaOptions, load_item
from omniembed.inputs.fetch import fetch_bytes

_real_getaddrinfo = socket.getaddrinfo
LOOPBACK_ONLY = FetchPolicy(allow_private_hosts=frozenset({"127.0.0.1/32"}), total_timeout=10.0)


@pytest.fixture(scope="module")
def server():
    srv = HostileServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def server6():
    srv = HostileServer(family=socket.AF_INET6)
    yield srv
    srv.close()


@pytest.fixture
def dns(monkeypatch):
    """Names resolve from ``answers`` (one answer list per lookup, the last repeating); numbers parse locally."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []

    def fake(host, port, family=0, type=0, proto=0, flags=0):
        lookups.append(host)
        if host in answers:
            queue = answers[host]
            ips = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))
                    for ip in ips]
        return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    fake.answers, fake.lookups = answers, lookups
    return fake


def refused(url: str, match: str, policy: FetchPolicy | None = None, error=MediaFetchError):
    with pytest.raises(error, match=match) as info:
        fetch_bytes(url, policy)
    assert "Could not fetch" in str(info.value)
    return info.value


# ------------------------------------------------------------------------------------------- address forms
SPELLINGS = [
    ("http://[::1]:{p6}/ok.png", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:{p6}/ok.png", "loopback"),
    ("http://[fe80::1]:{p6}/ok.png", "link-local"),
    ("http://[fe80::1%25lo]:{p6}/ok.png", "invalid host"),  # zone ids are refused outright
    ("http://[::ffff:127.0.0.1]:{p}/ok.png", "loopback"),
    ("http://[::ffff:7f00:1]:{p}/ok.png", "loopback"),
    ("http://[::ffff:169.254.169.254]/latest/", "link-local"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://[::127.0.0.1]:{p}/ok.png", "non-global|reserved|loopback|private"),  # IPv4-compatible (deprecated)
    ("http://2130706433:{p}/ok.png", "loopback"),  # decimal
    ("http://017700000001:{p}/ok.png", "loopback"),  # octal, one number
    ("http://0177.0.0.1:{p}/ok.png", "Invalid IPv4 address"),  # octal, dotted: ambiguous, refused by the parser
    ("http://0x7f000001:{p}/ok.png", "loopback"),  # hex, one number
    ("http://0x7f.0x0.0x0.0x1:{p}/ok.png", "loopback"),  # hex, dotted
    ("http://127.1:{p}/ok.png", "loopback"),  # short form
    ("http://127.000.000.001:{p}/ok.png", "Invalid IPv4 address"),
    ("http://0.0.0.0:{p}/ok.png", "unspecified"),
    ("http://0:{p}/ok.png", "unspecified"),
    ("http://[::]:{p6}/ok.png", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://100.100.100.200/latest/meta-data/", "CGNAT"),  # Alibaba's metadata address
    ("http://[fd00:ec2::254]/latest/meta-data/", "private"),  # AWS IPv6 metadata
    ("http://192.168.0.1/", "private"),
    ("http://LOCALHOST:{p}/ok.png", "loopback"),
    ("http://localhost.:{p}/ok.png", "loopback"),
]


@pytest.mark.parametrize(("template", "kind"), SPELLINGS, ids=[t for t, _ in SPELLINGS])
def test_address_spellings_are_refused(server, server6, dns, template, kind):
    dns.answers["localhost"] = [["127.0.0.1", "::1"]]
    url = template.format(p=server.port, p6=server6.port)
    before = (len(server.requests), len(server6.requests))
    err = refused(url, f"(blocked|invalid).*({kind})" if "nvalid" not in kind else kind)
    assert (len(server.requests), len(server6.requests)) == before
    assert err.index is None and err.at_index(4).index == 4  # a per-item error that takes its position


@pytest.mark.parametrize(("name", "answer"), [
    ("intranet.example", ["10.1.2.3"]),
    ("metadata.example", ["169.254.169.254"]),
    ("v6.example", ["::1"]),
    ("mapped.example", ["::ffff:127.0.0.1"]),
    ("mixed.example", ["127.0.0.1", "10.0.0.1"]),
    ("cgnat.example", ["100.64.1.1"]),
])
def test_names_resolving_to_private_addresses_are_refused(server, dns, name, answer):
    dns.answers[name] = [answer]
    count = len(server.requests)
    refused(f"http://{name}:{server.port}/ok.png", rf"blocked: {name} resolves to a private/loopback address")
    assert len(server.requests) == count and dns.lookups.count(name) == 1


def test_dns_rebinding_cannot_swap_the_checked_address(server, dns):
    # Allowed answer first (127.0.0.1 is allowlisted), then an address the policy forbids: the connection must
    # go to the first, already-checked address; the second answer is never asked for.
    dns.answers["rebind.example"] = [["127.0.0.1"], ["10.9.9.9"]]
    policy = FetchPolicy(allow_private_hosts=frozenset({"rebind.example"}), total_timeout=10.0)
    got = fetch_bytes(f"http://rebind.example:{server.port}/ok.png", policy)
    assert got.data == PNG_1X1 and dns.lookups.count("rebind.example") == 1


def test_dns_rebinding_the_other_way_is_refused_before_connecting(server, dns):
    dns.answers["rebind2.example"] = [["10.9.9.9"], ["127.0.0.1"]]
    count = len(server.requests)
    refused(f"http://rebind2.example:{server.port}/ok.png", "blocked")
    assert len(server.requests) == count


# ------------------------------------------------------------------------------------------------ redirects
@pytest.mark.parametrize(("target", "match"), [
    ("http://169.254.169.254/latest/meta-data/", "blocked.*link-local"),
    ("http://[::1]/", "blocked.*loopback"),
    ("http://[::ffff:10.0.0.1]/", "blocked.*private"),  # the allowlisted 127.0.0.1 does not open 10/8
    ("http://167772161/", "blocked.*private"),  # 10.0.0.1 in decimal
    ("http://10.0.0.1/admin", "blocked.*private"),
    ("file:///etc/passwd", "only http and https"),
    ("ftp://example.com/a.png", "only http and https"),
    ("gopher://127.0.0.1:70/_GET", "only http and https"),
    ("data:image/png;base64,AAAA", "only http and https|malformed redirect Location"),
    ("javascript:alert(1)", "only http and https|malformed redirect Location"),
    ("http://user:pw@example.com/a.png", "credentials|blocked"),
])
def test_redirects_are_checked_like_first_hops(server, dns, target, match):
    dns.answers["example.com"] = [["93.184.216.34"]]  # public: only the credentials can stop it
    count = len(server.requests)
    refused(server.url(f"/redirect?to={target}"), match, LOOPBACK_ONLY)
    assert server.requests[count:] == ["/redirect"]  # the first hop only; the target was never contacted


def test_redirect_to_an_allowed_address_is_followed(server):
    assert fetch_bytes(server.url(f"/redirect?to={server.url('/ok.png')}"), LOOPBACK_ONLY).data == PNG_1X1


# ---------------------------------------------------------------------------------------------- credentials
@pytest.mark.parametrize("template", [
    "http://user:secret@127.0.0.1:{p}/ok.png",
    "http://user@127.0.0.1:{p}/ok.png",
    "http://127.0.0.1:{p}@127.0.0.1:{p}/ok.png",
    "http://:secret@127.0.0.1:{p}/ok.png",
])
def test_credentials_in_urls_are_refused_and_never_shown(server, template):
    count = len(server.requests)
    err = refused(template.format(p=server.port), "credentials", LOOPBACK_ONLY)
    assert "secret" not in str(err) and len(server.requests) == count


# ----------------------------------------------------------------------------------------- slow and lying
def test_one_byte_per_second_hits_the_total_deadline(server):
    policy = FetchPolicy(allow_private_hosts=True, total_timeout=2.5, read_timeout=5.0)
    started = time.monotonic()
    refused(server.url("/trickle"), r"timed out \(total timeout of 2.5s exceeded\)", policy)
    assert 2.0 < time.monotonic() - started < 6.0


def test_content_length_smaller_than_the_body(server):
    """Only the declared bytes are read (the rest is never buffered; keep-alive is off, so nothing can be
    smuggled into a later response); the truncated data is then refused by the decoder, naming the item."""
    got = fetch_bytes(server.url("/cl-small"), LOOPBACK_ONLY)
    assert got.data == PNG_1X1[:10]
    with pytest.raises(MediaDecodeError, match=r"^Item 3 \('http://127.0.0.1:\d+/cl-small'\)") as info:
        try:
            load_item(server.url("/cl-small"), "image", options=MediaOptions(fetch=LOOPBACK_ONLY))
        except MediaDecodeError as exc:
            raise exc.at_index(3)
    assert "corrupt or truncated" in str(info.value) or "not a valid image" in str(info.value)


def test_content_length_larger_than_the_body(server):
    refused(server.url("/cl-large"), "connection failed while reading the body", LOOPBACK_ONLY)


def test_content_length_over_the_cap_is_refused_before_reading(server):
    policy = FetchPolicy(allow_private_hosts=True, max_bytes=1000)
    refused(server.url("/cl-large"), "the body is 1048576 bytes, over the 1000-byte limit", policy, MediaTooLargeError)


# ------------------------------------------------------------------------------------------ compression bombs
def test_gzip_bomb_is_cut_at_the_byte_cap(server):
    import resource

    policy = FetchPolicy(allow_private_hosts=True, max_bytes=8 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused(server.url("/gzip-bomb"), "exceeds the 8388608-byte limit", policy, MediaTooLargeError)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # kB; a peak, so only an upper bound
    assert grown < 200_000


def test_double_gzip_is_refused(server):
    refused(server.url("/gzip2-bomb"), r"unsupported Content-Encoding 'gzip, gzip'", LOOPBACK_ONLY)


def test_unknown_encodings_are_refused(server):
    refused(server.url("/brotli"), r"unsupported Content-Encoding 'br'", LOOPBACK_ONLY)


def test_a_gzipped_image_still_loads(server):
    assert fetch_bytes(server.url("/gzip-png"), LOOPBACK_ONLY).data == PNG_1X1
    img = load_item(server.url("/gzip-png"), "image", options=MediaOptions(fetch=LOOPBACK_ONLY))
    assert img.size == (1, 1)


# ---------------------------------------------------------------------------------------------- end to end
def test_encode_names_the_refused_url(server, clip_dir, dns):
    from omniembed import SentenceTransformer

    model = SentenceTransformer(clip_dir, device="cpu")
    urls = [server.url("/ok.png").replace("127.0.0.1", "localhost"), "http://169.254.169.254/x.png",
            f"http://2130706433:{server.port}/ok.png"]
    dns.answers["localhost"] = [["127.0.0.1"]]
    _emb, failures = model.encode(["a cat", *urls], on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [1, 2, 3]
    assert all(isinstance(f.error, MediaFetchError) and "blocked" in f.reason for f in failures)
    assert str(failures[1].error).startswith("Item 2: Could not fetch 'http://169.254.169.254/x.png': blocked")
