"""A real HTTP receiver on 127.0.0.1 that records what arrives and can answer 500, redirect or hang."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records every request; `answer_next` queues replies ("500", "302", "hang") for the next requests."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.replies: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.port = 0

    def answer_next(self, *replies: str) -> None:
        with self.lock:
            self.replies.extend(replies)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.requests]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(Received("POST", self.path, dict(self.headers.items()), body))
                reply = receiver.replies.pop(0) if receiver.replies else "200"
            if reply == "hang":
                receiver.release.wait(1.0)  # longer than the test's WEBHOOK_TIMEOUT, shorter than a second
                reply = "200"
            try:
                self.send_response(int(reply))
                if reply == "302":
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the sender timed out and hung up, as it should
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)
