"""Migrations 0003 and 0005: the aggregates have exactly the columns backend.analytics reads, a
unique key (materialized views on PostgreSQL); 0005's tables match their models; both go down
and up again."""

from __future__ import annotations

from sqlalchemy import inspect, text

from backend.analytics.aggregates import AGGREGATES
from backend.analytics.retention import retention_state


def test_aggregates_match_their_tables(database) -> None:
    """Column names per aggregate as declared; a unique index on the key; the watermark table."""
    inspector = inspect(database.engine)
    for aggregate in AGGREGATES:
        columns = [c["name"] for c in inspector.get_columns(aggregate.name)]
        assert columns == [c.name for c in aggregate.table.columns], aggregate.name
        indexes = {i["name"]: i for i in inspector.get_indexes(aggregate.name)}
        key = indexes[f"ix_{aggregate.name}_key"]
        assert key["unique"] and tuple(key["column_names"]) == aggregate.keys
    assert retention_state.name in inspector.get_table_names()
    # The one change to an ORM table, the partial index of failed/cancelled orders, matches.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backend.db.base import Base

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "issues_date" in str(d)]
    assert diffs == []
    assert "ix_delivery_order_issues_date" in {
        i["name"] for i in inspector.get_indexes("delivery_order")
    }
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as conn:
            views = set(conn.execute(text("SELECT matviewname FROM pg_matviews")).scalars())
        assert {a.name for a in AGGREGATES} <= views


def test_downgrade_and_upgrade(database) -> None:
    """0003 down drops the aggregates and the watermark table; up brings them back (SQLite: the
    PostgreSQL database is shared by the session's tests)."""
    if database.engine.dialect.name != "sqlite":
        return
    from backend.db.migrate import downgrade, upgrade

    downgrade(database.engine, "0002")
    names = set(inspect(database.engine).get_table_names())
    assert not names & {a.name for a in AGGREGATES} and retention_state.name not in names
    upgrade(database.engine)
    assert {a.name for a in AGGREGATES} <= set(inspect(database.engine).get_table_names())


def test_0005_tables_match_their_models(database) -> None:
    """delivery_rating and scheduled_run as the models declare them (constraints included)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backend.db.base import Base

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [
            d
            for d in compare_metadata(context, Base.metadata)
            if "delivery_rating" in str(d) or "scheduled_run" in str(d)
        ]
    assert diffs == []


def test_0005_down_and_up(database) -> None:
    """0005 down drops the ratings, their aggregate and the claims; up brings them back."""
    if database.engine.dialect.name != "sqlite":
        return
    from backend.db.migrate import downgrade, upgrade

    new = {"delivery_rating", "scheduled_run", "analytics_rating_daily"}
    downgrade(database.engine, "0004")
    assert not set(inspect(database.engine).get_table_names()) & new
    assert "analytics_route_daily" in inspect(database.engine).get_table_names()
    upgrade(database.engine)
    assert new <= set(inspect(database.engine).get_table_names())
