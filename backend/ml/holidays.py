"""The company's closing days (US holidays it observes): a calendar feature for both models.

Holidays drive like a Sunday and see a fraction of the orders; without this feature a model
reads Thanksgiving as an ordinary Thursday.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd


def is_holiday(day: date) -> bool:
    """New Year, Memorial Day, Independence Day, Labor Day, Thanksgiving, Christmas."""
    if (day.month, day.day) in {(1, 1), (7, 4), (12, 25)}:
        return True
    nth = (day.day - 1) // 7 + 1
    last = (day + timedelta(days=7)).month != day.month
    return (
        (day.month == 5 and day.weekday() == 0 and last)
        or (day.month == 9 and day.weekday() == 0 and nth == 1)
        or (day.month == 11 and day.weekday() == 3 and nth == 4)
    )


def holiday_flags(days: pd.Series) -> np.ndarray:
    """1.0 where the day (date, Timestamp or ISO string) is a holiday, else 0.0."""
    parsed = pd.to_datetime(days)
    unique = {d: float(is_holiday(d.date())) for d in parsed.unique()}
    return parsed.map(unique).to_numpy(dtype=float)
