"""Fetching a URL someone else chose, safely: the server's one way out to the network.

An admin types a meeting feed's address; a browser hands over a web-push endpoint.
Fetched naively, such an address makes the server reach into its own network on the caller's
behalf (SSRF): loopback services, the cloud's metadata address, the clinic's intranet, the media
workers' control port. And a server that answers slowly must not hold anything of ours. So:

* Every address the host name resolves to must be public (not loopback, private, link-local,
  shared, multicast, reserved, nor one of this machine's own), and the connection goes to that
  very address: there is no second lookup that a DNS server could answer differently
  (DNS rebinding). Redirects are followed only to http(s), and each hop is checked the same way.
* Hosts an operator lists (tests, an intranet feed) skip the address check, and only those.
* One deadline covers connecting, TLS, the headers and the body: a watchdog closes the socket
  when it passes, so a server trickling a byte a second cannot stretch it. The body has a size
  limit. Nothing here touches the database: callers fetch with no transaction open.
* Every failure is the same ``FetchFailed`` for the caller to show in the same words: a
  refused port, an HTTP 404, a private address and a timeout must read alike, or the error
  messages map the network behind the server. ``reason`` says which, for the operator's log
  and for tests.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchFailed(Exception):
    """The URL could not be fetched. ``reason`` is for logs and tests, never for the caller's
    user: shown, it would tell a closed port from a private address."""

    def __init__(self, reason: str) -> None:
        super().__init__("the address could not be fetched")
        self.reason = reason


def address_refusal(address: str) -> str | None:
    """Why the server must not connect to this IP address; None when it may."""
    try:
        ip: _Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 written as IPv6 reaches the IPv4 address; so do 6to4 and Teredo, via a relay.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_refusal(str(embedded))
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if not _is_global(ip):
        return "a private or reserved address"
    if _is_this_machine(ip):
        return "this machine's own address"
    return None


def _is_global(ip: _Address) -> bool:
    return bool(ip.is_global)


def _is_this_machine(ip: _Address) -> bool:
    """Binding succeeds only to an address of one of this machine's interfaces (nothing sent)."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.bind((str(ip), 0))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _host_allowed(host: str, allowed_hosts: Collection[str]) -> bool:
    return host.lower().rstrip(".") in {h.strip().lower().rstrip(".") for h in allowed_hosts}


def resolve(host: str, port: int, allowed_hosts: Collection[str] = ()) -> list[Any]:
    """The socket addresses to connect to for ``host``: every one public, or the host listed.

    A name with any internal address is refused whole: one answer may mix a public address with
    a private one, and which is tried first is not ours to choose.
    """
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise FetchFailed(f"could not resolve the host ({type(error).__name__})") from None
    if not found:
        raise FetchFailed("could not resolve the host")
    if not _host_allowed(host, allowed_hosts):
        for *_, sockaddr in found:
            refusal = address_refusal(str(sockaddr[0]))
            if refusal:
                raise FetchFailed(f"refused: the host resolves to {refusal}")
    return found


