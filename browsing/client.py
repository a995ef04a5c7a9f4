"""A small Python client for the browsing API, on the standard library alone.

    >>> client = BrowsingClient()  # BROWSING_URL, BROWSING_API_KEY
    >>> task_id = client.submit("Open https://example.com and return the title",
    ...                         screenshots="final_only")
    >>> status = client.wait(task_id)
    >>> client.download_screenshots(task_id, "shots")

Every failure is a ``ClientError`` (a ``BrowsingError``)::

    ClientError        status is the HTTP status, message the body's "error" text
    └── WaitTimeout    wait() gave up while the task was still unfinished (status 0)

``status`` is 0 when there is no HTTP error status to report: the gateway could not be
reached, its answer was unusable, or a screenshot name was refused. A submit refused by a
per-user limit is status 429, and ``retry_after`` says in how many seconds to try again
(the ``Retry-After`` header; None when an answer has none).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import mimetypes
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.artifacts import ARTIFACT_NAME
from shared.errors import BrowsingError
from shared.webhooks import verify as verify_webhook

__all__ = ["BrowsingClient", "ClientError", "WaitTimeout", "task_request", "verify_webhook"]

URL_ENV = "BROWSING_URL"
API_KEY_ENV = "BROWSING_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1/browsing"
ADMIN_PREFIX = "/api/v1/admin"
# Per HTTP request; /sync gets its own, longer limit.
DEFAULT_TIMEOUT_S = 30.0
# The gateway holds a /sync request up to BROWSING_SYNC_TIMEOUT_S (600 s by default).
SYNC_HTTP_TIMEOUT_S = 630.0
DEFAULT_POLL_S = 0.5
# An event stream sends a keep-alive comment every 15 s (BROWSING_EVENTS_KEEPALIVE_S).
EVENTS_READ_TIMEOUT_S = 60.0
EVENTS_END_ID = "end"  # the id of a stream's final status event
DOWNLOAD_CHUNK_BYTES = 64 * 1024
TERMINAL_STATUSES = frozenset({"completed", "failed"})
# The gateway serves nothing else; anything different must not become a path on disk.
SCREENSHOT_NAME = re.compile(r"^screenshot-\d{2,3}\.png\Z")

StatusCallback = Callable[[dict[str, Any]], None]
ByteProgress = Callable[[int, int | None], None]
FileProgress = Callable[[str, int, int | None], None]


class ClientError(BrowsingError):
    """The browsing API request failed."""

    def __init__(
        self, status: int, message: str, body: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after  # seconds, from a Retry-After header (429, 503)

    def __str__(self) -> str:
        if not self.status:
            return self.message
        if self.retry_after is not None:
            return f"{self.message} (HTTP {self.status}, retry after {self.retry_after:g} s)"
        return f"{self.message} (HTTP {self.status})"


class WaitTimeout(ClientError):
    """The task did not finish in time."""


def task_request(
    task: str,
    *,
    screenshots: str | None = None,
    full_page: bool | None = None,
    country_iso: str | None = None,
    node_uid: str | None = None,
    fanout: int | None = None,
    session_key: str | None = None,
    session_persist: bool | None = None,
    template: str | None = None,
    timeout_ms: int | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    uploads: list[str] | None = None,
    record_trace: bool | None = None,
    output_schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The request body of /async and /sync; options left at None are not sent, and the
    gateway validates the rest (it answers 400, say, for both country_iso and node_uid).
    ``webhook_url``: where the final status is POSTed, signed with ``webhook_secret``
    (``whsec_...``) or, without one, with your own signing secret (``webhook_secret()``).
    ``uploads``: ids that ``upload()`` returned, for the task's file inputs.
    ``record_trace``: keep a Playwright trace of the task (``download_file(..., "trace.zip")``).
    ``output_schema``: a JSON Schema; the payload's ``data`` then matches it."""
    body: dict[str, Any] = {"task": task}
    if record_trace is not None:
        body["record"] = {"trace": record_trace}
    if webhook_url is not None:
        body["webhook"] = {"url": webhook_url}
        if webhook_secret is not None:
            body["webhook"]["secret"] = webhook_secret
    if screenshots is not None or full_page is not None:
        shots: dict[str, Any] = {}
        if screenshots is not None:
            shots["mode"] = screenshots
        if full_page is not None:
            shots["full_page"] = full_page
        body["screenshots"] = shots
    selector = {
        key: value
        for key, value in (("country_iso", country_iso), ("node_uid", node_uid))
        if value is not None
    }
    if selector:
        body["filter"] = selector
    for key, value in (
        ("fanout", fanout),
        ("session_key", session_key),
        ("session_persist", session_persist),
        ("template", template),
        ("timeout", timeout_ms),
        ("uploads", list(uploads) if uploads is not None else None),
        ("output_schema", output_schema),
    ):
        if value is not None:
            body[key] = value
    return body


