"""Runs the real app (gunicorn, production config, cwd app/) on 127.0.0.1 for the model's
end-to-end tests and benchmark, and renders load_digits samples as the images a client sends."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

# The app's test kit (app/tests/support.py) starts gunicorn exactly as production does; the model's
# tests and benchmarks reuse it from here. It comes with the app project (see app/pyproject.toml).
from support import Gunicorn, free_port, refused_start

__all__ = ["Gunicorn", "b64", "free_port", "refused_start", "render_digit_png"]


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

