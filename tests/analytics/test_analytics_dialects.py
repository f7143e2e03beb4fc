"""The same demo history gives the same KPIs on SQLite and PostgreSQL, and the CLI runs the
refresh and the retention job."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backend.analytics.aggregates import refresh_aggregates
from backend.analytics.kpis import kpi_values
from backend.analytics.queries import get_breakdown, get_overview

TODAY = date(2026, 11, 27)


def _figures(database) -> tuple[dict, dict]:
    with database.session() as session:
        start, end = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
        overview = get_overview(session, depot_ids=None, date_from=start, date_to=end)
        drivers = get_breakdown(
            session, dimension="driver", depot_ids=None, date_from=start, date_to=end
        )
    return kpi_values(overview.current), {r.name: kpi_values(r.measures) for r in drivers}


@pytest.mark.postgres
def test_sqlite_and_postgres_agree_on_the_demo(postgres_url, tmp_path) -> None:
    """Two days of the seeded demo, every KPI and every driver's scorecard, on both databases."""
    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.db.migrate import upgrade
    from backend.sim.demo import seed_demo
    from factories import empty_postgres

    results = []
    for url in (None, postgres_url):
        database = Database(load_settings(DATA_DIR=str(tmp_path), DATABASE_URL=url, DEMO=False))
        if url:
            empty_postgres(database.engine)
        else:
            upgrade(database.engine)
        with database.session() as session:
            seed_demo(session, seed=7, history_days=2, today=TODAY)
        refresh_aggregates(database)
        results.append(_figures(database))
        if url:
            empty_postgres(database.engine)
            refresh_aggregates(database)
        database.engine.dispose()
    (sqlite_kpis, sqlite_drivers), (pg_kpis, pg_drivers) = results
    assert sqlite_kpis["on_time_rate"] is not None and sqlite_kpis["planning_minutes"]
    _same(pg_kpis, sqlite_kpis)
    assert pg_drivers.keys() == sqlite_drivers.keys() and len(pg_drivers) > 5
    for name, values in sqlite_drivers.items():
        _same(pg_drivers[name], values)


def _same(pg: dict, sqlite: dict) -> None:
    # SQLite measures minutes through julianday() floats: equal to about a millisecond a day.
    assert pg.keys() == sqlite.keys()
    for key, value in sqlite.items():
        assert (pg[key] is None) == (value is None), key
        if value is not None:
            assert pg[key] == pytest.approx(value, rel=1e-6), key


def test_cli_refreshes_and_runs_retention(tmp_path, monkeypatch, capsys) -> None:
    """`analytics-refresh` and `retention` run on the configured database."""
    from backend.cli import main

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["analytics-refresh"]) == 0
    assert "aggregates refreshed" in capsys.readouterr().out
    assert main(["retention", "--max-batches", "5"]) == 0
    assert "retention: 0 fixes thinned" in capsys.readouterr().out
