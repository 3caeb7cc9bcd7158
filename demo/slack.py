"""`make run`'s Slack: a receiver on loopback that answers as Slack's incoming webhook does
and keeps what it got, so "Slack gets a message with a link" can be followed in a browser.

    python -m demo.slack            # run (Procfile: slack)
    python -m demo.slack --status   # the one line bin/demo prints

It listens on 127.0.0.1:7600 (DEMO_SLACK_PORT). bin/demo points SLACK_WEBHOOK_URL at
`WEBHOOK_PATH` there unless one is set. A POST of a JSON message with `text` or `blocks`
is kept and answered `200 ok` (text/plain), as Slack does; a body that is not JSON is
`400 invalid_payload`, one without text `400 no_text`, another path `404 no_service`.
`GET /` shows the kept messages, newest first, as Slack does (the blocks when there
are some, else the text; `deployments.notifications.slack_markup`) with their "Open
deployment" links;
`GET /messages.json` gives them as JSON. Kept in memory (the last KEEP): a restart
forgets them. Plain Python, no Django: it stands beside the portal, not in it.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import signal
import sys
import threading
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from deployments.notifications import slack_markup

HOST = "127.0.0.1"
DEFAULT_PORT = 7600
# Not a secret: the demo's own receiver. A real Slack webhook URL is one, and the portal
# shows only its host.
WEBHOOK_PATH = "/services/TDEMO/BDEMO/demo-receiver"
KEEP = 200


def port() -> int:
    return int(os.environ.get("DEMO_SLACK_PORT") or DEFAULT_PORT)


def webhook_url(on_port: int | None = None) -> str:
    return f"http://{HOST}:{on_port or port()}{WEBHOOK_PATH}"


class Inbox:
    """The messages received, newest last, at most KEEP; safe across handler threads."""

    def __init__(self) -> None:
        self._messages: deque[dict] = deque(maxlen=KEEP)
        self._lock = threading.Lock()

    def keep(self, body: dict) -> None:
        received = {"received_at": datetime.now(UTC).isoformat(timespec="seconds"), "body": body}
        with self._lock:
            self._messages.append(received)

    def newest_first(self) -> list[dict]:
        with self._lock:
            return list(reversed(self._messages))


def answer_post(path: str, raw: bytes, inbox: Inbox) -> tuple[int, str]:
    """What Slack's incoming webhook answers to this POST; keeps the message it accepts."""
    if not path.startswith("/services/"):
        return 404, "no_service"
    try:
        body = json.loads(raw)
    except ValueError:
        return 400, "invalid_payload"
    if not isinstance(body, dict):
        return 400, "invalid_payload"
    if not body.get("text") and not body.get("blocks"):
        return 400, "no_text"
    inbox.keep(body)
    return 200, "ok"


def make_server(inbox: Inbox, on_port: int) -> ThreadingHTTPServer:
    """The receiver, bound to 127.0.0.1:`on_port` (0: a free port), not yet serving."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, text = answer_post(self.path, raw, inbox)
            self._send(status, text.encode(), "text/plain; charset=utf-8")

        def do_GET(self):
            if self.path == "/messages.json":
                body = json.dumps(inbox.newest_first(), ensure_ascii=False).encode()
                self._send(200, body, "application/json")
            elif self.path == "/":
                self._send(
                    200, render_page(inbox.newest_first()).encode(), "text/html; charset=utf-8"
                )
            else:
                self._send(404, b"not found", "text/plain; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass  # the supervisor's output is for the portal; the page shows what came

    return ThreadingHTTPServer((HOST, on_port), Handler)


def render_page(messages: list[dict]) -> str:
    """The small page: each message's header, text and links, newest first."""
    items = "".join(_message_html(message) for message in messages) or (
        "<li>Nothing yet. Promote a release in the portal: each step it announces "
        "(requested, started, succeeded or failed…) arrives here.</li>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta http-equiv='refresh' content='5'><title>Slack (demo receiver)</title>"
        "<style>body{font:16px/1.45 system-ui,sans-serif;max-width:50rem;margin:1rem auto;"
        "padding:0 1rem}li{border:1px solid #d8dde3;border-radius:6px;padding:.5rem .8rem;"
        "margin:.5rem 0;list-style:none;overflow-wrap:anywhere}ol{padding:0}"
        "time{color:#5b6470;font-size:.9rem}h2{font-size:1.1rem;margin:.3rem 0}"
        ".slack-fields{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));"
        "gap:.3rem 1rem}.slack-button{display:inline-block;margin-top:.4rem;padding:.2rem .7rem;"
        "border:1px solid #8a96a3;border-radius:4px}</style></head><body>"
        "<h1>Slack (demo receiver)</h1>"
        f"<p>What the portal posted to its Slack webhook ({HOST}, answered <code>ok</code> "
        "as Slack does), newest first; this page reloads every 5 s. Admins see every try "
        "on the portal's Messages page.</p>"
        f"<ol>{items}</ol></body></html>"
    )


def _message_html(message: dict) -> str:
    return (
        f"<li><time>{html.escape(message['received_at'])}</time>"
        f"{slack_markup.message_html(message['body'])}</li>"
    )


def status_line() -> str:
    """The line bin/demo prints: where to look, or where messages go instead."""
    configured = os.environ.get("SLACK_WEBHOOK_URL", "")
    if configured and configured != webhook_url():
        return "Slack: messages go to the SLACK_WEBHOOK_URL you set (the demo receiver idles)."
    return (
        f"Slack: http://{HOST}:{port()}/ shows what the portal posted (a demo receiver "
        "answering as Slack does); admins: Messages in the portal's header."
    )


def serve(on_port: int) -> None:
    try:
        server = make_server(Inbox(), on_port)
    except OSError as error:
        # Without it the portal still runs; its Messages page shows the refused tries.
        print(
            f"Slack demo receiver not started: {HOST}:{on_port} is taken ({error.strerror}); "
            "set DEMO_SLACK_PORT to another port.",
            file=sys.stderr,
            flush=True,
        )
        signal.pause()  # stay up: the supervisor stops everything when one process ends
        return
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"Slack demo receiver on http://{HOST}:{on_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.slack")
    parser.add_argument("--status", action="store_true", help="print where to look, and exit")
    parser.add_argument("--url", action="store_true", help="print the demo's webhook URL")
    args = parser.parse_args(argv)
    if args.status:
        print(status_line())
    elif args.url:
        print(webhook_url())
    else:
        serve(port())


if __name__ == "__main__":
    main()
