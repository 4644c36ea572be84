"""HTTP requests to URLs that users choose (dealer webhooks): never to the portal's own or internal networks.

A URL is checked when it is configured (`outbound_url_check`) and again at every request (`outbound_post`):

* `https://` only; `http://` where `OUTBOUND_HTTP_ALLOW_PLAIN_HTTP` is on (development settings). No user name or
  password in the URL.
* Every address the host name resolves to must be public (`address_is_public`): loopback, private ranges,
  link-local (169.254.169.254, the cloud metadata service), carrier-grade NAT, multicast, reserved and
  documentation ranges are refused, also when they hide inside an IPv6 address (IPv4-mapped, 6to4, Teredo, NAT64).
  `OUTBOUND_HTTP_ALLOWED_NETWORKS` names networks allowed all the same (development and tests: a receiver on
  loopback); it is empty by default.
* At request time the portal resolves the name itself, checks every address, and connects to a checked address
  (`_PinnedBackend`) while the request keeps the name for `Host`, TLS SNI and certificate checks. A DNS answer that
  changes between check and connection (DNS rebinding) therefore never reaches an unchecked address. Redirects are
  not followed, and no proxy from the environment is used.

A name that does not resolve when configured is accepted: the request-time check guards every delivery.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_TRANSPORT_ERRORS = (
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    ssl.SSLError,
    OSError,
)


class OutboundRefused(ValidationFailed):
    """The URL or one of the addresses its host resolves to may not be contacted (code names which rule)."""


@dataclass(frozen=True)
class OutboundTarget:
    scheme: str
    host: str
    port: int
    addresses: tuple[Address, ...]


def resolve_host(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, in the resolver's order, without repeats (the one DNS look-up used)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    addresses: list[Address] = []
    for *_rest, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
    embedded += [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) for net in _NAT64_PREFIXES if address in net]
    return [inner for inner in embedded if inner is not None]


def _is_allowed_anyway(address: Address) -> bool:
    networks = [ipaddress.ip_network(value, strict=False) for value in settings.OUTBOUND_HTTP_ALLOWED_NETWORKS]
    return any(address.version == network.version and address in network for network in networks)


def address_is_public(address: Address) -> bool:
    """True for a globally routable unicast address (or one in OUTBOUND_HTTP_ALLOWED_NETWORKS)."""
    if _is_allowed_anyway(address):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded:
            return all(address_is_public(inner) for inner in embedded)
    return address.is_global and not address.is_multicast


def _refused(purpose: str, rule: str, message: str) -> OutboundRefused:
    return OutboundRefused(message, code=f"{purpose}_{rule}", fields={"url": [rule]})


def _target(url: str, *, purpose: str) -> tuple[OutboundTarget, bool]:
    """The URL's parts and whether its host is an address literal; refuses a malformed or plain-http URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refused(purpose, "url_invalid", str(_("The URL is not valid."))) from None
    allowed_schemes = ("https", "http") if settings.OUTBOUND_HTTP_ALLOW_PLAIN_HTTP else ("https",)
    if parts.scheme not in allowed_schemes or not parts.hostname:
        raise _refused(purpose, "url_invalid", str(_("The URL must use https.")))
    if parts.username is not None or parts.password is not None:
        raise _refused(purpose, "url_invalid", str(_("The URL may not contain a user name or password.")))
    host = parts.hostname.rstrip(".")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = (literal,) if literal is not None else tuple(resolve_host(host, port))
    return OutboundTarget(scheme=parts.scheme, host=host, port=port, addresses=addresses), literal is not None


def _check_addresses(target: OutboundTarget, *, purpose: str) -> None:
    if not all(address_is_public(address) for address in target.addresses):
        raise _refused(
            purpose, "address_forbidden", str(_("The URL leads to an internal or reserved network address."))
        )


def outbound_url_check(url: str, *, purpose: str) -> OutboundTarget:
    """Checks a URL when a user configures it; refusals have codes `<purpose>_url_invalid` and
    `<purpose>_address_forbidden`."""
    target, _is_literal = _target(url, purpose=purpose)
    _check_addresses(target, purpose=purpose)
    return target


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the checked addresses only, whatever host name the connection pool asks for."""

    def __init__(self, addresses: tuple[Address, ...]) -> None:
        self._addresses = addresses
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception = httpcore.ConnectError("no address to connect to")
        for address in self._addresses:
            try:
                return self._backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as failure:
                error = failure
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the public CA bundle, for the host name in the URL."""
    return httpcore.default_ssl_context()


def outbound_post(url: str, *, content: bytes, headers: dict[str, str], timeout: float, purpose: str) -> int:
    """POSTs `content` and returns the status code, 0 when no answer came. Raises OutboundRefused before connecting
    when the URL or any address its host resolves to now is not allowed; never follows a redirect."""
    target, _is_literal = _target(url, purpose=purpose)
    if not target.addresses:
        return 0
    _check_addresses(target, purpose=purpose)
    timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=tls_context(), network_backend=_PinnedBackend(target.addresses), retries=0
            ) as pool,
            pool.stream(
                "POST", url, headers=list(headers.items()), content=content, extensions={"timeout": timeouts}
            ) as response,
        ):
            return response.status
    except _TRANSPORT_ERRORS:
        return 0


@dataclass(frozen=True)
class OutboundResponse:
    """What a GET brought back: status 0 when no answer came (then ``content`` is empty)."""

    status: int
    content_type: str
    content: bytes


def outbound_get(url: str, *, accept: str, timeout: float, max_bytes: int, purpose: str) -> OutboundResponse:
    """GETs `url` under the same rules as `outbound_post` (checked addresses, pinned connection, no redirects, no
    proxy). A body longer than `max_bytes` is not read to its end: the answer counts as none (status 0)."""
    target, _is_literal = _target(url, purpose=purpose)
    if not target.addresses:
        return OutboundResponse(0, "", b"")
    _check_addresses(target, purpose=purpose)
    timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=tls_context(), network_backend=_PinnedBackend(target.addresses), retries=0
            ) as pool,
            pool.stream("GET", url, headers=[("Accept", accept)], extensions={"timeout": timeouts}) as response,
        ):
            body = bytearray()
            for chunk in response.iter_stream():
                body += chunk
                if len(body) > max_bytes:
                    return OutboundResponse(0, "", b"")
            headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in response.headers}
            return OutboundResponse(response.status, headers.get("content-type", ""), bytes(body))
    except _TRANSPORT_ERRORS:
        return OutboundResponse(0, "", b"")
