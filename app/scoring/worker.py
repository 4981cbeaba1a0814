"""gunicorn's threaded worker, reading each request in its poller before a thread serves it.

gunicorn's gthread worker gives every new connection to a pool thread, which waits up to 5 s for
a request and then reads it with blocking calls: connections that send nothing, or trickle,
hold the threads, and with a few hundred of them /healthz waits for minutes. Here the worker's
main thread (gunicorn's poller loop) reads requests itself, without blocking, as their bytes
arrive, and gives a connection to a pool thread only once its request line, headers and body
are all in memory. The thread then parses and serves the request with gunicorn's own code, from
memory, without waiting on the client: idle and slow clients cost a socket and their bytes so
far, never a thread.

Deadlines, in the poller: a request's line and headers must arrive within HEADER_TIMEOUT
seconds of the connection being accepted (or, on a kept-alive connection, of its first byte),
else the connection is closed; its body within BODY_TIMEOUT seconds of the headers, else the
connection goes to a thread with the deadline already passed and its read side shut, and the
app answers 408 (the deadline is passed on through ``deadline.BODY_STARTS``).

Bounds: a worker holds at most ``worker_connections`` connections; when full, it closes the
idlest one (kept alive and idle, else the oldest still sending its request) to accept the next,
instead of letting new connections wait. Requests being read or waiting for a thread hold at
most REQUEST_BUFFER bytes per worker (default 32 MiB); past that, a connection goes to a thread
as it is and the thread reads the rest from the socket, still under both deadlines. A body
announced larger than the app reads or drains (errors.DRAIN_FACTOR x MAX_CONTENT_LENGTH) goes
at once: the app answers 413 without reading it.

After a connection's last answer, closing it lingers (reading and dropping what the client
still sends, up to 2 s or 64 KiB, so that the answer is not lost to a reset) in the poller too:
gthread does it in its main loop with blocking reads, so a client that asks for
``Connection: close`` and then neither reads nor closes stalled every connection of the worker
for 2 s.

Only plain HTTP/1.x is read this way. With TLS or cleartext HTTP/2 configured in gunicorn
(gunicorn.conf.py configures neither), the worker reads requests in threads as gthread does.

gunicorn.conf.py selects it: ``worker_class = "scoring.worker.ThreadWorker"``.
"""

from __future__ import annotations

import errno
import heapq
import io
import re
import resource
import selectors
import socket
import time
import weakref
from collections import OrderedDict
from functools import partial
from itertools import count

from gunicorn.http import message
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers import gthread

from . import default_config
from .deadline import BODY_STARTS, WATCHDOG
from .errors import DRAIN_FACTOR

_RECV = 1024 * 1024
_SPARE_FDS = 64  # descriptors a worker needs besides its connections (listener, pipes, logs, model)
_LINGER_SECONDS = 2.0  # as gunicorn's close_graceful
_LINGER_BYTES = 65536
_DRAIN_IN_THREAD = 0.05  # seconds a thread waits for the rest of a body the app did not read
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Enough of the head to know where the request ends; gunicorn's parser still reads it all.
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]{1,18})[ \t]*\r\n", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked[ \t]*\r\n", re.I)
_EXPECT = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*\r\n", re.I)
_FRAMING = re.compile(rb"\r\n(?:content-length|transfer-encoding)[ \t]*:", re.I)
_HTTP11 = re.compile(rb"(?:\r\n)?[^\r\n]* HTTP/1\.1\r\n")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?")

# What reading a connection's request has come to: MORE to read; COMPLETE, all of it in memory;
# READY, to be handed to a thread as it is (which reads the rest, or refuses it).
MORE, COMPLETE, READY = "more", "complete", "ready"


