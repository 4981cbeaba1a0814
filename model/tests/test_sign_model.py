"""Signing and verification with the real OpenSSF model-signing library: a signed model verifies;
one changed byte in any file, a file added or removed, another key, or no signature at all is refused."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import sign_model

SCRIPT = Path(sign_model.__file__)


def _key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = directory / f"{name}.key"
    public = directory / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture
def keys(tmp_path):
    return _key_pair(tmp_path, "signer")


@pytest.fixture
def model(tmp_path):
    d = tmp_path / "model"
    (d / "vocab").mkdir(parents=True)
    (d / "model.onnx").write_bytes(bytes(range(256)) * 8)
    (d / "vocab" / "labels.json").write_text("[0, 1, 2]")
    (d / ".gitattributes").write_text("* binary\n")
    (d / "model.json").write_text(json.dumps({"name": "digits-classifier", "version": "1.0.0"}))
    return d


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_sign_then_verify_through_the_command(model, keys):
    private, public = keys
    signed = _run("sign", "--model", str(model), "--private-key", str(private))
    assert signed.returncode == 0, signed.stderr
    assert (model / "model.sig").is_file()
    assert [p.name for p in model.iterdir() if p.name.startswith(".model.sig")] == [], "no temp file left"
    verified = _run("verify", "--model", str(model), "--public-key", str(public))
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout) == {"signer": sign_model.key_fingerprint(public.read_bytes())}
    assert json.loads(verified.stdout)["signer"].startswith("key sha256:")


def test_the_fetch_marker_is_not_part_of_the_model(model, keys):
    sign_model.sign(str(model), str(keys[0]))
    (model / ".model-store-fetch.json").write_text("{}")
    sign_model.verify(str(model), str(keys[1]))


@pytest.mark.parametrize("path", ["model.onnx", "vocab/labels.json", "model.json", ".gitattributes"])
def test_one_changed_byte_in_any_file_is_refused(model, keys, path):
    sign_model.sign(str(model), str(keys[0]))
    target = model / path
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(sign_model.SigningError, match=r"does not match its signature \(a file was changed, added or removed\)"):
        sign_model.verify(str(model), str(keys[1]))


def test_a_file_added_or_removed_is_refused(model, keys):
    sign_model.sign(str(model), str(keys[0]))
    (model / "extra.bin").write_bytes(b"x")
    with pytest.raises(sign_model.SigningError, match="does not match its signature"):
        sign_model.verify(str(model), str(keys[1]))
    (model / "extra.bin").unlink()
    (model / "vocab" / "labels.json").unlink()
    with pytest.raises(sign_model.SigningError, match="does not match its signature"):
        sign_model.verify(str(model), str(keys[1]))


def test_another_key_is_refused(model, keys, tmp_path):
    sign_model.sign(str(model), str(keys[0]))
    _, other = _key_pair(tmp_path, "other")
    result = _run("verify", "--model", str(model), "--public-key", str(other))
    assert result.returncode == 1
    assert result.stderr.startswith("error: the signature of ")
    assert "does not verify with this public key" in result.stderr or "could not be verified" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unsigned_model_is_refused_when_a_key_is_given(model, keys):
    result = _run("verify", "--model", str(model), "--public-key", str(keys[1]))
    assert result.returncode == 1
    assert "has no model.sig: this model version is not signed" in result.stderr


def test_bad_keys_say_what_is_wrong(model, keys):
    with pytest.raises(sign_model.SigningError, match="private key .* does not exist"):
        sign_model.sign(str(model), str(model / "nope.key"))
    sign_model.sign(str(model), str(keys[0]))
    with pytest.raises(sign_model.SigningError, match="not a PEM public key .* give the .pub file"):
        sign_model.verify(str(model), str(keys[0]))
