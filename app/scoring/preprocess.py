"""Turns base64-encoded PNG/JPEG images into the model's input: 8x8 grey levels in 0..16.

The training data (scikit-learn's ``load_digits``) has ink as high values on a 0 background,
so images are converted to greyscale, inverted when the background is light (dark ink on
paper), contrast-stretched, shrunk to 8x8 by area averaging and scaled to 0..16.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import re

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

SIDE = 8
# Images up to this many pixels (256x256: about 1 MiB to decode even as RGBA) are decoded
# without waiting for the decode gate: many at once still cost little memory.
UNGATED_PIXELS = 256 * 256
_WORK_SIDE = 64  # images larger than this are area-averaged down to it before anything else
ALLOWED_FORMATS = ("PNG", "JPEG")
# Pillow's own decompression-bomb check raises from Image.open() with no size we could report,
# and its limit (89 M pixels) is far above ours. open_image() checks every image against
# MAX_IMAGE_PIXELS right after reading its header, before any pixel is decoded, so Pillow's
# check is turned off to let that message (size and limit) reach the client.
Image.MAX_IMAGE_PIXELS = None
# Image.open inflates a PNG's zTXt/iTXt/iCCP chunks while reading the header, before any size
# check: by default up to 1 MiB per chunk and 64 MiB per image, so a small request of tiny PNGs
# full of compressed text could take gigabytes. The model reads pixels only: at most this much
# metadata per image (an ICC profile is a few KiB; a larger one is refused, not truncated).
MAX_METADATA_BYTES = 256 * 1024
PngImagePlugin.MAX_TEXT_CHUNK = MAX_METADATA_BYTES
PngImagePlugin.MAX_TEXT_MEMORY = MAX_METADATA_BYTES
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
    """The image with only its header read.

    Nothing is decoded here, so the size checks (``max_pixels`` per image, and the request's
    pixel budget) run on the header's width and height before any pixel memory is allocated.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise InputError(f"input[{index}] is not a PNG or JPEG image") from None
    except ValueError as error:
        if "MAX_TEXT" not in str(error):  # PngImagePlugin's limits above
            raise InputError(f"input[{index}] is a PNG or JPEG image with a damaged header") from None
        raise InputError(
            f"input[{index}] carries more than {MAX_METADATA_BYTES // 1024} KiB of PNG metadata "
            "(text or colour-profile chunks): strip it (e.g. save the image again without "
            "metadata), the model reads only the pixels"
        ) from None
    except Exception:  # Pillow raises assorted errors on malformed headers
        raise InputError(f"input[{index}] is a PNG or JPEG image with a damaged header") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise InputError(
            f"input[{index}] is {width}x{height} pixels; at most {max_pixels} pixels are accepted "
            "per image (MAX_IMAGE_PIXELS): send a smaller image, the model reads 8x8"
        )
    return image


def read_features(image: Image.Image, index: int) -> np.ndarray:
    """Decodes an opened image and turns it into 64 float32 features."""
    if image.format == "JPEG":
        # The JPEG decoder downscales by 1/2..1/8 for free: ask for the smallest size that still
        # leaves 4x the model's resolution. (A progressive JPEG still holds every coefficient of
        # the full-size image while decoding, so budgets count the header's size, not this one.)
        image.draft("L", (SIDE * 4, SIDE * 4))
    try:
        image.load()
    except Exception:
        raise InputError(f"input[{index}] is a damaged or truncated {image.format} image") from None
    return to_features(to_grey(shrink(image)))


def shrink(image: Image.Image) -> Image.Image:
    """Area-averages a large image down to _WORK_SIDE per side in its own mode (one pass in C),
    so that the conversions after it work on a few thousand pixels, not millions."""
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode in ("P", "PA"):  # average colours, not palette indices
        transparent = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "L")
    width, height = image.size
    if width > _WORK_SIDE or height > _WORK_SIDE:
        image = image.resize((min(width, _WORK_SIDE), min(height, _WORK_SIDE)), Image.Resampling.BOX)
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


def batch_features(items: list, max_pixels: int, max_request_pixels: int, gate=None) -> np.ndarray:
    """The model's input for a whole request: one row of 64 features per element of ``items``.

    Every image's header is read first, so a request over its pixel budget is refused before
    anything is decoded; each opened image is dropped once its size is known, so at most one
    image's header data (its metadata included) is held at a time. Images are then opened again
    and decoded one at a time; an image over UNGATED_PIXELS is decoded while holding ``gate`` (a
    semaphore shared by the process's threads), which bounds how much decoder memory a worker
    holds at once.
    """
    blobs = [decode_base64(item, index) for index, item in enumerate(items)]
    pixels = [_pixel_count(data, index, max_pixels) for index, data in enumerate(blobs)]
    total = sum(pixels)
    if total > max_request_pixels:
        count = f"{len(blobs)} images have" if len(blobs) != 1 else "1 image has"
        raise InputError(
            f"the {count} {total} pixels in all; at most {max_request_pixels} pixels per request "
            "(MAX_REQUEST_PIXELS): send fewer or smaller images, the model reads 8x8"
        )
    batch = np.empty((len(blobs), SIDE * SIDE), dtype=np.float32)
    for index, data in enumerate(blobs):
        with gate if (gate is not None and pixels[index] > UNGATED_PIXELS) else contextlib.nullcontext():
            batch[index] = preprocess_bytes(data, index, max_pixels)
    return batch


def _pixel_count(data: bytes, index: int, max_pixels: int) -> int:
    """Width x height from the header; the opened image is released on return."""
    with open_image(data, index, max_pixels) as image:
        return image.width * image.height


def preprocess_bytes(data: bytes, index: int, max_pixels: int) -> np.ndarray:
    """One image's bytes -> 64 float32 features; the image is released on return."""
    with open_image(data, index, max_pixels) as image:
        return read_features(image, index)


def preprocess(value: object, index: int, max_pixels: int) -> np.ndarray:
    """One request element (base64 string) -> 64 float32 features."""
    return preprocess_bytes(decode_base64(value, index), index, max_pixels)
