"""Task files on any S3-compatible endpoint, through boto3.

Keys: ``screenshots/<task_id>/<attempt>/screenshot-01.png``, and the attempt's other
artifacts (downloaded files, its trace) in its ``files/`` part (shared/artifacts.py).
Each attempt of a fanout race writes under its own prefix, so a loser can never
overwrite the winner's files; the gateway serves only the winning attempt's files.

Every object under a retained prefix (``s3_prefix`` and ``RETAINED_PREFIXES``) expires
after the retention: a lifecycle rule per prefix, and the sweeper for stores that
ignore those rules.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.config import Settings
from shared.errors import NotFoundError, StorageError

log = logging.getLogger(__name__)

LIFECYCLE_RULE_ID = "browsing-screenshot-expiry"
# Prefixes besides ``s3_prefix`` whose objects expire after the retention as well: a
# feature that stores files elsewhere in the bucket adds its prefix here, and the
# lifecycle rules and the sweeper cover it (each gets a rule "<LIFECYCLE_RULE_ID>:<prefix>").
RETAINED_PREFIXES: tuple[str, ...] = ()
FILE_NAME = re.compile(r"^screenshot-\d{2,3}\.png\Z")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def screenshot_name(index: int) -> str:
    """1 -> screenshot-01.png"""
    return f"screenshot-{index:02d}.png"


def screenshot_number(name: str) -> int:
    """screenshot-01.png -> 1"""
    return int(name.removeprefix("screenshot-").removesuffix(".png"))


@dataclass(frozen=True)
class StoredObject:
    body: Iterator[bytes]
    length: int
    content_type: str = "image/png"


class ScreenshotStorage:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self.retention_days = settings.screenshot_retention_days
        # Sessions' sealed browser states (shared/sessionstate.py) live under their own
        # prefix for their own TTL; a lifecycle rule of whole days backs up the sweep.
        self.state_prefix = settings.session_state_prefix
        self.state_days = max(1, math.ceil(settings.session_state_ttl_s / 86_400))
        credentials = {}
        if settings.s3_access_key_id:
            credentials = {
                "aws_access_key_id": settings.s3_access_key_id,
                "aws_secret_access_key": settings.s3_secret_access_key,
            }

        def client(connect_s: float, read_s: float, attempts: int) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=settings.s3_endpoint_url or None,
                region_name=settings.s3_region,
                config=Config(
                    connect_timeout=connect_s,
                    read_timeout=read_s,
                    retries={"total_max_attempts": attempts, "mode": "standard"},
                    s3={"addressing_style": "path"},
                ),
                **credentials,
            )

        self.client = client(
            settings.s3_connect_timeout_s, settings.s3_read_timeout_s, settings.s3_max_attempts
        )
        # Readiness answers within its own short budget, whatever the calls above allow.
        probe_s = settings.readiness_timeout_s
        self._probe = client(probe_s, probe_s, 1)
        self._bucket_ready = False

    @property
    def retained_prefixes(self) -> tuple[str, ...]:
        extra = tuple(p for p in RETAINED_PREFIXES if p and p != self.prefix)
        return (self.prefix, *extra)

    def key(self, task_id: str, attempt: int, name: str) -> str:
        return f"{self.prefix}{task_id}/{attempt}/{name}"

    def ensure_bucket(self) -> None:
        """Create the bucket if needed and merge our expiry rule into its lifecycle rules.

        Without the permission to manage the lifecycle rules (a role limited to objects,
        the rules kept by the operator's own tooling), files are stored all the same:
        the service enforces the retention itself (404 after it, and the sweeper)."""
        if self._bucket_ready:
            return
        try:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) not in ("404", "NoSuchBucket"):
                    raise
                self._create_bucket()
            try:
                self._merge_lifecycle_rule()
            except ClientError as exc:
                if _code(exc) not in ("AccessDenied", "NotImplemented"):
                    raise
                log.warning(
                    "cannot manage the lifecycle rules of bucket %r (%s): files are kept "
                    "and expired by the service's own sweeper only",
                    self.bucket,
                    _code(exc),
                )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot prepare bucket {self.bucket!r}: {exc}") from exc
        self._bucket_ready = True

    def _create_bucket(self) -> None:
        """Outside us-east-1, AWS (and moto, and stores that mimic it) want the region
        named, or answer IllegalLocationConstraintException."""
        region = self.client.meta.region_name
        where = {}
        if region and region != "us-east-1":
            where = {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            self.client.create_bucket(Bucket=self.bucket, **where)
        except ClientError as exc:  # another process created it meanwhile
            if _code(exc) != "BucketAlreadyOwnedByYou":
                raise

    def _merge_lifecycle_rule(self) -> None:
        # put_bucket_lifecycle_configuration replaces every rule, so keep the others.
        try:
            rules = self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        ours = [
            {
                "ID": LIFECYCLE_RULE_ID
                if prefix == self.prefix
                else f"{LIFECYCLE_RULE_ID}:{prefix}",
                "Filter": {"Prefix": prefix},
                "Status": "Enabled",
                "Expiration": {"Days": self.retention_days},
            }
            for prefix in self.retained_prefixes
        ]
        if self.state_prefix and not self.state_prefix.startswith(self.prefix):
            ours.append(
                {
                    "ID": f"{LIFECYCLE_RULE_ID}:{self.state_prefix}",
                    "Filter": {"Prefix": self.state_prefix},
                    "Status": "Enabled",
                    "Expiration": {"Days": self.state_days},
                }
            )
        if all(rule in rules for rule in ours):
            return
        ids = {rule["ID"] for rule in ours}
        rules = [r for r in rules if r.get("ID") not in ids] + ours
        self.client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": rules}
        )

    def put_png(self, key: str, data: bytes) -> None:
        self.put_file(key, data, "image/png")

    def put_file(self, key: str, data: bytes, content_type: str) -> None:
        """Store one object (a screenshot, a downloaded file, a trace)."""
        self.ensure_bucket()
        try:
            try:
                self._put(key, data, content_type)
            except ClientError as exc:
                if _code(exc) != "NoSuchBucket":
                    raise
                # The store came back empty (a new endpoint after an outage): make the
                # bucket again, with its lifecycle rule, and write once more.
                self._bucket_ready = False
                self.ensure_bucket()
                self._put(key, data, content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot upload {key}: {exc}") from exc

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def open(self, key: str, what: str = "screenshot") -> StoredObject:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                raise NotFoundError(f"{what} not found (it may have expired)") from exc
            raise StorageError(f"cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc
        return StoredObject(
            body=obj["Body"].iter_chunks(64 * 1024),
            length=obj["ContentLength"],
            content_type=obj.get("ContentType") or "application/octet-stream",
        )

    def sweep_expired(self, now_s: float, *, dry_run: bool = False) -> list[str]:
        """Delete every object under a retained prefix (screenshots, downloaded files,
        traces, ...) older than the retention period, for stores that do not enforce
        lifecycle rules (some S3-compatible servers ignore them). Returns the keys
        deleted (or, with ``dry_run``, those that would be)."""
        cutoff = now_s - self.retention_days * 86_400
        expired: list[str] = []
        try:
            for prefix in self.retained_prefixes:
                pages = self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=prefix
                )
                for page in pages:
                    for obj in page.get("Contents", ()):
                        if obj["LastModified"].timestamp() < cutoff:
                            expired.append(obj["Key"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                return []
            raise StorageError(f"cannot list {self.bucket!r}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot list {self.bucket!r}: {exc}") from exc
        expired = list(dict.fromkeys(expired))  # a prefix may lie inside another
        if not dry_run:
            for start in range(0, len(expired), 1000):  # DeleteObjects takes 1,000 at most
                self.delete_keys(expired[start : start + 1000])
        return expired

    def ping(self) -> None:
        """Raise StorageError unless the bucket exists and answers within the readiness
        budget; a missing bucket (a store that came back empty) is made again here."""
        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket"):
                raise StorageError(f"storage unavailable: {exc}") from exc
            self._bucket_ready = False
            self.ensure_bucket()
        except BotoCoreError as exc:
            raise StorageError(f"storage unavailable: {exc}") from exc

    def delete_keys(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {len(keys)} objects: {exc}") from exc
