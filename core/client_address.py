"""The address of the client a request comes from, the one place the login limits, API throttles and logs take it.

The TCP peer (`REMOTE_ADDR`) is the client unless it is one of the proxies named in `PORTAL_TRUSTED_PROXIES`
(addresses or networks; none by default). Only then is `X-Forwarded-For` read, from the right: each hop a trusted
proxy appended is skipped, and the first address no trusted proxy vouches for is the client. Anything a client wrote
into the header itself stands left of that and is never used, so rotating the header defeats no limit.

The ASGI servers the project starts never rewrite the peer from forwarding headers themselves
(`uvicorn_proxy_arguments`): uvicorn's default trusts `X-Forwarded-For` on every connection from 127.0.0.1.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
from typing import Any

from django.conf import settings

UNKNOWN = "unknown"
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def trusted_proxy_networks() -> tuple[_Network, ...]:
    """`PORTAL_TRUSTED_PROXIES` parsed (settings refuse a malformed entry at start-up)."""
    return _networks(tuple(settings.PORTAL_TRUSTED_PROXIES))


def _parse(value: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: _Address, networks: tuple[_Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(request: Any) -> str:
    """The client's IP address as text (or "unknown"); `request` is a Django or DRF request."""
    meta = request.META
    peer = _parse(meta.get("REMOTE_ADDR", "") or "")
    if peer is None:
        return UNKNOWN
    networks = trusted_proxy_networks()
    if not _is_trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _parse(hop)
        if address is None:
            # A hop a trusted proxy did not write well: the last address vouched for is the best there is.
            break
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)


def is_from_trusted_proxy(request: Any) -> bool:
    """Whether the TCP peer is one of `PORTAL_TRUSTED_PROXIES`: only then may its forwarding headers be believed."""
    peer = _parse(request.META.get("REMOTE_ADDR", "") or "")
    return peer is not None and _is_trusted(peer, trusted_proxy_networks())


def client_pseudonym(request: Any) -> str:
    """A keyed hash of the client address for logs: lets one client's lines be told apart without storing it."""
    digest = hmac.new(settings.SECRET_KEY.encode(), client_address(request).encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def uvicorn_proxy_arguments() -> list[str]:
    """uvicorn's command-line arguments for every server the project starts: the peer stays the peer, and the portal
    alone reads forwarding headers, through `client_address`."""
    return ["--no-proxy-headers"]
