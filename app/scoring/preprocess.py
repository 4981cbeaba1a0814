"""Turns base64-encoded PNG/JPEG images into the model's input: 8x8 grey levels in 0..16.

The training data (scikit-learn's ``load_digits``) has ink as high values on a 0 background,
so images are converted to greyscale, inverted when the background is light (dark ink on
paper), contrast-stretched, shrunk to 8x8 by area averaging and scaled to 0..16.
"""

from __future__ import annotations

import base64
import binascii
import io
import re

import numpy as np
from PIL import Image, UnidentifiedImageError

SIDE = 8
_WORK_SIDE = 64  # images larger than this are area-averaged down to it before anything else
ALLOWED_FORMATS = ("PNG", "JPEG")
_DATA_URL_RE = re.compile(r"^data:[\w.+-]+/[\w.+-]+;base64,", re.IGNORECASE)


class InputError(ValueError):
    """A client error in one image; the message is safe to return to the client."""


def decode_base64(value: object, index: int) -> bytes:
    if not isinstance(value, str):
        raise InputError(f"input[{index}] must be a base64 string, got {type(value).__name__}")
    text = _DATA_URL_RE.sub("", value, count=1)
    text = "".join(text.split())  # tolerate line-wrapped base64
    if not text:
        raise InputError(f"input[{index}] is empty")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"input[{index}] is not valid base64") from None


def open_image(data: bytes, index: int, max_pixels: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise InputError(f"input[{index}] is not a PNG or JPEG image") from None
    except Exception:  # Pillow raises assorted errors on malformed headers
        raise InputError(f"input[{index}] is not a PNG or JPEG image") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise InputError(
            f"input[{index}] is {width}x{height} pixels; at most {max_pixels} pixels are accepted"
        )
    if image.format == "JPEG":
        # Let the JPEG decoder downscale by 1/2..1/8 for free when the image is large.
        image.draft("L", (SIDE * 4, SIDE * 4))
    try:
        image.load()
    except Exception:
        raise InputError(f"input[{index}] is a damaged or truncated {image.format} image") from None
    return image


def to_grey(image: Image.Image) -> Image.Image:
    """8-bit greyscale image; transparent areas become white paper."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit / float PNGs
        array = np.asarray(image, dtype=np.float32)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) * (255.0 / (high - low)) if high > low else np.zeros_like(array)
        return Image.fromarray(scaled.round().astype(np.uint8))
    return image.convert("L")


def to_features(image: Image.Image) -> np.ndarray:
    """64 float32 features in 0..16, ink high, from an 8-bit greyscale image."""
    width, height = image.size
    if width > _WORK_SIDE or height > _WORK_SIDE:  # area-average big images first: cheap and linear
        image = image.resize((min(width, _WORK_SIDE), min(height, _WORK_SIDE)), Image.Resampling.BOX)
    grey = np.asarray(image, dtype=np.float32)
    border = np.concatenate([grey[0, :], grey[-1, :], grey[:, 0], grey[:, -1]])
    if float(np.median(border)) > 127.5:  # light background: dark ink on paper
        grey = 255.0 - grey
    low, high = float(grey.min()), float(grey.max())
    if high - low < 1.0:  # blank image: nothing to read
        return np.zeros(SIDE * SIDE, dtype=np.float32)
    grey = (grey - low) * (16.0 / (high - low))  # contrast stretch to the training range 0..16
    small = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32)).resize(
        (SIDE, SIDE), Image.Resampling.BOX
    )
    return np.asarray(small, dtype=np.float32).reshape(SIDE * SIDE)


def preprocess(value: object, index: int, max_pixels: int) -> np.ndarray:
    """One request element (base64 string) -> 64 float32 features."""
    image = open_image(decode_base64(value, index), index, max_pixels)
    return to_features(to_grey(image))
