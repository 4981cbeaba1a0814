"""Sign a model directory, or verify one, with the OpenSSF model-signing library.

The signature covers every file of the directory, model.json included, and is written as
model.sig beside them; the store uploads it before model.json. Key-based (an elliptic-curve key
pair in PEM files): the same command runs in the pipeline's Python container and from the
repository's virtualenv (the model store's CLI calls it for --signing-key and --public-key).

    python model/sign_model.py sign --model DIR --private-key KEY.pem [--signature OUT]
    python model/sign_model.py verify --model DIR --public-key KEY.pub

verify prints {"signer": "key sha256:<fingerprint>"} and exits 0; any failure is one line on
stderr starting with "error:" and exit 1 (2 for usage). Keyless Sigstore signing needs an OIDC
identity from a CI system; use model-signing's own CLI there (docs/models.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

SIGNATURE_NAME = "model.sig"
# Written by the store's fetch into each directory it creates; not part of the model.
FETCH_MARKER_NAME = ".model-store-fetch.json"
NOT_SIGNED = [SIGNATURE_NAME, FETCH_MARKER_NAME]


class SigningError(Exception):
    """A failure to report as one line, without a traceback."""


def _hashing_config():
    from model_signing import hashing

    # Every file counts, git files too: a model file named .gitattributes must be signed like any other.
    return hashing.Config().set_ignored_paths(paths=NOT_SIGNED, ignore_git_paths=False)


def key_fingerprint(public_key_pem: bytes) -> str:
    """sha256 of the key's DER SubjectPublicKeyInfo: the signer's identity in image labels."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except ValueError as e:
        raise SigningError(f"the public key is not a PEM public key ({e}); give the .pub file, not the private key") from None
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "key sha256:" + hashlib.sha256(der).hexdigest()


def _model_dir(path: str) -> Path:
    d = Path(path)
    if not d.is_dir():
        raise SigningError(f"model directory {path} does not exist or is not a directory")
    if not (d / "model.json").is_file():
        raise SigningError(f"model directory {path} has no model.json: sign the directory model/train.py wrote")
    return d


def sign(model: str, private_key: str, signature: str | None = None) -> Path:
    """Signs `model`; the signature goes to `signature` (default: model.sig inside it). Returns its path."""
    import model_signing

    d = _model_dir(model)
    key = Path(private_key)
    if not key.is_file():
        raise SigningError(f"private key {private_key} does not exist")
    out = Path(signature) if signature else d / SIGNATURE_NAME
    # Signed into a separate directory (nothing new inside the model while it is hashed), then
    # copied beside its destination and renamed: a failed signing leaves no half-written signature.
    with tempfile.TemporaryDirectory(prefix="model-sign-") as work:
        config = model_signing.signing.Config().set_hashing_config(_hashing_config())
        try:
            config.use_elliptic_key_signer(private_key=key).sign(d, Path(work) / SIGNATURE_NAME)
        except ValueError as e:
            raise SigningError(f"cannot sign with {private_key}: {e} (an elliptic-curve private key in PEM is needed)") from None
        staged = out.with_name(f".{out.name}.partial")
        shutil.copyfile(Path(work) / SIGNATURE_NAME, staged)
        os.replace(staged, out)
    return out


def verify(model: str, public_key: str, signature: str | None = None) -> str:
    """Verifies `model` against its signature with `public_key`; returns the signer's identity."""
    import model_signing

    d = _model_dir(model)
    sig = Path(signature) if signature else d / SIGNATURE_NAME
    if not sig.is_file():
        raise SigningError(
            f"{model} has no {SIGNATURE_NAME}: this model version is not signed, and a public key makes the signature mandatory; "
            "publish it signed (publish-model --signing-key) or drop the public key"
        )
    key = Path(public_key)
    if not key.is_file():
        raise SigningError(f"public key {public_key} does not exist")
    signer = key_fingerprint(key.read_bytes())
    config = model_signing.verifying.Config().set_hashing_config(_hashing_config())
    try:
        config.use_elliptic_key_verifier(public_key=key).verify(d, sig)
    except ValueError as e:
        text = str(e)
        if text.startswith("Signature mismatch"):
            raise SigningError(f"{model} does not match its signature (a file was changed, added or removed): {text}") from None
        raise SigningError(
            f"the signature of {model} does not verify with this public key (signed with another key, or altered): {text}"
        ) from None
    except Exception as e:  # the library raises several types for a bad or foreign signature
        raise SigningError(f"the signature of {model} could not be verified: {type(e).__name__}: {e}") from None
    return signer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sign_model.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sign", help="sign a model directory with a private key")
    s.add_argument("--model", required=True, help="model directory (model.json and its files)")
    s.add_argument("--private-key", required=True, help="elliptic-curve private key, PEM file")
    s.add_argument("--signature", help=f"where the signature goes (default: {SIGNATURE_NAME} in the model directory)")
    v = sub.add_parser("verify", help="verify a model directory against its signature")
    v.add_argument("--model", required=True, help="model directory holding model.sig")
    v.add_argument("--public-key", required=True, help="the signer's public key, PEM file")
    v.add_argument("--signature", help=f"the signature (default: {SIGNATURE_NAME} in the model directory)")
    args = parser.parse_args(argv)
    try:
        if args.command == "sign":
            print(json.dumps({"signature": str(sign(args.model, args.private_key, args.signature))}))
        else:
            print(json.dumps({"signer": verify(args.model, args.public_key, args.signature)}))
    except SigningError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
