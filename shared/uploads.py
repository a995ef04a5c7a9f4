"""Files a user uploads for tasks to put into a page's file inputs (README, "Uploads").

Where they live: the screenshot bucket, under its prefix, so the same lifecycle rule
and retention sweeper remove them after the same 5 days::

    <s3_prefix>uploads/<owner hash>/<upload id>

The owner's part is a hash of the user name (names may hold any character; keys
should not), and it is the only place ownership is kept: an id is looked up under the
caller's own hash, so another user's id is simply not found. The object's metadata
holds the rest (the file's safe name, its creation time by the service's clock), so one
HEAD answers "what is upload X of user U" and no Redis state needs to agree with S3:
when the object goes, everything about the upload goes with it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import NotFoundError, StorageError, ValidationError
from shared.storage import ScreenshotStorage

UPLOAD_ID = re.compile(r"^up_[0-9a-f]{32}\Z")
MAX_TASK_UPLOADS = 10  # uploads one task may list
MAX_NAME_CHARS = 128
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}"
CONTENT_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}$")
DAY_MS = 86_400_000
# Characters a stored name keeps; every run of others becomes one "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class UploadRef:
    """An upload as a task request holds it: what a node needs to fetch and name it."""

    id: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> UploadRef:
        return cls(id=str(raw["id"]), name=str(raw["name"]))


@dataclass(frozen=True, kw_only=True, slots=True)
class Upload:
    """One stored upload, as ``UploadStore.find`` reads it back."""

    id: str
    name: str
    size: int
    content_type: str
    created_ms: int

    def ref(self) -> UploadRef:
        return UploadRef(id=self.id, name=self.name)


def new_upload_id() -> str:
    return "up_" + secrets.token_hex(16)


def owner_hash(owner: str) -> str:
    """The owner's part of a key: stable, fixed-length, and only hex digits."""
    return hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def safe_file_name(raw: str | None) -> str:
    """The name an upload is stored and used under; ValidationError (400) if there is none.

    A name with a path in it is refused rather than cut down to its last part: a client
    that sends ``../../etc/passwd`` is wrong, and guessing what it meant would hide
    that. Otherwise every run of characters other than ASCII letters, digits, ``.``,
    ``_`` and ``-`` becomes ``_``, leading dots go (no hidden files, no ``..``), and a
    long name is cut to 128 characters, keeping its extension."""
    if raw is None or not raw.strip():
        raise ValidationError("the file part has no file name: send it as file=@report.pdf")
    name = raw.strip()
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ValidationError(
            f"the file name {name[:80]!r} has path parts: send a plain name like report.pdf"
        )
    safe = _UNSAFE.sub("_", name).lstrip(".")
    if not any(c.isalnum() for c in safe):
        raise ValidationError(
            f"the file name {name[:80]!r} has no usable characters (ASCII letters or digits)"
        )
    if len(safe) > MAX_NAME_CHARS:
        stem, dot, ext = safe.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        safe = safe[: MAX_NAME_CHARS - len(ext) - (1 if ext else 0)] + (f".{ext}" if ext else "")
    return safe


def content_type_of(raw: str | None) -> str:
    """The part's declared media type without parameters, or application/octet-stream."""
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if CONTENT_TYPE.match(value) else DEFAULT_CONTENT_TYPE


def parse_upload_ids(raw: Any) -> tuple[str, ...]:
    """A request's ``uploads``: a list of distinct upload ids, at most MAX_TASK_UPLOADS."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValidationError('uploads must be a list of upload ids, e.g. ["up_..."]')
    if len(raw) > MAX_TASK_UPLOADS:
        raise ValidationError(f"uploads lists {len(raw)} files: at most {MAX_TASK_UPLOADS}")
    for item in raw:
        if not isinstance(item, str) or not UPLOAD_ID.match(item):
            shown = json.dumps(item[:40] if isinstance(item, str) else item)[:60]  # null
            raise ValidationError(
                f"uploads: {shown} is not an upload id (they look like up_ and 32 hex "
                "digits, as POST /api/v1/browsing/uploads returns)"
            )
    if len(set(raw)) != len(raw):
        raise ValidationError("uploads lists the same upload id twice")
    return tuple(raw)


class UploadStore:
    """Uploads in the screenshot bucket; every S3 error becomes a StorageError."""

    def __init__(self, storage: ScreenshotStorage) -> None:
        self.storage = storage
        self.retention_ms = storage.retention_days * DAY_MS

    def key(self, owner: str, upload_id: str) -> str:
        return f"{self.storage.prefix}uploads/{owner_hash(owner)}/{upload_id}"

    def put(
        self,
        owner: str,
        *,
        name: str,
        body: IO[bytes],
        size: int,
        content_type: str,
        now_ms: int,
    ) -> Upload:
        upload = Upload(
            id=new_upload_id(), name=name, size=size, content_type=content_type, created_ms=now_ms
        )
        key = self.key(owner, upload.id)
        self.storage.ensure_bucket()
        try:
            self.storage.client.put_object(
                Bucket=self.storage.bucket,
                Key=key,
                Body=body,
                ContentLength=size,
                ContentType=content_type,
                Metadata={"name": name, "created-ms": str(now_ms)},
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store upload {key}: {exc}") from exc
        return upload

    def find(self, owner: str, upload_id: str, *, now_ms: int) -> Upload:
        """The caller's upload ``upload_id``; NotFoundError if it is not one of the
        caller's (another user's is not found either) or if it is past its 5 days."""
        if not UPLOAD_ID.match(upload_id):
            raise NotFoundError(f"upload {upload_id[:40]!r} not found: ids look like up_<hex>")
        try:
            head = self.storage.client.head_object(
                Bucket=self.storage.bucket, Key=self.key(owner, upload_id)
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
                raise NotFoundError(f"upload {upload_id} not found") from exc
            raise StorageError(f"cannot read upload {upload_id}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read upload {upload_id}: {exc}") from exc
        meta = head.get("Metadata") or {}
        created_ms = int(meta.get("created-ms") or head["LastModified"].timestamp() * 1000)
        if now_ms - created_ms > self.retention_ms:
            raise NotFoundError(
                f"upload {upload_id} expired: uploads are kept {self.storage.retention_days} days"
            )
        return Upload(
            id=upload_id,
            name=meta.get("name") or upload_id,
            size=int(head["ContentLength"]),
            content_type=head.get("ContentType") or DEFAULT_CONTENT_TYPE,
            created_ms=created_ms,
        )

    def expires_ms(self, upload: Upload) -> int:
        return upload.created_ms + self.retention_ms

    def download(self, owner: str, upload_id: str, path: Path) -> None:
        """Write the upload's bytes to ``path``; NotFoundError if it is gone."""
        try:
            self.storage.client.download_file(
                self.storage.bucket, self.key(owner, upload_id), str(path)
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
                raise NotFoundError(f"upload {upload_id} is no longer stored") from exc
            raise StorageError(f"cannot read upload {upload_id}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read upload {upload_id}: {exc}") from exc
