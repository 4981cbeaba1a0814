#!/usr/bin/env python3
"""Abuse benchmark of the real app: do probes still answer while slow or heavy clients hit it?

    .venv/bin/python model/bench_abuse.py [--seconds 15] [--clients 4] [--cpus 1] [--model-dir DIR]
        [--idle-conns 2000] [--slow-conns 50] [--phase NAME ...]

Trains the sample model into a temp dir (or uses --model-dir) and starts gunicorn with the
production config on 127.0.0.1 (2 workers), pinned to --cpus CPUs to stand for the pod's CPU
limit (the load generator runs on the other CPUs when there are any). Then, one phase after
another, each --seconds long (idle: a third of it):

- idle:      nothing but the probes;
- slow_body: --clients clients each send a /score body one byte every 0.1 s (reconnecting when
             the server gives up on them, 408 after BODY_TIMEOUT);
- slow_headers: the same with a header line (slowloris; closed after HEADER_TIMEOUT);
- cpu_heavy: --clients clients send, back to back, the valid request that costs the most CPU
             (as many 240x240 noise progressive JPEGs as fit in MAX_CONTENT_LENGTH, at most 32);
- mem_heavy: the same with the valid request that needs the most decoder memory (one
             2048x2048 RGBA PNG, the largest image MAX_IMAGE_PIXELS lets through);
- refused:   the same with 32 x 4096x4096 16-bit PNGs (1.4 MB), which must be refused (400);
- png_text, json_expansion: the same with two more requests that must be refused (400);
- crowd:     --idle-conns connections that send nothing, and --slow-conns clients trickling a
             request (half of them headers, half a body) as above, all kept open the whole phase
             (a connection the server closes is opened again at once).

All the while a probe sends GET /healthz and a one-digit POST /score every 0.25 s, each on a new
connection as a kubelet probe does, and a sampler sums the RSS of the master and its workers
every 50 ms. Prints one figure per line (``name: value``): per phase the slowest probe answers,
the heavy requests' count and median, and the peak RSS; for the crowd, how many connections it
had open at once and how many idle ones the server closed (HEADER_TIMEOUT after they opened, or
to make room); then the pod's memory limit from
k8s/deployment.yaml and ``within_targets: yes`` when every probe answered within 1 s and the
RSS stayed under that limit. Exit status 1 if a probe or a heavy request got an unexpected
answer, or none within --probe-timeout (default 5 s; otherwise timing never fails it: the
figures are for reading).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import math
import os
import re
import resource
import selectors
import socket
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

import harness

DEPLOYMENT = Path(__file__).resolve().parents[1] / "k8s" / "deployment.yaml"
PROBE_PERIOD = 0.25
PROBE_TIMEOUT = 5.0
TARGET_MS = 1000.0
BODY_LIMIT = 4 * 1024 * 1024  # the app's default MAX_CONTENT_LENGTH
WARMUP_PER_WORKER = 10
# The phases in the order they run, and the answer each kind of heavy request must get.
PHASES = ["idle", "slow_body", "slow_headers", "cpu_heavy", "mem_heavy", "refused", "png_text", "json_expansion", "crowd"]
EXPECTED = {"cpu_heavy": 200, "mem_heavy": 200, "refused": 400, "png_text": 400, "json_expansion": 400}


# --- payloads ---------------------------------------------------------------------------------


def _b64(image: Image.Image, fmt: str, **options) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def cpu_heavy_body() -> bytes:
    """Noise JPEGs cost the most to entropy-decode per byte, progressive ones most of all."""
    noise = np.random.default_rng(7).integers(0, 256, (240, 240, 3), dtype=np.uint8)
    ImageFile.MAXBLOCK = max(ImageFile.MAXBLOCK, 2 * noise.size)  # room for the whole noisy image
    one = _b64(Image.fromarray(noise), "JPEG", quality=90, progressive=True, subsampling=0)
    count = min(32, (BODY_LIMIT - 64) // (len(one) + 4))
    return json.dumps({"input": [one] * count}).encode()


def mem_heavy_body() -> bytes:
    """RGBA is Pillow's widest PNG mode (4 bytes a pixel), and shrinking it makes one more copy."""
    return json.dumps({"input": [_b64(Image.new("RGBA", (2048, 2048), (0, 0, 0, 0)), "PNG")]}).encode()


def refused_body() -> bytes:
    """The request of the original report: 32 x 4096x4096 16-bit PNGs."""
    one = _b64(Image.fromarray(np.full((4096, 4096), 30000, dtype=np.uint16)), "PNG")
    return json.dumps({"input": [one] * 32}).encode()


