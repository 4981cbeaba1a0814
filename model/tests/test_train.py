"""train.py: the model.json contract, a fresh onnxruntime re-evaluation, and its refusals."""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import train

SHA = "0123456789abcdef0123456789abcdef01234567"


def manifest_of(directory: Path) -> dict:
    return json.loads((directory / "model.json").read_text())


def test_output_holds_exactly_the_model_and_manifest(trained):
    assert sorted(p.name for p in trained.iterdir()) == ["model.json", "model.onnx"]
    leftovers = [p.name for p in trained.parent.iterdir() if p.name != trained.name]
    assert leftovers == []  # the staging dir was renamed into place, nothing left beside it


def test_manifest_contract(trained):
    manifest = manifest_of(trained)
    assert list(manifest) == [
        "name", "version", "format", "files", "labels", "input", "metrics", "created", "framework", "source_commit",
    ]
    assert manifest["name"] == "digits-classifier"
    assert manifest["version"] == "1.0.0"
    assert manifest["format"] == "onnx"
    assert manifest["labels"] == [str(i) for i in range(10)]
    assert manifest["input"] == {"name": "input", "shape": [None, 64], "dtype": "float32", "range": [0, 16]}
    assert manifest["metrics"]["heldout_samples"] == 360
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manifest["created"])
    assert manifest["framework"]["target_opset"] == train.TARGET_OPSET
    assert manifest["framework"]["onnxruntime"] == ort.__version__
    assert manifest["framework"]["onnx"] == onnx.__version__
    assert manifest["source_commit"] == SHA


