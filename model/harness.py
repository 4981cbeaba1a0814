"""Runs the real app (gunicorn, production config, cwd app/) on 127.0.0.1 for the model's
end-to-end tests and benchmark, and renders load_digits samples as the images a client sends."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# The app's test kit (app/tests/support.py) starts gunicorn exactly as production does; the model's
# tests and benchmarks reuse it from here. It comes with the app project (see app/pyproject.toml).
from support import Gunicorn, free_port, refused_start

__all__ = ["Gunicorn", "b64", "bench_model", "free_port", "one_digit_request", "refused_start", "render_digit_png"]


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


def bench_model(model_dir: Path | None, scratch: Path) -> Path | None:
    """The model a benchmark serves: the one given, else the sample model trained into `scratch`
    (its output kept off stdout, which carries only the figures). None when training fails."""
    if model_dir is not None:
        return model_dir
    import train  # the trainer lives beside this file; only benchmarks that train need it

    trained = scratch / "model"
    with contextlib.redirect_stdout(sys.stderr):
        return trained if train.main(["--out", str(trained)]) == 0 else None


def one_digit_request() -> tuple[bytes, int]:
    """A `/score` body holding the first held-out digit as a 32x32 PNG, and that digit's label."""
    import train

    _, x_heldout, _, y_heldout = train.load_split()
    body = json.dumps({"input": [b64(render_digit_png(x_heldout[0], side=32))]}).encode()
    return body, int(y_heldout[0])
