"""gunicorn settings for the scoring service.

Production entry (cwd = app/):  gunicorn -c gunicorn.conf.py "scoring:create_app()"
Environment: HOST (default 0.0.0.0), PORT (default 8000), WEB_CONCURRENCY (workers, default 2),
WEB_THREADS (threads per worker, default 8), WORKER_CONNECTIONS (connections per worker, default
4096), plus the app's own variables (MODEL_DIR, MAX_BATCH, HEADER_TIMEOUT, BODY_TIMEOUT,
REQUEST_BUFFER, ...; see README.md).
"""

import ctypes
import os
import resource


def _bound_malloc() -> None:
    """Makes freed image buffers go back to the OS (glibc only; a no-op elsewhere).

    glibc gives each thread its own heap ("arena", up to 8 per CPU) and, after the first large
    buffer is freed, serves later ones of that size from those heaps, which keep the memory.
    With threaded workers that is tens of MB per thread after a few large images. Two arenas and
    a fixed mmap threshold (large buffers always mmap'd, so unmapped when freed) keep RSS near
    what is in use. Set glibc's own MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ to choose
    otherwise. Called in the master before it forks, so every worker inherits it.
    """
    if "MALLOC_ARENA_MAX" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    libc = ctypes.CDLL(None)  # the symbols the interpreter already has, libc's among them
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return
    m_mmap_threshold, m_arena_max = -3, -8  # from glibc's malloc.h
    libc.mallopt(m_arena_max, 2)
    libc.mallopt(m_mmap_threshold, 128 * 1024)


_bound_malloc()


def _raise_open_files_limit(wanted: int) -> None:
    """Raises the soft limit on open files towards ``wanted`` (as far as the hard limit allows):
    every connection a worker holds is one. Container runtimes often start processes with a soft
    limit of 1024 and a much higher hard one. Called in the master, so every worker inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{int(os.environ.get('PORT', '8000'))}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# scoring.worker.ThreadWorker is gunicorn's gthread worker, except that each worker's main loop
# reads every request itself, without blocking, and hands it to a thread only once it is all in
# (within HEADER_TIMEOUT and BODY_TIMEOUT): a connection that sends nothing, or trickles, costs
# a socket, not a thread. Threads, not one request per process, so that /healthz and light
# requests still get through while heavy ones are scored: scoring is mostly C code that releases
# the GIL (image decoding, onnxruntime); the app bounds what a request can cost
# (MAX_REQUEST_PIXELS) and how many large images a worker decodes at once (DECODE_CONCURRENCY),
# so threads do not multiply memory.
worker_class = "scoring.worker.ThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Connections one worker holds at once; when all are taken, it closes its idlest connection to
# accept a new one, so a crowd of idle connections cannot keep /healthz out.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "4096"))
_raise_open_files_limit(worker_connections + 1024)
# Load the app once in the master, before forking workers: it verifies the manifest and every
# file's size and sha256, and test-runs the model with onnxruntime in a child process. If the
# model is unusable, create_app() raises ModelError (a RuntimeError): gunicorn prints
# "Error: <one line>" and exits with status 1 before any worker starts.
preload_app = True
# onnxruntime is not fork-safe (importing it starts a native thread; a forked child then hangs
# at exit), so the master never imports it and each worker opens its own session at boot.
os.environ.setdefault("MODEL_SESSION", "per-worker")
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"  # stdout
errorlog = "-"  # stderr
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
# Writable tmp for worker heartbeats even with a read-only root filesystem (Linux /dev/shm).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True


def post_worker_init(worker):
    """Open this worker's onnxruntime session (and test-run it) before it accepts requests."""
    from scoring import open_worker_session

    open_worker_session(worker.wsgi)
