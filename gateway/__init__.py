"""The HTTP gateway (Flask). Run it with gunicorn: see gateway/gunicorn_conf.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

import redis
from flask import Flask, Response, jsonify
from kombu.exceptions import OperationalError
from werkzeug.exceptions import HTTPException

from gateway import cors
from gateway.services import GatewayServices
from shared import logs
from shared.config import Settings, load_settings
from shared.errors import (
    AuthError,
    BackendUnavailable,
    LimitExceeded,
    RequestError,
    StorageError,
)
from shared.services import redis_client

log = logging.getLogger(__name__)


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestError)
    def request_error(exc: RequestError) -> Any:
        return _error(exc.message, exc.status_code)

    @app.errorhandler(AuthError)
    def unauthorized(exc: AuthError) -> Any:
        # RFC 9110: a 401 names the scheme it wants.
        response, status = _error(exc.message, exc.status_code)
        response.headers["WWW-Authenticate"] = 'Bearer realm="browsing"'
        return response, status

    @app.errorhandler(LimitExceeded)
    def limited(exc: LimitExceeded) -> Any:
        response, status = _error(exc.message, exc.status_code)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        messages = {
            404: "not found: see /api/v1/openapi.json for the endpoints",
            405: "method not allowed",
            413: "request body too large",
        }
        response, status = _error(
            messages.get(exc.code or 500, exc.description or exc.name), exc.code or 500
        )
        for name, value in exc.get_headers():  # keeps Allow on 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    def unavailable(exc: Exception, message: str) -> Any:
        log.warning("backend unavailable: %r", exc, exc_info=exc)
        return _error(message, 503)

    @app.errorhandler(BackendUnavailable)
    def backend_unavailable(exc: BackendUnavailable) -> Any:
        return unavailable(exc, exc.message)

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(OperationalError)
    def backend_error(exc: Exception) -> Any:
        return unavailable(exc, "a backend service is unavailable; try again shortly")

    @app.errorhandler(StorageError)
    def storage_error(exc: StorageError) -> Any:
        log.warning("storage error: %s", exc)
        return _error("the screenshot storage is unavailable; try again shortly", 503)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        log.exception("unhandled error")
        return _error("internal error", 500)


class _Gateway(Flask):
    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's own answer, remembered per function: Flask asks ``inspect`` about every
        view and hook on every request, four times per /async."""
        sync = self._sync.get(func)
        if sync is None:
            sync = self._sync[func] = super().ensure_sync(func)
        return sync


def create_app(settings: Settings | None = None, services: GatewayServices | None = None) -> Flask:
    settings = settings or load_settings()
    app = _Gateway(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["browsing"] = services or GatewayServices.build(settings)

    from gateway import sessions  # noqa: F401 - adds its routes to the blueprint
    from gateway.admin import bp as admin_bp
    from gateway.api import bp as api_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)
    from gateway.console import bp as console_bp

    app.register_blueprint(console_bp)
    _register_error_handlers(app)
    cors.install(app, settings.cors_origins)
    wsgi_app = app.wsgi_app

    def unbinding(environ: dict[str, Any], start_response: Any) -> Any:
        """A request's log binding (its task id) ends with it: a kept-alive connection's
        next request runs in the same thread or greenlet. Cheaper than a teardown hook."""
        try:
            return wsgi_app(environ, start_response)
        finally:
            logs.unbind()

    app.wsgi_app = unbinding  # type: ignore[method-assign]
    from gateway import metrics

    metrics.install(app)

    @app.get("/api/v1/openapi.json")
    def openapi() -> Response:
        spec = (resources.files("gateway") / "openapi.json").read_text()
        return Response(spec, mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    def probe() -> redis.Redis:
        """Redis for readiness: bounded by BROWSING_READINESS_TIMEOUT_S like the storage's
        check (the service's own client waits 5 s a try and retries: /readyz took 20 s
        on a hung Redis, longer than any probe waits)."""
        client = app.extensions.get("browsing-probe")
        if client is None:
            client = redis_client(settings, probe_timeout_s=settings.readiness_timeout_s)
            app.extensions["browsing-probe"] = client
        return client

    @app.get("/readyz")
    def readyz() -> Any:
        """Ready when Redis and the screenshot storage both answer; 503 names what does not."""
        svc: GatewayServices = app.extensions["browsing"]
        checks = {"redis": "ok", "s3": "ok"}
        # Anyone may ask: say which backend is down, never its host, port or error text
        # (the logs have those).
        try:
            probe().ping()
        except redis.RedisError as exc:
            log.warning("readiness: redis unavailable: %r", exc)
            checks["redis"] = "unavailable"
        try:
            svc.storage.ping()
        except StorageError as exc:
            log.warning("readiness: s3 unavailable: %s", exc.message)
            checks["s3"] = "unavailable"
        down = sorted(name for name, state in checks.items() if state != "ok")
        if down:
            body = {"error": f"not ready: {', '.join(down)} unavailable", "checks": checks}
            return jsonify(body), 503
        return jsonify({"status": "ready", "checks": checks})

    return app
