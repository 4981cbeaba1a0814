"""Runs the real app (gunicorn, production config, cwd app/) on 127.0.0.1 for the model's
end-to-end tests and benchmark, and renders load_digits samples as the images a client sends."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "app"


def render_digit_png(features: np.ndarray, side: int = 32) -> bytes:
    """A load_digits sample (64 values, 0..16) as a side x side PNG: dark ink on white paper."""
    grid = np.asarray(features, dtype=np.float64).reshape(8, 8)
    grey = np.round(255.0 - grid * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(grey).resize((side, side), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn -c gunicorn.conf.py "scoring:create_app()"`` with cwd app/, on 127.0.0.1:<free>.

    Logs go to files (a pipe nobody reads would eventually block the server).
    """

    def __init__(self, model_dir: Path, log_dir: Path, workers: int = 2, extra_env: dict | None = None):
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
        )

    def __enter__(self) -> "Gunicorn":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}: {self.stderr().strip()}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready after {timeout}s: {self.stderr().strip()}")

    def request(self, method: str, path: str, body=None, timeout: float = 30):
        """(status, parsed JSON) over real HTTP with urllib."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL to the whole process group if anything is left."""
        if self.proc.poll() is None:
            self.proc.terminate()
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
