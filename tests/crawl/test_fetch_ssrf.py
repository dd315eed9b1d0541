"""SSRF guard: address classification, the allow-list, and the pinned httpx transport.

No test connects anywhere but 127.0.0.1: the spy backend asserts it on every connect, the
resolver is always fake (or `offline_dns`), and pytest-socket allows loopback only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpcore
import pytest

from studiolab.adapters.http import HttpxFetcher
from studiolab.adapters.http.pinned import PinnedBackend, PinnedTransport
from studiolab.crawl.fetch_errors import DnsError, FetchError, SsrfBlocked
from studiolab.crawl.ssrf import AllowList, HostPattern, SsrfGuard, blocked_reason
from tests.crawl.hostile_server import (
    HostileServer,
    loopback_settings,
    offline_dns,
    running_server,
)


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_dns(monkeypatch)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with running_server() as hostile:
        yield hostile


class SpyBackend(httpcore.NetworkBackend):
    """Real sockets, but every connect is recorded and must be to a loopback IP literal."""

    def __init__(self) -> None:
        self.inner = httpcore.SyncBackend()
        self.connects: list[tuple[str, int]] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.NetworkStream:
        self.connects.append((host, port))
        assert ipaddress.ip_address(host).is_loopback, f"tried to connect to {host}"
        return self.inner.connect_tcp(host, port, timeout, local_address, None)


class FakeResolver:
    def __init__(self, answers: dict[str, Sequence[Sequence[str]]]) -> None:
        self.answers = {name: list(seq) for name, seq in answers.items()}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, f"unknown {host}")
        return list(queue.pop(0) if len(queue) > 1 else queue[0])


# ---------------------------------------------------------------- classification

BLOCKED = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.5.4": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link_local",
    "100.64.0.1": "cgnat",
    "0.0.0.0": "unspecified",
    "224.0.0.251": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "198.18.0.1": "reserved",
    "192.0.0.170": "reserved",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link_local",
    "fe80::1%2": "link_local",
    "fd12:3456::1": "private",
    "fec0::1": "site_local",
    "ff02::1": "multicast",
    "2001::1": "teredo",
    "64:ff9b:1::1": "nat64_local",
    "2001:db8::1": "reserved",
}
EMBEDDED = {
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "link_local",
    "::ffff:10.0.0.1": "private",
    "::127.0.0.1": "loopback",  # IPv4-compatible (deprecated)
    "64:ff9b::a9fe:a9fe": "link_local",  # NAT64 of 169.254.169.254
    "2002:a00:1::": "private",  # 6to4 of 10.0.0.1
    "2002:7f00:1::1": "loopback",
}
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize(("address", "reason"), sorted(BLOCKED.items()))
def test_non_public_addresses_are_blocked(address: str, reason: str) -> None:
    assert blocked_reason(address) == reason


@pytest.mark.parametrize(("address", "reason"), sorted(EMBEDDED.items()))
def test_ipv4_embedded_in_ipv6_is_judged_by_the_ipv4_address(address: str, reason: str) -> None:
    verdict = blocked_reason(address)
    assert verdict is not None and verdict.startswith(reason) and "inside" in verdict


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(address) is None


def test_allow_list_patterns() -> None:
    allow = AllowList(["127.0.0.1", "localhost:8080", "[::1]:9000", "10.0.0.0/8", "*.corp.test"])
    assert allow.permits("127.0.0.1", 1234, "127.0.0.1")
    assert allow.permits("anything", 80, "10.200.3.4")
    assert allow.permits("localhost", 8080, "127.0.0.2")
    assert not allow.permits("localhost", 8081, "127.0.0.2")
    assert allow.permits("::1", 9000, "::1") and not allow.permits("::1", 9001, "::1")
    assert allow.permits("shop.corp.test", 80, "192.168.1.1")
    assert not allow.permits("corp.test.evil", 80, "192.168.1.1")
    assert not allow.permits("169.254.169.254", 80, "169.254.169.254")
    with pytest.raises(ValueError):
        HostPattern.parse("a/b")


def test_guard_keeps_only_allowed_addresses_and_names_the_refused_ones() -> None:
    resolver = FakeResolver(
        {"mixed.test": [["10.0.0.1", "93.184.216.34"]], "inside.test": [["10.0.0.7", "::1"]]}
    )
    guard = SsrfGuard(resolver=resolver)
    assert guard.addresses_for("mixed.test", 80) == ["93.184.216.34"]
    with pytest.raises(SsrfBlocked) as caught:
        guard.check_url("http://inside.test/admin")
    assert (
        "10.0.0.7 is private" in caught.value.message and "::1 is loopback" in caught.value.message
    )
    assert "http://inside.test/admin" in caught.value.message


def test_guard_dns_failures_and_timeouts_are_dns_errors() -> None:
    with pytest.raises(DnsError):
        SsrfGuard(resolver=FakeResolver({})).check_url("http://nowhere.test/")
    with pytest.raises(DnsError):
        SsrfGuard(resolver=lambda host, port: []).check_url("http://empty.test/")

    release = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        release.wait(5)
        return ["93.184.216.34"]

    started = time.monotonic()
    with pytest.raises(DnsError) as caught:
        SsrfGuard(resolver=hanging).check_url("http://slow-dns.test/", timeout=0.2)
    release.set()
    # gave up at its 0.2 s timeout, not when the resolver answered after 5 s
    assert time.monotonic() - started < 3 and "within" in caught.value.message


def test_guard_caches_lookups_and_never_resolves_ip_literals() -> None:
    resolver = FakeResolver({"shop.test": [["93.184.216.34"]]})
    guard = SsrfGuard(resolver=resolver)
    guard.check_url("http://shop.test/a")
    guard.check_url("http://shop.test/b")
    guard.check_url("http://93.184.216.34/")
    with pytest.raises(SsrfBlocked):
        guard.check_url("http://[::ffff:169.254.169.254]/")
    assert resolver.calls == ["shop.test"]


# ---------------------------------------------------------------- through the fetcher


def test_loopback_is_refused_without_the_allow_list(server: HostileServer) -> None:
    spy = SpyBackend()
    settings = loopback_settings(allow_private_hosts=[])
    with HttpxFetcher(settings, network_backend=spy) as client:
        for url in (
            server.url("/page"),
            server.url("/page", host="localhost"),
            server.url("/page", host="2130706433"),  # 127.0.0.1 spelt as one number
            server.url("/page", host="[::ffff:127.0.0.1]"),
        ):
            with pytest.raises(SsrfBlocked) as caught:
                client.fetch(url, accept="html")
            assert "loopback" in caught.value.message and url in caught.value.message
    assert spy.connects == [] and server.hits == []  # not even robots.txt was asked


@pytest.mark.parametrize(
    ("path", "target"),
    [("/to-metadata", "169.254.169.254"), ("/to-private", "10.0.0.1"), ("/to-named", "10.0.0.5")],
)
def test_redirects_to_private_addresses_are_blocked_before_connecting(
    server: HostileServer, path: str, target: str
) -> None:
    assert blocked_reason(target) in ("link_local", "private")  # the classifier says no ...
    spy = SpyBackend()
    resolver = FakeResolver({"internal.test": [["10.0.0.5"]]})
    with (
        HttpxFetcher(loopback_settings(), network_backend=spy, resolver=resolver) as client,
        pytest.raises(SsrfBlocked) as caught,
    ):
        client.fetch(server.url(path), accept="html")
    assert target in caught.value.message
    # ... and no socket was ever opened to anything but the hostile server on 127.0.0.1.
    assert spy.connects and {host for host, _ in spy.connects} == {"127.0.0.1"}
    assert server.paths() == ["/robots.txt", path]


def test_the_connection_goes_to_the_validated_ip_with_the_original_host_header(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An environment proxy must be ignored (a proxy would resolve names itself).
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    spy = SpyBackend()
    resolver = FakeResolver({"shop.test": [["127.0.0.1"]]})
    settings = loopback_settings(allow_private_hosts=["shop.test"])
    with HttpxFetcher(settings, network_backend=spy, resolver=resolver) as client:
        assert isinstance(client.transport, PinnedTransport)
        result = client.fetch(server.url("/host-echo", host="shop.test"), accept="any")
    assert result.body == f"shop.test:{server.port}".encode()
    assert spy.connects and set(spy.connects) == {("127.0.0.1", server.port)}


def test_dns_rebinding_between_check_and_connect_is_refused_at_connect(
    server: HostileServer,
) -> None:
    # First answer passes the pre-check; the second (at connect time) points elsewhere.
    resolver = FakeResolver({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    guard = SsrfGuard(["127.0.0.1"], resolver=resolver, cache_ttl_s=0)
    spy = SpyBackend()
    backend = PinnedBackend(guard, spy)
    assert guard.check_url(server.url("/page", host="rebind.test")) == ["127.0.0.1"]
    with pytest.raises(SsrfBlocked):
        backend.connect_tcp("rebind.test", server.port, timeout=1)
    assert spy.connects == []


def test_fetcher_uses_one_answer_for_check_and_connect(server: HostileServer) -> None:
    resolver = FakeResolver({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    spy = SpyBackend()
    settings = loopback_settings(obey_robots=False)
    with HttpxFetcher(settings, network_backend=spy, resolver=resolver) as client:
        client.fetch(server.url("/page", host="rebind.test"), accept="html")
    assert set(spy.connects) == {("127.0.0.1", server.port)}
    assert resolver.calls == ["rebind.test"]


# ---------------------------------------------------------------- https with pinning


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> object:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = dt.datetime.now(dt.UTC)
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("studiolab test CA"))
        .issuer_name(name("studiolab test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("shop.test"))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.test")]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(leaf.public_bytes(pem))
    paths[2].write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def test_https_verifies_the_name_while_connecting_to_the_pinned_ip(tmp_path: Path) -> None:
    ca_pem, leaf_pem, leaf_key = _certificates(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(leaf_pem, leaf_key)
    client_tls = ssl.create_default_context(cafile=str(ca_pem))
    spy = SpyBackend()
    resolver = FakeResolver({"shop.test": [["127.0.0.1"]]})
    settings = loopback_settings(allow_private_hosts=["shop.test", "127.0.0.1"], retries=0)
    with (
        running_server(tls=server_tls) as server,
        HttpxFetcher(
            settings, network_backend=spy, resolver=resolver, ssl_context=client_tls
        ) as client,
    ):
        base = f"https://shop.test:{server.port}"
        result = client.fetch(f"{base}/host-echo", accept="any")
        assert result.body == f"shop.test:{server.port}".encode()
        # The certificate names shop.test, not 127.0.0.1: verification uses the URL's name.
        with pytest.raises(FetchError) as caught:
            client.fetch(f"https://127.0.0.1:{server.port}/host-echo", accept="any")
        assert caught.value.code == "tls_error"
    assert {host for host, _ in spy.connects} == {"127.0.0.1"}
