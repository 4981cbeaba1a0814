"""Loading and verifying the model directory described by its ``model.json`` manifest.

The model is loaded once, when the app is created. Anything wrong with it raises
:class:`ModelError` with a one-line message that names the directory or file and the problem,
so that the service refuses to start instead of serving a model it cannot vouch for.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .contract import MANIFEST_NAME, SchemaUnavailable, manifest_problems

INPUT_FEATURES = 64  # the schema's input shape: [null, 64]
_CHUNK = 1024 * 1024


class ModelError(RuntimeError):
    """The model directory is missing, incomplete, corrupt or unusable.

    It subclasses RuntimeError on purpose: gunicorn prints a RuntimeError raised while the
    (preloaded) app is created as a single ``Error: <message>`` line and exits with status 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # always exactly one line


@dataclass(frozen=True)
class ModelFile:
    path: str
    sha256: str
    size: int


@dataclass
class LoadedModel:
    """A verified model directory and its onnxruntime session."""

    directory: Path
    name: str
    version: str
    labels: list[str]
    files: list[ModelFile]
    onnx_file: ModelFile
    input_name: str
    manifest: dict
    threads: int = 1
    output_name: str | None = None
    session: object = field(default=None, repr=False)
    session_pid: int | None = field(default=None, repr=False)

    def ensure_session(self):
        """This process's onnxruntime session, opened (and test-run) on first use.

        Sessions are per process: onnxruntime is not fork-safe (merely importing it starts a
        thread), so a gunicorn master never opens one and each worker opens its own.
        """
        if self.session is None or self.session_pid != os.getpid():
            onnx_path = self.directory / self.onnx_file.path
            session = _open_session(onnx_path, self.threads)
            output_name = _check_session(session, onnx_path, self.input_name, len(self.labels))
            self.session, self.session_pid, self.output_name = session, os.getpid(), output_name
        return self.session

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, shape [n, len(labels)], for a float32 batch of shape [n, 64]."""
        session = self.ensure_session()
        (probabilities,) = session.run([self.output_name], {self.input_name: batch})
        return probabilities


def sha256_file(path: Path) -> tuple[str, int]:
    """Streams a file through sha256; returns (hex digest, bytes read)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fail(where: Path, problem: str) -> ModelError:
    return ModelError(f"model not usable: {where}: {problem}")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # Python would read NaN and Infinity; the store would not


