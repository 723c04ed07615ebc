"""companion.core.outbound, the server's one way out to the network: which addresses it refuses,
that a listed host is the only exception, and that every failure is the same FetchFailed."""

from __future__ import annotations

import socket

import pytest

from companion.core import outbound
from tests.feed_servers import FeedServer


@pytest.mark.parametrize("address, refusal", [
    ("127.0.0.1", "a loopback address"),
    ("127.255.0.9", "a loopback address"),
    ("::1", "a loopback address"),
    ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
    ("2002:7f00:1::", "a loopback address"),  # 6to4 around 127.0.0.1
    ("169.254.169.254", "a link-local address"),
    ("fe80::1%2", "a link-local address"),
    ("224.0.0.251", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("10.20.30.40", "a private or reserved address"),
    ("172.31.255.1", "a private or reserved address"),
    ("192.168.0.1", "a private or reserved address"),
    ("100.64.0.1", "a private or reserved address"),
    ("0.0.0.0", "a private or reserved address"),
    ("::", "a private or reserved address"),
    ("fd12:3456::1", "a private or reserved address"),
    ("192.0.2.10", "a private or reserved address"),  # documentation
    ("240.0.0.1", "a private or reserved address"),
    ("255.255.255.255", "a private or reserved address"),
    ("93.184.215.14", None),
    ("2606:4700:4700::1111", None),
])
def test_address_refusals(address, refusal):
    assert outbound.address_refusal(address) == refusal


def test_this_machines_own_addresses_are_refused_even_when_public(monkeypatch):
    # Pretend every address is public, leaving only the own-address check: binding to an
    # address tells whether it is one of this machine's (nothing is sent).
    monkeypatch.setattr(outbound, "_is_global", lambda ip: True)
    own = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        own.connect(("192.0.2.1", 9))  # UDP: picks the sending address, sends nothing
        address = own.getsockname()[0]
    except OSError:
        pytest.skip("this machine has no route to pick an address with")
    finally:
        own.close()
    assert outbound.address_refusal(address) == "this machine's own address"
    assert outbound.address_refusal("93.184.215.14") is None


def test_a_listed_host_skips_the_address_check_and_only_it():
    assert outbound.resolve("localhost", 80, ["LOCALHOST."])
    with pytest.raises(outbound.FetchFailed) as refused:
        outbound.resolve("localhost", 80, ["127.0.0.1"])
    assert refused.value.reason == "refused: the host resolves to a loopback address"
    assert str(refused.value) == "the address could not be fetched"  # never the reason


def test_every_failure_is_a_fetch_failed_with_its_reason(monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # an unknown name, without asking any DNS server
        if host == "no-such-host.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    server = FeedServer()
    server.serve("/ok", b"[]")
    allowed = ["127.0.0.1"]
    try:
        assert outbound.fetch(f"{server.url}/ok", timeout=5, max_bytes=100,
                              allowed_hosts=allowed) == b"[]"
        for url, reason in [
            (f"{server.url}/missing", "HTTP 404"),
            (f"https://127.0.0.1:{server.port}/ok", "could not connect (SSLError)"),  # not TLS
            ("ftp://127.0.0.1/feed.json", "not an http(s) link (ftp:)"),
            ("http://no-such-host.example/feed.json", "could not resolve the host (gaierror)"),
        ]:
            with pytest.raises(outbound.FetchFailed) as failed:
                outbound.fetch(url, timeout=5, max_bytes=100, allowed_hosts=allowed)
            assert failed.value.reason == reason
    finally:
        server.close()
