#!/usr/bin/env python3
"""Latency benchmark of the real app: POST /score (one digit PNG) versus GET /healthz.

    .venv/bin/python model/bench_app.py [--requests 2000] [--seconds 60] [--model-dir DIR]

Trains the sample model into a temp dir (or uses --model-dir), starts gunicorn with the
production config on 127.0.0.1 (free port, 2 workers), warms up, then for concurrency 1 and 8
(threads, each with its own http.client connection, reconnecting when the server closes it)
sends a bounded number of requests per case (stopping early after --seconds) and prints one
figure per line, e.g. ``score_c1_p99_ms: 3.1``. Stops gunicorn at the end. Exit status 1 if any
request failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness

WARMUP = 200


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def run_case(host, port, method, path, body, concurrency, total, seconds):
    """Latencies in ms of successful requests, and the number of failures."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    lock = threading.Lock()
    issued = [0]
    latencies: list[float] = []
    failures = [0]
    deadline = time.monotonic() + seconds

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=10)
        mine = []
        try:
            while True:
                with lock:
                    if issued[0] >= total or time.monotonic() > deadline:
                        break
                    issued[0] += 1
                start = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                elapsed = (time.perf_counter() - start) * 1000.0
                if ok:
                    mine.append(elapsed)
                else:
                    with lock:
                        failures[0] += 1
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(latencies), failures[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per case (default 2000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time cap per case (default 60)")
    parser.add_argument("--model-dir", type=Path, help="an existing model directory (default: train one)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-app-") as scratch:
        scratch = Path(scratch)
        model_dir = harness.bench_model(args.model_dir, scratch)
        if model_dir is None:
            return 1
        body, label = harness.one_digit_request()

        results: dict[str, float] = {}
        failed = 0
        with harness.Gunicorn(model_dir, scratch / "logs", workers=args.workers) as app:
            app.wait_ready()
            status, reply = app.request("POST", "/score", json.loads(body))
            if status != 200:
                print(f"bench: /score answered {status}: {reply}", file=sys.stderr)
                return 1
            print(f"# label {label} -> {reply['predictions'][0]['top3'][0]}", file=sys.stderr)
            for method, path, payload in (("POST", "/score", body), ("GET", "/healthz", None)):
                run_case(app.host, app.port, method, path, payload, 1, WARMUP, args.seconds)
            for concurrency in (1, 8):
                for name, method, path, payload in (
                    ("score", "POST", "/score", body),
                    ("healthz", "GET", "/healthz", None),
                ):
                    latencies, failures = run_case(
                        app.host, app.port, method, path, payload, concurrency, args.requests, args.seconds
                    )
                    failed += failures
                    print(
                        f"# {name} c{concurrency}: {len(latencies)} ok, {failures} failed",
                        file=sys.stderr,
                    )
                    if not latencies:
                        return 1
                    results[f"{name}_c{concurrency}_p50_ms"] = percentile(latencies, 50)
                    results[f"{name}_c{concurrency}_p99_ms"] = percentile(latencies, 99)

    order = [f"{n}_c{c}_p{p}_ms" for c in (1, 8) for n in ("score", "healthz") for p in (50, 99)]
    for key in order:
        print(f"{key}: {results[key]:.2f}")
    ratio = results["score_c1_p99_ms"] / results["healthz_c1_p99_ms"]
    print(f"score_vs_healthz_c1_p99_ratio: {ratio:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
