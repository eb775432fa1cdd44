"""`rasp serve`: the viewer page served live on 127.0.0.1, with an input box that re-runs
the model. Built on the standard library's `http.server` (ThreadingHTTPServer); the page
is the same one `rasp view` writes, so all the logic lives in `trace.py` and `page.py`."""

from __future__ import annotations

import errno
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import RaspError, RaspInputError

HOST = "127.0.0.1"
MAX_INPUT_CHARS = 2000

# page_for(input text or None, words) -> (HTTP status, HTML); a RaspError becomes a 400 page
PageFor = Callable[[str | None, bool], tuple[int, str]]


def make_server(page_for: PageFor, port: int) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:`port` (0: any free port), not yet serving."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            url = urlsplit(self.path)
            if url.path not in ("/", "/index.html"):
                self._send(HTTPStatus.NOT_FOUND, "<!DOCTYPE html><p>not found: try <a href='/'>/</a></p>")
                return
            query = parse_qs(url.query, keep_blank_values=True)
            text = query.get("input", [None])[0]
            words = query.get("words", [""])[0] not in ("", "0")
            if text is not None and len(text) > MAX_INPUT_CHARS:
                status, body = HTTPStatus.BAD_REQUEST, f"input is over {MAX_INPUT_CHARS} characters"
            else:
                status, body = page_for(text, words)
            self._send(status, body)

        def _send(self, status: int, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep the terminal quiet
            pass

    try:
        return ThreadingHTTPServer((HOST, port), Handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise RaspInputError(f"port {port} is already in use on {HOST}; pick another with --port") from None
        if e.errno == errno.EACCES:
            raise RaspInputError(f"not allowed to listen on port {port}; use a port above 1023") from None
        raise RaspError(f"cannot listen on {HOST}:{port}: {e.strerror or e}") from None


def serve(server: ThreadingHTTPServer) -> None:
    """Serve until Ctrl-C, then close."""
    print(f"serving on http://{HOST}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