class _Watchdog:
    """Closes the socket when the deadline passes, whatever read or write is waiting on it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.sock: socket.socket | None = None
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0 or self.fired:
            raise TimeoutError
        return left

    def _fire(self) -> None:
        self.fired = True
        if self.sock is not None:
            try:
                # The plain socket's shutdown, also under TLS: it wakes a reader at once.
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()

    def close(self) -> None:
        """Stop the timer and close the socket it watched, if any."""
        self.cancel()
        if self.sock is not None:
            self.sock.close()


def _connect(host: str, port: int, tls: bool, addresses: list[Any],
             watchdog: _Watchdog) -> socket.socket:
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in addresses:
        sock = socket.socket(family, kind, proto)
        watchdog.sock = sock
        try:
            sock.settimeout(watchdog.remaining())
            sock.connect(sockaddr)
            if tls:
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=host)
                watchdog.sock = sock
            return sock
        except OSError as error:
            sock.close()
            last = error
    raise FetchFailed(f"could not connect ({type(last).__name__ if last else 'no address'})")


class _Connection(http.client.HTTPConnection):
    """http.client over a socket we connected (to the address that was checked)."""

    def __init__(self, host: str, port: int, sock: socket.socket, tls: bool) -> None:
        super().__init__(host, port)
        self.sock = sock
        if tls:
            self.default_port = 443  # so the Host header carries no ":443"

    def connect(self) -> None:
        raise http.client.NotConnected("the socket is given, never opened here")


def fetch(url: str, *, timeout: float, max_bytes: int, allowed_hosts: Collection[str] = (),
          headers: dict[str, str] | None = None) -> bytes:
    """The body of a GET of ``url`` (200 only), within ``timeout`` seconds in all and
    ``max_bytes``; FetchFailed otherwise."""
    watchdog = _Watchdog(time.monotonic() + timeout)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            status, location, body = _get(url, max_bytes, allowed_hosts, headers or {}, watchdog)
            if location is None:
                if status != 200:
                    raise FetchFailed(f"HTTP {status}")
                return body
            url = location
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
    except (FetchFailed, OSError, http.client.HTTPException, ValueError) as error:
        raise _failure(error, watchdog, timeout) from None
    finally:
        watchdog.close()


def _failure(error: BaseException, watchdog: _Watchdog, timeout: float) -> FetchFailed:
    """What a failed request says: the deadline broke whatever broke, else the error's kind
    (never its text, which may quote the answer)."""
    if watchdog.fired or isinstance(error, TimeoutError):
        return FetchFailed(f"no answer within {timeout:g} s")
    if isinstance(error, FetchFailed):
        return error
    return FetchFailed(f"could not read the answer ({type(error).__name__})")


def post(url: str, body: bytes, *, timeout: float, headers: dict[str, str],
         allowed_hosts: Collection[str] = ()) -> int:
    """POST ``body`` to ``url`` (a web-push endpoint) and return the answer's status, within
    ``timeout`` seconds in all; redirects are not followed (a push service never sends one).
    The address connected to is checked as ``fetch`` checks it; FetchFailed when the request
    could not be made or answered (the status of any answer is the caller's to judge)."""
    watchdog = _Watchdog(time.monotonic() + timeout)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed(f"not an http(s) link ({scheme or 'relative'}:)")
        tls = scheme == "https"
        port = parts.port or (443 if tls else 80)
        addresses = resolve(parts.hostname, port, allowed_hosts)
        sock = _connect(parts.hostname, port, tls, addresses, watchdog)
        connection = _Connection(parts.hostname, port, sock, tls)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body,
                           headers={"Connection": "close", **headers,
                                    "Content-Length": str(len(body))})
        response = connection.getresponse()
        try:
            response.read(65536)  # an error's short explanation; never more
            return response.status
        finally:
            response.close()
            connection.close()
    except (FetchFailed, OSError, http.client.HTTPException, ValueError) as error:
        raise _failure(error, watchdog, timeout) from None
    finally:
        watchdog.close()


def _get(url: str, max_bytes: int, allowed_hosts: Collection[str], headers: dict[str, str],
         watchdog: _Watchdog) -> tuple[int, str | None, bytes]:
    """(status, the redirect's target or None, body) of one request."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed(f"not an http(s) link ({scheme or 'relative'}:)")
    tls = scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = parts.hostname
    addresses = resolve(host, port, allowed_hosts)
    sock = _connect(host, port, tls, addresses, watchdog)
    connection = _Connection(host, port, sock, tls)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request("GET", path, headers={"Connection": "close", **headers})
    response = connection.getresponse()
    try:
        if response.status in (301, 302, 303, 307, 308):
            target = urljoin(url, response.getheader("Location") or "")
            target_scheme = urlsplit(target).scheme.lower()
            if target_scheme not in ("http", "https"):
                raise FetchFailed(f"redirected to a {target_scheme or 'relative'}: link")
            return response.status, target, b""
        if response.status != 200:
            return response.status, None, b""
        return 200, None, _body(response, max_bytes, watchdog)
    finally:
        response.close()
        connection.close()


def _body(response: http.client.HTTPResponse, max_bytes: int, watchdog: _Watchdog) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchFailed(f"larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(65536):
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailed(f"larger than {max_bytes} bytes")
        chunks.append(chunk)
    if watchdog.fired:  # the body ended because the deadline closed the socket
        raise TimeoutError
    if response.length:  # http.client reads a body cut short as if it had ended
        raise FetchFailed("the answer was cut short")
    return b"".join(chunks)
