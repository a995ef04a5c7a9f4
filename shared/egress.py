"""The egress policy: which destinations a node's browser (and any other server-side
request a user can aim, such as a webhook) may connect to.

The decision is made on the address actually connected to, never on URL text:
``EgressPolicy.resolve`` resolves a host once, checks every address, and hands back
the checked addresses for the caller to connect to, so a name cannot be re-resolved
to something else in between (DNS rebinding).

Order of the rules, first match wins:

1. ``BROWSING_EGRESS_DENY``: extra CIDRs and host names, always refused;
2. ``BROWSING_EGRESS_ALLOW``: CIDRs, host names and ``host:port`` pairs allowed despite
   the default deny list (a ``host:port`` entry allows that port only);
3. the default deny list (``DENIED_RANGES``): loopback, private, link-local, shared,
   unspecified, multicast, broadcast and reserved ranges, IPv4-mapped and other IPv6
   forms of IPv4 addresses included;
4. everything else is allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from shared.errors import ConfigError, EgressRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

# The header of the 502 a node's filtering proxy answers a plain-HTTP request with when
# the destination (or the upstream proxy) could not be reached; the agent fails an
# "open" step on it, as it would have without a proxy in between.
UNREACHABLE_HEADER = "X-Browsing-Egress-Error"

# Schemes that leave the browser; about:, data: and blob: never do.
NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss"})
LOCAL_SCHEMES = frozenset({"about", "data", "blob"})
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

# reason label -> (ranges, how a message names it); labels are the metric's bounded set.
DENIED_RANGES: dict[str, tuple[tuple[str, ...], str]] = {
    "loopback": (("127.0.0.0/8", "::1/128"), "a loopback address"),
    "private": (("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10"),
                "a private address"),
    "link_local": (("169.254.0.0/16", "fe80::/10"), "a link-local address"),
    "shared": (("100.64.0.0/10",), "a shared (carrier-grade NAT) address"),
    "unspecified": (("0.0.0.0/8", "::/128"), "an unspecified address"),
    "multicast": (("224.0.0.0/4", "ff00::/8"), "a multicast address"),
    "broadcast": (("240.0.0.0/4",), "a broadcast or reserved address"),
}  # fmt: skip
_DENIED = [
    (ipaddress.ip_network(cidr), reason) for reason, (cidrs, _) in DENIED_RANGES.items()
    for cidr in cidrs
]  # fmt: skip
# IPv6 prefixes that carry an IPv4 address in their last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
HOW_TO_ALLOW = "BROWSING_EGRESS_ALLOW can allow it"


def parse_ip(host: str) -> IPAddress | None:
    """The address a URL host spells, in any of the forms browsers and ``inet_aton``
    accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``, ``[::1]``), or None
    for a host name."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        try:
            if part[:2] == "0x":
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part[0] == "0":
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None  # a name (or not an address at all)
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(head):
        value |= n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):  # not :: or ::1 themselves
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def denied_reason(ip: IPAddress) -> str | None:
    """The default deny list's reason for ``ip`` (a metric label), or None."""
    for candidate in (ip, embedded_ipv4(ip)):
        if candidate is None:
            continue
        for network, reason in _DENIED:
            if candidate.version == network.version and candidate in network:
                return reason
    return None


