"""gunicorn's threaded worker, with a deadline for receiving each request's headers.

gunicorn reads the request line and headers in a worker thread before the app sees the
request, with no time limit: a client sending its headers a byte at a time (slowloris) would
hold that thread as long as it likes. Here each request's headers must arrive within
HEADER_TIMEOUT seconds (default 10) of the thread picking the connection up, else the
connection is closed. (The body has its own deadline in the app: BODY_TIMEOUT.)

gunicorn.conf.py selects it: ``worker_class = "scoring.worker.ThreadWorker"``.
"""

from __future__ import annotations

from gunicorn.workers import gthread

from . import env_seconds
from .deadline import WATCHDOG


class ThreadWorker(gthread.ThreadWorker):
    def init_process(self):
        self.header_timeout = env_seconds("HEADER_TIMEOUT", 10.0)
        super().init_process()

    def handle(self, conn):
        """Runs in a pool thread: reads one request (or waits for one) and serves it."""
        conn.header_watch = WATCHDOG.watch(conn.sock, self.header_timeout)
        try:
            return super().handle(conn)
        finally:
            WATCHDOG.release(conn.header_watch)

    def handle_request(self, req, conn):
        """Called once the headers are in: from here the app's own limits apply."""
        WATCHDOG.release(conn.header_watch)
        return super().handle_request(req, conn)
