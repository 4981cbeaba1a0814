"""`npm run bench:app` still runs and prints every figure (with few requests: the figures
themselves come from the benchmark, not from a test)."""

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench_app.py"
FIGURES = [f"{what}_c{c}_{q}_ms" for what in ("score", "healthz") for c in (1, 8) for q in ("p50", "p99")]


def test_bench_app_prints_each_figure_once(trained):
    result = subprocess.run(
        [sys.executable, str(BENCH), "--model-dir", str(trained), "--requests", "40", "--seconds", "10"],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    figures = dict(re.findall(r"^([a-z0-9_]+): ([0-9.]+)$", result.stdout, re.M))
    for name in FIGURES + ["score_vs_healthz_c1_p99_ratio"]:
        assert name in figures, f"{name} missing from:\n{result.stdout}"
        assert float(figures[name]) > 0
