"""Fetch a media URL safely: http(s) only, public addresses only, pinned IP, bounded time and size.

Every hop (the first request and each redirect) is checked the same way before anything is sent:

1. the scheme is http or https, and the host is in ``allowed_hosts`` when that allowlist is set;
2. the host is resolved once with ``socket.getaddrinfo`` (under the total deadline), and addresses that are not
   public (loopback, RFC 1918, link-local including 169.254.169.254, CGNAT, multicast, reserved, unspecified,
   ULA, and IPv4 embedded in IPv6) are refused unless ``allow_private_hosts`` allows them;
3. the connection goes to the validated IP itself, with the original ``Host`` header and, for https, the
   original name as TLS SNI and certificate name. A second DNS answer (DNS rebinding) is never consulted.

Redirects are followed by hand (at most ``max_redirects``), bodies are streamed and cut at ``max_bytes``
(``Content-Length`` is checked first), and ``total_timeout`` bounds the whole call, DNS included.
Failures raise :class:`~omniembed.errors.MediaFetchError`; oversize bodies
:class:`~omniembed.errors.MediaTooLargeError`.

Example:
    >>> from omniembed.inputs.fetch import FetchPolicy, fetch_bytes
    >>> fetch_bytes("http://169.254.169.254/latest/meta-data/")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    omniembed.errors.MediaFetchError: Could not fetch 'http://169.254.169.254/latest/meta-data/': blocked: ...
    >>> fetch_bytes("file:///etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    omniembed.errors.MediaFetchError: Could not fetch 'file:///etc/passwd': only http and https URLs ...
    >>> intranet = FetchPolicy(allow_private_hosts={"media.corp", "10.20.0.0/16"}, max_bytes=8 << 20)
    >>> sorted(intranet.allow_private_hosts)
    ['10.20.0.0/16', 'media.corp']
    >>> fetch_bytes("https://media.corp/cat.jpg", intranet).data[:3]  # doctest: +SKIP
    b'\xff\xd8\xff'
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from omniembed.errors import ConfigError, MediaFetchError, MediaTooLargeError
from omniembed.inputs.fetch_body import read_body

__all__ = ["FetchPolicy", "FetchedData", "fetch_bytes"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _default_user_agent() -> str:
    # Read from package metadata rather than `omniembed.__version__`, which may not exist yet while the
    # package's own __init__ is importing this module.
    try:
        from importlib.metadata import version

        return f"omniembed/{version('omniembed')}"
    except Exception:  # noqa: BLE001 - not installed (a source checkout on sys.path): still identify ourselves
        return "omniembed"


@dataclass(frozen=True)
class FetchPolicy:
    """How, and whether, URLs are fetched. The defaults suit untrusted input on a server.

    ``allow_private_hosts``: False (public addresses only), True (anything), or a set of host names, IPs and
    CIDR networks (``{"media.corp", "10.1.0.0/16"}``) whose non-public addresses are allowed.
    ``allowed_hosts``: when set, the exact host names (every redirect hop included) that may be fetched. It only
    narrows: a listed host whose address is private or loopback is still refused unless ``allow_private_hosts``
    also names it (two separate decisions, so an allowlist written for public CDNs never opens the intranet).
    ``trust_env``: honour ``HTTP(S)_PROXY`` and friends; off by default, so a proxy cannot undo the IP check.
    """

    enabled: bool = True
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 64 * 1024 * 1024
    max_redirects: int = 3
    allow_private_hosts: bool | frozenset[str] = False
    allowed_hosts: frozenset[str] | None = None
    trust_env: bool = False
    user_agent: str = field(default_factory=_default_user_agent)

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"FetchPolicy.{name} must be positive seconds, not {getattr(self, name)!r}")
        if self.max_bytes < 0 or self.max_redirects < 0:
            raise ConfigError("FetchPolicy.max_bytes and max_redirects must be >= 0")
        # Accept any iterable of names from callers, but store normalised frozensets (the policy stays hashable).
        if not isinstance(self.allow_private_hosts, bool):
            object.__setattr__(self, "allow_private_hosts", _normalise_hosts(self.allow_private_hosts))
            for entry in self.allow_private_hosts:
                _as_network(entry)  # fail early on a malformed CIDR such as "10.0.0.0/33"
        if self.allowed_hosts is not None:
            object.__setattr__(self, "allowed_hosts", _normalise_hosts(self.allowed_hosts))


@dataclass(frozen=True)
class FetchedData:
    """A fetched body: ``data``, the server's ``content_type`` (or None) and the final ``url`` after redirects."""

    data: bytes
    content_type: str | None
    url: str


