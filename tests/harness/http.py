"""Small HTTP servers on 127.0.0.1 that tests stand up in a thread."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    """Serve `handler` (a BaseHTTPRequestHandler class) on a free 127.0.0.1 port while
    the `with` block runs; `port` is known from construction."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that does not print a line per request into the test output."""

    def log_message(self, *args):
        pass

    def answer(self, status: int, body: bytes = b"", content_type: str = "application/json"):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
