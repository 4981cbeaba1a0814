#!/usr/bin/env python3
"""Latency benchmark of the real app: POST /score (one digit PNG) versus GET /healthz.

    .venv/bin/python model/bench_app.py [--requests 2000] [--seconds 60] [--model-dir DIR]
        [--rounds 4] [--setups sync,gthread,app]

Trains the sample model into a temp dir (or uses --model-dir) and starts gunicorn on 127.0.0.1
(free ports, 2 workers each) in each set-up compared: the production config (``app``), and the
same config with gunicorn's sync worker (``sync``) or its plain gthread worker with 8 threads
(``gthread``). After a warm-up, for concurrency 1 and 8 (threads, each with its own http.client
connection, reconnecting when the server closes it) it sends a bounded number of requests per
case and set-up (stopping early after --seconds), in --rounds turns that the set-ups take one
after another (so a change in the machine's load falls on all of them), and prints one figure
per line: ``score_c1_p99_ms: 3.1`` for the production config, ``sync_score_c1_p99_ms: 2.9`` for
another set-up, and the ratios of the production config's /score figures to each other set-up's
(``score_c8_p99_vs_sync_ratio``). Stops gunicorn at the end. Exit status 1 if any request failed.
"""

from __future__ import annotations

import argparse
import contextlib
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
# The set-ups compared, each gunicorn.conf.py with these settings on top (GUNICORN_CMD_ARGS takes
# precedence over the config file): a description, and the environment.
SETUPS = {
    "sync": ("gunicorn's sync worker: one request at a time per process",
             {"GUNICORN_CMD_ARGS": "--worker-class sync --threads 1"}),
    "gthread": ("gunicorn's gthread worker, 8 threads",
                {"GUNICORN_CMD_ARGS": "--worker-class gthread --threads 8"}),
    "app": ("the production config as it is", {}),
}


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
    parser.add_argument("--requests", type=int, default=2000, help="requests per case and set-up (default 2000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time cap per case and set-up (default 60)")
    parser.add_argument("--model-dir", type=Path, help="an existing model directory (default: train one)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4,
                        help="each case is split in this many rounds, the set-ups taking turns (default 4)")
    parser.add_argument("--setups", default=",".join(SETUPS),
                        help=f"set-ups to compare, comma-separated (default {','.join(SETUPS)}; app: the production config)")
    args = parser.parse_args(argv)
    setups = [name.strip() for name in args.setups.split(",") if name.strip()]
    unknown = [name for name in setups if name not in SETUPS]
    if unknown or "app" not in setups:
        parser.error(f"--setups: choose among {', '.join(SETUPS)}, app included (got {args.setups!r})")
    rounds = max(1, min(args.rounds, args.requests))

    with tempfile.TemporaryDirectory(prefix="bench-app-") as scratch, contextlib.ExitStack() as stack:
        scratch = Path(scratch)
        model_dir = harness.bench_model(args.model_dir, scratch)
        if model_dir is None:
            return 1
        body, label = harness.one_digit_request()

        servers = {}
        for name in setups:
            servers[name] = stack.enter_context(
                harness.Gunicorn(model_dir, scratch / "logs", workers=args.workers, extra_env=SETUPS[name][1])
            )
        for name, app in servers.items():
            app.wait_ready()
            status, reply = app.request("POST", "/score", json.loads(body))
            if status != 200:
                print(f"bench: {name}: /score answered {status}: {reply}", file=sys.stderr)
                return 1
            print(f"# {name} ({SETUPS[name][0]}): label {label} -> {reply['predictions'][0]['top3'][0]}", file=sys.stderr)
            for method, path, payload in (("POST", "/score", body), ("GET", "/healthz", None)):
                run_case(app.host, app.port, method, path, payload, 1, WARMUP, args.seconds)

        results: dict[str, float] = {}
        failed = 0
        for concurrency in (1, 8):
            for what, method, path, payload in (("score", "POST", "/score", body), ("healthz", "GET", "/healthz", None)):
                latencies = {name: [] for name in setups}
                for turn in range(rounds):
                    share = args.requests // rounds + (1 if turn < args.requests % rounds else 0)
                    order = setups[turn % len(setups):] + setups[: turn % len(setups)]  # who goes first rotates
                    for name in order:
                        app = servers[name]
                        done, failures = run_case(
                            app.host, app.port, method, path, payload, concurrency, share, args.seconds / rounds
                        )
                        latencies[name] += done
                        failed += failures
                        if failures:
                            print(f"# {name} {what} c{concurrency}: {failures} failed", file=sys.stderr)
                for name in setups:
                    done = sorted(latencies[name])
                    print(f"# {name} {what} c{concurrency}: {len(done)} ok", file=sys.stderr)
                    if not done:
                        return 1
                    prefix = "" if name == "app" else f"{name}_"
                    results[f"{prefix}{what}_c{concurrency}_p50_ms"] = percentile(done, 50)
                    results[f"{prefix}{what}_c{concurrency}_p99_ms"] = percentile(done, 99)

    for name in ["app"] + [name for name in setups if name != "app"]:
        prefix = "" if name == "app" else f"{name}_"
        for key in [f"{n}_c{c}_p{p}_ms" for c in (1, 8) for n in ("score", "healthz") for p in (50, 99)]:
            print(f"{prefix}{key}: {results[prefix + key]:.2f}")
    ratio = results["score_c1_p99_ms"] / results["healthz_c1_p99_ms"]
    print(f"score_vs_healthz_c1_p99_ratio: {ratio:.2f}")
    for name in setups:
        if name != "app":
            for c in (1, 8):
                for p in (50, 99):
                    key = f"score_c{c}_p{p}_ms"
                    print(f"score_c{c}_p{p}_vs_{name}_ratio: {results[key] / results[f'{name}_{key}']:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
