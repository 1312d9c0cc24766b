"""Where an endpoint may point: parsing its URL and refusing hosts that resolve to internal addresses.

The host is resolved when the endpoint is registered and again before each delivery, and the
delivery connects to the very address that was checked (see `delivery.py`), so a name that
changes its answer between the check and the connection (DNS rebinding) gains nothing.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
# Special-purpose ranges Python's flags do not all cover (CGNAT, benchmarking, 6to4 relay, ...).
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "240.0.0.0/4",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
    )
)


class UnsafeAddress(Exception):
    """The URL is not one we may send to; the message says why, for the caller."""


def _refused_host(host: str) -> UnsafeAddress:
    """The one answer for every refusal that depends on what the name resolves to (no answer, or
    an internal address): told apart, they would turn the endpoint form into a way to look up
    names on our internal resolver. Only what the URL itself shows gets a message of its own."""
    return UnsafeAddress(
        f"The host {host!r} cannot receive webhooks: it must resolve, and only to public addresses."
    )


def _literal(host: str) -> IPAddress | None:
    """The address written in the URL itself, if the host is one (not a name, nor a number in
    another form such as `2130706433`, which only the resolver reads)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class Target:
    """A parsed endpoint URL: scheme, host as written, port, and the path with its query."""

    scheme: str
    host: str
    port: int
    target: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse(url: str, *, allow_http: bool) -> Target:
    """Split an endpoint URL, refusing what we never send to (other schemes, credentials, fragments)."""
    if any(character.isspace() or not character.isprintable() for character in url):
        raise UnsafeAddress("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeAddress(f"The URL is not valid: {error}.") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeAddress("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeAddress("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeAddress("The URL must not carry a user name or password.")
    if parts.fragment:
        raise UnsafeAddress("The URL must not have a #fragment.")
    path = parts.path or "/"
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        target=f"{path}?{parts.query}" if parts.query else path,
    )


def blocked(address: IPAddress) -> bool:
    """True for any address that is not a plain public unicast one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and blocked(embedded):
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address in network for network in _EXTRA_BLOCKED)
    )


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host` (numbers in any form it accepts too,
    so `2130706433` and `0x7f000001` come back as 127.0.0.1 and are judged as such)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:
        raise _refused_host(host) from error
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def check(target: Target, resolver: Resolver, *, allow_private: bool) -> IPAddress:
    """The address to connect to: the first the host resolves to, once all of them are allowed.

    Every answer is checked, not only the one used: a name that also points inside is refused."""
    literal = _literal(target.host)
    if literal is not None and not allow_private and blocked(literal):
        # Written in the URL: saying so tells the caller nothing they did not know.
        raise UnsafeAddress(
            f"The address {target.host} is a loopback, private, link-local or otherwise reserved "
            "address; webhooks only go to public addresses."
        )
    addresses = await resolver(target.host, target.port)
    if not addresses:
        raise _refused_host(target.host)
    if not allow_private and any(blocked(address) for address in addresses):
        raise _refused_host(target.host)
    return addresses[0]
