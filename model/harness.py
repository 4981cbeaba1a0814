"""Runs the real app (gunicorn, production config, cwd app/) on 127.0.0.1 for the model's
end-to-end tests and benchmark, and renders load_digits samples as the images a client sends."""

from __future__ import annotations

import base64
import io
import sys
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


# The app's own test harness starts gunicorn exactly as production does; the model tests reuse it.
sys.path.insert(0, str(APP_DIR / "tests"))
from support import Gunicorn, free_port, refused_start  # noqa: E402,F401
