"""The app refuses to start, with one clear line, whenever the model is missing or corrupt."""

import hashlib
import json

import pytest

import support
from scoring import ModelError, contract, create_app


def refuse(directory, *fragments):
    with pytest.raises(ModelError) as info:
        create_app({"MODEL_DIR": str(directory)})
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def edit_manifest(directory, **changes):
    path = directory / "model.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_valid_model_loads(model_dir):
    assert create_app({"MODEL_DIR": str(model_dir)}).test_client().get("/readyz").status_code == 200


def test_model_error_is_a_runtime_error():
    # gunicorn turns a RuntimeError raised while preloading the app into one "Error: ..." line
    assert issubclass(ModelError, RuntimeError)


def test_missing_dir(tmp_path):
    refuse(tmp_path / "nope", str(tmp_path / "nope"), "MODEL_DIR does not exist")


def test_model_dir_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    refuse(tmp_path / "file", "MODEL_DIR is not a directory")


def test_missing_manifest(model_dir):
    (model_dir / "model.json").unlink()
    refuse(model_dir, str(model_dir), "no model.json")


def test_manifest_not_json(model_dir):
    (model_dir / "model.json").write_text("{ nope")
    refuse(model_dir, "model.json", "cannot read manifest")


def test_sha256_mismatch(model_dir):
    data = bytearray((model_dir / "model.onnx").read_bytes())
    data[-1] ^= 0xFF  # same size, different content
    (model_dir / "model.onnx").write_bytes(bytes(data))
    refuse(model_dir, "model.onnx", "sha256 mismatch", hashlib.sha256(bytes(data)).hexdigest())


def test_size_mismatch(model_dir):
    with open(model_dir / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    refuse(model_dir, "model.onnx", "size mismatch")


def test_listed_file_missing(model_dir):
    (model_dir / "model.onnx").unlink()
    refuse(model_dir, str(model_dir / "model.onnx"), "listed in model.json but missing")


def test_second_listed_file_missing(model_dir):
    manifest = json.loads((model_dir / "model.json").read_text())
    manifest["files"].append({"path": "labels.txt", "sha256": "0" * 64, "size": 3})
    (model_dir / "model.json").write_text(json.dumps(manifest))
    refuse(model_dir, "labels.txt", "missing")


def test_path_escaping_model_dir(model_dir):
    manifest = json.loads((model_dir / "model.json").read_text())
    manifest["files"][0]["path"] = "../model.onnx"
    (model_dir / "model.json").write_text(json.dumps(manifest))
    refuse(model_dir, "files[0].path must stay inside the model directory")


def test_garbage_onnx_with_matching_digest(tmp_path):
    directory = support.write_model_dir(tmp_path / "m", onnx_bytes=b"this is not a protobuf")
    refuse(directory, "model.onnx", "onnxruntime cannot load the model")


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"version": "1.2"}, "version must be a semantic version"),
        ({"format": "pickle"}, 'format must be "onnx" (got "pickle")'),
        ({"labels": "0123456789"}, "labels must be a list"),
        ({"files": []}, "files must be a non-empty list"),
        ({"input": {"name": "pixels", "shape": [None, 63], "dtype": "float32"}}, "input.shape must be [null, 64]"),
        ({"input": {"name": "other", "shape": [None, 64], "dtype": "float32"}}, "do not match manifest input 'other'"),
        ({"labels": ["a", "b", "c"]}, "manifest lists 3 labels"),
    ],
)
def test_inconsistent_manifest(model_dir, changes, fragment):
    edit_manifest(model_dir, **changes)
    refuse(model_dir, fragment)


def test_bad_sha256_field(model_dir):
    manifest = json.loads((model_dir / "model.json").read_text())
    manifest["files"][0]["sha256"] = "XYZ"
    (model_dir / "model.json").write_text(json.dumps(manifest))
    refuse(model_dir, 'files[0].sha256 must be 64 lowercase hex characters (got "XYZ")')


def test_bad_env_setting_is_one_line(model_dir, monkeypatch):
    monkeypatch.setenv("MAX_BATCH", "lots")
    refuse(model_dir, "MAX_BATCH='lots' is not an integer")


# --- model.json's schema (dagger/src/model-store/model.schema.json, the store's contract) ---------


def test_the_schema_is_found_and_can_be_named(model_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("MODEL_SCHEMA", raising=False)
    found = contract.schema_path()  # beside the module in the image and the test container, else the checkout's
    assert found in contract.SCHEMA_PLACES
    copy = tmp_path / "schema.json"
    copy.write_bytes(found.read_bytes())
    monkeypatch.setenv("MODEL_SCHEMA", str(copy))
    assert contract.schema_path() == copy
    assert create_app({"MODEL_DIR": str(model_dir)}).test_client().get("/readyz").status_code == 200


def test_a_named_schema_that_is_missing_stops_the_app(model_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_SCHEMA", str(tmp_path / "absent.json"))
    message = refuse(model_dir, f"configuration error: MODEL_SCHEMA='{tmp_path / 'absent.json'}' is not a file")
    assert message.startswith("configuration error")


def test_without_a_schema_the_app_refuses_to_start(model_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("MODEL_SCHEMA", raising=False)
    monkeypatch.setattr(contract, "SCHEMA_PLACES", (tmp_path / "a.json", tmp_path / "b.json"))
    refuse(model_dir, "configuration error: model.json schema not found at", str(tmp_path / "a.json"), "set MODEL_SCHEMA")


def test_a_schema_that_is_not_json_stops_the_app(model_dir, monkeypatch, tmp_path):
    (tmp_path / "schema.json").write_text("{ not json")
    monkeypatch.setenv("MODEL_SCHEMA", str(tmp_path / "schema.json"))
    refuse(model_dir, "is not a usable JSON Schema")


def test_the_store_refuses_what_the_app_refuses(model_dir):
    """A name the trainer used to allow, and fields only the app used to check: one contract now."""
    manifest = json.loads((model_dir / "model.json").read_text())
    assert contract.manifest_problems(manifest) == []
    for change, problem in (
        ({"name": "digits_classifier"}, "name must be"),
        ({"format": "pickle"}, 'format must be "onnx"'),
        ({"labels": ["a", "b"]}, "labels must be a list of at least 3"),
    ):
        assert any(p.startswith(problem) for p in contract.manifest_problems({**manifest, **change})), change
