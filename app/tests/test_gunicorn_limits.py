"""Request framing and slow clients against the real server (gunicorn + gunicorn.conf.py).

What gunicorn hands the app (chunked bodies, bad chunk framing, a socket that stalls) only
happens over real HTTP, so these tests talk raw HTTP/1.1 to gunicorn on 127.0.0.1.
"""

import json
import socket
import time

import pytest

import support

LIMIT = 65536  # a small MAX_CONTENT_LENGTH keeps the bodies small
PNG = support.encode(support.bar_image(4))


# Timing margins hold on a machine 4 times slower than an idle one: a deadline of 2 s must cut a
# client off within 8 s (4x), and a client it failed to cut off is still trickling at 20 s.
DEADLINE = 2
CUT_OFF_WITHIN = 4 * DEADLINE
STILL_TRICKLING_AT = 20


def _gunicorn(root, deadline: int):
    model_dir = support.write_model_dir(root / "model")
    return support.Gunicorn(
        model_dir, root / "logs", workers=1,
        extra_env={"MAX_CONTENT_LENGTH": str(LIMIT), "BODY_TIMEOUT": str(deadline), "HEADER_TIMEOUT": str(deadline)},
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = _gunicorn(tmp_path_factory.mktemp("limits"), DEADLINE)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory):
    """Deadlines of a minute: a request that waits for stalled clients to be cut off waits that long."""
    proc = _gunicorn(tmp_path_factory.mktemp("limits-patient"), 60)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def padded_body(size: int) -> bytes:
    """A valid /score body padded with trailing spaces to ``size`` bytes: cut anywhere after the
    JSON object, it still parses, so a silently truncated body would be scored (200)."""
    body = json.dumps({"input": [PNG]}).encode()
    return body + b" " * (size - len(body))


def test_chunked_body_within_the_limit_is_scored(server):
    status, body = server_exchange(server, support.post_head(Transfer_Encoding="chunked")
                                   + support.chunked(padded_body(LIMIT)))
    assert status == 200, body
    assert body["predictions"][0]["top3"][0]["label"] == "4"


def test_chunked_body_over_the_limit_is_413_not_cut(server):
    status, body = server_exchange(server, support.post_head(Transfer_Encoding="chunked")
                                   + support.chunked(padded_body(LIMIT + 1)))
    assert status == 413, body
    assert body == {"error": f"request body too large: the limit is {LIMIT} bytes"}


def test_content_length_over_the_limit_is_413(server):
    data = padded_body(LIMIT + 1)
    status, body = server_exchange(server, support.post_head(Content_Length=str(len(data))) + data)
    assert status == 413, body
    assert "the limit is 65536 bytes" in body["error"]


@pytest.mark.parametrize("framing", [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"-2\r\n{}\r\n0\r\n\r\n"],
                         ids=["size-not-hex", "missing-terminator", "negative-size"])
def test_malformed_chunking_is_400(server, framing):
    status, body = server_exchange(server, support.post_head(Transfer_Encoding="chunked") + framing)
    assert status == 400, body
    assert body["error"].startswith("malformed request body: "), body


def test_huge_integer_is_400_over_http(server):
    data = b'{"input": [' + b"7" * 5000 + b"]}"
    status, body = server_exchange(server, support.post_head(Content_Length=str(len(data))) + data)
    assert status == 400, body
    assert "5000 digits" in body["error"]


def test_stalled_body_gets_408_after_body_timeout(server):
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(support.post_head(Content_Length="1000") + b'{"input": [')
        started = time.monotonic()
        status, body = support.read_response(sock)
        waited = time.monotonic() - started
    assert status == 408, body
    assert body == {"error": "request body not received within 2 seconds (BODY_TIMEOUT): send it faster"}
    assert waited < 10


def test_trickled_body_is_cut_off_by_the_same_deadline(server):
    """One byte every 0.2 s never stalls a single read for long: the deadline is for the whole body."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(support.post_head(Content_Length="1000"))
        started = time.monotonic()
        sock.setblocking(False)
        while time.monotonic() - started < STILL_TRICKLING_AT:
            try:
                sock.send(b" ")
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the answer has started
            except BlockingIOError:
                pass
            time.sleep(0.2)
        sock.setblocking(True)
        status, body = support.read_response(sock)
        waited = time.monotonic() - started
    assert status == 408, body
    assert waited < CUT_OFF_WITHIN, f"answered after {waited:.1f}s: each byte restarted the clock"


def test_trickled_headers_are_cut_off_by_header_timeout(server):
    """Slowloris: a header line a byte at a time. gunicorn reads headers before the app runs,
    so this deadline is the worker's; the connection is closed (there is no request to answer)."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        closed = False
        sock.settimeout(0.2)
        while not closed and time.monotonic() - started < STILL_TRICKLING_AT:
            try:
                sock.send(b"a")
                closed = sock.recv(1) == b""
            except TimeoutError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        waited = time.monotonic() - started
    assert closed, f"the server still reads headers sent one byte every 0.2 s after {STILL_TRICKLING_AT} s"
    assert waited < CUT_OFF_WITHIN, f"closed after {waited:.1f}s (HEADER_TIMEOUT is {DEADLINE})"


def test_headers_in_time_are_not_cut_off_on_a_kept_alive_connection(server):
    """The header deadline starts when a thread picks the connection up, each request anew."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        for turn in range(3):
            if turn:
                time.sleep(1.2)  # idle, kept alive (keepalive is 5 s): 2.4 s in all, over HEADER_TIMEOUT
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert support.read_response(sock) == (200, {"status": "ok"})


def test_slow_clients_do_not_block_healthz(patient_server):
    """Four clients stuck mid-body on a single worker: /healthz and /score still answer, long
    before the stalled clients' one-minute deadline would have freed a thread for them."""
    server = patient_server
    stalled = []
    try:
        for _ in range(4):
            sock = socket.create_connection((server.host, server.port), timeout=30)
            sock.sendall(support.post_head(Content_Length="1000") + b"{")
            stalled.append(sock)
        time.sleep(0.3)  # let the worker pick them up
        assert server.request("GET", "/healthz", timeout=6) == (200, {"status": "ok"})
        status, _ = server.request("POST", "/score", {"input": [PNG]}, timeout=6)
        assert status == 200
    finally:
        for sock in stalled:
            sock.close()


def server_exchange(server, request: bytes):
    return support.raw_exchange(server.port, request)