def png_text_body() -> bytes:
    """The audit's request: 32 tiny PNGs, each with 63 zTXt chunks inflating to 1 MiB of text
    (about 2.8 MB on the wire, 2 GiB once Pillow's default limits let every chunk in)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    text = chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * (1 << 20), 9))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
           + text * 63 + chunk(b"IDAT", zlib.compress((b"\0" + b"\xff" * 8) * 8)) + chunk(b"IEND", b""))
    return json.dumps({"input": [base64.b64encode(png).decode("ascii")] * 32}).encode()


def json_expansion_body() -> bytes:
    """The audit's other request: a body just under 4 MiB of empty objects, {"input":[{},{},...]}."""
    count = (BODY_LIMIT - 64) // 3
    return b'{"input":[' + b",".join([b"{}"] * count) + b"]}"


# --- measuring --------------------------------------------------------------------------------


def memory_limit_mib(path: Path = DEPLOYMENT) -> float | None:
    """resources.limits.memory of the first container in the Deployment, in MiB."""
    text = path.read_text()
    match = re.search(r"\n(\s+)limits:\s*\n((?:\1\s+.*\n)+)", text)
    found = match and re.search(r"memory:\s*\"?(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?\"?", match.group(2))
    if not found:
        return None
    factor = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    return float(found.group(1)) * factor.get(found.group(2) or "", 1 / 2**20)


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Sampler(threading.Thread):
    """Peak of the summed RSS of the server's processes, per phase."""

    def __init__(self, server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            self.peak = max(self.peak, rss_mib(self.server.pids()))

    def take_peak(self) -> float:
        peak, self.peak = self.peak, rss_mib(self.server.pids())
        return max(peak, self.peak)


def timed_request(host, port, method, path, body=None, timeout=PROBE_TIMEOUT) -> tuple[int, float]:
    """(status or 0 on failure, milliseconds) of one request on a new connection."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        conn.close()
    return status, (time.perf_counter() - started) * 1000.0


class Prober(threading.Thread):
    """A kubelet-like probe of /healthz and a normal one-image /score every PROBE_PERIOD."""

    def __init__(self, host, port, score_body: bytes, timeout: float = PROBE_TIMEOUT) -> None:
        super().__init__(daemon=True)
        self.host, self.port, self.score_body, self.timeout = host, port, score_body, timeout
        self.results: dict[str, list[tuple[int, float]]] = {"healthz": [], "score": []}
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            tick = time.monotonic()
            for name, method, path, body in (
                ("healthz", "GET", "/healthz", None),
                ("score", "POST", "/score", self.score_body),
            ):
                result = timed_request(self.host, self.port, method, path, body, self.timeout)
                with self.lock:
                    self.results[name].append(result)
            self.stopped.wait(max(0.0, PROBE_PERIOD - (time.monotonic() - tick)))

    def take(self) -> dict[str, list[tuple[int, float]]]:
        with self.lock:
            taken, self.results = self.results, {"healthz": [], "score": []}
        return taken


SLOW_BODY = (
    b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1048576\r\n\r\n{",
    b" ",
)
SLOW_HEADERS = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b"a")


def slow_client(host, port, start_and_byte, until: float, outcomes: list, lock: threading.Lock) -> None:
    """Sends a request start, then one more byte every 0.1 s; starts again when the server
    answers (its status) or closes the connection (-1)."""
    start, byte = start_and_byte
    while time.monotonic() < until:
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(start)
                sock.setblocking(False)
                status = None
                while time.monotonic() < until and status is None:
                    try:
                        sock.send(byte)
                    except BlockingIOError:
                        pass
                    try:
                        answer = sock.recv(64)
                        status = int(answer.split()[1]) if answer else -1
                    except BlockingIOError:
                        time.sleep(0.1)
        except (OSError, ValueError, IndexError):
            status = -1
        if status is not None:
            with lock:
                outcomes.append(status)


class Crowd(threading.Thread):
    """Keeps ``idle`` connections that never send a byte and ``slow`` trickling ones open until
    ``until``, in one thread: every 0.1 s each trickling connection sends one more byte, and any
    connection the server closed (or answered) is opened again. Counts what the server did."""

    def __init__(self, host, port, idle: int, slow: int, until: float) -> None:
        super().__init__(daemon=True)
        self.host, self.port, self.until = host, port, until
        self.starts = [None] * idle + [SLOW_HEADERS if i % 2 else SLOW_BODY for i in range(slow)]
        self.selector = selectors.DefaultSelector()
        self.idle_closed = 0  # idle connections the server closed
        self.slow_answers: list[int] = []  # status the server answered a trickling client, -1: closed
        self.connect_failures = 0
        self.open_at_start = 0

    def _open(self, index: int) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=2)
            start = self.starts[index]
            if start is not None:
                sock.sendall(start[0])
            sock.setblocking(False)
        except OSError:
            self.connect_failures += 1
            return
        self.selector.register(sock, selectors.EVENT_READ, index)

    def run(self) -> None:
        for index in range(len(self.starts)):
            if time.monotonic() < self.until:
                self._open(index)
        self.open_at_start = len(self.selector.get_map())
        next_byte = time.monotonic()
        while time.monotonic() < self.until:
            for key, _ in self.selector.select(0.1):
                sock, index = key.fileobj, key.data
                try:
                    answer = sock.recv(64)
                except BlockingIOError:
                    continue
                except OSError:
                    answer = b""
                self.selector.unregister(sock)
                sock.close()
                if self.starts[index] is None:
                    self.idle_closed += 1
                else:
                    try:
                        self.slow_answers.append(int(answer.split()[1]) if answer else -1)
                    except (ValueError, IndexError):
                        self.slow_answers.append(-1)
                self._open(index)
            if time.monotonic() < next_byte:
                continue
            next_byte = time.monotonic() + 0.1
            for key in list(self.selector.get_map().values()):
                start = self.starts[key.data]
                if start is not None:
                    try:
                        key.fileobj.send(start[1])
                    except OSError:
                        pass
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()


def raise_open_files_limit(wanted: int) -> int:
    """Raises this process's soft limit on open files (inherited by the server) to ``wanted``,
    or as far as the hard limit allows; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def heavy_client(host, port, body: bytes, until: float, results: list, lock: threading.Lock) -> None:
    while time.monotonic() < until:
        result = timed_request(host, port, "POST", "/score", body, timeout=60)
        with lock:
            results.append(result)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100.0 * len(ordered))) - 1]


