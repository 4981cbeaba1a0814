"""Every error is JSON ``{"error": "<message>"}``; internals never reach the client."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from .body import BodyError, drain, too_large

# A refused body up to this many times MAX_CONTENT_LENGTH is read and dropped before answering.
DRAIN_FACTOR = 4


def error_response(status: int, message: str, headers: dict | None = None):
    response = jsonify(error=message)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def body_error_response(exc: BodyError):
    """The JSON answer to an unusable body; a refused (413) body is drained first, so the client
    can read the answer instead of a connection reset."""
    if exc.status == 413:
        config = current_app.config
        drain(request.environ, DRAIN_FACTOR * int(config["MAX_CONTENT_LENGTH"]), float(config["BODY_TIMEOUT"]))
    return error_response(exc.status, str(exc))


def _http_error(exc: HTTPException):
    headers = {}
    if isinstance(exc, NotFound):
        message = f"no route {request.path}"
    elif isinstance(exc, MethodNotAllowed):
        allowed = sorted(m for m in (exc.valid_methods or []) if m not in ("HEAD", "OPTIONS"))
        message = f"method {request.method} not allowed on {request.path}; use {', '.join(allowed)}"
        headers["Allow"] = ", ".join(exc.valid_methods or [])
    elif isinstance(exc, RequestEntityTooLarge):
        return body_error_response(too_large(int(current_app.config["MAX_CONTENT_LENGTH"])))
    else:
        message = exc.description or exc.name
    return error_response(exc.code or 500, message, headers)


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal server error")


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
