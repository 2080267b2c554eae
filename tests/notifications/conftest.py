"""A real HTTP push receiver on loopback, for the webhook transport."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushReceiver:
    """Records every request; answers ``fail_status`` to the first ``fail_first`` of them, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    fail_first: int = 0
    fail_status: int = 500
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_for_next(self) -> int:
        return self.fail_status if len(self.requests) <= self.fail_first else 200


@pytest.fixture
def push_receiver() -> Iterator[PushReceiver]:
    """An http.server on 127.0.0.1 (free port) in a thread, stopped after the test."""
    receiver: PushReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.answer_for_next()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = PushReceiver(url=f"http://127.0.0.1:{server.server_address[1]}/push")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def unreachable_url() -> Iterator[str]:
    """A loopback URL where nothing listens: the port is held (bound, never listening) so connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/push"
    finally:
        sock.close()


@pytest.fixture
def webhook_transport(settings: Any, push_receiver: PushReceiver) -> PushReceiver:
    """Pushes go to the loopback receiver through the webhook transport."""
    settings.NOTIFICATIONS_TRANSPORT = "webhook"
    settings.NOTIFICATIONS_WEBHOOK_URL = push_receiver.url
    settings.NOTIFICATIONS_WEBHOOK_TIMEOUT = 5.0
    return push_receiver