# --- the run ----------------------------------------------------------------------------------


def run_phase(name, seconds, clients, app, prober, sampler, figures, body=None, expect=None, crowd=(0, 0)) -> bool:
    """One phase; adds its figures; False if anything got an unexpected answer."""
    until = time.monotonic() + seconds
    outcomes: list = []
    lock = threading.Lock()
    threads = []
    if name == "crowd":
        threads = [Crowd(app.host, app.port, crowd[0], crowd[1], until)]
    elif name.startswith("slow_"):
        trickle = SLOW_BODY if name == "slow_body" else SLOW_HEADERS
        threads = [threading.Thread(target=slow_client, args=(app.host, app.port, trickle, until, outcomes, lock))
                   for _ in range(clients)]
    elif body is not None:
        threads = [threading.Thread(target=heavy_client, args=(app.host, app.port, body, until, outcomes, lock))
                   for _ in range(clients)]
    prober.take()
    sampler.take_peak()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    for thread in threads:
        thread.join()
    probes = prober.take()
    ok = True
    for probe, results in probes.items():
        failed = [status for status, _ in results if status != 200]
        if failed or not results:
            print(f"# {name}: {probe} probes failed: {failed or 'none sent'}", file=sys.stderr)
            ok = False
        figures[f"{name}_{probe}_max_ms"] = max((ms for _, ms in results), default=float("nan"))
        figures[f"{name}_{probe}_p50_ms"] = percentile([ms for _, ms in results], 50) if results else float("nan")
    figures[f"{name}_rss_peak_mib"] = sampler.take_peak()
    if name == "slow_body":
        figures["slow_body_408s"] = sum(1 for status in outcomes if status == 408)
    elif name == "slow_headers":
        figures["slow_headers_closed"] = sum(1 for status in outcomes if status == -1)
    if name == "crowd":
        held = threads[0]
        figures["crowd_idle_conns"], figures["crowd_slow_conns"] = crowd
        figures["crowd_open_at_start"] = held.open_at_start
        figures["crowd_idle_closed"] = held.idle_closed
        print(f"# crowd: {held.open_at_start} connections open at once, {held.connect_failures} failed to connect, "
              f"{held.idle_closed} idle ones closed by the server; answers to the trickling clients "
              f"{sorted(set(held.slow_answers))}", file=sys.stderr)
    elif name.startswith("slow_"):
        print(f"# {name}: answers to the trickling clients {sorted(set(outcomes))}", file=sys.stderr)
    elif body is not None:
        statuses = sorted({status for status, _ in outcomes})
        print(f"# {name}: {len(outcomes)} requests, statuses {statuses}", file=sys.stderr)
        if not outcomes or statuses != [expect]:
            ok = False
        figures[f"{name}_requests"] = len(outcomes)
        figures[f"{name}_p50_ms"] = percentile([ms for _, ms in outcomes], 50) if outcomes else float("nan")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase (default 15)")
    parser.add_argument("--clients", type=int, default=4, help="slow or heavy clients at once (default 4)")
    parser.add_argument("--idle-conns", type=int, default=2000,
                        help="connections that send nothing in the crowd phase (default 2000)")
    parser.add_argument("--slow-conns", type=int, default=50,
                        help="trickling clients in the crowd phase (default 50)")
    parser.add_argument("--cpus", type=int, default=1, help="CPUs the server may use (default 1, the pod's limit)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--read-timeout", type=float,
                        help="BODY_TIMEOUT and HEADER_TIMEOUT for the server (default: the app's)")
    parser.add_argument("--model-dir", type=Path, help="an existing model directory (default: train one)")
    parser.add_argument("--probe-timeout", type=float, default=PROBE_TIMEOUT,
                        help=f"seconds a probe waits before it counts as failed (default {PROBE_TIMEOUT:g})")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server, e.g. WEB_THREADS=16 (repeatable)")
    parser.add_argument("--phase", action="append", choices=PHASES, metavar="NAME",
                        help=f"run only this phase (repeatable; default all: {', '.join(PHASES)})")
    args = parser.parse_args(argv)
    phases = [name for name in PHASES if name in (args.phase or PHASES)]

    available = sorted(os.sched_getaffinity(0))
    server_cpus = set(available[: max(1, args.cpus)])
    if len(available) > len(server_cpus):  # keep the load generator off the server's CPUs
        os.sched_setaffinity(0, set(available) - server_cpus)
    env = {}
    if args.read_timeout:
        env.update(BODY_TIMEOUT=str(args.read_timeout), HEADER_TIMEOUT=str(args.read_timeout))
    for setting in args.env:
        name, sep, value = setting.partition("=")
        if not sep or not name:
            parser.error(f"--env wants NAME=VALUE, got {setting!r}")
        env[name] = value
    print("# building payloads", file=sys.stderr)
    build = {"cpu_heavy": cpu_heavy_body, "mem_heavy": mem_heavy_body, "refused": refused_body,
             "png_text": png_text_body, "json_expansion": json_expansion_body}
    payloads = {name: build[name]() for name in phases if name in build}
    for name, body in payloads.items():
        print(f"# {name} request: {len(body)} bytes", file=sys.stderr)

    # The crowd's sockets, the probes' and the heavy clients', and the server's own (it inherits the limit).
    open_files = raise_open_files_limit(2 * (args.idle_conns + args.slow_conns) + 1024)
    print(f"# open files limit: {open_files}", file=sys.stderr)
    figures: dict[str, float] = {"cpus": len(server_cpus), "workers": args.workers, "clients": args.clients}
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-abuse-") as scratch:
        scratch = Path(scratch)
        model_dir = harness.bench_model(args.model_dir, scratch)
        if model_dir is None:
            return 1
        digit, _ = harness.one_digit_request()

        with harness.Gunicorn(model_dir, scratch / "logs", workers=args.workers, extra_env=env,
                              cpus=server_cpus) as app:
            app.wait_ready()
            for _ in range(2 * WARMUP_PER_WORKER * args.workers):  # every worker's first requests are slower
                timed_request(app.host, app.port, "POST", "/score", digit)
            sampler = Sampler(app)
            prober = Prober(app.host, app.port, digit, args.probe_timeout)
            sampler.start()
            prober.start()
            try:
                for name in phases:
                    if name == "idle":
                        ok &= run_phase(name, max(1.0, args.seconds / 3), 0, app, prober, sampler, figures)
                    elif name.startswith("slow_"):
                        ok &= run_phase(name, args.seconds, args.clients, app, prober, sampler, figures)
                    elif name == "crowd":
                        ok &= run_phase(name, args.seconds, 0, app, prober, sampler, figures,
                                        crowd=(args.idle_conns, args.slow_conns))
                    else:
                        ok &= run_phase(name, args.seconds, args.clients, app, prober, sampler, figures,
                                        payloads[name], EXPECTED[name])
            finally:
                prober.stopped.set()
                sampler.stopped.set()
                prober.join()
                sampler.join()

    limit = memory_limit_mib()
    figures["memory_limit_mib"] = limit if limit is not None else float("nan")
    probe_max = max(v for k, v in figures.items() if k.endswith("_max_ms"))
    rss_peak = max(v for k, v in figures.items() if k.endswith("_rss_peak_mib"))
    figures["probe_max_ms"] = probe_max
    figures["rss_peak_mib"] = rss_peak
    for key, value in figures.items():
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    within = probe_max < TARGET_MS and limit is not None and rss_peak < limit
    print(f"within_targets: {'yes' if within else 'no'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
