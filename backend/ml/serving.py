"""Predictions in the web process, with NumPy only: live ETAs and at-risk stops.

The active version's export is loaded lazily, once per process, keyed by (folder, version);
a missing or corrupted artifact is logged once and every answer falls back to the plan's
estimate (``source="plan"``), so the dispatch screens never fail because of a model.

Plugging into the Dispatch page: call :func:`live_etas` with the session, the settings, the
depot ids in scope, the service day and the clock's now; each :class:`StopEta` carries the
stop id, P10/P50/P90 arrival times, the source and the model version.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db.models import ROUTES_IN_FORCE, Route
from backend.ml import registry
from backend.ml.eta import ETA_MODEL, REFERENCE_DIR, reference_minutes
from backend.ml.eta_data import address_history, build_features, legs_query
from backend.ml.numpy_model import ArtifactError, NumpyModel

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
# (artifact folder, version) -> model, or None for an artifact that failed to load (logged once).
_MODELS: dict[tuple[str, int], NumpyModel | None] = {}
# The same for each version's reference network (drift's yardstick); None: the plan instead.
_REFERENCES: dict[tuple[str, int], NumpyModel | None] = {}


def load_model(settings: Settings, name: str, version: int) -> NumpyModel | None:
    """The exported model of `name` v`version`, loaded once per process; None if unusable."""
    folder = registry.artifact_dir(settings, name, version)
    key = (str(folder), version)
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
        try:
            model: NumpyModel | None = NumpyModel.load(folder)
        except ArtifactError as exc:
            log.error("model %s v%s unusable, falling back to the plan: %s", name, version, exc)
            model = None
        _MODELS[key] = model
        return model


def load_reference(settings: Settings, name: str, version: int) -> NumpyModel | None:
    """`name` v`version`'s reference network, loaded once per process; None if it has none.

    Versions trained before the two-stage model have no ``reference/`` folder: they measured
    today's drift against the plan, and so they still do (logged once).
    """
    folder = registry.artifact_dir(settings, name, version) / REFERENCE_DIR
    key = (str(folder), version)
    with _LOCK:
        if key in _REFERENCES:
            return _REFERENCES[key]
        reference: NumpyModel | None = None
        if not folder.exists():
            log.warning(
                "model %s v%s has no reference network (an older artifact): "
                "today's drift is measured against the plan",
                name,
                version,
            )
        else:
            try:
                reference = NumpyModel.load(folder)
            except ArtifactError as exc:
                log.error(
                    "model %s v%s: reference network unusable, drift measured against the plan: %s",
                    name,
                    version,
                    exc,
                )
        _REFERENCES[key] = reference
        return reference


def clear_model_cache() -> None:
    """Forget loaded models (tests; a retrained version has a new key anyway)."""
    with _LOCK:
        _MODELS.clear()
        _REFERENCES.clear()


def active_model(
    session: Session, settings: Settings, *, name: str = ETA_MODEL
) -> tuple[int, NumpyModel] | None:
    """The active version's number and model, or None (none active, or its artifact is bad)."""
    row = registry.active_version(session, name=name)
    if row is None:
        return None
    model = load_model(settings, name, row.version)
    return (row.version, model) if model is not None else None


@dataclass(frozen=True)
class StopEta:
    """When a vehicle should reach one open stop: P10/P50/P90 and where the figure came from."""

    stop_id: int
    route_id: int
    order_id: int | None
    sequence: int
    p10: datetime
    p50: datetime
    p90: datetime
    window_end: datetime | None
    source: str  # "model" or "plan"
    model_version: int | None

    @property
    def at_risk(self) -> bool:
        """Whether the pessimistic (P90) arrival is past the stop's window end."""
        return self.window_end is not None and self.p90 > self.window_end


