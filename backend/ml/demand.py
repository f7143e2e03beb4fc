"""Demand forecast: orders per depot, zone and local hour for the next days, with intervals.

scikit-learn gradient boosting (no TensorFlow): one model for the median and two quantile
models for a P10-P90 interval. A slot is (depot, zone, local hour of the window start, day);
features are the slot's calendar (weekday, hour), its identity (depot, zone) and its own
history at whole-week lags, so a forecast up to seven days ahead only uses known days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Depot, Order
from backend.ml.holidays import holiday_flags

# Demand zones are coarser than the ETA model's cells: about 6 km, so counts are not all 0/1.
ZONE_LAT_DEG = 0.054
ZONE_LON_DEG = 0.072
LAGS_WEEKS = (1, 2, 3, 4)
HORIZON_DAYS = 7
# Long-run slot levels use days at least a week old, so a seven-day horizon only sees known days.
LEVEL_LAG_DAYS = 7
LEVEL_COLUMNS = ["slot_mean", "slot_weekday_mean", "slot_expected"]
LAG_COLUMNS = [*(f"lag_{w}w" for w in LAGS_WEEKS), "lag_mean", *LEVEL_COLUMNS]
DESIGN_COLUMNS = ["weekday", "is_holiday", "hour", "lag_mean", *LEVEL_COLUMNS]


class DemandError(ValueError):
    """Order history that cannot make a forecast (too short, empty)."""


def load_order_counts(session: Session, *, depot_ids: list[int] | None = None) -> pd.DataFrame:
    """Order counts per (day, depot, zone, local hour), zero-filled over every seen slot."""
    query = select(
        Order.service_date, Order.depot_id, Order.lat, Order.lon, Order.window_start, Depot.timezone
    ).join(Depot, Depot.id == Order.depot_id)
    if depot_ids is not None:
        query = query.where(Order.depot_id.in_(depot_ids))
    rows = pd.DataFrame(
        session.execute(query).all(),
        columns=["day", "depot_id", "lat", "lon", "window_start", "timezone"],
    )
    return count_orders(rows)


def count_orders(rows: pd.DataFrame) -> pd.DataFrame:
    """Counts per slot from order rows (day, depot_id, lat, lon, window_start, timezone)."""
    if rows.empty:
        return pd.DataFrame(columns=["day", "depot_id", "zone", "hour", "orders"])
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(rows["day"]),
            "depot_id": rows["depot_id"].astype(int),
            "zone": zone_of(rows["lat"].to_numpy(float), rows["lon"].to_numpy(float)),
            "hour": local_hour(rows["window_start"], rows["timezone"]),
        }
    )
    counts = frame.groupby(["day", "depot_id", "zone", "hour"]).size().rename("orders")
    slots = counts.reset_index()[["depot_id", "zone", "hour"]].drop_duplicates()
    days = pd.DataFrame({"day": pd.date_range(frame["day"].min(), frame["day"].max())})
    grid = days.merge(slots, how="cross")
    full = grid.merge(counts.reset_index(), on=["day", "depot_id", "zone", "hour"], how="left")
    full["orders"] = full["orders"].fillna(0.0)
    return full


def local_hour(times: pd.Series, timezones: pd.Series) -> np.ndarray:
    """The local hour of each time in its row's time zone (a slot's hour)."""
    starts = pd.to_datetime(times, utc=True)
    hour = np.zeros(len(times), dtype=int)
    for zone in timezones.unique():
        mask = (timezones == zone).to_numpy()
        hour[mask] = starts[mask].dt.tz_convert(str(zone) or "UTC").dt.hour.to_numpy()
    return hour


def zone_of(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The demand zone of each point."""
    rows = np.floor(lat / ZONE_LAT_DEG).astype(int)
    cols = np.floor(lon / ZONE_LON_DEG).astype(int)
    return np.char.add(np.char.add(rows.astype(str), ":"), cols.astype(str))


def features(counts: pd.DataFrame) -> pd.DataFrame:
    """Calendar, slot identity and whole-week lags of each (slot, day)."""
    frame = counts.sort_values("day").copy()
    key = ["depot_id", "zone", "hour"]
    indexed = frame.set_index(["day", *key])["orders"]
    for weeks in LAGS_WEEKS:
        shifted = indexed.copy()
        shifted.index = shifted.index.set_levels(
            shifted.index.levels[0] + pd.Timedelta(days=7 * weeks), level=0
        )
        frame = frame.join(shifted.rename(f"lag_{weeks}w"), on=["day", *key])
    lags = [f"lag_{w}w" for w in LAGS_WEEKS]
    frame["lag_mean"] = frame[lags].mean(axis=1)
    frame["weekday"] = frame["day"].dt.day_of_week
    frame["is_holiday"] = holiday_flags(frame["day"])
    return frame.join(_slot_levels(frame, key), on=["day", *key])


