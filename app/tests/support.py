"""Test helpers: a tiny hand-built ONNX model, its manifest, images and a gunicorn launcher.

The model needs no scikit-learn: logits = x @ W + b, softmax. Feature p (row r = p // 8) adds
ROW_WEIGHT * x_p to the logit of label str(r), so an image whose ink is a horizontal bar on
8x8 row r is classified as str(r). Labels "8" and "9" only get their small bias. BIAS makes the
order of the remaining labels deterministic (higher index, higher probability).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

APP_DIR = Path(__file__).resolve().parents[1]
LABELS = [str(i) for i in range(10)]
INPUT_NAME = "pixels"
ROW_WEIGHT = 0.05
BIAS = np.arange(10, dtype=np.float32) * 0.1


def weights() -> np.ndarray:
    w = np.zeros((64, 10), dtype=np.float32)
    for p in range(64):
        w[p, p // 8] = ROW_WEIGHT
    return w


def build_onnx_bytes() -> bytes:
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", [INPUT_NAME, "W"], ["logits_raw"]),
            helper.make_node("Add", ["logits_raw", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "row-bars",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 10])],
        initializer=[
            numpy_helper.from_array(weights(), "W"),
            numpy_helper.from_array(BIAS, "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def expected_probabilities(features: np.ndarray) -> np.ndarray:
    logits = features.astype(np.float64) @ weights() + BIAS
    e = np.exp(logits - logits.max())
    return e / e.sum()


def write_model_dir(directory: Path, onnx_bytes: bytes | None = None, **overrides) -> Path:
    """Writes model.onnx + model.json (sha256/size computed here, independently of the app)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = build_onnx_bytes() if onnx_bytes is None else onnx_bytes
    (directory / "model.onnx").write_bytes(data)
    manifest = {
        "name": "row-bars",
        "version": "1.2.3",
        "format": "onnx",
        "files": [
            {"path": "model.onnx", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        ],
        "labels": LABELS,
        "input": {"name": INPUT_NAME, "shape": [None, 64], "dtype": "float32", "range": [0, 16]},
        "metrics": {"heldout_accuracy": 1.0, "heldout_samples": 10},
        "created": "2025-01-01T00:00:00Z",
        "framework": {"onnx": onnx.__version__, "target_opset": 17},
        "source_commit": None,
    }
    manifest.update(overrides)
    (directory / "model.json").write_text(json.dumps(manifest, indent=2))
    return directory


def bar_image(row: int, size: int = 32, dark_on_light: bool = True, mode: str = "L") -> Image.Image:
    """A size x size image whose ink fills 8x8-row ``row`` (a horizontal bar)."""
    ink, paper = (0, 255) if dark_on_light else (255, 0)
    grid = np.full((size, size), paper, dtype=np.uint8)
    step = size // 8
    grid[row * step : (row + 1) * step, :] = ink
    image = Image.fromarray(grid)
    return image.convert(mode) if mode != "L" else image


def encode(image: Image.Image, fmt: str = "PNG", **save_args) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def png_bomb(width: int, height: int) -> bytes:
    """A valid all-white 1-bit PNG of width x height: tiny on the wire, huge once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + b"\xff" * ((width + 7) // 8)  # filter byte "none", then white pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def grey16_png(side: int, row: int | None = None) -> bytes:
    """A side x side 16-bit greyscale PNG (mode I;16), optionally with a dark bar on 8x8-row ``row``."""
    grid = np.full((side, side), 60000, dtype=np.uint16)
    if row is not None:
        step = side // 8
        grid[row * step : (row + 1) * step, :] = 1000
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    return buffer.getvalue()


# --- raw HTTP, for what urllib cannot send (chunked bodies, bad framing, slow clients) -------


def raw_exchange(port: int, request: bytes, timeout: float = 30) -> tuple[int, dict]:
    """Sends ``request`` bytes as they are and returns (status, parsed JSON body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict]:
    """Reads one HTTP/1.1 response with a Content-Length body from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += piece
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return status, json.loads(body[:length])


def chunked(body: bytes, chunk_size: int = 65536) -> bytes:
    """``body`` framed with Transfer-Encoding: chunked."""
    pieces = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def post_head(path: str = "/score", **headers: str) -> bytes:
    """Request line and headers of a JSON POST (header names given with '_' for '-')."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """The production entry point, started as a subprocess on 127.0.0.1 with cwd app/."""

    def __init__(self, model_dir: Path, log_dir: Path, workers: int = 1, extra_env=None, cpus=None):
        """``cpus``: CPU numbers to pin the server to (e.g. {0}, to stand for a 1-CPU pod limit)."""
        self.port = free_port()
        self.host = "127.0.0.1"
        self.base = f"http://{self.host}:{self.port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / f"gunicorn-{self.port}.out"
        self.stderr_path = log_dir / f"gunicorn-{self.port}.err"
        env = dict(os.environ)
        env.update(
            MODEL_DIR=str(model_dir),
            HOST=self.host,
            PORT=str(self.port),
            WEB_CONCURRENCY=str(workers),
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra_env or {})
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "scoring:create_app()"],
            cwd=APP_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,  # own process group: stop() can reap stray workers too
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.stderr_path.read_text(errors="replace")

    def wait_exit(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout=timeout)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}: {self.stderr()}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn not ready after {timeout}s: {self.stderr()}")

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        """(status, parsed JSON body) over real HTTP."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def pids(self) -> list[int]:
        """The master and its live children (the workers)."""
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as handle:
                return [self.proc.pid] + [int(pid) for pid in handle.read().split()]
        except OSError:
            return []

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL to the whole process group if anything is left."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                # A worker forked while the master handled SIGTERM has not installed its own
                # handler yet and loses the master's signal; it would run until gunicorn's
                # graceful_timeout. Sent again to the whole group, it is heard.
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group is ours: master pid == pgid
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
        for handle in (self._out, self._err):
            if not handle.closed:
                handle.close()


def refused_start(model_dir: Path, log_dir: Path, **kwargs) -> tuple[int, list[str]]:
    """Starts gunicorn on a model that should be refused; returns its exit code and non-empty stderr lines."""
    proc = Gunicorn(model_dir, log_dir, **kwargs)
    try:
        code = proc.wait_exit(timeout=60)
    finally:
        proc.stop()
    return code, [line for line in proc.stderr().splitlines() if line.strip()]


def png_with_text(kind: bytes, chunks: int, text_bytes: int) -> bytes:
    """A valid 8x8 white PNG carrying ``chunks`` compressed text chunks (``kind`` zTXt or iTXt),
    each inflating to ``text_bytes`` bytes: small on the wire, large once Pillow reads its header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    text = zlib.compress(b"A" * text_bytes, 9)
    # zTXt: keyword NUL method text; iTXt: keyword NUL flag method language NUL translated NUL text
    body = b"Comment\0\0" + text if kind == b"zTXt" else b"Comment\0\x01\0\0\0" + text
    row = b"\0" + b"\xff" * 8
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + b"".join(chunk(kind, body) for _ in range(chunks))
        + chunk(b"IDAT", zlib.compress(row * 8))
        + chunk(b"IEND", b"")
    )
