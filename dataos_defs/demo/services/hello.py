"""The example Service: a tiny HTTP server on the port the platform gives it (``PORT``).

- ``GET /health`` answers ``ok`` (what a probe or a load balancer asks);
- ``GET /hello`` greets the user the ingress authenticated (the ``X-DataOS-User`` header
  it forwards) and says which replica and revision answered.

``SIGTERM`` stops it cleanly: requests in flight finish, then the server closes.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

USER_HEADER = "X-DataOS-User"


class Handler(BaseHTTPRequestHandler):
    server_version = "dataos-hello/1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path.endswith("/health"):
            self._answer(200, {"status": "ok"})
        elif path.endswith("/hello") or path == "/":
            user = self.headers.get(USER_HEADER) or "anonymous"
            self._answer(
                200,
                {
                    "hello": user,
                    "replica": os.environ.get("DATAOS_REPLICA", "local"),
                    "revision": os.environ.get("DATAOS_REVISION", "0"),
                    "greeting": os.environ.get("GREETING", "hello"),
                },
            )
        else:
            self._answer(404, {"error": f"no route {path}"})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = False  # server_close waits for the requests in flight

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
