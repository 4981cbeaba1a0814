#!/usr/bin/env python3
"""Trains the sample 8x8 handwritten-digit classifier and exports it as ONNX plus model.json.

    python model/train.py --out DIR [--version 1.0.0] [--name digits-classifier]
                          [--source-commit SHA] [--force]

Data: scikit-learn's bundled ``load_digits()`` (no download). A stratified held-out split with a
fixed random_state measures accuracy, which must reach MIN_ACCURACY or nothing is written.
Export: skl2onnx with a pinned target_opset and zipmap off, so the model outputs a plain float
probability tensor; no pickle anywhere. DIR is written atomically (temp dir beside it, then a
rename) and an existing non-empty DIR is refused unless --force.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

DEFAULT_NAME = "digits-classifier"
DEFAULT_VERSION = "1.0.0"
TARGET_OPSET = 17  # pinned: the ONNX opset the exporter targets (onnxruntime 1.32 runs up to 23+)
RANDOM_STATE = 42
HELDOUT_FRACTION = 0.2
MIN_ACCURACY = 0.95
INPUT_NAME = "input"
N_FEATURES = 64
LABELS = [str(i) for i in range(10)]
MODEL_FILE = "model.onnx"
MANIFEST_FILE = "model.json"

# The model.json contract: its JSON Schema (dagger/src/model-store/model.schema.json) as the app
# checks it, with app/scoring/contract.py, loaded from this checkout (it needs no Flask).
REPO = Path(__file__).resolve().parents[1]
CONTRACT_FILE = REPO / "app" / "scoring" / "contract.py"


class TrainError(Exception):
    """A user-facing failure: printed as one line, exit status 2 (usage) or 1 (training)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# --- validation -----------------------------------------------------------------------------


@functools.cache
def _contract():
    """app/scoring/contract.py, the one Python implementation of the model.json contract."""
    if not CONTRACT_FILE.is_file():
        raise TrainError(f"{CONTRACT_FILE} not found: run train.py from a checkout of the repository")
    spec = importlib.util.spec_from_file_location("model_json_contract", CONTRACT_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checked(check, *args):
    """Runs a contract check; a schema that cannot be found or read is a TrainError."""
    try:
        return check(*args)
    except _contract().SchemaUnavailable as exc:
        raise TrainError(str(exc)) from None


def manifest_problems(manifest: dict) -> list[str]:
    """Every way ``manifest`` breaks the model.json contract (empty when the store and app accept it)."""
    return _checked(_contract().manifest_problems, manifest)


def semver_precedence(version: str) -> tuple | None:
    """The SemVer 2.0 precedence key of ``version``, or None when the model store would refuse it."""
    return _checked(_contract().semver_precedence, version)


def validate_version(version: str) -> str:
    if semver_precedence(version) is None:
        raise TrainError(
            f"--version {version!r} is not a semantic version (e.g. 1.0.0, 1.2.0-rc.1; "
            "at most 256 characters, numbers at most 2^53-1)",
            2,
        )
    return version


def validate_name(name: str) -> str:
    problem = _checked(_contract().field_problem, "name", name)
    if problem:
        raise TrainError(f"--name {name!r} {problem}", 2)
    return name


def resolve_source_commit(explicit: str | None, cwd: Path | None = None) -> str | None:
    """--source-commit, else $GIT_COMMIT, else `git rev-parse HEAD` where it works, else None."""
    for origin, value in (("--source-commit", explicit), ("GIT_COMMIT", os.environ.get("GIT_COMMIT"))):
        if value:
            commit = value.strip().lower()
            if _checked(_contract().field_problem, "source_commit", commit):
                raise TrainError(f"{origin} {value!r} is not a git commit id (7-64 hex characters)", 2)
            return commit
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd or Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip().lower()
    if result.returncode != 0 or _checked(_contract().field_problem, "source_commit", commit):
        return None
    return commit


# --- data, training, export -----------------------------------------------------------------


def load_split():
    """(X_train, X_heldout, y_train, y_heldout): float32 pixels 0..16, int labels 0..9."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    features, target = load_digits(return_X_y=True)
    return train_test_split(
        features.astype(np.float32),
        target,
        test_size=HELDOUT_FRACTION,
        random_state=RANDOM_STATE,
        stratify=target,
    )


def train(x_train: np.ndarray, y_train: np.ndarray):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = Pipeline(
        [("scale", StandardScaler()), ("classify", LogisticRegression(C=0.5, max_iter=2000))]
    )
    return pipeline.fit(x_train, y_train)


def export_onnx(pipeline, name: str, version: str) -> bytes:
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    classifier = pipeline.steps[-1][1]
    model = convert_sklearn(
        pipeline,
        name=name,
        initial_types=[(INPUT_NAME, FloatTensorType([None, N_FEATURES]))],
        target_opset=TARGET_OPSET,
        options={id(classifier): {"zipmap": False}},  # plain probability tensor, not a map
    )
    # skl2onnx may list the default domain twice; keep one entry per domain.
    seen, unique = set(), []
    for opset in model.opset_import:
        if opset.domain not in seen:
            seen.add(opset.domain)
            unique.append((opset.domain, opset.version))
    del model.opset_import[:]
    for domain, opset_version in unique:
        model.opset_import.add(domain=domain, version=opset_version)
    onnx.helper.set_model_props(model, {"model_name": name, "model_version": version})
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def onnx_probabilities(model_bytes: bytes, features: np.ndarray) -> np.ndarray | None:
    """Runs the exported model with onnxruntime, or returns None when it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {INPUT_NAME: features.astype(np.float32)})
    return probabilities