def _slot_levels(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Each slot's long-run level from every known day at least a week before the row's day.

    Four weekly lags are four noisy draws of a slot's rate; months of history pin it down.
    `slot_mean` averages every ordinary (non-holiday) day, `slot_weekday_mean` the same
    weekday only, and `slot_expected` scales `slot_mean` by the fleet-wide weight of the
    weekday (one slot's share of the day is stable, the day's volume follows the weekday).
    """
    table = frame.set_index(["day", *key])["orders"].unstack(key)
    days = pd.date_range(table.index.min(), table.index.max())
    table = table.reindex(days)
    ordinary = pd.Series(holiday_flags(pd.Series(days)) == 0, index=days)
    known = table.notna() & ordinary.to_numpy()[:, None]
    values = table.where(known, 0.0)
    count = known.astype(float)

    def lagged_mean(sums: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
        sums, counts = sums.shift(LEVEL_LAG_DAYS), counts.shift(LEVEL_LAG_DAYS)
        return sums / counts.where(counts > 0)

    weekday = days.day_of_week
    slot_mean = lagged_mean(values.cumsum(), count.cumsum())
    # Within one weekday, the previous row is exactly a week earlier.
    same_sum = values.groupby(weekday).cumsum().groupby(weekday).shift(1)
    same_n = count.groupby(weekday).cumsum().groupby(weekday).shift(1)
    slot_weekday_mean = same_sum / same_n.where(same_n > 0)
    # Fleet-wide volume of this weekday over that of an average day, from the same days.
    total = values.sum(axis=1)
    total_days = count.max(axis=1)
    all_mean = total.cumsum().shift(LEVEL_LAG_DAYS) / total_days.cumsum().shift(LEVEL_LAG_DAYS)
    wd_sum = total.groupby(weekday).cumsum().groupby(weekday).shift(1)
    wd_n = total_days.groupby(weekday).cumsum().groupby(weekday).shift(1)
    ratio = (wd_sum / wd_n.where(wd_n > 0)) / all_mean
    slot_expected = slot_mean.mul(ratio, axis=0)
    levels = pd.concat(
        {
            "slot_mean": slot_mean.stack(key, future_stack=True),
            "slot_weekday_mean": slot_weekday_mean.stack(key, future_stack=True),
            "slot_expected": slot_expected.stack(key, future_stack=True),
        },
        axis=1,
    )
    levels.index = levels.index.set_names(["day", *key])
    return levels


@dataclass
class DemandModel:
    """Median and P10/P90 gradient-boosting models over slot features."""

    median: object
    low: object
    high: object
    columns: list[str]

    @staticmethod
    def _design(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
        # The slot's own levels stand in for its identity: one-hot depots and zones let the
        # trees chase each slot's noise, the long-run levels generalise across slots.
        design = frame[DESIGN_COLUMNS].astype(float)
        if columns is not None:
            design = design.reindex(columns=columns, fill_value=0.0)
        return design.fillna(0.0)

    @classmethod
    def fit(cls, frame: pd.DataFrame, *, seed: int = 0) -> DemandModel:
        """Fit on every row whose slot level is known (a week of history behind it).

        Not only rows with all four weekly lags: that would drop the first four weeks, and
        with them the only holiday a three-month history may hold.
        """
        from sklearn.ensemble import HistGradientBoostingRegressor

        rows = frame.dropna(subset=["slot_expected", "orders"])
        design = cls._design(rows)
        target = rows["orders"].to_numpy(float)
        params = dict(max_iter=100, learning_rate=0.05, max_leaf_nodes=15, random_state=seed)
        median = HistGradientBoostingRegressor(loss="poisson", **params).fit(design, target)
        low = HistGradientBoostingRegressor(loss="quantile", quantile=0.1, **params).fit(
            design, target
        )
        high = HistGradientBoostingRegressor(loss="quantile", quantile=0.9, **params).fit(
            design, target
        )
        return cls(median, low, high, list(design.columns))

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """P10, P50, P90 per row (clipped at zero, P10 <= P50 <= P90)."""
        design = self._design(frame, self.columns)
        p50 = np.clip(self.median.predict(design), 0, None)  # type: ignore[attr-defined]
        p10 = np.clip(self.low.predict(design), 0, None)  # type: ignore[attr-defined]
        p90 = np.clip(self.high.predict(design), 0, None)  # type: ignore[attr-defined]
        return pd.DataFrame(
            {"p10": np.minimum(p10, p50), "p50": p50, "p90": np.maximum(p90, p50)},
            index=frame.index,
        )


def forecast(counts: pd.DataFrame, *, start: date, days: int = HORIZON_DAYS) -> pd.DataFrame:
    """Orders per slot for `days` days from `start`, from a model fit on all of `counts`."""
    if days > min(LAGS_WEEKS) * 7:
        raise DemandError("the weekly lags reach only seven days ahead")
    model = DemandModel.fit(features(counts))
    slots = counts[["depot_id", "zone", "hour"]].drop_duplicates()
    future_days = pd.DataFrame({"day": pd.date_range(start, start + timedelta(days=days - 1))})
    future = future_days.merge(slots, how="cross").assign(orders=np.nan)
    combined = features(pd.concat([counts, future], ignore_index=True))
    ahead = combined[combined["day"] >= pd.Timestamp(start)]
    return pd.concat([ahead[["day", "depot_id", "zone", "hour"]], model.predict(ahead)], axis=1)


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |error| / sum actual."""
    total = float(np.sum(actual))
    return float(np.sum(np.abs(predicted - actual)) / total) if total else float("nan")
