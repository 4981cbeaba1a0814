"""Deadlines for reading a request (headers or body) from a client socket.

A socket timeout cannot enforce one: the server reads a request in many small recv() calls, and
a client that sends a byte now and then never lets any of them time out. Instead one thread per
process shuts down the read side of sockets whose deadline has passed: the pending and every
later recv() then return at once, and an answer (408) can still be written.
"""

from __future__ import annotations

import os
import socket
import threading
import time


class Watch:
    """One socket being watched: its deadline, and whether the deadline passed first."""

    __slots__ = ("end", "sock", "expired")

    def __init__(self, end: float, sock: socket.socket) -> None:
        self.end, self.sock, self.expired = end, sock, False


class Watchdog:
    """One thread per process that ends socket reads whose deadline has passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[Watch] = set()
        self._pid: int | None = None
        self._wake_at: float | None = None  # when the thread wakes next; None: only when told

    def watch(self, sock: socket.socket, seconds: float) -> Watch:
        entry = Watch(time.monotonic() + seconds, sock)
        with self._cond:
            if self._pid != os.getpid():  # first use in this process: a forked worker has no thread
                self._pid = os.getpid()
                self._watches.clear()
                self._wake_at = None
                threading.Thread(target=self._run, name="read-deadline", daemon=True).start()
            self._watches.add(entry)
            if self._wake_at is None or entry.end < self._wake_at:
                self._cond.notify()
        return entry

    def release(self, entry: Watch) -> bool:
        """Stops watching; True if the deadline passed first."""
        with self._cond:
            self._watches.discard(entry)
            return entry.expired

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for entry in [e for e in self._watches if e.end <= now]:
                    self._watches.discard(entry)
                    entry.expired = True
                    try:
                        entry.sock.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass
                self._wake_at = min((e.end for e in self._watches), default=None)
                self._cond.wait(None if self._wake_at is None else max(0.0, self._wake_at - now))


WATCHDOG = Watchdog()

# When the server started waiting for the body of the request now served on a socket, for a
# server that reads bodies before the app runs (scoring.worker): the app's BODY_TIMEOUT then
# counts from there, not from when the app starts reading. Set and removed by the serving thread.
BODY_STARTS: dict[socket.socket, float] = {}
