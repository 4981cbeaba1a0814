"""Connections that send nothing, or trickle, against the real server (gunicorn + gunicorn.conf.py).

A connection costs the server a thread only once its whole request is in: until then it waits in
the worker's poller, however many there are and however slowly they send. The servers here have
deadlines of a minute, so nothing is cut off during a test: what frees a thread is the request
arriving, not a deadline passing.

Margins for a loaded 2-core machine: /healthz answers in milliseconds when nothing holds the
threads; a bound of 5 s is met with a wide margin and missed by any server that hands a thread to
each of these connections (8 threads, each held for seconds per idle connection).
"""

import json
import socket
import threading
import time

import pytest

import support

PNG = support.encode(support.bar_image(4))
THREADS = 8  # gunicorn.conf.py's default WEB_THREADS
IDLE = 200
TRICKLING = 2 * THREADS  # of each kind: more than the worker has threads
ANSWER_WITHIN = 5.0


def _gunicorn(root, **env):
    model_dir = support.write_model_dir(root / "model")
    extra = {"BODY_TIMEOUT": "60", "HEADER_TIMEOUT": "60", "WEB_THREADS": str(THREADS)}
    extra.update(env)
    return support.Gunicorn(model_dir, root / "logs", workers=1, extra_env=extra)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = _gunicorn(tmp_path_factory.mktemp("connections"))
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


class Crowd:
    """Open sockets: some that never send a byte, some that send a request a byte every 0.2 s."""

    def __init__(self, server) -> None:
        self.server = server
        self.sockets: list[socket.socket] = []
        self.trickling: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)

    def connect(self, count: int, start: bytes | None = None) -> None:
        for _ in range(count):
            sock = socket.create_connection((self.server.host, self.server.port), timeout=10)
            self.sockets.append(sock)
            if start is not None:
                sock.sendall(start)
                sock.setblocking(False)
                self.trickling.append(sock)

    def _trickle(self) -> None:
        while not self.stopped.wait(0.2):
            for sock in self.trickling:
                try:
                    sock.send(b" ")  # as valid in a header value as between JSON tokens
                except OSError:
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def timed(call):
    """(result, seconds) of ``call``; a timeout fails the test, naming the bound."""
    started = time.monotonic()
    try:
        result = call()
    except (TimeoutError, OSError) as exc:
        pytest.fail(f"no answer within {ANSWER_WITHIN} s: {exc!r}")
    return result, time.monotonic() - started


def test_idle_and_trickling_connections_hold_no_thread(server):
    """200 connections that send nothing, then 16 trickling headers and 16 trickling bodies (32
    slow clients for 8 threads), all still open: /healthz and /score answer at once."""
    with Crowd(server) as crowd:
        crowd.connect(IDLE)
        crowd.connect(TRICKLING, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        crowd.connect(TRICKLING, support.post_head(Content_Length="100000") + b'{"input": [')
        time.sleep(0.5)  # let the worker see them all
        answer, took = timed(lambda: server.request("GET", "/healthz", timeout=ANSWER_WITHIN))
        assert answer == (200, {"status": "ok"})
        assert took < ANSWER_WITHIN
        (status, body), took = timed(lambda: server.request("POST", "/score", {"input": [PNG]}, timeout=ANSWER_WITHIN))
        assert status == 200, body
        assert took < ANSWER_WITHIN


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """Room for 40 connections and 64 KiB of requests being read."""
    proc = _gunicorn(tmp_path_factory.mktemp("connections-small"), WORKER_CONNECTIONS="40", REQUEST_BUFFER="65536")
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_a_full_worker_closes_its_idlest_connection_to_accept(small_server):
    """100 idle connections for room for 40: the worker closes the oldest to accept the next, so
    /healthz gets in (gthread stopped accepting until a deadline, here a minute, freed room)."""
    with Crowd(small_server) as crowd:
        crowd.connect(100)
        time.sleep(0.5)
        answer, took = timed(lambda: small_server.request("GET", "/healthz", timeout=ANSWER_WITHIN))
        assert answer == (200, {"status": "ok"})
        assert all(closed_by_server(sock, ANSWER_WITHIN) for sock in crowd.sockets[:50]), "the oldest were not closed"
        assert not any(closed_by_server(sock, 0.1) for sock in crowd.sockets[-20:]), "the newest were closed"


def exchange(server, data: bytes) -> tuple[int, dict]:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(data)
        return support.read_response(sock)


def test_chunked_body_with_extensions_and_trailers_is_scored(server):
    body = json.dumps({"input": [PNG]}).encode()
    framed = b"".join(b"%x;part=%d\r\n%s\r\n" % (len(body[i : i + 10]), i, body[i : i + 10]) for i in range(0, len(body), 10))
    status, answer = exchange(server, support.post_head(Transfer_Encoding="chunked") + framed + b"0\r\nX-Trailer: 1\r\n\r\n")
    assert status == 200, answer


def test_pipelined_requests_are_all_answered(server):
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=10) as sock, sock.makefile("rb") as stream:
        sock.sendall(request * 3)
        answers = []
        for _ in range(3):  # the answers may come in one segment: read them from one buffered stream
            status = int(stream.readline().split()[1])
            headers = dict(line.decode().split(":", 1) for line in iter(stream.readline, b"\r\n"))
            answers.append((status, json.loads(stream.read(int(headers["Content-Length"])))))
        assert answers == [(200, {"status": "ok"})] * 3


