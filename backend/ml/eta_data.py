"""The ETA model's data: every driven leg and stop from history, and the features built from them.

One set-based query reads every stop of the driven routes with its predecessor (a window
function), its route, vehicle, order and depot. A *leg* runs from the previous stop's actual
departure to this stop's actual arrival; a stop's *service* runs from its actual arrival to its
actual departure (waiting for the window to open included: that is time the driver spends
there). :func:`build_features` turns those rows into features known when the leg starts, so
the same function serves training (history) and live prediction (today's open stops).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from backend.db.base import UTCDateTime
from backend.db.models import ROUTES_DRIVEN, Depot, Order, Route, RouteStop, Vehicle
from backend.ml.holidays import holiday_flags

TARGETS = ("leg_min", "service_min")
QUANTILES = (0.1, 0.5, 0.9)
# Grid cells of about 2 km: fine enough for the Loop, coarse enough to have data in each.
CELL_LAT_DEG = 0.018
CELL_LON_DEG = 0.024
KM_PER_DEG_LAT = 111.2
NUMERIC_FEATURES = (
    "leg_km",
    "log_leg_km",
    "plan_min",
    "log_plan_min",
    "depart_hour",
    "stop_position",
    "nominal_service_min",
    "slack_min",
    "kg",
    "address_service_mean",
    "address_visits",
    "vehicle_drift",
    "vehicle_drift_legs",
    "depot_drift",
    "depot_drift_legs",
    "city_drift",
    "city_drift_legs",
    "vehicle_ref_drift",
    "depot_ref_drift",
    "city_ref_drift",
    "is_end",
    "is_holiday",
    "origin_lat",
    "origin_lon",
    "dest_lat",
    "dest_lon",
    "mid_lat",
    "mid_lon",
)
CATEGORICAL_FEATURES = ("weekday", "hour_slot", "origin_cell", "dest_cell", "vehicle_type")
# Today's drift against the reference network's minutes (the two-stage model's second stage).
REFERENCE_DRIFT_FEATURES = ("vehicle_ref_drift", "depot_ref_drift", "city_ref_drift")
DRIFT_FEATURES = (
    "vehicle_drift",
    "vehicle_drift_legs",
    "depot_drift",
    "depot_drift_legs",
    "city_drift",
    "city_drift_legs",
    *REFERENCE_DRIFT_FEATURES,
)
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


def legs_query(
    *,
    depot_ids: Sequence[int] | None = None,
    since: date | None = None,
    until: date | None = None,
    route_ids: Sequence[int] | None = None,
    driven_only: bool = True,
) -> Select[tuple[object, ...]]:
    """Every non-start stop with its predecessor's position and times, in one statement."""
    s = RouteStop
    stops = select(
        s.id.label("stop_id"),
        s.route_id,
        s.sequence,
        s.kind,
        s.order_id,
        s.lat,
        s.lon,
        s.status.label("stop_status"),
        s.planned_arrival_at,
        s.planned_departure_at,
        s.actual_arrival_at,
        s.actual_departure_at,
        func.lag(s.lat).over(partition_by=s.route_id, order_by=s.sequence).label("prev_lat"),
        func.lag(s.lon).over(partition_by=s.route_id, order_by=s.sequence).label("prev_lon"),
        func.lag(s.planned_departure_at, type_=UTCDateTime())
        .over(partition_by=s.route_id, order_by=s.sequence)
        .label("prev_planned_dep"),
        func.lag(s.actual_departure_at, type_=UTCDateTime())
        .over(partition_by=s.route_id, order_by=s.sequence)
        .label("prev_actual_dep"),
    ).subquery("stops")
    query = (
        select(
            stops,
            Route.vehicle_id,
            Route.depot_id,
            Route.service_date,
            Vehicle.vehicle_type,
            Depot.timezone,
            Order.address,
            Order.service_minutes.label("nominal_service_min"),
            Order.window_start,
            Order.window_end,
            Order.demand,
        )
        .join(Route, Route.id == stops.c.route_id)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .join(Depot, Depot.id == Route.depot_id)
        .outerjoin(Order, Order.id == stops.c.order_id)
        .where(stops.c.kind != "start", stops.c.prev_lat.is_not(None))
        .order_by(stops.c.route_id, stops.c.sequence)
    )
    if driven_only:
        query = query.where(Route.status.in_([s.value for s in ROUTES_DRIVEN]))
    if depot_ids is not None:
        query = query.where(Route.depot_id.in_(list(depot_ids)))
    if since is not None:
        query = query.where(Route.service_date >= since)
    if until is not None:
        query = query.where(Route.service_date <= until)
    if route_ids is not None:
        query = query.where(and_(Route.id.in_(list(route_ids))))
    return query


