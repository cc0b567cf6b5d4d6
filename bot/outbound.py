"""Outbound URLs: the one gate every request the app makes to an address someone typed goes
through (a brand's webhook now; media fetching and network servers next).

A URL passes :func:`check` (syntax, at save time, no network) when it is http(s), has a real
host and a port in range, and carries no credentials; odd IPv4 spellings (``0x7f000001``,
``2130706433``, ``0177.0.0.1``, ``127.1``) are normalised to dotted quads the way a
resolver would read them, so they can't slip past the address rules. :func:`vet` then
resolves the host and refuses it when *any* address is loopback, private, link-local,
multicast, reserved, unspecified or shared, or the IPv4-mapped, 6to4 or NAT64 form of one —
unless the operator listed the host in ``POSTROOM_ALLOW_HOSTS``. Vet at save time (so the
admin gets a sentence) *and* at connect time (DNS may have changed): :func:`request` (and
:func:`post`) connects to the very address it vetted (no rebinding gap) while sending the
URL's host as ``Host`` and TLS server name, verifying the certificate for that name.
Redirects are never followed.

For a new kind of outbound call (media, a network's server): :func:`vet` when the URL is
saved, :func:`request` each time it is used, the service's :class:`Policy` for both.

Every refusal is an :class:`OutboundRefused` (a ``ValidationFailed``) with a sentence for
the person who typed the URL. A request's failure is an :class:`Answer` whose ``category``
is what people may be told ("timed out", "HTTP 5xx"…) — never the remote's text, so the
app can't be used to probe ports — and whose ``detail`` is for the operator's log.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.errors import ValidationFailed
from bot.mrkdwn import code

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

# What people are told when a request fails (the log keeps the detail).
BLOCKED = "blocked: private address"
REFUSED = "refused by the receiver"
TIMED_OUT = "timed out"
NO_CONNECTION = "could not connect"
REDIRECTED = "redirected, not followed"
SERVER_ERROR = "HTTP 5xx"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class OutboundRefused(ValidationFailed):
    """A URL or its addresses may not be reached; ``str()`` says why and how to fix it,
    ``category`` is the short form for a failed delivery."""

    def __init__(self, message: str, category: str = NO_CONNECTION) -> None:
        super().__init__(message)
        self.category = category


@dataclass(frozen=True)
class Target:
    """A URL that passed :func:`check`, in normal form."""

    scheme: str
    host: str  # lowercase, IDNA-encoded; an IP in its canonical text (IPv6 without [])
    port: int
    path: str  # what follows the host: path and query, at least "/"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{host}{'' if default else f':{self.port}'}{self.path}"


@dataclass(frozen=True)
class Vetted:
    """A target and the addresses it may be reached at (all of them allowed)."""

    target: Target
    addresses: tuple[str, ...]


DNS_TIMEOUT = 5.0  # seconds a lookup may take before the URL is refused as unresolvable
# getaddrinfo can't be interrupted: lookups run here and whoever waits gives up at its deadline
_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dns")


def system_resolver(host: str, port: int, timeout: float = DNS_TIMEOUT) -> list[str]:
    """The host's addresses, by the system's resolver; raises TimeoutError (an OSError)
    when it has no answer within ``timeout`` seconds."""
    lookup = _LOOKUPS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout)
    except FutureTimeout as slow:
        raise TimeoutError(f"no DNS answer within {timeout:g} s") from slow
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass(frozen=True)
class Policy:
    """Which hosts the operator trusts despite their addresses, and how names resolve."""

    allow_hosts: frozenset[str] = frozenset()
    resolve: Resolver = field(default=system_resolver, compare=False)
    # Whom TLS trusts: None is the system's certificate authorities (tests give their own).
    tls: ssl.SSLContext | None = field(default=None, compare=False)

    @classmethod
    def from_setting(cls, value: str | None, resolve: Resolver = system_resolver) -> Policy:
        """``POSTROOM_ALLOW_HOSTS``: comma-separated host names or IP addresses."""
        return cls(allow_hosts=parse_allow_hosts(value or ""), resolve=resolve)

    def allows(self, host: str) -> bool:
        return host in self.allow_hosts


def parse_allow_hosts(value: str) -> frozenset[str]:
    """Each listed host in the same normal form as :attr:`Target.host`; raises
    ValueError naming an entry that isn't a host."""
    hosts = set()
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        try:
            hosts.add(normal_host(entry.strip("[]")))
        except OutboundRefused as error:
            raise ValueError(f"{entry!r} is not a host name or IP address") from error
    return frozenset(hosts)


# --- syntax --------------------------------------------------------------------------------


