"""What the Models page shows: the registry and, for one version, its curves and held-out sample."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.config import Settings
from backend.ml import registry


@dataclass(frozen=True)
class VersionRow:
    """One registry line."""

    id: int
    name: str
    version: int
    status: str
    created_at: datetime
    data_from: date | None
    data_to: date | None
    leg_mae: float | None
    coverage: float | None
    message: str


@dataclass(frozen=True)
class VersionDetail:
    """Training curves and a held-out sample of one version (empty when its files are gone)."""

    version: int
    history: dict[str, list[float]]
    sample: dict[str, Any]
    forecast: list[dict[str, Any]]


def list_registry(session: Session, *, limit: int = 20) -> list[VersionRow]:
    """The newest versions of every model, in one query."""
    rows = []
    for row in registry.list_versions(session, limit=limit):
        leg = (row.metrics or {}).get("per_target", {}).get("leg_min", {})
        rows.append(
            VersionRow(
                id=row.id,
                name=row.name,
                version=row.version,
                status=row.status,
                created_at=row.created_at,
                data_from=row.data_from,
                data_to=row.data_to,
                leg_mae=leg.get("mae"),
                coverage=leg.get("coverage"),
                message=row.message,
            )
        )
    return rows


def version_detail(settings: Settings, name: str, version: int) -> VersionDetail:
    """Read the version's history, held-out sample and forecast files (missing: empty)."""
    folder = registry.artifact_dir(settings, name, version)

    def read(file: str, default: Any) -> Any:
        try:
            return json.loads((folder / file).read_text())
        except (OSError, ValueError):
            return default

    return VersionDetail(
        version=version,
        history=read("history.json", {}),
        sample=read("validation_sample.json", {}),
        forecast=read("forecast.json", []),
    )
