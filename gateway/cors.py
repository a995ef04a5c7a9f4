"""Calls from browser apps on other origins (CORS), for the origins the operator lists in
BROWSING_CORS_ORIGINS; off when it is empty (the default), as for any API a browser
should not reach from elsewhere.

A browser asks first (a preflight: OPTIONS with Origin and Access-Control-Request-Method,
and never an Authorization header), so the preflight is answered before authentication.
The API's own answers then carry Access-Control-Allow-Origin for a listed origin. Keys
travel in the Authorization header, never in cookies, so credentials are not allowed and
a page on a listed origin can use only the keys its users give it."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from shared.config import ANY_ORIGIN, parse_cors_origins

ALLOW_METHODS = "GET, POST, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
EXPOSE_HEADERS = "Retry-After, Idempotent-Replayed, Content-Disposition, WWW-Authenticate"
MAX_AGE_S = 600  # how long a browser may reuse a preflight's answer
API_PATHS = "/api/"


def install(app: Flask, spec: str) -> None:
    """Answer preflights and mark the API's answers for the listed origins; nothing at
    all when none is listed."""
    origins = parse_cors_origins(spec)
    if not origins:
        return

    def allowed(origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for ``origin``, or None."""
        if not origin:
            return None
        if ANY_ORIGIN in origins:
            return ANY_ORIGIN
        return origin if origin in origins else None

    def mark(response: Any, value: str) -> None:
        response.headers["Access-Control-Allow-Origin"] = value
        if value != ANY_ORIGIN:
            response.vary.add("Origin")  # caches must not serve one origin's to another

    @app.before_request
    def preflight() -> Any:
        headers = request.headers
        if (
            request.method != "OPTIONS"
            or not request.path.startswith(API_PATHS)
            or "Access-Control-Request-Method" not in headers
        ):
            return None
        response = app.response_class(status=204)
        value = allowed(headers.get("Origin"))
        if value is not None:  # else the browser refuses the call itself
            mark(response, value)
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = str(MAX_AGE_S)
        return response

    @app.after_request
    def cross_origin(response: Any) -> Any:
        value = allowed(request.headers.get("Origin"))
        if value is not None and request.path.startswith(API_PATHS):
            mark(response, value)
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response