def check(url: object, what: str = "The URL") -> Target:
    """The URL in normal form, or OutboundRefused saying what is wrong with it. No network."""
    if not isinstance(url, str) or not url:
        raise OutboundRefused(
            f"{what} is empty: give an http(s) URL like https://example.com/hook."
        )
    shown = code(url[:100])
    if len(url) > MAX_URL_LENGTH:
        raise OutboundRefused(f"{what} is longer than {MAX_URL_LENGTH} characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in url):
        raise OutboundRefused(f"{what} {shown} contains spaces, control characters or `\\`.")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise OutboundRefused(f"{what} {shown} isn't a valid URL ({error}).") from error
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OutboundRefused(
            f"{what} must be an http(s) URL (https://… or http://…), got {shown}."
        )
    netloc = parts.netloc
    if "@" in netloc:
        raise OutboundRefused(
            f"{what} {shown} carries a user name or password: remove the `user:pass@` part "
            "(the receiver checks the signature instead)."
        )
    host_text, port_text = _split_host_port(netloc, what, shown)
    if not host_text:
        raise OutboundRefused(
            f"{what} {shown} has no host: write it like https://example.com/hook."
        )
    host = normal_host(host_text, what, shown)
    port = DEFAULT_PORTS[scheme]
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise OutboundRefused(
                f"{what} {shown} has port {code(port_text[:10])}: use 1 to 65535."
            )
        port = int(port_text)
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port, path)


