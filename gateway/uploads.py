"""POST /uploads and GET /uploads/<id>, and the ``uploads`` of a task request.

The body of an upload is the one request body allowed past BROWSING_MAX_REQUEST_BYTES:
its view raises this request's own limit to the upload cap (plus room for the
multipart framing) before anything reads the body, so every other route keeps the
small limit. The file part is spooled by Werkzeug (to disk past 500 KB), measured,
and only then stored: a file over the cap is refused with 413 and nothing is written.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from shared.clock import iso_utc
from shared.errors import NotFoundError, PayloadTooLarge, UnsupportedMediaType, ValidationError
from shared.request import TaskRequest
from shared.uploads import (
    Upload,
    UploadStore,
    content_type_of,
    parse_upload_ids,
    safe_file_name,
)

# Room for the multipart boundary and part headers around the file's own bytes.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


def _services() -> Any:
    return current_app.extensions["browsing"]


def upload_store() -> UploadStore:
    ext = current_app.extensions
    found = ext.get("browsing-uploads")
    if found is None:
        found = ext.setdefault("browsing-uploads", UploadStore(_services().storage))
    return found


def _too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the file is larger than the {cap} bytes allowed "
        f"({cap / 1024 / 1024:g} MiB, BROWSING_MAX_UPLOAD_BYTES); nothing was stored"
    )


def upload_body(store: UploadStore, upload: Upload) -> dict[str, Any]:
    return {
        "id": upload.id,
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "created_at": iso_utc(upload.created_ms),
        "expires_at": iso_utc(store.expires_ms(upload)),
    }


def create_upload() -> Any:
    svc = _services()
    cap = svc.settings.max_upload_bytes
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            "an upload is multipart/form-data with one part named file "
            "(curl -F file=@report.pdf), not "
            f"{request.mimetype or 'a body without Content-Type'!r}"
        )
    request.max_content_length = cap + MULTIPART_OVERHEAD_BYTES
    try:
        parts = request.files.getlist("file")
    except RequestEntityTooLarge as exc:
        raise _too_large(cap) from exc
    if not parts and "file" in request.form:
        raise ValidationError(
            "the file part is a plain form field, not a file: send it as file=@report.pdf"
        )
    if not parts:
        raise ValidationError("missing file: send one part named file (curl -F file=@report.pdf)")
    if len(parts) > 1:
        raise ValidationError("send one part named file per upload, not several")
    part = parts[0]
    name = safe_file_name(part.filename)
    stream = part.stream
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    if size > cap:
        raise _too_large(cap)
    store = upload_store()
    upload = store.put(
        g.user,
        name=name,
        body=stream,
        size=size,
        content_type=content_type_of(part.mimetype),
        now_ms=svc.store.now_ms(),
    )
    return jsonify(upload_body(store, upload)), 201


def get_upload(upload_id: str) -> Any:
    """The caller's own upload's metadata (never its bytes: they are for tasks)."""
    store = upload_store()
    upload = store.find(g.user, upload_id, now_ms=_services().store.now_ms())
    return jsonify(upload_body(store, upload))


def attach_uploads(req: TaskRequest, body: Any, owner: str) -> TaskRequest:
    """``req`` with the uploads its body lists, each checked to be the owner's and
    unexpired; 400 for a malformed list, 404 naming the first id that is not found."""
    ids = parse_upload_ids(body.get("uploads") if isinstance(body, dict) else None)
    if not ids:
        return req
    store = upload_store()
    now_ms = _services().store.now_ms()
    refs = []
    for upload_id in ids:
        try:
            refs.append(store.find(owner, upload_id, now_ms=now_ms).ref())
        except NotFoundError as exc:
            raise NotFoundError(f"uploads: {exc.message}; upload it first (POST /uploads)") from exc
    names = [ref.name for ref in refs]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        # The instruction names a file by its name: two of one name could not be told apart.
        raise ValidationError(f"uploads: two of the listed uploads are named {twice!r}")
    return dataclasses.replace(req, uploads=tuple(refs))


def register(bp: Blueprint) -> None:
    """Add the routes to the browsing blueprint, behind its authentication."""
    bp.add_url_rule("/uploads", view_func=create_upload, methods=["POST"])
    bp.add_url_rule("/uploads/<upload_id>", view_func=get_upload, methods=["GET"])
