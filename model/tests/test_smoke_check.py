"""The pipeline's post-deploy smoke check (dagger/src/kubernetes/smoke_check.py) against the real app.

In the pipeline it runs inside the cluster from the deployed image; here it runs against the
same app under gunicorn on 127.0.0.1, so what it checks and how it fails are proven for real.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import harness

SMOKE = Path(__file__).resolve().parents[2] / "dagger" / "src" / "kubernetes" / "smoke_check.py"


def run_smoke(*args):
    result = subprocess.run([sys.executable, str(SMOKE), *args], capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


def test_passes_against_the_right_model(server, trained):
    sha = hashlib.sha256((trained / "model.onnx").read_bytes()).hexdigest()
    code, report = run_smoke(server.base, sha)
    assert code == 0, report
    assert report["ok"] is True
    assert report["seen"]["score_top1"]["label"] == "0"
    assert report["seen"]["model"]["sha256"] == sha


def test_fails_when_the_deployed_model_is_not_the_expected_one(server):
    code, report = run_smoke(server.base, "f" * 64)
    assert code == 1
    assert any("expected " + "f" * 64 in p for p in report["problems"])


def test_fails_clearly_when_nothing_answers():
    port = harness.free_port()
    result = subprocess.run([sys.executable, str(SMOKE), f"http://127.0.0.1:{port}"],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "SMOKE_ATTEMPTS": "1"})
    assert result.returncode != 0
    assert "cannot reach" in (result.stdout + result.stderr)
