"""The few SQL expressions that SQLite and PostgreSQL spell differently, compiled per dialect.

Every aggregate is one SQLAlchemy select written once; these constructs are the only place the
two dialects part ways (timestamp differences, a UTC calendar day, a number inside JSON, the
minutes of a time of day).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class minutes_between(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it is
    """minutes_between(start, end): (end - start) in minutes, as a float."""

    type = Float()
    inherit_cache = True
    name = "minutes_between"


@compiles(minutes_between, "sqlite")
def _minutes_sqlite(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 1440.0)"


@compiles(minutes_between, "postgresql")
def _minutes_postgres(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 60.0)"


class utc_day(FunctionElement[Any]):  # noqa: N801
    """utc_day(timestamp): the UTC calendar day of a timestamp."""

    type = Date()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day, "sqlite")
def _day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    (ts,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({ts})"


@compiles(utc_day, "postgresql")
def _day_postgres(element: utc_day, compiler: Any, **kw: Any) -> str:
    (ts,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(({ts} AT TIME ZONE 'UTC') AS DATE)"


class json_number(FunctionElement[float]):  # noqa: N801
    """json_number(column, 'key'): a number at the top level of a JSON object (NULL if absent)."""

    type = Float()
    inherit_cache = True
    name = "json_number"


def _json_parts(element: json_number, compiler: Any, **kw: Any) -> tuple[str, str]:
    column, key = list(element.clauses)
    name = str(key.value)
    if not name.isidentifier():
        raise ValueError(f"json_number key {name!r} must be an identifier")
    return compiler.process(column, **kw), name


@compiles(json_number, "sqlite")
def _json_sqlite(element: json_number, compiler: Any, **kw: Any) -> str:
    column, name = _json_parts(element, compiler, **kw)
    return f"CAST(json_extract({column}, '$.{name}') AS REAL)"


@compiles(json_number, "postgresql")
def _json_postgres(element: json_number, compiler: Any, **kw: Any) -> str:
    column, name = _json_parts(element, compiler, **kw)
    return f"CAST(({column} ->> '{name}') AS DOUBLE PRECISION)"


class time_minutes(FunctionElement[float]):  # noqa: N801
    """time_minutes(time_of_day): minutes since midnight."""

    type = Float()
    inherit_cache = True
    name = "time_minutes"


@compiles(time_minutes, "sqlite")
def _time_sqlite(element: time_minutes, compiler: Any, **kw: Any) -> str:
    (t,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(strftime('%H', {t}) AS INTEGER) * 60 + CAST(strftime('%M', {t}) AS INTEGER))"


@compiles(time_minutes, "postgresql")
def _time_postgres(element: time_minutes, compiler: Any, **kw: Any) -> str:
    (t,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(HOUR FROM {t}) * 60 + EXTRACT(MINUTE FROM {t}))"


PERIOD_GRAINS = ("day", "week", "month")


class period_of(FunctionElement[Any]):  # noqa: N801
    """period_of(day, 'day'|'week'|'month'): the first day of its period (weeks start Monday)."""

    type = Date()
    inherit_cache = True
    name = "period_of"


def _period_parts(element: period_of, compiler: Any, **kw: Any) -> tuple[str, str]:
    day, grain = list(element.clauses)
    if grain.value not in PERIOD_GRAINS:
        raise ValueError(f"period_of grain {grain.value!r} must be one of {PERIOD_GRAINS}")
    return compiler.process(day, **kw), str(grain.value)


@compiles(period_of, "sqlite")
def _period_sqlite(element: period_of, compiler: Any, **kw: Any) -> str:
    day, grain = _period_parts(element, compiler, **kw)
    if grain == "week":
        return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"
    if grain == "month":
        return f"date({day}, 'start of month')"
    return f"date({day})"


@compiles(period_of, "postgresql")
def _period_postgres(element: period_of, compiler: Any, **kw: Any) -> str:
    day, grain = _period_parts(element, compiler, **kw)
    if grain == "day":
        return f"CAST({day} AS DATE)"
    return f"CAST(date_trunc('{grain}', {day}) AS DATE)"
