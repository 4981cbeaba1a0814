"""Every error is JSON ``{"error": "<message>"}``; internals never reach the client."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge


def error_response(status: int, message: str, headers: dict | None = None):
    response = jsonify(error=message)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def _drain_body(cap: int) -> None:
    """Reads and drops a moderately oversized body so the client gets the 413 response.

    Closing a socket with unread data makes the kernel reset the connection, and the client
    then sees a broken pipe instead of our JSON error. Bodies larger than ``cap`` (or of unknown
    length) are not drained: the connection is simply closed.
    """
    length = request.content_length
    stream = request.environ.get("wsgi.input")
    if length is None or length > cap or stream is None:
        return
    remaining = length
    try:
        while remaining > 0:
            chunk = stream.read(min(65536, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
    except OSError:
        pass


def _http_error(exc: HTTPException):
    headers = {}
    if isinstance(exc, NotFound):
        message = f"no route {request.path}"
    elif isinstance(exc, MethodNotAllowed):
        allowed = sorted(m for m in (exc.valid_methods or []) if m not in ("HEAD", "OPTIONS"))
        message = f"method {request.method} not allowed on {request.path}; use {', '.join(allowed)}"
        headers["Allow"] = ", ".join(exc.valid_methods or [])
    elif isinstance(exc, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        _drain_body(4 * limit)
        message = f"request body too large: the limit is {limit} bytes"
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
