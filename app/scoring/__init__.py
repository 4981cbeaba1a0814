"""Digit-scoring service: a Flask app factory that serves one verified ONNX model."""

from __future__ import annotations

import os
import threading

from flask import Flask

from .model import LoadedModel, ModelError, load_model

__version__ = "0.1.0"
__all__ = ["ModelError", "create_app", "open_worker_session", "__version__"]

EXTENSION_KEY = "scoring.model"
DECODE_GATE_KEY = "scoring.decode_gate"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ModelError(f"configuration error: {name}={raw!r} is not an integer") from None
    if value < 1:
        raise ModelError(f"configuration error: {name}={raw!r} must be at least 1")
    return value


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment, or ``default`` when unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ModelError(f"configuration error: {name}={raw!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise ModelError(f"configuration error: {name}={raw!r} must be a positive number of seconds")
    return value


def default_config() -> dict:
    """Settings read from the environment; ``create_app(config)`` entries override them."""
    return {
        "MODEL_DIR": os.environ.get("MODEL_DIR", "/models"),
        "MAX_BATCH": _env_int("MAX_BATCH", 32),
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 4 * 1024 * 1024),
        # Pixels (width x height, from the header, before anything is decoded) per image and
        # per request: they bound the CPU time and memory one request can cost. The model reads
        # 8x8; 2048x2048 leaves a client plenty of room.
        "MAX_IMAGE_PIXELS": _env_int("MAX_IMAGE_PIXELS", 2048 * 2048),
        "MAX_REQUEST_PIXELS": _env_int("MAX_REQUEST_PIXELS", 2048 * 2048),
        # Per worker process: how many large images its threads may decode at the same time.
        "DECODE_CONCURRENCY": _env_int("DECODE_CONCURRENCY", 1),
        # Seconds a client has to send the whole request body (408 after that).
        "BODY_TIMEOUT": env_seconds("BODY_TIMEOUT", 10.0),
        # Seconds a client has to send a request's headers (then the connection is closed).
        # Enforced by the gunicorn worker (scoring.worker); read here so that a bad value
        # stops the server at start-up with one line instead of failing every worker.
        "HEADER_TIMEOUT": env_seconds("HEADER_TIMEOUT", 10.0),
        # Bytes of requests a worker process holds while it reads them, before a thread serves
        # them (scoring.worker; read here too so that a bad value stops the server at start-up).
        "REQUEST_BUFFER": _env_int("REQUEST_BUFFER", 32 * 1024 * 1024),
        "ORT_THREADS": _env_int("ORT_THREADS", 1),
        # "now": open the onnxruntime session in create_app(); "per-worker": gunicorn.conf.py's
        # choice, since onnxruntime is not fork-safe (see model.LoadedModel.ensure_session).
        "MODEL_SESSION": os.environ.get("MODEL_SESSION", "now"),
        "APP_VERSION": os.environ.get("APP_VERSION") or __version__,
        "GIT_REVISION": os.environ.get("GIT_REVISION") or None,
        # False only for tools/tests that want an app without a model (it then reports not ready).
        "MODEL_REQUIRED": True,
    }


def create_app(config: dict | None = None) -> Flask:
    """Builds the app and loads the model once; raises ModelError if the model is unusable."""
    app = Flask(__name__)
    app.config.from_mapping(default_config())
    if config:
        app.config.update(config)
    app.json.sort_keys = False

    model: LoadedModel | None = None
    try:
        model = load_model(
            app.config["MODEL_DIR"],
            threads=int(app.config["ORT_THREADS"]),
            session=app.config["MODEL_SESSION"],
        )
    except ModelError:
        if app.config["MODEL_REQUIRED"]:
            raise
        app.logger.warning("starting without a model: /readyz reports 503", exc_info=True)
    else:
        app.logger.info(
            "loaded model %s %s (%s sha256 %s)",
            model.name,
            model.version,
            model.onnx_file.path,
            model.onnx_file.sha256,
        )
    app.extensions[EXTENSION_KEY] = model
    # One gate per process: a pre-forking server copies it, unheld, into each worker.
    app.extensions[DECODE_GATE_KEY] = threading.BoundedSemaphore(int(app.config["DECODE_CONCURRENCY"]))

    from . import errors, routes

    errors.register(app)
    app.register_blueprint(routes.bp)
    return app


def open_worker_session(app) -> None:
    """Opens this worker's onnxruntime session before it serves (gunicorn post_worker_init)."""
    model = getattr(app, "extensions", {}).get(EXTENSION_KEY)
    if model is not None:
        model.ensure_session()
