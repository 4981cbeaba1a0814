"""End to end: train -> real gunicorn app on 127.0.0.1 -> held-out digits as PNGs over HTTP."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

import harness

BATCH = 32


def test_heldout_pngs_scored_over_http(server, heldout):
    x_heldout, y_heldout = heldout
    assert len(y_heldout) >= 200
    images = [harness.b64(harness.render_digit_png(row, side=32)) for row in x_heldout]
    predicted, top3_hits = [], 0
    for start in range(0, len(images), BATCH):
        status, body = server.request("POST", "/score", {"input": images[start : start + BATCH]})
        assert status == 200, body
        assert body["model"] == {"name": "digits-classifier", "version": "1.0.0"}
        assert len(body["predictions"]) == len(images[start : start + BATCH])
        for offset, prediction in enumerate(body["predictions"]):
            top3 = prediction["top3"]
            assert len(top3) == 3
            probabilities = [t["probability"] for t in top3]
            assert probabilities == sorted(probabilities, reverse=True)
            predicted.append(int(top3[0]["label"]))
            top3_hits += str(y_heldout[start + offset]) in {t["label"] for t in top3}
    accuracy = float(np.mean(np.array(predicted) == y_heldout))
    assert accuracy >= 0.95, accuracy
    assert top3_hits / len(y_heldout) >= 0.99


def test_larger_renderings_also_score(server, heldout):
    x_heldout, y_heldout = heldout
    sample = slice(0, 64)
    images = [harness.b64(harness.render_digit_png(row, side=64)) for row in x_heldout[sample]]
    labels = []
    for start in range(0, len(images), BATCH):
        status, body = server.request("POST", "/score", {"input": images[start : start + BATCH]})
        assert status == 200
        labels += [int(p["top3"][0]["label"]) for p in body["predictions"]]
    assert np.mean(np.array(labels) == y_heldout[sample]) >= 0.95


def test_version_shows_trained_model(server, trained):
    status, body = server.request("GET", "/version")
    assert status == 200
    manifest = json.loads((trained / "model.json").read_text())
    sha = hashlib.sha256((trained / "model.onnx").read_bytes()).hexdigest()
    assert body["model"]["sha256"] == sha == manifest["files"][0]["sha256"]
    assert body["model"]["name"] == "digits-classifier"
    assert body["model"]["version"] == "1.0.0"
    assert body["model"]["source_commit"] == manifest["source_commit"]


def test_bad_input_is_400_over_http(server):
    status, body = server.request("POST", "/score", {"input": ["bm90IGFuIGltYWdl"]})
    assert status == 400
    assert body == {"error": "input[0] is not a PNG or JPEG image"}


def test_gunicorn_refuses_corrupted_model(trained, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(trained, broken)
    data = bytearray((broken / "model.onnx").read_bytes())
    data[100] ^= 0x55
    (broken / "model.onnx").write_bytes(bytes(data))
    code, lines = harness.refused_start(broken, tmp_path / "logs", workers=1)
    assert code != 0
    assert len(lines) == 1, lines
    assert "sha256 mismatch" in lines[0] and str(broken / "model.onnx") in lines[0]


def test_readme_score_example_is_a_zero(server):
    """README's one-line `curl ... -d @app/examples/score-digit-0.json` scores a known 0."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "-d @app/examples/score-digit-0.json" in readme
    request = json.loads((root / "app/examples/score-digit-0.json").read_text(encoding="utf-8"))
    assert request["input"] == [harness.b64((root / "app/examples/digit-0.png").read_bytes())], "the JSON holds the shipped PNG"
    status, body = server.request("POST", "/score", request)
    assert status == 200, body
    assert body["predictions"][0]["top3"][0]["label"] == "0", body