def predict_legs(
    model: NumpyModel,
    legs: pd.DataFrame,
    *,
    depart: pd.Series | None = None,
    history: pd.DataFrame | None = None,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Quantile predictions (rows, [leg, service], quantiles) in minutes for `legs`.

    `reference` is the reference network's minutes per leg (:func:`reference_minutes`), the
    second yardstick today's drift is measured against; None leaves only the plan's.
    """
    features = build_features(legs, depart=depart, history=history, reference=reference)
    return model.predict(features)


def live_etas(
    session: Session,
    settings: Settings,
    *,
    day: date,
    now: datetime,
    depot_ids: list[int] | None = None,
    route_ids: list[int] | None = None,
    until: date | None = None,
) -> list[StopEta]:
    """ETAs for every open stop of the day's routes in force (one query for the stops).

    `until` widens the days to `day`..`until` (routes of depots in other time zones).

    Legs are chained per route from the last departure (or now, if later): each leg starts
    when the previous stop's predicted service ends. The P10/P90 spread of the chain adds the
    legs' lower and upper half-spreads in quadrature (independent errors), an approximation
    that keeps the interval from growing linearly with the number of stops.
    """
    query = legs_query(
        depot_ids=depot_ids, since=day, until=until or day, route_ids=route_ids, driven_only=False
    ).where(Route.status.in_([s.value for s in ROUTES_IN_FORCE]))
    result = session.execute(query)
    legs = pd.DataFrame(result.all(), columns=list(result.keys()))
    if legs.empty:
        return []
    legs = _as_times(legs)
    active = active_model(session, settings)
    history = None
    reference = None
    if active is not None:
        addresses = [a for a in legs["address"].dropna().unique().tolist()]
        history = _address_history(session, addresses)
        reference = load_reference(settings, ETA_MODEL, active[0])
    return chain_etas(legs, active, now=now, history=history, reference=reference)


def _address_history(session: Session, addresses: list[str]) -> pd.DataFrame:
    from backend.db.models import Order

    if not addresses:
        return pd.DataFrame(columns=["address_service_mean", "address_visits"])
    # Past stops at these addresses only: one query, aggregated here (portable time arithmetic).
    query = legs_query().where(Order.address.in_(addresses))
    result = session.execute(query)
    past = _as_times(pd.DataFrame(result.all(), columns=list(result.keys())))
    return address_history(past)


TIME_COLUMNS = (
    "planned_arrival_at",
    "planned_departure_at",
    "actual_arrival_at",
    "actual_departure_at",
    "prev_planned_dep",
    "prev_actual_dep",
    "window_start",
    "window_end",
)


def _as_times(legs: pd.DataFrame) -> pd.DataFrame:
    for column in TIME_COLUMNS:
        if column in legs.columns:
            legs[column] = pd.to_datetime(legs[column], utc=True)
    return legs


def chain_etas(
    legs: pd.DataFrame,
    active: tuple[int, NumpyModel] | None,
    *,
    now: datetime,
    history: pd.DataFrame | None = None,
    reference: NumpyModel | None = None,
) -> list[StopEta]:
    """Chain predictions along each route's open stops (see :func:`live_etas`).

    With a `reference` network, today's drift is also measured against its minutes for the
    legs done so far (the two-stage model); without one, against the plan alone (versions
    trained before it, or whose reference is unusable: that drift is then unknown, imputed).
    """
    legs = legs.sort_values(["route_id", "sequence"]).reset_index(drop=True)
    now_ts = pd.Timestamp(now).tz_convert("UTC")
    open_mask = legs["actual_arrival_at"].isna().to_numpy()
    if not open_mask.any():
        return []
    version, model = active if active is not None else (None, None)
    # Where each route stands: the last actual departure (or now, if later).
    # Open legs get their predicted departures step by step; until then, the planned one.
    depart = legs["prev_actual_dep"].fillna(legs["prev_planned_dep"])
    cursor: dict[int, pd.Timestamp] = {}
    spread: dict[int, tuple[float, float]] = {}
    for route_id, group in legs.groupby("route_id"):
        done = group[group["actual_departure_at"].notna()]
        last = done["actual_departure_at"].max() if len(done) else group["prev_planned_dep"].min()
        if pd.isna(last):
            last = now_ts
        cursor[int(route_id)] = max(pd.Timestamp(last), now_ts).floor("s")
        spread[int(route_id)] = (0.0, 0.0)
    # Drift reads only legs done before each open leg departs, and those legs' features do not
    # change as the chain moves on: one reference pass serves every step.
    reference_min = None
    if model is not None and reference is not None:
        try:
            reference_min = reference_minutes(reference, legs, depart=depart, history=history)
        except (KeyError, ValueError) as exc:
            log.error("ETA reference of v%s failed on live data, drift vs plan: %s", version, exc)
    out: list[StopEta] = []
    steps = legs[open_mask].groupby("route_id").cumcount().to_numpy()
    open_index = np.flatnonzero(open_mask)
    for step in range(int(steps.max()) + 1 if len(steps) else 0):
        rows = open_index[steps == step]
        route_of = legs.loc[rows, "route_id"].astype(int).to_numpy()
        depart.loc[rows] = pd.to_datetime([cursor[r] for r in route_of], utc=True).astype(
            depart.dtype
        )
        predicted = None
        if model is not None:
            try:
                predicted = predict_legs(
                    model, legs, depart=depart, history=history, reference=reference_min
                )[rows]
            except (KeyError, ValueError) as exc:
                log.error("ETA model v%s failed on live data, using the plan: %s", version, exc)
                model, version = None, None
        plan_min = (
            legs.loc[rows, "planned_arrival_at"] - legs.loc[rows, "prev_planned_dep"]
        ).dt.total_seconds().to_numpy() / 60
        plan_service = (
            legs.loc[rows, "planned_departure_at"] - legs.loc[rows, "planned_arrival_at"]
        ).dt.total_seconds().to_numpy() / 60
        for i, row in enumerate(rows):
            r = int(route_of[i])
            start = cursor[r]
            lo2, hi2 = spread[r]
            if predicted is not None:
                p10, p50, p90 = predicted[i, 0]
                s10, s50, s90 = predicted[i, 1]
                lo2 += (p50 - p10) ** 2
                hi2 += (p90 - p50) ** 2
                service_lo, service_hi = (s50 - s10) ** 2, (s90 - s50) ** 2
                source = "model"
            else:
                p50, s50 = max(0.0, plan_min[i]), max(0.0, plan_service[i])
                service_lo = service_hi = 0.0
                source = "plan"
            arrival = (start + pd.Timedelta(minutes=float(p50))).floor("s")
            window_end = legs.at[row, "window_end"] if "window_end" in legs.columns else None
            out.append(
                StopEta(
                    stop_id=int(legs.at[row, "stop_id"]),
                    route_id=r,
                    order_id=_int_or_none(legs.at[row, "order_id"]),
                    sequence=int(legs.at[row, "sequence"]),
                    p10=(arrival - pd.Timedelta(minutes=float(np.sqrt(lo2))))
                    .floor("s")
                    .to_pydatetime(),
                    p50=arrival.to_pydatetime(),
                    p90=(arrival + pd.Timedelta(minutes=float(np.sqrt(hi2))))
                    .ceil("s")
                    .to_pydatetime(),
                    window_end=_time_or_none(window_end),
                    source=source,
                    model_version=version,
                )
            )
            service = s50 if legs.at[row, "kind"] == "delivery" and not np.isnan(s50) else 0.0
            cursor[r] = (arrival + pd.Timedelta(minutes=float(service))).floor("s")
            spread[r] = (lo2 + service_lo, hi2 + service_hi)
    return sorted(out, key=lambda e: (e.route_id, e.sequence))


def _int_or_none(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload]


def _time_or_none(value: object) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").to_pydatetime()


def artifact_health(settings: Settings, name: str, version: int) -> str | None:
    """None when `name` v`version` serves, else why not (for the Models page)."""
    folder: Path = registry.artifact_dir(settings, name, version)
    try:
        NumpyModel.load(folder)
    except ArtifactError as exc:
        return str(exc)
    return None
