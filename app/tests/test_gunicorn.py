"""The production entry point (gunicorn + gunicorn.conf.py, cwd app/) over real HTTP on 127.0.0.1."""

import hashlib
import subprocess
import sys
import time

import pytest

import support


@pytest.fixture()
def server(model_dir, tmp_path):
    proc = support.Gunicorn(model_dir, tmp_path, workers=2)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def test_serves_over_http(server, model_dir):
    assert server.request("GET", "/healthz") == (200, {"status": "ok"})
    status, body = server.request("POST", "/score", {"input": [support.encode(support.bar_image(4))]})
    assert status == 200
    assert body["predictions"][0]["top3"][0]["label"] == "4"
    status, body = server.request("GET", "/version")
    assert status == 200
    assert body["model"]["sha256"] == hashlib.sha256((model_dir / "model.onnx").read_bytes()).hexdigest()
    assert server.request("GET", "/missing") == (404, {"error": "no route /missing"})


def test_oversized_body_is_413_over_http(server):
    status, body = server.request("POST", "/score", {"input": ["A" * (4 * 1024 * 1024 + 10)]})
    assert status == 413
    assert "request body too large" in body["error"]


def test_access_log_goes_to_stdout(server):
    server.request("GET", "/healthz")
    server.stop()
    assert '"GET /healthz HTTP/1.1" 200' in server.stdout_path.read_text()


def test_refuses_to_start_with_corrupt_model(model_dir, tmp_path):
    data = bytearray((model_dir / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (model_dir / "model.onnx").write_bytes(bytes(data))
    code, lines = support.refused_start(model_dir, tmp_path)
    assert code != 0
    assert len(lines) == 1, lines
    assert "sha256 mismatch" in lines[0] and str(model_dir / "model.onnx") in lines[0]


def test_refuses_to_start_when_onnxruntime_cannot_load_model(tmp_path):
    """sha256 matches, but the bytes are not a model: the master's onnxruntime check says so."""
    model_dir = support.write_model_dir(tmp_path / "m", onnx_bytes=b"not a protobuf at all")
    code, lines = support.refused_start(model_dir, tmp_path)
    assert code != 0
    assert len(lines) == 1, lines
    assert "onnxruntime cannot load the model" in lines[0]


def test_refuses_to_start_without_model_dir(tmp_path):
    code, lines = support.refused_start(tmp_path / "absent", tmp_path)
    assert code != 0
    assert lines == [f"Error: model not usable: {tmp_path / 'absent'}: MODEL_DIR does not exist"]


def test_refuses_to_start_without_the_model_json_schema(model_dir, tmp_path):
    code, lines = support.refused_start(model_dir, tmp_path, extra_env={"MODEL_SCHEMA": str(tmp_path / "absent.json")})
    assert code != 0
    assert lines == [f"Error: configuration error: MODEL_SCHEMA='{tmp_path / 'absent.json'}' is not a file"]


def test_graceful_stop_is_prompt(model_dir, tmp_path):
    """Workers must exit promptly on SIGTERM: a master that loaded onnxruntime before forking
    leaves workers hanging at exit until graceful_timeout (20 s) and a SIGKILL."""
    proc = support.Gunicorn(model_dir, tmp_path, workers=2)
    try:
        proc.wait_ready()
        for _ in range(6):  # reach both workers
            assert proc.request("POST", "/score", {"input": [support.encode(support.bar_image(1))]})[0] == 200
        started = time.monotonic()
        proc.proc.terminate()
        code = proc.proc.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        proc.stop()
    assert code == 0
    # 15 s: room for a loaded machine, still under the 20 s that a hanging worker costs.
    assert elapsed < 15, f"gunicorn took {elapsed:.1f}s to stop"


def test_model_check_command(model_dir, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "scoring.check", str(model_dir)],
        cwd=support.APP_DIR, capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: row-bars 1.2.3 sha256 ")
    (model_dir / "model.json").unlink()
    bad = subprocess.run(
        [sys.executable, "-m", "scoring.check", str(model_dir)],
        cwd=support.APP_DIR, capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"model not usable: {model_dir}: no model.json in MODEL_DIR"
