"""demand forecast: hourly orders per depot and zone with P10-P90, and the fleet-size suggestion

Each forecast run is a `model_version` of the model "demand"; its rows are the forecast
(kind "forecast", the days ahead) and a backtest of the days just before (kind "backtest",
from a model that did not see them) so the Models page can show forecast against actual.
fleet_suggestion holds, per depot and shift, how many vehicles the routing engine used on a
day sampled from the forecast.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "demand_forecast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("depot_id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("p10", sa.Float(), nullable=False),
        sa.Column("p50", sa.Float(), nullable=False),
        sa.Column("p90", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('forecast', 'backtest')", name=op.f("ck_demand_forecast_kind_known")
        ),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name=op.f("ck_demand_forecast_hour_range")),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_version.id"],
            name=op.f("fk_demand_forecast_model_version_id_model_version"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["depot_id"], ["depot.id"], name=op.f("fk_demand_forecast_depot_id_depot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_forecast")),
    )
    with op.batch_alter_table("demand_forecast", schema=None) as batch_op:
        batch_op.create_index(
            "ix_demand_forecast_version_depot_day",
            ["model_version_id", "depot_id", "day"],
            unique=False,
        )
    op.create_table(
        "fleet_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("depot_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("shift_start", sa.Time(), nullable=False),
        sa.Column("shift_end", sa.Time(), nullable=False),
        sa.Column("vehicles_used", sa.Integer(), nullable=False),
        sa.Column("vehicles_available", sa.Integer(), nullable=False),
        sa.Column("orders_sampled", sa.Integer(), nullable=False),
        sa.Column("orders_unassigned", sa.Integer(), nullable=False),
        sa.Column("orders_p50", sa.Float(), nullable=False),
        sa.Column("orders_p90", sa.Float(), nullable=False),
        sa.Column("created_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_version.id"],
            name=op.f("fk_fleet_suggestion_model_version_id_model_version"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["depot_id"], ["depot.id"], name=op.f("fk_fleet_suggestion_depot_id_depot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_suggestion")),
        sa.UniqueConstraint(
            "model_version_id",
            "depot_id",
            "service_date",
            "shift_start",
            "shift_end",
            name="uq_fleet_suggestion_slot",
        ),
    )


def downgrade() -> None:
    op.drop_table("fleet_suggestion")
    with op.batch_alter_table("demand_forecast", schema=None) as batch_op:
        batch_op.drop_index("ix_demand_forecast_version_depot_day")
    op.drop_table("demand_forecast")