def checked_screenshot_name(name: str) -> str:
    """``name`` if it is a screenshot file name the gateway can serve, else ClientError."""
    if not isinstance(name, str) or not SCREENSHOT_NAME.match(name):
        raise ClientError(
            0, f"refusing screenshot file name {name!r}: names look like screenshot-01.png"
        )
    return name


def screenshot_names(status: dict[str, Any]) -> list[str]:
    """The screenshot file names of a finished task, from its status (or /sync) body.

    They are listed in ``payload``, a JSON string, as ``{"url": ".../screenshot-01.png"}``
    entries; a bare URL or file name is accepted too."""
    raw = status.get("payload")
    if not raw:
        return []
    try:
        payload = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []  # a payload that is not JSON lists no screenshots
    entries = payload.get("screenshots") if isinstance(payload, dict) else None
    names = []
    for entry in entries or []:
        url = entry.get("url") if isinstance(entry, dict) else entry
        if not isinstance(url, str):
            raise ClientError(0, f"unexpected screenshot entry in the payload: {entry!r}")
        segments = urllib.parse.urlsplit(url).path.split("/")
        if "." in segments or ".." in segments:
            raise ClientError(0, f"refusing screenshot file name {url!r}: it climbs directories")
        names.append(checked_screenshot_name(segments[-1]))
    return names


def file_names(status: dict[str, Any]) -> list[str]:
    """The names of the files a finished task's page downloaded (the payload's
    ``files``), each checked against the names the gateway serves."""
    payload = decoded_payload(status)
    entries = payload.get("files") if isinstance(payload, dict) else None
    names = []
    for entry in entries or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not ARTIFACT_NAME.match(name):
            raise ClientError(0, f"refusing file name {name!r}: not a name the gateway serves")
        names.append(name)
    return names


def decoded_payload(status: dict[str, Any]) -> Any:
    """The payload of a status body, decoded when it is a JSON string."""
    raw = status.get("payload")
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


