"""`rasp serve`: the viewer page served live on 127.0.0.1, with an input box that re-runs
the model. Built on the standard library's `http.server` (ThreadingHTTPServer); the page
is the same one `rasp view` writes, so all the logic lives in `trace.py` and `page.py`.

It answers only requests whose Host header names the loopback interface, so a web page
whose domain an attacker rebinds to 127.0.0.1 (DNS rebinding) cannot read the program; a
client that hangs up early is no error worth a traceback."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import RaspError, RaspInputError

HOST = "127.0.0.1"
MAX_INPUT_CHARS = 2000
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
REQUEST_SECONDS = 10

# page_for(input text or None, words) -> (HTTP status, HTML); a RaspError becomes a 400 page
PageFor = Callable[[str | None, bool], tuple[int, str]]


def make_server(page_for: PageFor, port: int) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:`port` (0: any free port), not yet serving."""

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_SECONDS  # a client that connects and says nothing does not hold a thread

        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            if not is_loopback_host(self.headers.get("Host"), self.server.server_address[1]):
                self._send(HTTPStatus.BAD_REQUEST, "<!DOCTYPE html><p>rasp serve answers only requests to "
                           "localhost or 127.0.0.1</p>")
                return
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
        return QuietServer((HOST, port), Handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise RaspInputError(f"port {port} is already in use on {HOST}; pick another with --port") from None
        if e.errno == errno.EACCES:
            raise RaspInputError(f"not allowed to listen on port {port}; use a port above 1023") from None
        raise RaspError(f"cannot listen on {HOST}:{port}: {e.strerror or e}") from None


def is_loopback_host(host: str | None, port: int) -> bool:
    """Whether a Host header names this server on the loopback interface: localhost,
    127.0.0.1 or [::1], with no port or with the server's own."""
    host = (host or "").strip().lower()
    name, port_text = host, None
    if host.startswith("["):  # an IPv6 address: [::1] or [::1]:8765
        name, _, rest = host.partition("]")
        name += "]"
        if rest:
            if not rest.startswith(":"):
                return False
            port_text = rest[1:]
    elif ":" in host:
        name, _, port_text = host.partition(":")
    return name in LOOPBACK_NAMES and port_text in (None, str(port))


class QuietServer(ThreadingHTTPServer):
    """A client that hangs up before its answer is written is routine for a server: it is
    not reported. Any other failure answering a request is one line, not a traceback.
    Closing waits for the requests in progress (each ends within REQUEST_SECONDS of
    silence), so Ctrl-C never ends the process under a thread still running the model."""

    daemon_threads = False
    block_on_close = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - socketserver's hook
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        print(f"error answering a request: {type(error).__name__}: {error}", file=sys.stderr)


def serve(server: ThreadingHTTPServer) -> None:
    """Serve until Ctrl-C, then close."""
    print(f"serving on http://{HOST}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
