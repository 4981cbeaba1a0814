"""Reading a request body whole, with a size limit and a deadline, whatever its framing.

Werkzeug stops a chunked body (no Content-Length) at ``MAX_CONTENT_LENGTH`` without saying so,
and a body that arrives one byte at a time would hold a server thread for as long as the client
likes. Here the body is read up to one byte past the limit (so "too large" is 413, never a cut
body), the whole read has one deadline (``BODY_TIMEOUT``, 408 when it passes), and framing errors
raised by the server's input stream (a bad chunk size, a body that ends early) are 400s.
"""

from __future__ import annotations

import socket
import time

from werkzeug.wsgi import get_content_length

from .deadline import BODY_STARTS, WATCHDOG

_STEP = 65536
_MAX_DETAIL = 200  # characters of a server parse error quoted back to the client


class BodyError(Exception):
    """A request body that cannot be used; ``status`` and message go to the client as they are."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def too_large(limit: int) -> BodyError:
    return BodyError(413, f"request body too large: the limit is {limit} bytes")


class _Deadline:
    """The time limit of one body read: between reads, and (under gunicorn) inside them. It
    counts from when the server started waiting for the body, if it says so (BODY_STARTS)."""

    def __init__(self, environ: dict, seconds: float) -> None:
        self.seconds = seconds
        sock = environ.get("gunicorn.socket")
        now = time.monotonic()
        started = BODY_STARTS.get(sock, now) if isinstance(sock, socket.socket) else now
        self.end = min(started, now) + seconds
        self._watch = WATCHDOG.watch(sock, max(0.0, self.end - now)) if isinstance(sock, socket.socket) else None
        self.expired = False

    def check(self) -> None:
        if time.monotonic() >= self.end:
            self.expired = True
            raise TimeoutError()

    def close(self) -> None:
        if self._watch is not None and WATCHDOG.release(self._watch):
            self.expired = True

    def error(self) -> BodyError:
        return BodyError(
            408,
            f"request body not received within {self.seconds:g} seconds (BODY_TIMEOUT): send it faster",
        )


def read_body(environ: dict, limit: int, timeout: float) -> bytearray:
    """The whole body, at most ``limit`` bytes, received within ``timeout`` seconds."""
    length = get_content_length(environ)
    if length is not None and length > limit:
        raise too_large(limit)
    if length is None and not environ.get("wsgi.input_terminated"):
        return b""  # no length and a server that does not end the stream: nothing safe to read
    stream = environ["wsgi.input"]
    wanted = limit + 1 if length is None else length
    deadline = _Deadline(environ, timeout)
    body = bytearray()  # grown in place: no second copy of a large body
    failure: Exception | None = None
    try:
        while len(body) < wanted:
            deadline.check()
            part = stream.read(min(_STEP, wanted - len(body)))
            if not part:
                break
            body += part
    except Exception as exc:
        failure = exc
    finally:
        deadline.close()
    if deadline.expired:  # whatever the cut-off read raised, if anything
        raise deadline.error()
    received = len(body)
    if isinstance(failure, OSError):  # the client went away (or reset the connection) mid-body
        raise BodyError(400, f"request body incomplete: the connection ended after {received} bytes")
    if failure is not None:  # the server's framing errors (gunicorn: bad chunk size, terminator, ...)
        raise BodyError(400, f"malformed request body: {str(failure)[:_MAX_DETAIL]}")
    if received > limit:
        raise too_large(limit)
    if length is not None and received < length:
        raise BodyError(400, f"request body incomplete: {received} of {length} bytes (Content-Length) arrived")
    return body


def drain(environ: dict, cap: int, timeout: float) -> None:
    """Reads and drops what is left of a refused body, so the client can read our answer.

    Closing a socket with unread data makes the kernel reset the connection, and the client
    then sees a broken pipe instead of the JSON error. At most ``cap`` bytes are drained, within
    ``timeout`` seconds; past either the connection is simply closed.
    """
    length = get_content_length(environ)
    if (length is not None and length > cap) or (length is None and not environ.get("wsgi.input_terminated")):
        return
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    remaining = cap if length is None else length
    deadline = _Deadline(environ, timeout)
    try:
        while remaining > 0:
            deadline.check()
            part = stream.read(min(_STEP, remaining))
            if not part:
                break
            remaining -= len(part)
    except Exception:  # a timeout, a reset or bad framing: give up, the connection closes
        pass
    finally:
        deadline.close()