def _ascii_host(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    try:  # compare names in their IDNA (punycode) form, the form the URL parser gives us
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _normalise_hosts(hosts: Iterable[str]) -> frozenset[str]:
    if isinstance(hosts, str):
        hosts = (hosts,)
    return frozenset(_ascii_host(h) for h in hosts)


def _as_network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``entry`` as an IP network when it is an IP or CIDR, None when it is a host name."""
    if not any(c.isdigit() for c in entry) or not all(c.isalnum() or c in ".:/" for c in entry):
        return None
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        if "/" in entry:
            raise ConfigError(f"allow_private_hosts entry {entry!r} is not a valid CIDR network") from None
        return None  # a host name made of letters and digits, e.g. "media1"


def _shown(url: str) -> str:
    # Signed media URLs carry credentials in the query (and some in user:password@); messages drop both.
    base, query, _ = url.partition("?")
    scheme, sep, rest = base.partition("#")[0].partition("://")
    if sep:
        host, slash, path = rest.partition("/")
        base = f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"
    text = base + ("?…" if query else "")
    return repr(text if len(text) <= 200 else text[:199] + "…")


def _blocked_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or None when it is one."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = _blocked_kind(embedded)
            if inner is not None:
                return f"{inner} (embedded in IPv6)"
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return kind
    return None if ip.is_global else "non-global"


def _private_allowed(policy: FetchPolicy, host: str, ip: IPAddress) -> bool:
    allow = policy.allow_private_hosts
    if isinstance(allow, bool):
        return allow
    if host in allow:
        return True
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    for entry in allow:
        network = _as_network(entry)
        if network is not None and (ip in network or (mapped is not None and mapped in network)):
            return True
    return False


def _resolve(host: str, port: int, deadline: float, url: str) -> list[IPAddress]:
    """All addresses of ``host``, with DNS bounded by the deadline (getaddrinfo itself has no timeout)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    outcome: list = []

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            outcome.append(exc)

    # A daemon thread: a resolver stuck past the deadline must hold neither this call nor interpreter exit.
    worker = threading.Thread(target=lookup, name="omniembed-dns", daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0.0))
    if not outcome:
        raise _error(url, "timed out resolving the host name")
    if isinstance(outcome[0], Exception):
        raise _error(url, f"cannot resolve host {host!r} ({outcome[0]})")
    infos = outcome[0]
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise _error(url, f"host {host!r} has no addresses")
    return addresses


def _error(url: str, reason: str) -> MediaFetchError:
    return MediaFetchError(f"Could not fetch {_shown(url)}: {reason}")  # the message names the URL (redacted)


def _too_large(url: str, reason: str) -> MediaTooLargeError:
    return MediaTooLargeError(f"Could not fetch {_shown(url)}: {reason}")


def _check_hop(url: str, policy: FetchPolicy, deadline: float):
    """Validate one hop; return (parsed httpx.URL, the addresses we may connect to, in order)."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _error(url, f"invalid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise _error(url, f"only http and https URLs can be fetched, not {parsed.scheme or 'a relative URL'!r}")
    host = parsed.raw_host.decode("ascii").rstrip(".").lower()
    if not host or any(c in host for c in " %/\\@"):
        raise _error(url, f"invalid host {parsed.host!r}")
    if policy.allowed_hosts is not None and host not in policy.allowed_hosts:
        raise _error(url, f"blocked: host {host!r} is not in FetchPolicy.allowed_hosts")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = _resolve(host, port, deadline, url)
    usable = [ip for ip in addresses if _blocked_kind(ip) is None or _private_allowed(policy, host, ip)]
    if not usable:
        ip = addresses[0]
        listed = policy.allowed_hosts is not None and host in policy.allowed_hosts
        raise _error(
            url,
            f"blocked: {host} resolves to a private/loopback address ({ip}, {_blocked_kind(ip)}). To allow it "
            f"(intranet use), pass media=MediaOptions(fetch=FetchPolicy(allow_private_hosts={{{host!r}}}))"
            + (" — allowed_hosts does not lift this block, it only narrows which hosts may be fetched" if listed
               else ""),
        )
    if parsed.userinfo:
        # Credentials in a URL from a stranger would be sent to a host of their choosing (and "user@host" tricks
        # make the real host hard to see); media URLs carry their tokens in the query string instead.
        raise _error(url, "blocked: URLs with credentials (user:password@host) are not fetched")
    return parsed, usable


def _make_client(policy: FetchPolicy):
    """The HTTP client for one fetch (a seam for tests, which swap in an ``httpx.MockTransport``)."""
    import httpx

    # No keep-alive: a connection verified for one host name must not carry a redirect to another name.
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(trust_env=policy.trust_env, follow_redirects=False, limits=limits)


def _timed_out(url: str, policy: FetchPolicy) -> MediaFetchError:
    return _error(url, f"timed out (total timeout of {policy.total_timeout:g}s exceeded)")


def _remaining(deadline: float, url: str, policy: FetchPolicy) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out(url, policy)
    return left


def _send(client, parsed, ip: IPAddress, policy: FetchPolicy, deadline: float, url: str):
    """Send GET to ``ip`` while presenting the URL's own host name (Host header, SNI, certificate check)."""
    import httpx

    left = _remaining(deadline, url, policy)
    timeout = httpx.Timeout(
        connect=min(policy.connect_timeout, left),
        read=min(policy.read_timeout, left),
        write=min(policy.read_timeout, left),
        pool=min(policy.connect_timeout, left),
    )
    extensions = {"sni_hostname": parsed.raw_host.decode("ascii")} if parsed.scheme == "https" else {}
    headers = {
        "Host": parsed.netloc.decode("ascii"),
        "User-Agent": policy.user_agent,
        "Accept-Encoding": "identity",  # media is already compressed; this also avoids decompression bombs
    }
    request = client.build_request(
        "GET", parsed.copy_with(host=str(ip)), headers=headers, extensions=extensions, timeout=timeout
    )
    return client.send(request, stream=True)