class BrowsingClient:
    """The browsing API of one gateway, for one API key."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        base_url = base_url or os.environ.get(URL_ENV) or DEFAULT_URL
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ClientError(0, f"the gateway URL must start with http:// or https://: {base_url}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"BrowsingClient({self.base_url!r})"

    # -- the API ---------------------------------------------------------------------

    def submit(self, task: str, *, idempotency_key: str | None = None, **options: Any) -> str:
        """Create a task (POST /async) and return its id; ``options`` are those of
        ``task_request``. With ``idempotency_key``, sending the same request again (a retry
        after a lost answer) returns the first task's id instead of creating another; the
        key used with a different request is a ClientError with status 422."""
        body = task_request(task, **options)
        headers = _idempotency(idempotency_key)
        return str(self._json("POST", "/async", body=body, headers=headers)["task_id"])

    def run_sync(
        self, task: str, *, idempotency_key: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Create a task and wait for its result (POST /sync). A gateway wait timeout is a
        ClientError with status 504 whose ``body["task_id"]`` can still be polled. With
        ``idempotency_key`` (see ``submit``), a retry waits for the first task."""
        return self._json(
            "POST",
            "/sync",
            body=task_request(task, **options),
            timeout_s=SYNC_HTTP_TIMEOUT_S,
            headers=_idempotency(idempotency_key),
        )

    def upload(self, path: str | Path, *, name: str | None = None) -> dict[str, Any]:
        """Store a file for tasks' file inputs (POST /uploads); returns its id, stored
        name, size, content type and expiry. ``name``: the name to send instead of the
        file's own."""
        source = Path(path)
        body, content_type = multipart_file("file", name or source.name, source.read_bytes())
        return self._json("POST", "/uploads", raw=(body, content_type))

    def list_tasks(
        self,
        *,
        status: str | list[str] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page of your tasks, newest first (GET /tasks): ``{"tasks": [...],
        "next_cursor": ...}``; pass ``next_cursor`` back as ``cursor`` for the next page
        (None: no more). ``status``: one status or several; ``limit``: 1..100 (20)."""
        query: dict[str, str] = {}
        if status:
            query["status"] = status if isinstance(status, str) else ",".join(status)
        if limit is not None:
            query["limit"] = str(limit)
        if cursor:
            query["cursor"] = cursor
        return self._json("GET", "/tasks", query=query or None)

    def iter_tasks(
        self, *, status: str | list[str] | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every task of yours still kept, newest first, fetched a page at a time."""
        cursor = None
        while True:
            page = self.list_tasks(status=status, limit=page_size, cursor=cursor)
            yield from page["tasks"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def status(self, task_id: str) -> dict[str, Any]:
        return self._json("GET", "/status", query={"task_id": task_id})

    def wait(
        self,
        task_id: str,
        timeout_s: float | None = None,
        poll_s: float = DEFAULT_POLL_S,
        on_change: StatusCallback | None = None,
    ) -> dict[str, Any]:
        """Poll until the task is completed or failed and return its status body.

        ``on_change(body)`` is called with the first body and then whenever the status
        value changes, or, while the task is queued, its ``queue_position``.
        ``timeout_s=None`` waits as long as it takes: every task has a deadline after
        which the service fails it."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        seen: tuple[Any, Any] | None = None
        while True:
            body = self.status(task_id)
            now = (body.get("status"), body.get("queue_position"))
            if now != seen:
                seen = now
                if on_change is not None:
                    on_change(body)
            if now[0] in TERMINAL_STATUSES:
                return body
            if deadline is not None and time.monotonic() + poll_s > deadline:
                raise WaitTimeout(0, f"task {task_id} still {now[0]} after {timeout_s:g} s", body)
            time.sleep(poll_s)

    def events(
        self, task_id: str, last_event_id: str | None = None, *, reconnects: int = 5
    ) -> Iterator[Event]:
        """The task's live events (GET /events, Server-Sent Events) as they happen:
        ``status`` changes, each agent ``step``, and last the final status body, after
        which the iterator ends. A finished task gives its whole history at once. A
        dropped connection is resumed from the last event seen (``Last-Event-ID``), at
        most ``reconnects`` times in a row; HTTP errors (401, 403, 404) are raised."""
        last_id, failures = last_event_id, 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            timeout_s = max(self.timeout_s, EVENTS_READ_TIMEOUT_S)
            try:
                with self._open(
                    "GET",
                    "/events",
                    query={"task_id": task_id},
                    headers=headers,
                    timeout_s=timeout_s,
                ) as (_url, resp):
                    for event in _read_events(resp):
                        failures = 0
                        last_id = event.id or last_id
                        yield event
                        if event.id == EVENTS_END_ID:
                            return
            except ClientError as exc:
                if exc.status != 0 or failures >= reconnects:
                    raise
            failures += 1
            time.sleep(min(0.2 * 2**failures, 5.0))

    def cancel(self, task_id: str) -> dict[str, Any]:
        """Cancel a task; it ends failed with error "cancelled". 409 if it had finished."""
        return self._json("POST", "/cancel", query={"task_id": task_id})

    def templates(self) -> list[str]:
        return list(self._json("GET", "/templates")["templates"])

    def sessions(self) -> list[dict[str, Any]]:
        """Your sessions with a saved browser state: session_key, updated_at,
        expires_at and size (bytes stored)."""
        return list(self._json("GET", "/sessions")["sessions"])

    def forget_session(self, session_key: str) -> None:
        """Forget a session's browser state; ClientError 404 if there is none."""
        path = "/sessions/" + urllib.parse.quote(session_key, safe="")
        with self._open("DELETE", path) as (_, resp):
            resp.read()

    def webhook_secret(self) -> str:
        """Your own webhook signing secret (``whsec_...``), made on first read: it signs
        your tasks' webhooks that give no secret of their own. Check a delivery with
        ``verify_webhook``."""
        return str(self._json("GET", "/webhook-secret")["secret"])

    def rotate_webhook_secret(self) -> str:
        """A new signing secret; the previous one still signs (a second signature) for
        24 hours, so that receivers can switch to the new one meanwhile."""
        return str(self._json("POST", "/webhook-secret")["secret"])

    # -- the operators' API (admin keys only) ------------------------------------------

    def nodes(self) -> list[dict[str, Any]]:
        """The registered nodes: uid, country, capacity, active, state, last heartbeat."""
        return list(self._json("GET", "/nodes", prefix=ADMIN_PREFIX)["nodes"])

    def set_drained(self, uid: str, drained: bool) -> dict[str, Any]:
        """Drain a node (it takes no new task) or undrain it; its body after the change.
        ClientError 404 when no such node is registered."""
        action = "drain" if drained else "undrain"
        path = f"/nodes/{urllib.parse.quote(uid, safe='')}/{action}"
        return self._json("POST", path, prefix=ADMIN_PREFIX)

    def forget_node(self, uid: str) -> None:
        """Forget a dead node that was retired (it is no longer listed). ClientError 404
        when no such node is registered, 409 while it is alive or has attempts on it."""
        path = "/nodes/" + urllib.parse.quote(uid, safe="")
        with self._open("DELETE", path, prefix=ADMIN_PREFIX) as (_, resp):
            resp.read()

    def download_screenshot(
        self,
        task_id: str,
        name: str,
        dest_path: str | os.PathLike[str],
        progress: ByteProgress | None = None,
    ) -> Path:
        """Stream one screenshot to ``dest_path``; ``progress(done_bytes, total_bytes)``
        follows each chunk (total is None if the gateway sent no length). The file
        appears only once it is complete."""
        checked_screenshot_name(name)
        return self._download(f"/screenshots/{_quoted(task_id)}/{name}", dest_path, progress)

    def download_file(
        self,
        task_id: str,
        name: str,
        dest_path: str | os.PathLike[str],
        progress: ByteProgress | None = None,
    ) -> Path:
        """Stream one file the task's page downloaded, or its trace (``trace.zip``), to
        ``dest_path``, as ``download_screenshot`` does."""
        if not isinstance(name, str) or not ARTIFACT_NAME.match(name):
            raise ClientError(0, f"refusing file name {name!r}: not a name the gateway serves")
        return self._download(f"/files/{_quoted(task_id)}/{name}", dest_path, progress)

    def _download(
        self, route: str, dest_path: str | os.PathLike[str], progress: ByteProgress | None
    ) -> Path:
        path = Path(dest_path)
        partial = path.with_name(path.name + ".part")
        with self._open("GET", route) as (url, resp):
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress is not None:
                progress(done, total)
            try:
                with open(partial, "wb") as out:
                    while chunk := resp.read(DOWNLOAD_CHUNK_BYTES):
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
                if total is not None and done != total:
                    raise ClientError(0, f"download of {url} ended after {done} of {total} bytes")
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
        return path

    def download_screenshots(
        self,
        task_id: str,
        out_dir: str | os.PathLike[str],
        progress: FileProgress | None = None,
    ) -> list[Path]:
        """Download every screenshot of a finished task into ``out_dir`` (created if
        needed), named as the gateway names them; ``progress(name, done, total)``."""
        names = screenshot_names(self.status(task_id))
        if not names:
            return []
        directory = Path(out_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file of that name, a place not writable
            raise ClientError(
                0, f"cannot save screenshots in {str(directory)!r}: {exc.strerror or exc}"
            ) from exc
        saved = []
        for name in names:
            report = None if progress is None else _per_file(progress, name)
            saved.append(self.download_screenshot(task_id, name, directory / name, report))
        return saved

    def fetch_screenshot(self, task_id: str, name: str) -> bytes:
        """One screenshot's bytes, in memory (``download_screenshot`` writes a file)."""
        checked_screenshot_name(name)
        quoted = urllib.parse.quote(task_id, safe=":")
        with self._open("GET", f"/screenshots/{quoted}/{name}") as (url, resp):
            length = resp.headers.get("Content-Length")
            data = resp.read()
        if length and length.isdigit() and len(data) != int(length):
            raise ClientError(0, f"download of {url} ended after {len(data)} of {length} bytes")
        return data

    # -- HTTP ------------------------------------------------------------------------

    def _json(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
        raw: tuple[bytes, str] | None = None,
        prefix: str = API_PREFIX,
    ) -> dict[str, Any]:
        with self._open(
            method,
            path,
            query=query,
            body=body,
            timeout_s=timeout_s,
            headers=headers,
            raw=raw,
            prefix=prefix,
        ) as (url, resp):
            raw = resp.read()
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            raise ClientError(0, f"{url} did not answer JSON: {raw[:200]!r}") from exc
        if not isinstance(decoded, dict):
            raise ClientError(0, f"{url} answered unexpected JSON: {raw[:200]!r}")
        return decoded

    def _open(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
        raw: tuple[bytes, str] | None = None,
        prefix: str = API_PREFIX,
    ) -> _Response:
        """``body`` is sent as JSON; ``raw`` is (bytes, their Content-Type) instead."""
        url = self.base_url + prefix + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data, content_type = raw or (None, "")
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", "browsing-client/0.1")
        if data is not None:
            req.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if self.api_key:
            # Unredirected: a redirect to another host must not carry the key along.
            req.add_unredirected_header("Authorization", f"Bearer {self.api_key}")
        timeout = timeout_s or self.timeout_s
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, url) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise _connection_error(exc, url, timeout) from exc
        return _Response(url, resp, timeout)


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event of a task's stream: ``event`` is "status" or "step",
    ``data`` its JSON document, ``id`` what resumes the stream after it."""

    id: str | None
    event: str
    data: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.id == EVENTS_END_ID


def _read_events(resp: http.client.HTTPResponse) -> Iterator[Event]:
    """Parse an event stream (the WHATWG format): fields up to a blank line; comment
    lines (the keep-alives) are skipped. A stream that ends early just stops."""
    event_id, name, data = None, "message", []
    while True:
        raw = resp.readline()
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                try:
                    document = json.loads("\n".join(data))
                except ValueError as exc:
                    raise ClientError(0, f"unreadable event data: {data[0][:200]!r}") from exc
                yield Event(event_id, name, document if isinstance(document, dict) else {})
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "id":
            event_id = value
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)


class _Response:
    """An open response as ``with ... as (url, resp)``; read errors become ClientError."""

    def __init__(self, url: str, resp: http.client.HTTPResponse, timeout_s: float) -> None:
        self.url, self.resp, self.timeout_s = url, resp, timeout_s

    def __enter__(self) -> tuple[str, http.client.HTTPResponse]:
        return self.url, self.resp

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.resp.close()
        if isinstance(exc, (OSError, http.client.HTTPException)):
            raise _connection_error(exc, self.url, self.timeout_s) from exc


def multipart_file(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body holding one file, and its Content-Type."""
    boundary = "browsing-" + uuid.uuid4().hex
    quoted = re.sub(r'[\r\n"\\]', "_", filename)
    media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{quoted}"\r\nContent-Type: {media}\r\n\r\n'
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


def _quoted(task_id: str) -> str:
    return urllib.parse.quote(task_id, safe=":")


def _idempotency(key: str | None) -> dict[str, str] | None:
    return None if key is None else {"Idempotency-Key": key}


def _per_file(progress: FileProgress, name: str) -> ByteProgress:
    return lambda done, total: progress(name, done, total)


def _http_error(exc: urllib.error.HTTPError, url: str) -> ClientError:
    try:
        raw = exc.read()
    except (OSError, http.client.HTTPException):
        raw = b""
    finally:
        exc.close()
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        message = body["error"]
    else:
        text = " ".join(str(body).split())[:200]
        message = f"{exc.reason or 'HTTP error'} from {url}" + (f": {text}" if text else "")
    return ClientError(exc.code, message, body, _retry_after(exc.headers.get("Retry-After")))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _connection_error(exc: BaseException, url: str, timeout_s: float) -> ClientError:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return ClientError(0, f"no answer from {url} within {timeout_s:g} s")
    detail = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return ClientError(0, f"cannot reach the browsing gateway at {url}: {detail}")