def load_manifest(manifest_path: Path) -> dict:
    """Reads model.json (strict UTF-8 JSON, one object) and checks it against the contract."""
    try:
        with open(manifest_path, "rb") as handle:
            manifest = json.loads(handle.read().decode("utf-8"), parse_constant=_refuse_constant)
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _fail(manifest_path, f"cannot read manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise _fail(manifest_path, "manifest must be a JSON object")
    try:
        problems = manifest_problems(manifest)
    except SchemaUnavailable as exc:
        raise ModelError(f"configuration error: {exc}") from None
    if problems:
        raise _fail(manifest_path, "; ".join(problems))
    return manifest


def _verify_file(directory: Path, item: ModelFile) -> None:
    target = directory / item.path
    if not target.is_file():
        raise _fail(target, f"listed in {MANIFEST_NAME} but missing")
    actual_size = target.stat().st_size
    if actual_size != item.size:
        raise _fail(target, f"size mismatch: manifest says {item.size} bytes, file has {actual_size}")
    actual_sha, read = sha256_file(target)
    if read != item.size:
        raise _fail(target, f"size changed while reading: expected {item.size} bytes, read {read}")
    if actual_sha != item.sha256:
        raise _fail(target, f"sha256 mismatch: manifest says {item.sha256}, file has {actual_sha}")


def _open_session(onnx_path: Path, threads: int):
    import onnxruntime as ort  # imported here so a bad manifest fails before the heavy import

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: warnings are noise in a service log
    try:
        return ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises several private exception types
        raise _fail(onnx_path, f"onnxruntime cannot load the model: {exc}") from None


def _pick_output(session, onnx_path: Path, n_labels: int) -> str:
    """The probability output: skl2onnx (zipmap off) names it 'probabilities' next to 'label'."""
    candidates = [
        out
        for out in session.get_outputs()
        if out.type == "tensor(float)" and len(out.shape) == 2
    ]
    for out in candidates:
        if out.name == "probabilities":
            return out.name
    if len(candidates) == 1:
        return candidates[0].name
    raise _fail(
        onnx_path,
        f"expected one float tensor output of shape [n, {n_labels}] (or one named 'probabilities'), "
        f"found outputs {[(o.name, o.type) for o in session.get_outputs()]}",
    )


def _check_session(session, onnx_path: Path, input_name: str, n_labels: int) -> str:
    """Checks the graph against the manifest with one test inference; returns the output name."""
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].name != input_name:
        raise _fail(
            onnx_path,
            f"model inputs {[i.name for i in inputs]} do not match manifest input {input_name!r}",
        )
    output_name = _pick_output(session, onnx_path, n_labels)
    try:
        (probe,) = session.run(
            [output_name], {input_name: np.zeros((1, INPUT_FEATURES), dtype=np.float32)}
        )
    except Exception as exc:
        raise _fail(onnx_path, f"test inference failed: {exc}") from None
    if probe.shape != (1, n_labels):
        raise _fail(
            onnx_path,
            f"output {output_name!r} has shape {list(probe.shape)} for one input, "
            f"but the manifest lists {n_labels} labels",
        )
    return output_name


def verify_model_dir(model_dir: str | os.PathLike, threads: int = 1) -> LoadedModel:
    """Checks the manifest and every listed file's size and sha256; opens no session."""
    directory = Path(model_dir)
    if not directory.exists():
        raise _fail(directory, "MODEL_DIR does not exist")
    if not directory.is_dir():
        raise _fail(directory, "MODEL_DIR is not a directory")
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        raise _fail(directory, f"no {MANIFEST_NAME} in MODEL_DIR")
    manifest = load_manifest(manifest_path)
    files = [ModelFile(path=f["path"], sha256=f["sha256"], size=int(f["size"])) for f in manifest["files"]]
    for item in files:
        _verify_file(directory, item)
    return LoadedModel(
        directory=directory,
        name=manifest["name"],
        version=manifest["version"],
        labels=list(manifest["labels"]),
        files=files,
        onnx_file=next(item for item in files if item.path.endswith(".onnx")),  # exactly one, by the schema
        input_name=manifest["input"]["name"],
        manifest=manifest,
        threads=threads,
    )


def check_in_subprocess(model: LoadedModel, timeout: float = 120) -> None:
    """Opens and test-runs the model in a short-lived child interpreter.

    Used by a pre-forking server's master, which must not load onnxruntime itself: it still
    refuses to start on a model that onnxruntime cannot run, with the child's one-line error.
    """
    package_parent = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "scoring.check", str(model.directory), str(model.threads)]
    try:
        result = subprocess.run(
            command,
            cwd=package_parent,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise _fail(model.directory, f"onnxruntime check did not finish in {timeout:.0f}s") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise ModelError(lines[-1] if lines else f"model check exited with {result.returncode}")


def load_model(model_dir: str | os.PathLike, threads: int = 1, session: str = "now") -> LoadedModel:
    """Verifies ``model_dir`` and makes sure onnxruntime can run it.

    ``session="now"`` opens this process's session immediately; ``session="per-worker"`` (the
    gunicorn master) checks the model in a child process and leaves each worker to open its own.
    """
    model = verify_model_dir(model_dir, threads)
    if session == "now":
        model.ensure_session()
    elif session == "per-worker":
        check_in_subprocess(model)
    else:
        raise ModelError(f"configuration error: MODEL_SESSION={session!r} must be 'now' or 'per-worker'")
    return model