class _Errors:
    """The typed errors of one hop, for :func:`~omniembed.inputs.fetch_body.read_body`."""

    def __init__(self, url: str, policy: FetchPolicy) -> None:
        self.url, self.policy = url, policy

    def fetch(self, reason: str) -> MediaFetchError:
        return _error(self.url, reason)

    def too_large(self, reason: str) -> MediaTooLargeError:
        return _too_large(self.url, reason)

    def timed_out(self) -> MediaFetchError:
        return _timed_out(self.url, self.policy)


def _open(client, parsed, addresses: list[IPAddress], policy: FetchPolicy, deadline: float, url: str):
    """The response from the first validated address that accepts the connection."""
    import httpx

    for position, ip in enumerate(addresses):
        try:
            return _send(client, parsed, ip, policy, deadline, url)
        except httpx.ConnectError as exc:  # try the next validated address (e.g. IPv6 unreachable, IPv4 fine)
            if position == len(addresses) - 1:
                raise _error(url, f"connection failed ({exc})") from None
        except httpx.TimeoutException as exc:
            if time.monotonic() >= deadline:
                raise _timed_out(url, policy) from None
            what = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for the response"
            raise _error(url, f"timed out {what} ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise _error(url, f"request failed ({type(exc).__name__}: {exc})") from None
        except (httpx.InvalidURL, ValueError) as exc:
            # httpx pre-builds the next request of every 3xx response, even with redirects off, and a Location
            # such as "javascript:alert(1)" makes that raise InvalidURL (not an HTTPError).
            raise _error(url, f"the response is unusable, e.g. a malformed redirect Location ({exc})") from None
    raise _error(url, "no address to connect to")  # unreachable: _check_hop never returns an empty list


def fetch_bytes(url: str, policy: FetchPolicy | None = None, *, max_bytes: int | None = None) -> FetchedData:
    """GET ``url`` under ``policy`` (default: ``FetchPolicy()``); ``max_bytes`` overrides the policy's byte cap."""
    import httpx

    policy = policy or FetchPolicy()
    if not policy.enabled:
        raise _error(url, "URL fetching is disabled (FetchPolicy.enabled is False)")
    cap = policy.max_bytes if max_bytes is None else max_bytes
    deadline = time.monotonic() + policy.total_timeout
    current = url
    with _make_client(policy) as client:
        for _hop in range(policy.max_redirects + 1):
            parsed, addresses = _check_hop(current, policy, deadline)
            response = _open(client, parsed, addresses, policy, deadline, current)
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECT_STATUSES and location:
                    try:  # relative locations resolve against the URL as the user wrote it, never the pinned IP
                        current = str(parsed.join(location))
                    except (httpx.InvalidURL, ValueError) as exc:
                        raise _error(current, f"invalid redirect location {location!r} ({exc})") from None
                    continue
                if response.status_code >= 300:
                    raise _error(current, f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
                data = read_body(response, cap, deadline, errors=_Errors(current, policy))
                return FetchedData(data=data, content_type=response.headers.get("content-type"), url=current)
            finally:
                response.close()
    raise _error(url, f"too many redirects (more than {policy.max_redirects}; the last went to {_shown(current)})")