def format_target(host: str, port: int) -> str:
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_host_port(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address; the port is None
    when there is none. Raises ValueError for a malformed entry."""
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket:
            raise ValueError(entry)
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError(entry)
        return host, int(rest[1:])
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port)
    return entry, None


@dataclass(frozen=True)
class Rules:
    """A list of CIDRs, host names (``*.example.com`` for subdomains) and ``host:port``."""

    networks: tuple[tuple[IPNetwork, int | None], ...] = ()
    names: tuple[tuple[str, int | None], ...] = ()

    @classmethod
    def parse(cls, text: str, setting: str) -> Rules:
        networks: list[tuple[IPNetwork, int | None]] = []
        names: list[tuple[str, int | None]] = []
        for raw in text.replace(";", ",").split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                if "/" in entry:
                    networks.append((ipaddress.ip_network(entry, strict=False), None))
                    continue
                host, port = split_host_port(entry)
                if port is not None and not 0 < port < 65536:
                    raise ValueError(entry)
                ip = parse_ip(host)
                if ip is not None:
                    networks.append((ipaddress.ip_network(ip), port))
                elif host and all(c.isalnum() or c in "-.*_" for c in host):
                    names.append((host.rstrip("."), port))
                else:
                    raise ValueError(entry)
            except ValueError as exc:
                raise ConfigError(
                    f"{setting}: {raw.strip()!r} is not a CIDR, a host name or host:port"
                ) from exc
        return cls(tuple(networks), tuple(names))

    def __bool__(self) -> bool:
        return bool(self.networks or self.names)

    def matches_name(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".")
        for name, want in self.names:
            if want is not None and want != port:
                continue
            if name == host or (name.startswith("*.") and host.endswith(name[1:])):
                return True
        return False

    def matches_ip(self, ip: IPAddress, port: int) -> bool:
        for candidate in (ip, embedded_ipv4(ip)):
            if candidate is None:
                continue
            for network, want in self.networks:
                if (want is None or want == port) and candidate.version == network.version:
                    if candidate in network:
                        return True
        return False


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_scheme(scheme: str, url: str = "") -> None:
    """Raise EgressRefused unless ``scheme`` stays in the browser or is one that the
    policy lets leave it (http, https, ws, wss)."""
    scheme = scheme.lower()
    if scheme not in NETWORK_SCHEMES and scheme not in LOCAL_SCHEMES:
        shown = url if len(url) <= 80 else url[:77] + "..."
        raise EgressRefused(
            f"egress refused: {shown or scheme + ':'} uses the {scheme}: scheme; "
            "only http, https, ws and wss leave the browser",
            reason="scheme",
            target=f"{scheme}:",
        )


@dataclass(frozen=True)
class EgressPolicy:
    allow: Rules = field(default_factory=Rules)
    deny: Rules = field(default_factory=Rules)

    @classmethod
    def from_settings(cls, settings: object) -> EgressPolicy:
        return cls(
            allow=Rules.parse(getattr(settings, "egress_allow", ""), "BROWSING_EGRESS_ALLOW"),
            deny=Rules.parse(getattr(settings, "egress_deny", ""), "BROWSING_EGRESS_DENY"),
        )

    def check_address(self, ip: IPAddress, port: int, *, host: str | None = None) -> None:
        """Raise EgressRefused unless the policy lets a connection reach ``ip:port``
        (``host``: the name it was resolved from, if any)."""
        target = format_target(host or str(ip), port)
        via = f" resolves to {ip}, which is" if host and host != str(ip) else " is"
        if self.deny.matches_ip(ip, port) or (host and self.deny.matches_name(host, port)):
            raise EgressRefused(
                f"egress refused: {target}{via} denied by BROWSING_EGRESS_DENY",
                reason="denied",
                target=target,
            )
        if self.allow.matches_ip(ip, port) or (host and self.allow.matches_name(host, port)):
            return
        reason = denied_reason(ip)
        if reason is not None:
            what = DENIED_RANGES[reason][1]
            raise EgressRefused(
                f"egress refused: {target}{via} {what} ({HOW_TO_ALLOW})",
                reason=reason,
                target=target,
            )

    def resolve(self, host: str, port: int, resolver: Resolver = system_resolver) -> list[str]:
        """The addresses to connect to for ``host:port``, every one checked; raises
        EgressRefused if any address the name has is refused, OSError if it has none."""
        host = host.strip("[]").lower().rstrip(".")
        target = format_target(host, port)
        ip = parse_ip(host)
        if ip is not None:
            self.check_address(ip, port)
            return [str(ip)]
        if self.deny.matches_name(host, port):
            raise EgressRefused(
                f"egress refused: {target} is denied by BROWSING_EGRESS_DENY",
                reason="denied",
                target=target,
            )
        addresses = resolver(host, port)
        if not addresses:
            raise OSError(f"{host} has no address")
        for address in addresses:
            self.check_address(ipaddress.ip_address(address), port, host=host)
        return addresses

    def refusal(self, host: str, port: int) -> EgressRefused | None:
        """The refusal for a literal address (no resolving), for classifying without
        connecting; None for allowed addresses and for names."""
        ip = parse_ip(host)
        if ip is None:
            return None
        try:
            self.check_address(ip, port)
        except EgressRefused as exc:
            return exc
        return None


def allow_entries(entries: Iterable[str], existing: str = "") -> str:
    """``BROWSING_EGRESS_ALLOW`` with ``entries`` added to ``existing`` (for tools that
    start local sites, such as the test suite and the benchmarks)."""
    parts: Sequence[str] = [p for p in existing.split(",") if p.strip()]
    return ",".join([*parts, *entries])