def load_legs(session: Session, **filters: object) -> pd.DataFrame:
    """The rows of :func:`legs_query` as a DataFrame, times as UTC datetimes."""
    result = session.execute(legs_query(**filters))  # type: ignore[arg-type]
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for column in (
        "planned_arrival_at",
        "planned_departure_at",
        "actual_arrival_at",
        "actual_departure_at",
        "prev_planned_dep",
        "prev_actual_dep",
        "window_start",
        "window_end",
    ):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def cell(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The grid cell of each point, as 'row:col' labels."""
    rows = np.floor(np.asarray(lat, dtype=float) / CELL_LAT_DEG).astype(int)
    cols = np.floor(np.asarray(lon, dtype=float) / CELL_LON_DEG).astype(int)
    return np.char.add(np.char.add(rows.astype(str), ":"), cols.astype(str))


def grid_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Manhattan distance in km: street grids make it closer to road km than great circles."""
    mid = np.radians((np.asarray(lat1) + np.asarray(lat2)) / 2)
    dlat = np.abs(np.asarray(lat2) - np.asarray(lat1)) * KM_PER_DEG_LAT
    dlon = np.abs(np.asarray(lon2) - np.asarray(lon1)) * KM_PER_DEG_LAT * np.cos(mid)
    return np.asarray(dlat + dlon, dtype=float)


def _local(times: pd.Series, zones: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Local fractional hour and weekday of aware times, each in its own depot's zone."""
    hour = np.full(len(times), np.nan)
    weekday = np.zeros(len(times), dtype=int)
    for zone in zones.unique():
        mask = (zones == zone).to_numpy()
        local = times[mask].dt.tz_convert(str(zone) or "UTC")
        hour[mask] = (local.dt.hour + local.dt.minute / 60 + local.dt.second / 3600).to_numpy()
        weekday[mask] = local.dt.day_of_week.to_numpy()
    return hour, weekday


def actuals(legs: pd.DataFrame) -> pd.DataFrame:
    """Observed leg and service minutes (NaN where not driven yet, service NaN at the end)."""
    leg = (legs["actual_arrival_at"] - legs["prev_actual_dep"]).dt.total_seconds() / 60
    service = (legs["actual_departure_at"] - legs["actual_arrival_at"]).dt.total_seconds() / 60
    service = service.where(legs["kind"] == "delivery")
    return pd.DataFrame({"leg_min": leg, "service_min": service}, index=legs.index)


def address_history(stops: pd.DataFrame) -> pd.DataFrame:
    """Per address: mean service minutes and visit count (for serving, from all of history)."""
    observed = stops.assign(service_min=actuals(stops)["service_min"]).dropna(
        subset=["service_min", "address"]
    )
    grouped = observed.groupby("address")["service_min"]
    return pd.DataFrame({"address_service_mean": grouped.mean(), "address_visits": grouped.size()})


def _address_history_before_day(legs: pd.DataFrame, service: pd.Series) -> pd.DataFrame:
    # Only strictly earlier days count: a stop must not see its own service time.
    frame = pd.DataFrame(
        {"address": legs["address"], "day": legs["service_date"], "service": service}
    ).dropna(subset=["address"])
    daily = (
        frame.dropna(subset=["service"])
        .groupby(["address", "day"])["service"]
        .agg(["sum", "count"])
    )
    daily = daily.sort_index()
    cum = daily.groupby(level=0).cumsum() - daily
    merged = frame.join(cum, on=["address", "day"])
    mean = merged["sum"] / merged["count"].replace(0, np.nan)
    return pd.DataFrame(
        {"address_service_mean": mean, "address_visits": merged["count"].fillna(0)},
        index=legs.index,
    ).reindex(legs.index)


def _drift(
    legs: pd.DataFrame, depart: pd.Series, leg_actual: pd.Series, expected: pd.Series
) -> pd.DataFrame:
    """How much slower than `expected` this vehicle's, depot's and city's legs ran so far today.

    A log ratio of summed actual to summed expected minutes. Only legs that had *arrived*
    before this leg departs count, so nothing from the future leaks.
    """
    done = pd.DataFrame(
        {
            "route_id": legs["route_id"],
            "depot_day": legs["depot_id"].astype(str) + "/" + legs["service_date"].astype(str),
            "city_day": legs["service_date"].astype(str),
            "arrived": legs["actual_arrival_at"],
            "actual": leg_actual,
            "expected": expected,
        }
    ).dropna(subset=["arrived", "actual"])
    out = pd.DataFrame(index=legs.index)
    queries = pd.DataFrame(
        {
            "row": np.arange(len(legs)),
            "route_id": legs["route_id"].to_numpy(),
            "depot_day": (
                legs["depot_id"].astype(str) + "/" + legs["service_date"].astype(str)
            ).to_numpy(),
            "city_day": legs["service_date"].astype(str).to_numpy(),
            "at": depart.to_numpy(),
        }
    ).dropna(subset=["at"])
    # Weather is one city-wide multiplier per day: every depot's legs so far today measure it.
    for key, name in (("route_id", "vehicle"), ("depot_day", "depot"), ("city_day", "city")):
        observed = done.sort_values("arrived").copy()
        observed["cum_actual"] = observed.groupby(key)["actual"].cumsum()
        observed["cum_expected"] = observed.groupby(key)["expected"].cumsum()
        observed["cum_n"] = observed.groupby(key).cumcount() + 1
        matched = pd.merge_asof(
            queries.sort_values("at"),
            observed[[key, "arrived", "cum_actual", "cum_expected", "cum_n"]],
            left_on="at",
            right_on="arrived",
            by=key,
            allow_exact_matches=True,
            direction="backward",
        ).set_index("row")
        ratio = np.log(matched["cum_actual"] / matched["cum_expected"].clip(lower=0.5))
        drift = np.full(len(legs), np.nan)
        count = np.zeros(len(legs))
        drift[matched.index.to_numpy()] = ratio.to_numpy()
        count[matched.index.to_numpy()] = matched["cum_n"].fillna(0).to_numpy()
        # No leg done yet is "unknown", not "on plan": NaN lets the trainer impute the typical
        # drift. Counts on a log scale: the first few legs matter, the hundredth hardly.
        out[f"{name}_drift"] = drift
        out[f"{name}_drift_legs"] = np.log1p(count)
    return out


def _hour_slot(hour: np.ndarray, weekday: np.ndarray, holidays: np.ndarray) -> np.ndarray:
    """Half-hour of the day by day type ('wd:15' = weekday 07:30): traffic differs by both.

    Holidays count as weekend days. A one-hot of this lets the network learn a sharp daily
    profile per day type instead of bending one continuous hour input into it.
    """
    day_type = np.where((weekday >= 5) | (holidays > 0), "we", "wd")
    slot = np.floor(np.nan_to_num(hour, nan=0.0) * 2).astype(int).astype(str)
    return np.char.add(np.char.add(day_type, ":"), slot)


def build_features(
    legs: pd.DataFrame,
    *,
    depart: pd.Series | None = None,
    history: pd.DataFrame | None = None,
    reference: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Features of each leg as known when it starts, plus the targets where observed.

    `depart` is when each leg starts (default: the previous stop's actual departure, as in
    history; live serving passes its predicted departures). `history` is
    :func:`address_history` of past days (default: computed from `legs` itself, day by day).
    `reference` is the reference network's expected minutes per leg (see
    :func:`backend.ml.eta.train_eta`): today's drift is measured against it as well as against
    the plan (the ``*_ref_drift`` columns; unknown, NaN, without it). Only the values of legs
    already done count, so it may be the reference's prediction for every leg.
    """
    if depart is None:
        depart = legs["prev_actual_dep"]
    observed = actuals(legs)
    plan_min = (legs["planned_arrival_at"] - legs["prev_planned_dep"]).dt.total_seconds() / 60
    plan_min = plan_min.clip(lower=0.0)
    km = grid_km(legs["prev_lat"], legs["prev_lon"], legs["lat"], legs["lon"])
    hour, weekday = _local(depart, legs["timezone"])
    expected_arrival = depart + pd.to_timedelta(plan_min, unit="min")
    slack = (legs["window_start"] - expected_arrival).dt.total_seconds() / 60
    holidays = holiday_flags(legs["service_date"])
    kg = legs["demand"].map(lambda d: float(d.get("kg", 0.0)) if isinstance(d, dict) else 0.0)
    frame = pd.DataFrame(
        {
            "day": legs["service_date"].astype(str),
            "leg_km": km,
            "log_leg_km": np.log1p(km),
            "plan_min": plan_min,
            "log_plan_min": np.log1p(plan_min),
            "depart_hour": hour,
            "stop_position": legs["sequence"].astype(float),
            "nominal_service_min": legs["nominal_service_min"].astype(float).fillna(0.0),
            "slack_min": slack.fillna(0.0).clip(-240, 240),
            "kg": kg.astype(float),
            "is_end": (legs["kind"] == "end").astype(float),
            "is_holiday": holidays,
            "origin_lat": legs["prev_lat"].astype(float),
            "origin_lon": legs["prev_lon"].astype(float),
            "dest_lat": legs["lat"].astype(float),
            "dest_lon": legs["lon"].astype(float),
            "mid_lat": (legs["prev_lat"].astype(float) + legs["lat"].astype(float)) / 2,
            "mid_lon": (legs["prev_lon"].astype(float) + legs["lon"].astype(float)) / 2,
            "weekday": weekday.astype(str),
            "hour_slot": _hour_slot(hour, weekday, holidays),
            "origin_cell": cell(legs["prev_lat"], legs["prev_lon"]),
            "dest_cell": cell(legs["lat"], legs["lon"]),
            "vehicle_type": legs["vehicle_type"].astype(str),
        },
        index=legs.index,
    )
    if history is None:
        addr = _address_history_before_day(legs, observed["service_min"])
    else:
        addr = legs[["address"]].join(history, on="address")[
            ["address_service_mean", "address_visits"]
        ]
    frame["address_service_mean"] = addr["address_service_mean"].astype(float)
    frame["address_visits"] = addr["address_visits"].fillna(0).astype(float)
    frame = frame.join(_drift(legs, depart, observed["leg_min"], plan_min))
    # The plan's ratio to the actual minutes moves with the mix of legs done so far, which
    # changes through the day; against the reference network's minutes that mix is taken out
    # and what is left is mostly the day's weather.
    for name in ("vehicle", "depot", "city"):
        frame[f"{name}_ref_drift"] = np.nan
    if reference is not None:
        expected = pd.Series(np.asarray(reference, dtype=float), index=legs.index)
        against = _drift(legs, depart, observed["leg_min"], expected)
        for name in ("vehicle", "depot", "city"):
            frame[f"{name}_ref_drift"] = against[f"{name}_drift"]
    frame["leg_min"] = observed["leg_min"]
    frame["service_min"] = observed["service_min"]
    return frame


def training_frame(
    legs: pd.DataFrame,
    *,
    with_drift: bool = True,
    reference: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """The table the trainer gets: features, both targets and the day column; bad rows out."""
    frame = build_features(legs, reference=reference)
    frame = frame[frame["leg_min"].notna() & (frame["leg_min"] >= 0)]
    if not with_drift:
        frame = frame.drop(columns=list(DRIFT_FEATURES))
    elif reference is None:  # all unknown: nothing to learn from, so not a feature
        frame = frame.drop(columns=list(REFERENCE_DRIFT_FEATURES))
    return frame.reset_index(drop=True)


def data_range(frame: pd.DataFrame) -> tuple[date | None, date | None]:
    """First and last day of a training frame."""
    if frame.empty:
        return None, None
    days = pd.to_datetime(frame["day"])
    return days.min().date(), days.max().date()


def is_finite(value: float) -> bool:
    """Whether a metric is a real number (JSON has no NaN)."""
    return value is not None and not math.isnan(value) and not math.isinf(value)
