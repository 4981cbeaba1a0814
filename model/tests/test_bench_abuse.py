"""`npm run bench:abuse` still runs every phase and prints every figure (short phases here: the
figures themselves come from the benchmark, not from a test).

Margins for a loaded machine: each phase lasts 4 times the read deadline, so a trickling client
is cut off within its phase even when the server runs 4 times slower than alone; a probe counts
as failed only for a wrong answer, or none in 60 s (a slow answer is a figure, not a failure)."""

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench_abuse.py"
PHASES = ["idle", "slow_body", "slow_headers", "cpu_heavy", "mem_heavy", "refused", "png_text", "json_expansion", "crowd"]
HEAVY = PHASES[3:8]
FIGURES = (
    [f"{phase}_{probe}_{stat}_ms" for phase in PHASES for probe in ("healthz", "score") for stat in ("max", "p50")]
    + [f"{phase}_rss_peak_mib" for phase in PHASES]
    + [f"{phase}_{what}" for phase in HEAVY for what in ("requests", "p50_ms")]
    + [f"crowd_{what}" for what in ("idle_conns", "slow_conns", "open_at_start")]
    + ["cpus", "workers", "clients", "memory_limit_mib", "probe_max_ms", "rss_peak_mib"]
)


def test_bench_abuse_prints_each_figure_once(trained):
    result = subprocess.run(
        [sys.executable, str(BENCH), "--model-dir", str(trained), "--seconds", "3", "--clients", "2",
         "--read-timeout", "0.75", "--probe-timeout", "60", "--idle-conns", "100", "--slow-conns", "6"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = dict(re.findall(r"^([a-z0-9_]+): ([0-9.]+)$", result.stdout, re.M))
    for name in FIGURES:
        assert name in figures, f"{name} missing from:\n{result.stdout}"
        assert float(figures[name]) > 0, f"{name}: {figures[name]}"
    assert int(figures["slow_body_408s"]) >= 1, result.stdout  # the body deadline cut them off
    assert int(figures["slow_headers_closed"]) >= 1, result.stdout  # and the header deadline
    assert figures["crowd_open_at_start"] == "106", result.stdout  # the crowd was all there at once
    assert "crowd_idle_closed" in figures, result.stdout  # (idle ones the read deadline closed: 0 or more)
    assert re.search(r"^within_targets: (yes|no)$", result.stdout, re.M), result.stdout
    assert len(result.stdout.splitlines()) == len(FIGURES) + 4  # + the three counts, within_targets
