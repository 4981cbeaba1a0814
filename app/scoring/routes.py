"""HTTP routes: /score, /version, /healthz, /readyz."""

from __future__ import annotations

import json
import re

import numpy as np
from flask import Blueprint, current_app, jsonify, request

from . import DECODE_GATE_KEY, EXTENSION_KEY
from .body import BodyError, read_body
from .errors import body_error_response, error_response
from .model import LoadedModel
from .preprocess import InputError, batch_features

bp = Blueprint("scoring", __name__)
TOP_K = 3


def _model() -> LoadedModel | None:
    return current_app.extensions.get(EXTENSION_KEY)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    if _model() is None:
        return jsonify(status="not ready", reason="no verified model loaded"), 503
    return jsonify(status="ready")


@bp.get("/version")
def version():
    model = _model()
    return jsonify(
        app={"version": current_app.config["APP_VERSION"]},
        git_revision=current_app.config["GIT_REVISION"],
        model=None
        if model is None
        else {
            "name": model.name,
            "version": model.version,
            "sha256": model.onnx_file.sha256,
            "files": [{"path": f.path, "sha256": f.sha256} for f in model.files],
            "source_commit": model.manifest.get("source_commit"),
        },
    )


# json.loads builds the whole body before the batch limit can be checked, and a 4 MiB body of
# empty objects or numbers ({"input":[{},{},...]}) becomes hundreds of MiB of Python objects. A
# valid body is a few values plus at most MAX_BATCH strings: bodies with more values than that
# (counted on the raw bytes with string contents removed) are refused before parsing.
_STRING_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SPARE_VALUES = 64  # room for a few fields besides "input"


def _check_value_count(raw: bytes | bytearray, max_batch: int) -> None:
    """Refuses a body holding more JSON values than a valid one can (commas and openers, outside strings)."""
    bare = _STRING_RE.sub(b'""', raw)
    values = bare.count(b",") + bare.count(b"[") + bare.count(b"{")
    cap = max_batch + _SPARE_VALUES
    if values > cap:
        raise InputError(
            f"body holds more than {cap} JSON values; a valid body is "
            f'{{"input": ["<base64 image>", ...]}} with at most {max_batch} images'
        )


_MAX_INT_DIGITS = 100  # no number belongs in a /score body; this only bounds int() on one


def _parse_int(text: str) -> int:
    """JSON integers, refused past _MAX_INT_DIGITS digits (Python's int() refuses past 4300)."""
    digits = len(text.lstrip("-"))
    if digits > _MAX_INT_DIGITS:
        raise InputError(
            f"malformed JSON body: a number with {digits} digits; at most {_MAX_INT_DIGITS} are accepted"
        )
    return int(text)


def _read_inputs() -> list:
    """Validated ``input`` list from the JSON body, or raise InputError (400) / BodyError."""
    if not request.is_json:
        raise _UnsupportedMediaType()
    config = current_app.config
    raw = read_body(request.environ, int(config["MAX_CONTENT_LENGTH"]), float(config["BODY_TIMEOUT"]))
    _check_value_count(raw, int(config["MAX_BATCH"]))
    try:
        body = json.loads(raw, parse_int=_parse_int)
    except InputError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"malformed JSON body: {exc}") from None
    except RecursionError:
        raise InputError("malformed JSON body: nested too deeply") from None
    except ValueError as exc:  # anything else json refuses (none known): still the client's body
        raise InputError(f"malformed JSON body: {str(exc)[:200]}") from None
    del raw
    if not isinstance(body, dict):
        raise InputError('body must be a JSON object like {"input": ["<base64 image>", ...]}')
    if "input" not in body:
        raise InputError('missing "input": expected {"input": ["<base64 image>", ...]}')
    items = body["input"]
    if not isinstance(items, list):
        raise InputError(f'"input" must be a list of base64 strings, got {type(items).__name__}')
    if not items:
        raise InputError('"input" is empty: send at least one image')
    limit = current_app.config["MAX_BATCH"]
    if len(items) > limit:
        raise InputError(f'"input" has {len(items)} images; at most {limit} per request')
    return items


class _UnsupportedMediaType(Exception):
    pass


@bp.post("/score")
def score():
    model = _model()
    if model is None:
        return error_response(503, "no model loaded")
    config = current_app.config
    try:
        batch = batch_features(
            _read_inputs(),
            int(config["MAX_IMAGE_PIXELS"]),
            int(config["MAX_REQUEST_PIXELS"]),
            current_app.extensions.get(DECODE_GATE_KEY),
        )
    except BodyError as exc:
        return body_error_response(exc)
    except _UnsupportedMediaType:
        return error_response(
            415, f"Content-Type must be application/json, got {request.mimetype or 'none'}"
        )
    except InputError as exc:
        return error_response(400, str(exc))

    probabilities = model.predict(batch)  # the whole batch in one onnxruntime call
    labels = model.labels
    k = min(TOP_K, len(labels))
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    predictions = [
        {
            "top3": [
                {"label": labels[j], "probability": round(float(row[j]), 6)} for j in order
            ]
        }
        for row, order in zip(probabilities, top, strict=True)
    ]
    return jsonify(predictions=predictions, model={"name": model.name, "version": model.version})