def _split_host_port(netloc: str, what: str, shown: str) -> tuple[str, str | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise OutboundRefused(f"{what} {shown} has an unclosed `[` around its address.")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise OutboundRefused(f"{what} {shown} has something after its `]`.")
        return host, rest[1:] if rest else None
    if netloc.count(":") > 1:
        raise OutboundRefused(
            f"{what} {shown}: write an IPv6 address in brackets, like [2001:db8::1]."
        )
    host, colon, port = netloc.partition(":")
    return host, port if colon else None


def normal_host(text: str, what: str = "The URL", shown: str = "") -> str:
    """A host name lowercased and IDNA-encoded, or an IP address in canonical text (odd
    IPv4 spellings read as a resolver reads them); OutboundRefused otherwise."""
    shown = shown or code(text[:100])
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        if "%" in inner:
            raise OutboundRefused(f"{what} {shown}: an IPv6 zone (`%…`) can't be used.")
        try:
            return str(ipaddress.IPv6Address(inner))
        except ValueError as error:
            raise OutboundRefused(f"{what} {shown} has an invalid IPv6 address.") from error
    if ":" in text:
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError as error:
            raise OutboundRefused(f"{what} {shown} has an invalid host.") from error
    try:
        name = text.encode("idna").decode("ascii").lower() if not text.isascii() else text.lower()
    except UnicodeError as error:
        raise OutboundRefused(f"{what} {shown} has a host name that isn't valid.") from error
    name = name.removesuffix(".")
    labels = name.split(".")
    if labels and _NUMERIC_PART.match(labels[-1]):  # WHATWG: a numeric last label is IPv4
        return str(_ipv4(labels, what, shown))
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise OutboundRefused(f"{what} {shown} has a host name that isn't valid.")
    return name


def _ipv4(labels: list[str], what: str, shown: str) -> ipaddress.IPv4Address:
    """inet_aton's reading: 1 to 4 parts, each decimal, 0x hex or 0-led octal; the last
    part fills the remaining bytes (``127.1`` is 127.0.0.1, ``2130706433`` too)."""
    bad = OutboundRefused(f"{what} {shown} has a host that isn't a valid IPv4 address.")
    if not 1 <= len(labels) <= 4:
        raise bad
    numbers = []
    for label in labels:
        if not _NUMERIC_PART.match(label):
            raise bad
        try:
            if label.startswith("0x"):
                numbers.append(int(label[2:] or "0", 16))
            elif len(label) > 1 and label.startswith("0"):
                numbers.append(int(label, 8))
            else:
                numbers.append(int(label))
        except ValueError as error:  # 08, 09: not octal
            raise bad from error
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise bad
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (5 - len(numbers)) + last
    return ipaddress.IPv4Address(value)


# --- addresses -----------------------------------------------------------------------------


def blocked_reason(address: str | IPAddress) -> str | None:
    """Why an address may not be reached ("loopback", "private"…), or None when it may."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = (
            ip.ipv4_mapped
            or ip.sixtofour
            or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        )
        if embedded is not None:
            inner = blocked_reason(embedded)
            if inner:
                return f"{inner} (inside an IPv6 address)"
    for reason, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not public", not ip.is_global),
    ):
        if flag:
            return reason
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    return None


def vet(url: str | Target, policy: Policy, what: str = "The URL") -> Vetted:
    """Check the URL, resolve its host, and refuse it when any address is not public
    (unless the operator allows the host). Raises OutboundRefused."""
    target = url if isinstance(url, Target) else check(url, what)
    allowed = policy.allows(target.host)
    addresses = _resolve(target, policy, what)
    if not allowed:
        for address in addresses:
            reason = blocked_reason(address)
            if reason:
                where = address if address == target.host else f"{target.host} is {address}"
                raise OutboundRefused(
                    f"{what} points at a {reason} address ({where}), which "
                    "Postroom doesn't call, so nobody can use it to reach the servers around "
                    "it. Use a public address; if this host is yours and meant to be reached, "
                    f"ask the operator to add `{target.host}` to POSTROOM_ALLOW_HOSTS.",
                    BLOCKED,
                )
    return Vetted(target, tuple(addresses))


def _resolve(target: Target, policy: Policy, what: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(target.host))]
    except ValueError:
        pass
    try:
        addresses = [
            str(ipaddress.ip_address(a.split("%")[0]))
            for a in policy.resolve(target.host, target.port)
        ]
    except TimeoutError as error:
        log.info("outbound: can't resolve %s: %s", target.host, error)
        raise OutboundRefused(
            f"{what}'s host `{target.host}` didn't resolve in time (DNS gave no answer). "
            "Try again in a minute; if it keeps happening, check the host name.",
            NO_CONNECTION,
        ) from error
    except (OSError, UnicodeError, ValueError) as error:
        log.info("outbound: can't resolve %s: %s", target.host, error)
        addresses = []
    if not addresses:
        raise OutboundRefused(
            f"{what}'s host `{target.host}` can't be found (no DNS answer). Check its spelling.",
            NO_CONNECTION,
        )
    return addresses


# --- requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """How one request went: ``category`` is for people, ``detail`` for the log."""

    ok: bool
    status: int | None  # the HTTP status, None when nothing answered
    category: str = ""
    detail: str = ""
    body: bytes = b""  # at most the ``read_limit`` asked for
    headers: Mapping[str, str] = field(default_factory=dict)  # the answer's, names lower-case


def category_of(status: int) -> str:
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        return REDIRECTED
    if 500 <= status < 600:
        return SERVER_ERROR
    return REFUSED


def request(
    method: str,
    url: str | Target,
    policy: Policy,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    read_limit: int = 0,
) -> Answer:
    """One request to the URL, vetted again now, sent to an address it vetted (the URL's
    host in ``Host`` and TLS); any 2xx is ok, a redirect is an answer (not followed), and up
    to ``read_limit`` bytes of the body are kept. Never raises for the remote's doing:
    refusals and failures are answers with a category."""
    try:
        vetted = vet(url, policy)
    except OutboundRefused as refused:
        return Answer(False, None, refused.category, str(refused))
    target = vetted.target
    errors = []
    deadline = time.monotonic() + timeout
    for address in vetted.addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        connection = _connection(target, address, left, policy.tls)
        # The whole exchange ends by the deadline: a receiver trickling its answer a byte at
        # a time would otherwise hold the thread for as long as it likes.
        cut = threading.Event()
        watchdog = threading.Timer(left, _cut, (connection, cut))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, target.path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            status = response.status
            data = response.read(read_limit) if read_limit else b""
            return Answer(
                200 <= status < 300,
                status,
                category_of(status),
                f"HTTP {status} from {address}",
                data,
                {name.lower(): value for name, value in response.getheaders()},
            )
        except TimeoutError as error:
            return Answer(False, None, TIMED_OUT, f"{address}: {error or 'timed out'}")
        except ConnectionRefusedError as error:
            errors.append(f"{address}: {error}")  # another address of the host may answer
        except (OSError, http.client.HTTPException, ValueError) as error:  # TLS errors too
            if cut.is_set():  # the deadline cut it
                return Answer(False, None, TIMED_OUT, f"{address}: cut after {timeout} s")
            errors.append(f"{address}: {type(error).__name__}: {error}")
        finally:
            watchdog.cancel()
            connection.close()
    if not errors:
        return Answer(False, None, TIMED_OUT, f"no time left after {timeout} s")
    return Answer(False, None, NO_CONNECTION, "; ".join(errors))


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def post(
    url: str | Target,
    body: bytes,
    headers: Mapping[str, str],
    policy: Policy,
    timeout: float,
) -> Answer:
    """:func:`request` with POST; the answer's body is not read."""
    return request("POST", url, policy, body=body, headers=headers, timeout=timeout)


def _connection(
    target: Target, address: str, timeout: float, tls: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    if target.scheme == "https":
        context = tls or ssl.create_default_context()
        return _PinnedHTTPSConnection(address, target.host, target.port, timeout, context)
    return _PinnedHTTPConnection(address, target.host, target.port, timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Talks to ``address`` while ``Host`` says the URL's host."""

    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to ``address``, verifying the certificate for the URL's host (sent as SNI too)."""

    def __init__(
        self, address: str, host: str, port: int, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