def onnx_input_name(model_bytes: bytes) -> str:
    import onnx

    return onnx.load_from_string(model_bytes).graph.input[0].name


# --- manifest and output --------------------------------------------------------------------


def sha256_file(path: Path, chunk: int = 1024 * 1024) -> tuple[str, int]:
    """Streams a file through sha256; returns (hex digest, size in bytes)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def framework_versions() -> dict:
    import onnx
    import skl2onnx
    import sklearn

    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    return {
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort_version,
        "target_opset": TARGET_OPSET,
    }


def build_manifest(
    *,
    name: str,
    version: str,
    model_path: Path,
    input_name: str,
    accuracy: float,
    heldout_samples: int,
    framework: dict,
    source_commit: str | None,
    created: datetime | None = None,
) -> dict:
    """The model.json contract shared with the pipeline's model store and the app."""
    sha256, size = sha256_file(model_path)
    created = created or datetime.now(UTC)
    manifest = {
        "name": name,
        "version": version,
        "format": "onnx",
        "files": [{"path": model_path.name, "sha256": sha256, "size": size}],
        "labels": list(LABELS),
        "input": {"name": input_name, "shape": [None, N_FEATURES], "dtype": "float32", "range": [0, 16]},
        "metrics": {"heldout_accuracy": round(float(accuracy), 4), "heldout_samples": int(heldout_samples)},
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "framework": framework,
        "source_commit": source_commit,
    }
    problems = manifest_problems(manifest)
    if problems:
        raise TrainError(f"the model.json to write breaks the contract: {'; '.join(problems)}")
    return manifest


def check_destination(out: Path, force: bool) -> None:
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise TrainError(f"--out {out} exists and is not a directory", 2)
        if any(out.iterdir()) and not force:
            raise TrainError(f"--out {out} is not empty; pass --force to replace it", 2)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def publish_dir(staging: Path, out: Path, force: bool) -> None:
    """Moves a complete staging dir to ``out`` with renames (same filesystem), never half-done."""
    check_destination(out, force)
    if out.is_dir():
        if not any(out.iterdir()):
            out.rmdir()
        else:  # --force: swap, then delete the old copy
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / out.name)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
            return
    os.rename(staging, out)


def write_model_dir(out: Path, model_bytes: bytes, manifest_for, force: bool = False) -> dict:
    """Writes model.onnx, then model.json (from ``manifest_for(model_path)``) into ``out``."""
    out = out.resolve() if not out.is_absolute() else out
    out.parent.mkdir(parents=True, exist_ok=True)
    check_destination(out, force)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        model_path = staging / MODEL_FILE
        _write_synced(model_path, model_bytes)
        manifest = manifest_for(model_path)
        try:  # NaN and Infinity are not JSON: the store and the app would refuse the file
            text = json.dumps(manifest, indent=2, allow_nan=False)
        except ValueError as exc:
            raise TrainError(f"model.json cannot be written as JSON: {exc}") from None
        _write_synced(staging / MANIFEST_FILE, (text + "\n").encode())
        os.chmod(staging, 0o755)
        publish_dir(staging, out, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


# --- command line ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="train.py", description="Train the sample digits classifier and write model.onnx + model.json."
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory (created atomically)")
    parser.add_argument("--version", default=DEFAULT_VERSION, help=f"semantic version (default {DEFAULT_VERSION})")
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"model name (default {DEFAULT_NAME})")
    parser.add_argument(
        "--source-commit",
        default=None,
        help="git commit of the training code (default: $GIT_COMMIT, else `git rev-parse HEAD`, else null)",
    )
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out directory")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    name = validate_name(args.name)
    version = validate_version(args.version)
    source_commit = resolve_source_commit(args.source_commit)
    check_destination(args.out, args.force)  # fail before spending time on training

    x_train, x_heldout, y_train, y_heldout = load_split()
    pipeline = train(x_train, y_train)
    model_bytes = export_onnx(pipeline, name, version)

    sklearn_probabilities = pipeline.predict_proba(x_heldout)
    probabilities = onnx_probabilities(model_bytes, x_heldout)
    if probabilities is None:  # onnxruntime absent: report scikit-learn's own figure
        probabilities = sklearn_probabilities
    elif not np.allclose(probabilities, sklearn_probabilities, atol=1e-4):
        worst = float(np.abs(probabilities - sklearn_probabilities).max())
        raise TrainError(f"ONNX export disagrees with scikit-learn (max probability difference {worst:.2e})")
    accuracy = float((probabilities.argmax(axis=1) == y_heldout).mean())
    if accuracy < MIN_ACCURACY:
        raise TrainError(f"held-out accuracy {accuracy:.4f} is below the required {MIN_ACCURACY}")

    input_name = onnx_input_name(model_bytes)
    framework = framework_versions()
    return write_model_dir(
        args.out,
        model_bytes,
        lambda model_path: build_manifest(
            name=name,
            version=version,
            model_path=model_path,
            input_name=input_name,
            accuracy=accuracy,
            heldout_samples=len(y_heldout),
            framework=framework,
            source_commit=source_commit,
        ),
        force=args.force,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        manifest = run(args)
    except TrainError as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return exc.status
    entry = manifest["files"][0]
    print(
        f"wrote {args.out}: {manifest['name']} {manifest['version']} "
        f"heldout_accuracy={manifest['metrics']['heldout_accuracy']} "
        f"{entry['path']} sha256={entry['sha256']} size={entry['size']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
