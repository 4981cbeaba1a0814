"""`npm run bench:app` still runs and prints every figure, for each set-up it compares (with
few requests: the figures themselves come from the benchmark, not from a test)."""

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench_app.py"
FIGURES = [f"{what}_c{c}_{q}_ms" for what in ("score", "healthz") for c in (1, 8) for q in ("p50", "p99")]
OTHERS = ["sync", "gthread"]  # the set-ups the production config is compared with
RATIOS = [f"score_c{c}_{q}_vs_{other}_ratio" for c in (1, 8) for q in ("p50", "p99") for other in OTHERS]


def test_bench_app_prints_each_figure_once(trained):
    result = subprocess.run(
        [sys.executable, str(BENCH), "--model-dir", str(trained), "--requests", "40", "--seconds", "10"],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    figures = dict(re.findall(r"^([a-z0-9_]+): ([0-9.]+)$", result.stdout, re.M))
    expected = FIGURES + [f"{other}_{name}" for other in OTHERS for name in FIGURES]
    expected += ["score_vs_healthz_c1_p99_ratio"] + RATIOS
    for name in expected:
        assert name in figures, f"{name} missing from:\n{result.stdout}"
        assert float(figures[name]) > 0
    assert len(result.stdout.splitlines()) == len(expected)