def test_manifest_sha256_and_size_match_the_file(trained):
    (entry,) = manifest_of(trained)["files"]
    data = (trained / entry["path"]).read_bytes()
    assert entry["path"] == "model.onnx"
    assert entry["size"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_onnx_graph_is_plain_probabilities_at_pinned_opset(trained):
    model = onnx.load(str(trained / "model.onnx"))
    onnx.checker.check_model(model)
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets[""] == train.TARGET_OPSET
    assert [i.name for i in model.graph.input] == ["input"]
    outputs = {o.name: o.type for o in model.graph.output}
    assert "probabilities" in outputs
    assert outputs["probabilities"].HasField("tensor_type")  # zipmap off: a tensor, not a map sequence
    assert not any(node.op_type == "ZipMap" for node in model.graph.node)


def test_heldout_accuracy_reevaluated_with_onnxruntime(trained):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_heldout, _, y_heldout = train_test_split(
        x, y, test_size=train.HELDOUT_FRACTION, random_state=train.RANDOM_STATE, stratify=y
    )
    assert len(y_heldout) == 360
    assert not (set(map(bytes, x_heldout.astype(np.uint8))) <= set(map(bytes, x_train.astype(np.uint8))))
    session = ort.InferenceSession(str(trained / "model.onnx"), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {"input": x_heldout.astype(np.float32)})
    assert probabilities.shape == (360, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    accuracy = float((probabilities.argmax(axis=1) == y_heldout).mean())
    assert accuracy >= 0.95
    assert manifest_of(trained)["metrics"]["heldout_accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_training_is_reproducible(trained, tmp_path):
    assert train.main(["--out", str(tmp_path / "again"), "--source-commit", SHA]) == 0
    first, second = manifest_of(trained), manifest_of(tmp_path / "again")
    assert first["files"] == second["files"]  # same bytes, same sha256


def test_refuses_to_overwrite_non_empty_dir(trained, tmp_path, capsys):
    out = tmp_path / "out"
    assert train.main(["--out", str(out), "--source-commit", SHA]) == 0
    (out / "model.onnx").write_bytes(b"marker")
    capsys.readouterr()
    assert train.main(["--out", str(out), "--source-commit", SHA]) == 2
    assert f"--out {out} is not empty; pass --force to replace it" in capsys.readouterr().err
    assert (out / "model.onnx").read_bytes() == b"marker"  # untouched

    assert train.main(["--out", str(out), "--source-commit", SHA, "--version", "1.1.0", "--force"]) == 0
    assert manifest_of(out)["version"] == "1.1.0"
    replaced = (out / "model.onnx").read_bytes()
    assert manifest_of(out)["files"][0]["sha256"] == hashlib.sha256(replaced).hexdigest() != hashlib.sha256(b"marker").hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging/old dirs left


def test_empty_existing_dir_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    assert train.main(["--out", str(tmp_path / "empty"), "--source-commit", SHA]) == 0
    assert (tmp_path / "empty" / "model.json").is_file()


def test_out_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert train.main(["--out", str(tmp_path / "file"), "--force"]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["1.0", "01.0.0", "v1.0.0", "1.0.0-", "1.0.0+", "latest", ""])
def test_invalid_semver_rejected(tmp_path, capsys, version):
    assert train.main(["--out", str(tmp_path / "out"), "--version", version]) == 2
    assert "is not a semantic version" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("version", ["0.0.1", "1.2.3-rc.1", "10.20.30+build.5"])
def test_valid_semver_accepted(version):
    assert train.validate_version(version) == version


# The model store's rule (the `semver` package, held to one spelling): what it refuses, the trainer refuses.
STORE_REFUSES = [
    "1.0.0\n",  # a trailing newline slipped past the old pattern's "$"
    " 1.0.0",
    "1.0.0-01",
    "1.0.0-" + "a" * 251,  # 257 characters: over the 256-character limit
    "9007199254740992.0.0",  # past 2**53-1: no longer exact as a number
    "1.0.0-rc.9007199254740992",
]
STORE_ACCEPTS = ["1.0.0-" + "a" * 250, "9007199254740991.0.0", "1.0.0-rc.9007199254740991", "1.0.0+build.01"]


@pytest.mark.parametrize("version", STORE_REFUSES)
def test_versions_the_store_refuses_are_refused(tmp_path, capsys, version):
    assert train.main(["--out", str(tmp_path / "out"), "--version", version]) == 2
    assert "is not a semantic version" in capsys.readouterr().err


@pytest.mark.parametrize("version", STORE_ACCEPTS)
def test_versions_the_store_accepts_are_accepted(version):
    assert train.validate_version(version) == version


def test_build_metadata_has_no_precedence():
    key = train.semver_precedence
    assert key("1.0.0+build.1") == key("1.0.0+build.2") == key("1.0.0")
    ordered = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
        "1.0.0", "1.9.0", "1.10.0", "2.0.0",
    ]
    assert sorted(reversed(ordered), key=key) == ordered
    assert key("1.0") is None


# "digits_classifier" and "digits.v2" were accepted by the trainer and refused by the model store.
@pytest.mark.parametrize("name", ["Digits", "-x", "a/b", "", "x" * 64, "digits_classifier", "digits.v2"])
def test_invalid_name_rejected(tmp_path, capsys, name):
    assert train.main(["--out", str(tmp_path / "out"), f"--name={name}"]) == 2
    assert "--name" in capsys.readouterr().err


def test_source_commit_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_COMMIT", "ABCDEF1234567")
    assert train.resolve_source_commit(None) == "abcdef1234567"
    assert train.resolve_source_commit(SHA) == SHA  # the flag wins over the environment
    monkeypatch.setenv("GIT_COMMIT", "not-a-sha")
    with pytest.raises(train.TrainError, match="GIT_COMMIT 'not-a-sha' is not a git commit id"):
        train.resolve_source_commit(None)
    monkeypatch.delenv("GIT_COMMIT")
    assert train.resolve_source_commit(None, cwd=tmp_path) is None  # not a git checkout


def test_build_manifest_hashes_what_is_on_disk(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x00" * 3_000_000)
    manifest = train.build_manifest(
        name="m", version="2.0.0", model_path=path, input_name="x", accuracy=0.96789,
        heldout_samples=10, framework={}, source_commit=None,
    )
    assert manifest["files"] == [
        {"path": "model.onnx", "sha256": hashlib.sha256(b"\x00" * 3_000_000).hexdigest(), "size": 3_000_000}
    ]
    assert manifest["metrics"] == {"heldout_accuracy": 0.9679, "heldout_samples": 10}
    with pytest.raises(train.TrainError):
        train.build_manifest(
            name="m", version="2.0", model_path=path, input_name="x", accuracy=1,
            heldout_samples=1, framework={}, source_commit=None,
        )


def test_the_written_manifest_meets_the_contract(trained):
    assert train.manifest_problems(manifest_of(trained)) == []


def test_a_manifest_that_breaks_the_contract_is_not_written(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"onnx")
    monkeypatch.setattr(train, "LABELS", ["0", "1"])  # the app needs at least 3
    with pytest.raises(train.TrainError, match="the model.json to write breaks the contract: labels must be a list of at least 3"):
        train.build_manifest(
            name="m", version="2.0.0", model_path=path, input_name="x", accuracy=1,
            heldout_samples=1, framework={}, source_commit=None,
        )


def test_without_the_contract_training_stops_with_one_clear_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train, "CONTRACT_FILE", tmp_path / "absent" / "contract.py")
    train._contract.cache_clear()
    try:
        assert train.main(["--out", str(tmp_path / "out")]) == 1
    finally:
        train._contract.cache_clear()
    assert capsys.readouterr().err == (
        f"train.py: error: {tmp_path / 'absent' / 'contract.py'} not found: run train.py from a checkout of the repository\n"
    )


def test_a_manifest_that_is_not_json_is_not_written(tmp_path):
    """NaN passes a schema's number checks, but neither the store nor the app reads it as JSON."""
    with pytest.raises(train.TrainError, match="model.json cannot be written as JSON"):
        train.write_model_dir(tmp_path / "out", b"onnx", lambda _: {"metrics": {"heldout_accuracy": float("nan")}})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_nothing(tmp_path):
    def broken_manifest(_):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        train.write_model_dir(tmp_path / "out", b"bytes", broken_manifest)
    assert list(tmp_path.iterdir()) == []


def test_no_pickle_in_training_code():
    source = (Path(train.__file__)).read_text()
    assert "import pickle" not in source and "joblib" not in source