class Conn(gthread.TConn):
    """A connection, with what the poller has read of its current request."""

    def __init__(self, cfg, sock, client, server):
        super().__init__(cfg, sock, client, server)
        self.data_ready = True  # gthread must not wait for data in a thread: the poller did
        self.inbuf = bytearray()
        self.counted = 0  # bytes of inbuf counted against the worker's REQUEST_BUFFER
        self.state = None  # "reading", "lingering", "closed", or None (in a thread, or kept alive)
        self.handed = False  # by the poller, for the thread's next request
        self.header_watch = None
        self.request_body_started = None
        self.request_continued = False
        self.request_complete = False
        self.deadline = 0.0  # when the poller gives up on it (reading or lingering)
        self.armed = 0.0  # the deadline last put in the worker's heap
        self._reset()

    def _reset(self) -> None:
        self.head_len = None  # bytes up to the blank line after the headers, once they are in
        self.scanned = 0  # how far the search for that blank line got
        self.length = None  # Content-Length of the body, if the head announced one
        self.chunked = False
        self.chunk_at = 0  # where the next chunk's size line starts, chunked bodies only
        self.body_started = None  # when the head was complete (the body deadline runs from it)
        self.continued = False  # the poller sent 100 Continue for this request
        self.complete = False  # the poller read all of the request
        self.header_end = 0.0

    def init(self):
        """Runs in the pool thread: gives what the poller read to gunicorn's parser."""
        super().init()
        if self.inbuf:
            left = self.parser.unreader.take_buffered()  # nothing, unless pipelined
            self.parser.unreader = ReadAhead(self.sock, left + self.inbuf if left else self.inbuf)
            self.inbuf = bytearray()


class ReadAhead(SocketUnreader):
    """gunicorn's socket reader, giving out first what the poller read, 64 KiB at a time: its
    Unreader copies all it holds on every read, so a whole body at once would be copied again
    for every 64 KiB the app reads."""

    PIECE = 65536

    def __init__(self, sock, data: bytearray):
        super().__init__(sock)
        self.ahead = memoryview(data)
        self.at = 0

    def chunk(self, size_hint=None):
        if self.at < len(self.ahead):
            piece = bytes(self.ahead[self.at : self.at + self.PIECE])
            self.at += len(piece)
            if self.at == len(self.ahead):
                self.ahead, self.at = memoryview(b""), 0  # all given out: let it go
            return piece
        return super().chunk(size_hint)

    def settle(self) -> None:
        """Moves what is left into the buffer proper, where gthread looks for a pipelined request."""
        if self.at < len(self.ahead):
            self.buf.seek(0, io.SEEK_END)
            self.buf.write(self.ahead[self.at :])
        self.ahead, self.at = memoryview(b""), 0


