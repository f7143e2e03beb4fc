"""order pickup: a delivery order names the pickup order whose goods it delivers

One delivery per pickup (a unique index). No foreign key: on SQLite a referencing column can be
added or dropped only by rebuilding delivery_order, which the tables referencing it forbid
(foreign keys are on); the service checks the pair. The planner pairs them (same vehicle,
pickup first).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both dialects (no batch rebuild of a referenced table).
    op.add_column("delivery_order", sa.Column("pickup_order_id", sa.Integer(), nullable=True))
    op.create_index("uq_delivery_order_pickup", "delivery_order", ["pickup_order_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_delivery_order_pickup", table_name="delivery_order")
    op.drop_column("delivery_order", "pickup_order_id")
