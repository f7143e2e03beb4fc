"""tracker devices: OsmAnd / Traccar Client device ids (hashed) bound to vehicles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracker_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id_hash", sa.String(length=64), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", backend.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_tracker_device_vehicle_id_vehicle")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_device")),
        sa.UniqueConstraint("device_id_hash", name=op.f("uq_tracker_device_device_id_hash")),
    )
    with op.batch_alter_table("tracker_device", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracker_device_vehicle_id"), ["vehicle_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tracker_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracker_device_vehicle_id"))
    op.drop_table("tracker_device")
