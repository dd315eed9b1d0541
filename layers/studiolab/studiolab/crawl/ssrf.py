"""SSRF policy: which resolved addresses a crawler may connect to.

A crawler fetches URLs chosen by strangers (start URLs, links, redirects), so every host is
resolved and every address classified BEFORE a connection is made; the transport then
connects to exactly the address validated here (no second lookup, so DNS rebinding cannot
swap it). Non-public addresses are refused unless the host is on the allow-list.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

from studiolab.crawl.fetch_errors import DnsError, InvalidUrl, SsrfBlocked

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]  # (host, port) -> IP address strings

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
_BLOCKED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "cgnat"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link_local"),  # incl. 169.254.169.254 (cloud metadata)
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"),  # IETF protocol assignments (incl. NAT64 discovery)
    (_V4("192.0.2.0/24"), "reserved"),
    (_V4("192.88.99.0/24"), "reserved"),  # 6to4 relay anycast
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "reserved"),  # benchmarking
    (_V4("198.51.100.0/24"), "reserved"),
    (_V4("203.0.113.0/24"), "reserved"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),  # incl. 255.255.255.255 broadcast
)
_BLOCKED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "nat64_local"),
    (_V6("100::/64"), "reserved"),  # discard-only
    (_V6("2001::/32"), "teredo"),  # tunnels to an arbitrary IPv4 address
    (_V6("2001:db8::/32"), "reserved"),
    (_V6("3fff::/20"), "reserved"),
    (_V6("5f00::/16"), "reserved"),
    (_V6("fc00::/7"), "private"),  # unique local
    (_V6("fe80::/10"), "link_local"),
    (_V6("fec0::/10"), "site_local"),  # deprecated, but Python calls it global
    (_V6("ff00::/8"), "multicast"),
)
_NAT64 = _V6("64:ff9b::/96")
_IPV4_COMPATIBLE = _V6("::/96")


def blocked_reason(address: str | IPAddress) -> str | None:
    """Why connecting to `address` is refused ("loopback", "private", "link_local", ...),
    or None for a public address. IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4)
    is judged by the IPv4 address it reaches."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = blocked_reason(embedded)
            return None if inner is None else f"{inner} (IPv4 {embedded} inside {ip})"
        for network6, reason in _BLOCKED_V6:
            if ip in network6:
                return reason
    else:
        for network4, reason in _BLOCKED_V4:
            if ip in network4:
                return reason
    if ip.is_multicast:
        return "multicast"
    if not ip.is_global:
        return "reserved"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class HostPattern:
    """One allow-list entry: a host name (optionally "*.suffix"), an IP or a CIDR network,
    optionally with a port."""

    host: str | None
    network: IPNetwork | None
    port: int | None

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        raw = text.strip().lower()
        port: int | None = None
        if raw.startswith("["):  # [v6] or [v6]:port
            inside, _, rest = raw[1:].partition("]")
            raw, port = inside, (int(rest[1:]) if rest.startswith(":") else None)
        elif raw.count(":") == 1:  # host:port or v4:port (a bare v6 has several colons)
            raw, port_text = raw.split(":")
            port = int(port_text)
        try:
            return cls(None, ipaddress.ip_network(raw, strict=False), port)
        except ValueError:
            if not raw or "/" in raw:
                raise ValueError(f"not a host, host:port, IP or CIDR: {text!r}") from None
            return cls(raw.rstrip("."), None, port)

    def matches(self, host: str, port: int, address: IPAddress) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address.version == self.network.version and address in self.network
        assert self.host is not None
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


class AllowList:
    def __init__(self, patterns: Sequence[str] = ()) -> None:
        self.patterns = tuple(HostPattern.parse(pattern) for pattern in patterns)

    def permits(self, host: str, port: int, address: str | IPAddress) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
        name = host.strip("[]").lower().rstrip(".")
        return any(pattern.matches(name, port, ip) for pattern in self.patterns)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (order kept, duplicates dropped)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_DNS_POOL: ThreadPoolExecutor | None = None
_DNS_POOL_LOCK = threading.Lock()


def _dns_pool() -> ThreadPoolExecutor:
    global _DNS_POOL
    with _DNS_POOL_LOCK:
        if _DNS_POOL is None:
            _DNS_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="studiolab-dns")
        return _DNS_POOL


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class SsrfGuard:
    """Resolve, classify, allow-list. `addresses_for` returns the addresses that may be
    connected to (the transport uses exactly these); it raises instead of returning none.

    Thread-safe. Lookups are cached briefly (`cache_ttl_s`), which also keeps the pre-check
    and the connection on the same answer.
    """

    def __init__(
        self,
        allow: Sequence[str] = (),
        *,
        resolver: Resolver | None = None,
        cache_ttl_s: float = 30.0,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow = AllowList(allow)
        self._resolver = resolver
        self._ttl = cache_ttl_s
        self._size = cache_size
        self._clock = clock
        self._cache: OrderedDict[tuple[str, int], tuple[float, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def check_url(self, url: str, *, timeout: float | None = None) -> list[str]:
        """Validate an http(s) URL's host before anything is sent. Returns its usable IPs."""
        try:
            parts = urlsplit(url)
            port = parts.port or default_port(parts.scheme)
        except ValueError as error:
            raise InvalidUrl(url, str(error)) from error
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidUrl(url, "only absolute http:// and https:// URLs are fetched")
        return self.addresses_for(parts.hostname, port, url=url, timeout=timeout)

    def addresses_for(
        self, host: str, port: int, *, url: str | None = None, timeout: float | None = None
    ) -> list[str]:
        target = url or f"{host}:{port}"
        name = host.strip("[]")
        addresses = self._resolve(name, port, target, timeout)
        usable: list[str] = []
        refused: list[str] = []
        for address in addresses:
            reason = blocked_reason(address)
            if reason is None or self.allow.permits(name, port, address):
                usable.append(address)
            else:
                refused.append(f"{address} is {reason}")
        if not usable:
            detail = "; ".join(refused) or "no address"
            raise SsrfBlocked(target, f"{name} -> {detail}; add it to allow_private_hosts to allow")
        return usable

    def _resolve(self, host: str, port: int, target: str, timeout: float | None) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
        except ValueError:
            pass
        key = (host.lower(), port)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(key)
                return list(hit[1])
        addresses = self._lookup(host, port, target, timeout)
        if self._ttl > 0:
            with self._lock:
                self._cache[key] = (now + self._ttl, tuple(addresses))
                self._cache.move_to_end(key)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return addresses

    def _lookup(self, host: str, port: int, target: str, timeout: float | None) -> list[str]:
        resolver = self._resolver or system_resolver
        try:
            if timeout is None:
                found = list(resolver(host, port))
            else:  # getaddrinfo has no timeout of its own
                found = list(_dns_pool().submit(resolver, host, port).result(timeout=timeout))
        except FutureTimeout:
            raise DnsError(target, f"no answer for {host} within {timeout:.1f} s") from None
        except (OSError, UnicodeError) as error:
            raise DnsError(target, f"{host}: {error}") from error
        if not found:
            raise DnsError(target, f"{host} has no address")
        return found
