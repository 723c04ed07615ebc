"""Feed servers on loopback for the meeting tests: one that answers what a test sets, and one
that trickles a byte a second (a slow or hostile feed). Every loop is bounded."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FeedServer:
    """Answers each path with what ``serve`` set (404 otherwise); counts the requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.requests += 1
                action = owner.routes.get(self.path)
                if action is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                action(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def serve(self, path: str, body: bytes, status: int = 200,
              headers: dict[str, str] | None = None, delay: float = 0) -> None:
        def action(handler: BaseHTTPRequestHandler) -> None:
            if delay:
                time.sleep(delay)
            handler.send_response(status)
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        self.routes[path] = action

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class TrickleServer:
    """Sends one byte a second to each connection, at most ``limit`` bytes, until ``stop``.

    ``headers_first``: a complete set of headers at once, then the body a byte at a time;
    otherwise even the status line and headers come a byte at a time.
    """

    def __init__(self, limit: int = 40, headers_first: bool = True) -> None:
        self.limit = limit
        self.headers_first = headers_first
        self.started = threading.Event()  # a client is being trickled to
        self.stop = threading.Event()
        self.done = threading.Event()  # the trickle ended (stopped, cut off, or at its limit)
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/feed.json"
        self.thread = threading.Thread(target=self._serve_one, daemon=True)
        self.thread.start()

    def _serve_one(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:  # closed before anyone asked, or nobody did
            self.done.set()
            return
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % self.limit)
        try:
            with connection:
                connection.settimeout(5)
                connection.recv(65536)  # the request
                if self.headers_first:
                    connection.sendall(head)
                    pending = b" " * self.limit
                else:
                    pending = head + b" " * self.limit
                self.started.set()
                for byte in pending[: self.limit]:
                    if self.stop.wait(1):
                        break
                    connection.sendall(bytes([byte]))
                    self.sent += 1
        except OSError:
            pass  # the client hung up: what a deadline does
        finally:
            self.done.set()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=10)