class ThreadWorker(gthread.ThreadWorker):
    def init_process(self):
        config = default_config()
        self.header_timeout = float(config["HEADER_TIMEOUT"])
        self.body_timeout = float(config["BODY_TIMEOUT"])
        # The most body bytes the app reads or drains (when it refuses a body as too large).
        self.body_limit = DRAIN_FACTOR * int(config["MAX_CONTENT_LENGTH"])
        self.buffer_limit = int(config["REQUEST_BUFFER"])
        self.buffered = 0
        self.reading: OrderedDict[Conn, None] = OrderedDict()  # oldest first
        self.timers: list = []  # heap of (deadline, n, weak reference to the connection)
        self.timer_ids = count()
        self.max_head = _max_head(self.cfg)
        # Every read takes what the socket holds, up to 1 MiB: each one has to take the GIL back
        # from the threads, which can take up to sys.getswitchinterval() (5 ms) when they are busy.
        self.scratch = memoryview(bytearray(_RECV))
        self.poller_reads = not self.cfg.is_ssl and self.cfg.http2_cleartext in (None, "off")
        # Each connection is a file descriptor: stay clear of the limit (accept() would fail).
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.fd_capped = soft != resource.RLIM_INFINITY and self.worker_connections > soft - _SPARE_FDS
        if self.fd_capped:
            self.worker_connections = max(self.cfg.threads + 1, soft - _SPARE_FDS)
        super().init_process()

    def run(self):
        if not self.poller_reads:
            self.log.warning("TLS or cleartext HTTP/2 configured: requests are read in threads, as gthread does")
        if self.fd_capped:
            self.log.warning("worker_connections lowered to %d: the open-files limit is %d",
                             self.worker_connections, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        super().run()

    # --- accepting ------------------------------------------------------------------------

    def accept(self, listener):
        if not self.poller_reads:
            return super().accept(listener)
        try:
            sock, client = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self.log.warning("cannot accept a connection (%s): closing the idlest", exc.strerror)
                self._evict()
                return
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = Conn(self.cfg, sock, client, listener.getsockname())
        self._start_reading(conn, time.monotonic())
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_data, conn))
        self.on_request_data(conn, conn.sock)  # the request often came with the connection

    def set_accept_enabled(self, enabled):
        """gthread stops accepting when full; a worker that can close an idle connection instead
        keeps accepting, so that a crowd of idle connections cannot keep new clients out."""
        if not enabled and self.alive and self.poller_reads and self._evict():
            return
        super().set_accept_enabled(enabled)

    def _evict(self) -> bool:
        """Closes the idlest connection: the longest kept-alive one, else the one that has been
        sending its request the longest. False if every connection is being served."""
        if self.keepalived_conns:
            conn = self.keepalived_conns.popleft()
            self._unregister(conn)
            self._close(conn)
            return True
        for conn in self.reading:
            self._drop(conn)
            return True
        return False

    # --- reading a request ------------------------------------------------------------------

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection has sent something: read the next request in the poller."""
        if not self.poller_reads:
            return super().on_client_socket_readable(conn, client)
        if conn.state == "closed":
            return  # closed by a callback earlier in the same poll
        self.keepalived_conns.remove(conn)
        self.poller.modify(client, selectors.EVENT_READ, partial(self.on_request_data, conn))
        self._start_reading(conn, time.monotonic())
        self.on_request_data(conn, client)

    def _start_reading(self, conn: Conn, now: float) -> None:
        conn._reset()
        conn.state = "reading"
        conn.header_end = now + self.header_timeout
        self.reading[conn] = None
        conn.deadline = conn.header_end

    def on_request_data(self, conn: Conn, _sock) -> None:
        """The socket is readable: takes what it holds, and hands the request over once whole."""
        if conn.state == "lingering":
            return self._drain_lingering(conn)
        if conn.state != "reading":
            return  # closed by a callback earlier in the same poll
        while True:
            try:
                size = conn.sock.recv_into(self.scratch)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                size = 0
            if not size:  # the client closed (or reset): serve what came, if anything
                return self._hand_off(conn) if conn.inbuf else self._drop(conn)
            conn.inbuf += self.scratch[:size]
            conn.counted += size
            self.buffered += size
            progress = self._progress(conn)
            if progress is not MORE or self.buffered > self.buffer_limit:
                return self._hand_off(conn, complete=progress is COMPLETE)
            if size < len(self.scratch):
                break
        self._arm(conn)  # waits for more, until its deadline

    def _progress(self, conn: Conn) -> str:
        """COMPLETE once the whole request is in; READY when the rest is for a thread to read."""
        buf = conn.inbuf
        if conn.head_len is None:
            end = buf.find(b"\r\n\r\n", max(0, conn.scanned - 3))
            if end < 0:
                conn.scanned = len(buf)
                return READY if len(buf) > self.max_head else MORE  # the parser refuses it from memory
            conn.head_len = end + 4
            head = bytes(buf[: end + 2])
            conn.body_started = time.monotonic()
            conn.deadline = conn.body_started + self.body_timeout
            framing = _FRAMING.findall(head)
            if len(framing) > 1:
                return READY  # ambiguous framing: gunicorn's parser answers it (400)
            length = _LENGTH.search(head)
            if length:
                conn.length = int(length.group(1))
                if conn.length > self.body_limit:
                    return READY  # the app answers 413 without reading or draining the body
            elif _CHUNKED.search(head):
                conn.chunked, conn.chunk_at = True, conn.head_len
            elif framing:
                return READY  # a framing header this scan does not follow: the parser decides
            progress = self._body_in(conn)
            if progress is not MORE:
                return progress
            if _EXPECT.search(head) and _HTTP11.match(head):
                conn.continued = self._send_continue(conn)
                if not conn.continued:
                    return READY  # gunicorn sends it from the thread
            return MORE
        return self._body_in(conn)

    def _body_in(self, conn: Conn) -> str:
        buf = conn.inbuf
        if conn.length is not None:
            return COMPLETE if len(buf) - conn.head_len >= conn.length else MORE
        if not conn.chunked:
            return COMPLETE  # no body
        if len(buf) - conn.head_len > self.body_limit + 65536:
            return READY  # more than the app reads: it answers 413 (and drains what it drains)
        at = conn.chunk_at
        while True:
            eol = buf.find(b"\r\n", at)
            if eol < 0:
                return READY if len(buf) - at > 4096 else MORE  # no size line that long: malformed
            size = _CHUNK_SIZE.fullmatch(buf, at, eol)
            if size is None:
                return READY  # malformed: gunicorn's parser answers it
            if int(size.group(1), 16) == 0:
                return COMPLETE if buf.find(b"\r\n\r\n", eol) >= 0 else MORE  # the trailers' blank line
            at = eol + 2 + int(size.group(1), 16) + 2
            if at > len(buf):
                return MORE
            if buf[at - 2 : at] != b"\r\n":
                return READY  # malformed
            conn.chunk_at = at

    def _send_continue(self, conn: Conn) -> bool:
        try:
            return conn.sock.send(_CONTINUE) == len(_CONTINUE)
        except OSError:
            return False

    def _hand_off(self, conn: Conn, complete: bool = False) -> None:
        """Gives the connection to a pool thread (its bytes stay counted until it is served)."""
        self.reading.pop(conn, None)
        conn.state = None
        conn.handed = True
        conn.complete = complete
        self._unregister(conn)
        self.enqueue_req(conn)

    def handle(self, conn):
        """Runs in a pool thread: serves one request. The headers are usually in memory already;
        when they are not (a request pipelined behind the last one, one the poller passed on
        unfinished), the thread reads them within what is left of HEADER_TIMEOUT."""
        handed, conn.handed = getattr(conn, "handed", False), False
        if not handed:
            seconds = self.header_timeout
        elif conn.head_len is None:
            seconds = max(0.0, conn.header_end - time.monotonic())
        else:
            seconds = None
        conn.header_watch = WATCHDOG.watch(conn.sock, seconds) if seconds is not None else None
        conn.request_body_started = conn.body_started if handed else None
        conn.request_continued = handed and conn.continued
        conn.request_complete = handed and conn.complete
        try:
            return super().handle(conn)
        finally:
            if conn.header_watch is not None:
                WATCHDOG.release(conn.header_watch)
            if isinstance(getattr(conn.parser, "unreader", None), ReadAhead):
                conn.parser.unreader.settle()

    def handle_request(self, req, conn):
        """Called once the headers are parsed: from here the app's own limits apply."""
        if conn.header_watch is not None:
            WATCHDOG.release(conn.header_watch)
        if conn.request_continued:
            req._expected_100_continue = False  # the poller has sent it
        if conn.request_body_started is not None:
            BODY_STARTS[conn.sock] = conn.request_body_started
        try:
            return super().handle_request(req, conn)
        finally:
            BODY_STARTS.pop(conn.sock, None)

    def _keepalive_after(self, conn, keepalive):
        """Before a connection is kept alive, what the app left of the body is read and dropped:
        gthread waits up to 5 s in the thread for it. When the poller read the whole request, it
        is all in memory. Otherwise (a body the app refused unread, for one) the thread waits
        only briefly, and if the client has not sent the rest by then, the connection is closed:
        the lingering close in the poller drops what still comes, while the thread moves on."""
        if not keepalive:
            return False
        if conn.request_complete:
            return bool(conn.parser.finish_body())  # from memory: never waits on the socket
        return bool(conn.parser.finish_body(deadline=time.monotonic() + _DRAIN_IN_THREAD))

    # --- after a request ----------------------------------------------------------------

    def finish_request(self, conn, fs):
        if not self.poller_reads:
            return super().finish_request(conn, fs)
        self.buffered -= conn.counted
        conn.counted = 0
        conn.header_end = 0.0
        try:
            keep = fs.result() if not fs.cancelled() else False
        except Exception:
            keep = False
        if keep:
            return super().finish_request(conn, fs)
        self._linger(conn)

    def _linger(self, conn: Conn) -> None:
        """Closes after the last answer without losing it: sends FIN, then reads and drops what
        the client still sends (a close with unread data would reset the connection and the
        client could lose the answer), until it closes too, for at most 2 s or 64 KiB."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return self._close(conn)
        conn.state = "lingering"
        conn.counted = 0  # reused: bytes drained
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_data, conn))
        conn.deadline = time.monotonic() + _LINGER_SECONDS
        self._arm(conn)

    def _drain_lingering(self, conn: Conn) -> None:
        while True:
            try:
                size = conn.sock.recv_into(self.scratch, _LINGER_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                size = 0
            conn.counted += size
            if not size or conn.counted >= _LINGER_BYTES:
                self._unregister(conn)
                return self._close(conn)

    # --- deadlines --------------------------------------------------------------------------

    def _arm(self, conn: Conn) -> None:
        """Makes sure the connection's deadline is in the heap (once: most requests arrive whole
        in their first read and never need one)."""
        if conn.armed != conn.deadline:
            conn.armed = conn.deadline
            heapq.heappush(self.timers, (conn.deadline, next(self.timer_ids), weakref.ref(conn)))

    def murder_pending(self):
        """Called by gthread's loop after each poll: ends what is past its deadline."""
        super().murder_pending()
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            deadline, _, ref = heapq.heappop(self.timers)
            conn = ref()
            if conn is None or conn.deadline != deadline:
                continue  # gone, or a later deadline replaced this one
            if conn.state == "lingering":
                self._unregister(conn)
                self._close(conn)
            elif conn.state == "reading":
                self._expire(conn)

    def _expire(self, conn: Conn) -> None:
        if conn.head_len is None:  # no complete request: nothing to answer
            return self._drop(conn)
        try:  # the app finds the body deadline passed and answers 408 without waiting for it
            conn.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        self._hand_off(conn)

    def _cap_keepalive(self, deadline):
        """The worker is stopping: requests still being read get until ``deadline``."""
        super()._cap_keepalive(deadline)
        for conn in self.reading:
            if conn.deadline > deadline:
                conn.deadline = deadline
                self._arm(conn)

    # --- closing ----------------------------------------------------------------------------

    def _unregister(self, conn: Conn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _drop(self, conn: Conn) -> None:
        """Closes a connection whose request is still being read."""
        self.reading.pop(conn, None)
        self._unregister(conn)
        self._close(conn)

    def _close(self, conn: Conn) -> None:
        self.buffered -= conn.counted if conn.state == "reading" else 0
        conn.counted = 0
        conn.state = "closed"
        conn.deadline = 0.0
        conn.inbuf = bytearray()
        conn.parser = None  # and what its reader still held of a request
        self.nr_conns -= 1
        conn.close()


def _max_head(cfg) -> int:
    """The most bytes of request line and headers gunicorn's parser reads before refusing them."""
    fields = cfg.limit_request_fields if 0 < cfg.limit_request_fields <= message.MAX_HEADERS else message.MAX_HEADERS
    field = cfg.limit_request_field_size if cfg.limit_request_field_size > 0 else message.DEFAULT_MAX_HEADERFIELD_SIZE
    line = cfg.limit_request_line if 0 < cfg.limit_request_line <= message.MAX_REQUEST_LINE else message.MAX_REQUEST_LINE
    return fields * (field + 2) + 4 + line + 2
