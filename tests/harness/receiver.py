"""A local HTTP server that records webhook deliveries (Slack or generic JSON)."""

import json
import threading

from tests.harness.http import LocalServer, QuietHandler


class WebhookReceiver(LocalServer):
    """Listens on 127.0.0.1; `fail_first` requests answer 500 before it accepts."""

    def __init__(self, fail_first: int = 0):
        self.bodies: list[dict] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        super().__init__(self._handler())
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def _handler(self):
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    failing = receiver.fail_first > 0
                    receiver.fail_first -= 1 if failing else 0
                    if not failing:
                        receiver.bodies.append(json.loads(body))
                self.answer(500 if failing else 200)

        return Handler

    def events(self) -> list[str]:
        with self.lock:
            return [body.get("event") for body in self.bodies]
