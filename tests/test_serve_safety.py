"""`rasp view` and `rasp serve` under hostile names and clients (issues 22.1, 22.11, 23.11):
user text never becomes template or markup, only loopback Host headers are answered (DNS
rebinding), and clients that hang up or a Ctrl-C leave no traceback. Every server here
listens on 127.0.0.1 only, on a free port, for a few requests with short timeouts."""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from rasp.cli import main
from rasp.view.serve import is_loopback_host, make_server, serve

PROGRAM = "opp = length - indices - 1;\nflip = select(indices, opp, ==);\nreverse = aggregate(flip, tokens);\n"
TIMEOUT = 10


def _page_data(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    assert block is not None
    return json.loads(block.group(1))


@pytest.mark.parametrize("name", ["@DATA@", "@TITLE@", "x@DATA@y.rasp", "<img src=x onerror=alert(1)>.rasp",
                                  "</script><script>alert(1)</script>"])
def test_a_file_name_is_a_title_never_template_or_markup(capsys, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    if "/" in name:  # a file name cannot hold a slash: use it as the s-op's text instead
        name = name.replace("/", "_")
    (tmp_path / name).write_text(PROGRAM)
    assert main(["view", name, "--vocab", "ab", "--max-len", "3", "--input", "ab", "-o", "page.html"]) == 0
    capsys.readouterr()
    page = (tmp_path / "page.html").read_text()
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert html.unescape(title) == f"{name} (reverse) · rasp viewer"
    assert "<img" not in page and "<script>alert" not in page and page.count("</script>") == 2
    assert _page_data(page)["title"] == f"{name} (reverse)"


def test_hostile_tokens_and_errors_stay_data(tmp_path):
    import rasp
    from rasp.view.page import render_page
    from rasp.view.trace import trace

    evil = ["</script>", "<img src=x onerror=alert(1)>", "@DATA@", "@TITLE@"]
    model = rasp.compile(rasp.from_source(PROGRAM), vocab=evil, max_len=4)
    page = render_page(trace(model, evil), "@DATA@", PROGRAM, error="<b>@TITLE@</b>")
    data = _page_data(page)
    assert data["trace"]["input"] == evil and data["error"] == "<b>@TITLE@</b>" and data["title"] == "@DATA@"
    assert "<img" not in page and "<b>" not in page and page.count("</script>") == 2


@pytest.mark.parametrize("host, ok", [
    ("localhost", True), ("127.0.0.1", True), ("[::1]", True), ("localhost:{port}", True),
    ("127.0.0.1:{port}", True), ("[::1]:{port}", True), ("LOCALHOST:{port}", True),
    ("attacker.example", False), ("attacker.example:{port}", False), ("localhost.attacker.example", False),
    ("127.0.0.1.nip.io", False), ("localhost:1", False), ("localhost:", False), ("", False), (None, False),
    ("[::1]x", False), ("127.0.0.2", False), ("0.0.0.0", False), ("localhost:{port}:{port}", False),
])
def test_only_loopback_host_names_are_answered(host, ok):
    assert is_loopback_host(host.format(port=8765) if host else host, 8765) is ok


@pytest.fixture
def server():
    """A served page on 127.0.0.1 whose answer takes a moment (so a client can leave)."""
    def page_for(text, words):
        time.sleep(0.3 if text == "slow" else 0)
        return 200, "<!DOCTYPE html><p>the program source</p>"

    srv = make_server(page_for, 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(port: int, host: str | None, path: str = "/") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.putrequest("GET", path, skip_host=True)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_a_rebinding_host_gets_no_source(server):
    port = server.server_address[1]
    assert _get(port, f"127.0.0.1:{port}") == (200, "<!DOCTYPE html><p>the program source</p>")
    assert _get(port, f"localhost:{port}")[0] == 200
    for host in ("attacker.example", f"attacker.example:{port}", None, f"localhost:{port + 1}"):
        status, body = _get(port, host)
        assert status == 400 and "source" not in body


def test_a_client_hanging_up_leaves_no_traceback(server, capfd):
    port = server.server_address[1]
    for _ in range(3):
        client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        client.sendall(f"GET /?input=slow HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        client.close()
    time.sleep(1.2)  # the answers are written to closed connections meanwhile
    assert _get(port, f"127.0.0.1:{port}")[0] == 200  # still serving
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Error" not in out + err


def test_ctrl_c_stops_the_server_cleanly(capsys):
    srv = make_server(lambda text, words: (200, "ok"), 0)

    def interrupted() -> None:
        raise KeyboardInterrupt

    srv.serve_forever = interrupted
    serve(srv)
    out, err = capsys.readouterr()
    assert "stopped" in out and "Traceback" not in out + err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_on_the_command_line_while_clients_hang_up(tmp_path):
    (tmp_path / "rev.rasp").write_text(PROGRAM)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasp", "serve", "rev.rasp", "--vocab", "ab", "--max-len", "3", "--port", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        for _ in range(100):  # the compile's report comes first
            found = re.search(r"serving on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
            if found:
                break
        port = int(found.group(1))
        for _ in range(2):
            client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.sendall(f"GET /?input=abb HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
            client.close()
        assert _get(port, f"localhost:{port}")[0] == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in out + err and "stopped" in out, (proc.returncode, out, err)


def test_the_page_template_is_filled_in_one_pass():
    from rasp.view.page import fill_template

    assert fill_template("<t>@A@</t>@B@", {"A": "@B@", "B": "@A@"}) == "<t>@B@</t>@A@"
