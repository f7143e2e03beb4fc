"""Optional upload of a finished version's artifacts to object storage (S3 or compatible).

Off unless ML_S3_BUCKET is set. The client is anything with boto3's
``upload_file(Filename, Bucket, Key)``; boto3 itself is not a dependency, so a deployment that
turns the upload on installs it (the error says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def upload_artifacts(
    folder: Path, *, bucket: str, prefix: str, client: Any | None = None
) -> list[str]:
    """Upload every file of `folder` under `prefix/`; returns the keys written."""
    if client is None:
        try:
            import boto3
        except ImportError as exc:
            raise RuntimeError("ML_S3_BUCKET is set but boto3 is not installed") from exc
        client = boto3.client("s3")
    keys = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix.strip('/')}/{path.relative_to(folder).as_posix()}"
        client.upload_file(Filename=str(path), Bucket=bucket, Key=key)
        keys.append(key)
    return keys