def test_a_request_pipelined_behind_a_large_one_is_answered(server):
    """The worker hands what it read to gunicorn's parser 64 KiB at a time: a request that starts
    exactly where such a piece ends is still found."""
    body = json.dumps({"input": [PNG]}).encode()
    size = 2 * 65536
    head = support.post_head(Content_Length=str(size))
    body += b" " * (size - len(head) - len(body))  # head and body: exactly two pieces
    head = support.post_head(Content_Length=str(len(body)))
    assert len(head + body) == size
    with socket.create_connection((server.host, server.port), timeout=10) as sock, sock.makefile("rb") as stream:
        sock.sendall(head + body + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        statuses = []
        for _ in range(2):
            statuses.append(int(stream.readline().split()[1]))
            headers = dict(line.decode().split(":", 1) for line in iter(stream.readline, b"\r\n"))
            stream.read(int(headers["Content-Length"]))
        assert statuses == [200, 200]


def test_body_sent_in_pieces_within_the_deadline_is_scored(server):
    body = json.dumps({"input": [PNG]}).encode()
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(support.post_head(Content_Length=str(len(body))))
        for i in range(0, len(body), len(body) // 4 + 1):
            time.sleep(0.1)
            sock.sendall(body[i : i + len(body) // 4 + 1])
        status, answer = support.read_response(sock)
    assert status == 200, answer


def test_expect_100_continue_is_answered_once(server):
    """The client waits for 100 Continue before it sends the body; it gets exactly one."""
    body = json.dumps({"input": [PNG]}).encode()
    with socket.create_connection((server.host, server.port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(support.post_head(Content_Length=str(len(body)), Expect="100-continue"))
        interim = sock.recv(64)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, answer = support.read_response(sock)
    assert status == 200, answer


def test_body_larger_than_the_request_buffer_is_scored(small_server):
    """Past REQUEST_BUFFER the worker stops holding the body itself; a thread reads the rest."""
    body = json.dumps({"input": [PNG]}).encode()
    body += b" " * (200_000 - len(body))
    status, answer = exchange(small_server, support.post_head(Content_Length=str(len(body))) + body)
    assert status == 200, answer


def test_refused_bodies_that_stall_hold_no_thread(server):
    """Bodies announced over MAX_CONTENT_LENGTH, then stalled: the app drains a refused body
    (up to 4 times the limit) before it answers 413, so that the client can read the answer. The
    worker reads it first, so no thread waits for it."""
    with Crowd(server) as crowd:
        crowd.connect(TRICKLING, support.post_head(Content_Length=str(5 * 1024 * 1024)) + b'{"input": [')
        time.sleep(0.5)
        answer, took = timed(lambda: server.request("GET", "/healthz", timeout=ANSWER_WITHIN))
        assert answer == (200, {"status": "ok"})


def test_clients_that_neither_read_nor_close_do_not_stall_the_worker(server):
    """A client asks for Connection: close, then neither reads the answer nor closes. Closing its
    connection waits for the client (up to 2 s) so that the answer is not lost: in the poller, not
    in the loop that serves every other connection (gthread stalled 2 s for each)."""
    silent = []
    try:
        for _ in range(2 * THREADS):
            sock = socket.create_connection((server.host, server.port), timeout=10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            silent.append(sock)
        time.sleep(0.5)
        for _ in range(3):
            answer, took = timed(lambda: server.request("GET", "/healthz", timeout=ANSWER_WITHIN))
            assert answer == (200, {"status": "ok"})
    finally:
        for sock in silent:
            sock.close()
