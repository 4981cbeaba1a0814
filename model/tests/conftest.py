import sys
from pathlib import Path

import pytest

import train

MODEL_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One model trained through the real CLI (subprocess), shared by the read-only tests."""
    import subprocess

    out = tmp_path_factory.mktemp("trained") / "digits"
    result = subprocess.run(
        [sys.executable, str(MODEL_DIR / "train.py"), "--out", str(out), "--version", "1.0.0",
         "--source-commit", "0123456789abcdef0123456789abcdef01234567"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}: digits-classifier 1.0.0")
    return out


@pytest.fixture(scope="session")
def heldout():
    _, x_heldout, _, y_heldout = train.load_split()
    return x_heldout, y_heldout


@pytest.fixture(scope="session")
def server(trained, tmp_path_factory):
    """The trained model served by the real app under gunicorn on 127.0.0.1 (2 workers)."""
    import harness

    app = harness.Gunicorn(trained, tmp_path_factory.mktemp("gunicorn-logs"), workers=2)
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()
