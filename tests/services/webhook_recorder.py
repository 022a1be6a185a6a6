"""A local HTTP endpoint that records webhook deliveries (shared by the warning and targets tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorder:
    """What the endpoint received (headers, body) and how it answers: ``statuses`` are popped one
    per request (200 when empty; a 3xx also sends a Location), ``delay_s`` before answering."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0


@contextmanager
def recording_server() -> Iterator[tuple[str, Recorder]]:
    """Serve ``http://127.0.0.1:<free port>/hook`` on a thread; yields (url, recorder)."""
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.requests.append((dict(self.headers.items()), body))
            if rec.delay_s:
                time.sleep(rec.delay_s)
            status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", rec
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
