"""delivery rating and scheduled runs: customer ratings and the daily jobs' claim rows

delivery_rating holds at most one 1-5 rating per delivered order; analytics_rating_daily (a
materialized view on PostgreSQL, a table on SQLite) sums them per day, depot, vehicle and
driver; scheduled_run is unique on (kind, day), so of several gunicorn workers only the one
whose insert lands submits the day's refresh and retention jobs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base
from backend.analytics.aggregates import create_aggregates, drop_aggregates

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMES = ("analytics_rating_daily",)


def upgrade() -> None:
    op.create_table(
        "delivery_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_delivery_rating_rating_range")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["delivery_order.id"],
            name=op.f("fk_delivery_rating_order_id_delivery_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_rating")),
        sa.UniqueConstraint("order_id", name=op.f("uq_delivery_rating_order_id")),
    )
    op.create_table(
        "scheduled_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_run")),
        sa.UniqueConstraint("kind", "day", name=op.f("uq_scheduled_run_kind_day")),
    )
    create_aggregates(op.get_bind(), NAMES)


def downgrade() -> None:
    drop_aggregates(op.get_bind(), NAMES)
    op.drop_table("scheduled_run")
    op.drop_table("delivery_rating")
