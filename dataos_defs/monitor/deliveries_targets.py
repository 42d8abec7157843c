"""Where a pager may send: http(s) URLs whose host resolves to addresses outside the
platform's own reach, unless an operator allows a network.

Refused by default: link-local addresses (``169.254.0.0/16``, ``fe80::/10``: the cloud
metadata services live there) ALWAYS, and loopback, unspecified, multicast and reserved
addresses unless ``DATAOS_PAGER_ALLOW_NETWORKS`` (comma-separated CIDRs, e.g.
``127.0.0.1/32`` for a receiver on the same machine; empty by default) names them.
Private networks (10/8, 172.16/12, 192.168/16) are allowed: in-cluster chat bridges
and alert routers live there. Every address a host resolves to must pass, so a name that
resolves to one good and one bad address is refused, and the request then connects to
the address that was checked (DNS rebinding cannot swap it). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOW_NETWORKS_ENV = "DATAOS_PAGER_ALLOW_NETWORKS"
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
_NEVER = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


class TargetRefused(ValueError):
    """A URL a pager may not send to; the message names the host, never the full URL."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its host (what logs may show), its port, and the checked address
    the request must connect to (so a second DNS answer cannot send it elsewhere)."""

    url: str
    host: str
    port: int
    address: str


def allowed_networks(env: Mapping[str, str] | None = None) -> tuple[IpNetwork, ...]:
    text = (os.environ if env is None else env).get(ALLOW_NETWORKS_ENV, "")
    networks = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise TargetRefused(
                f"{ALLOW_NETWORKS_ENV} has {part!r}, which is not a network; "
                "write CIDRs such as 127.0.0.1/32"
            ) from exc
    return tuple(networks)


def system_resolver(host: str, port: int) -> list[str]:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in found})


def check_url(
    url: str,
    allowed: Sequence[IpNetwork] | None = None,
    resolve: Resolver = system_resolver,
) -> Target:
    """``url`` if a pager may send to it, else :class:`TargetRefused`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("a pager sends to http(s) URLs only")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"the URL to {host} has an invalid port") from exc
    if parts.username or parts.password:
        raise TargetRefused(
            f"the URL to {host} carries credentials; put them in a header from a secret"
        )
    networks = allowed_networks() if allowed is None else tuple(allowed)
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        raise TargetRefused(f"{host} does not resolve: {exc.strerror or exc}") from exc
    if not addresses:
        raise TargetRefused(f"{host} does not resolve")
    for text in addresses:
        _check_address(host, ipaddress.ip_address(text.split("%")[0]), networks)
    return Target(url, host, port, addresses[0])


def _check_address(host: str, address: IpAddress, allowed: Sequence[IpNetwork]) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _NEVER):
        raise TargetRefused(
            f"{host} is a link-local address ({address}), where metadata services live: "
            "pagers never send there"
        )
    internal = (
        address.is_loopback or address.is_unspecified or address.is_multicast or address.is_reserved
    )
    if internal and not any(address in network for network in allowed):
        raise TargetRefused(
            f"{host} resolves to {address}, an address of this machine or a reserved one; "
            f"an operator may allow it with {ALLOW_NETWORKS_ENV} (e.g. 127.0.0.1/32)"
        )
