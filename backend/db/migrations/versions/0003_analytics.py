"""analytics: the daily aggregates (materialized views on PostgreSQL, tables on SQLite)

mv_route_performance_analytics, analytics_route_daily and analytics_order_daily, each with a
unique key (REFRESH ... CONCURRENTLY needs one) and a (depot_id, day) index, and the
retention job's watermark table analytics_retention_state, and a partial index of failed and
cancelled orders by day; see
backend/analytics/aggregates.py for what each row holds. The aggregates are built by the
selects in that module, so this migration imports it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.analytics.aggregates import create_aggregates, drop_aggregates
from backend.analytics.retention import retention_state

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ISSUES = "status IN ('failed', 'cancelled')"
# The aggregates of this revision (0005 adds analytics_rating_daily).
NAMES = ("mv_route_performance_analytics", "analytics_route_daily", "analytics_order_daily")


def upgrade() -> None:
    # The drill-down lists the latest failed and cancelled orders of a range.
    op.create_index(
        "ix_delivery_order_issues_date",
        "delivery_order",
        ["service_date"],
        postgresql_where=sa.text(ISSUES),
        sqlite_where=sa.text(ISSUES),
    )
    create_aggregates(op.get_bind(), NAMES)
    # The retention job's per-vehicle watermark (what makes it resumable after a crash).
    retention_state.create(op.get_bind())


def downgrade() -> None:
    retention_state.drop(op.get_bind())
    drop_aggregates(op.get_bind(), NAMES)
    op.drop_index("ix_delivery_order_issues_date", table_name="delivery_order")
