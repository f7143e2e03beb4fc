"""order pickup: a delivery order names the pickup order whose goods it delivers

One delivery per pickup (a unique index); an order is never its own pickup. The planner pairs
them (same vehicle, pickup first).

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
    with op.batch_alter_table("delivery_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pickup_order_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_delivery_order_pickup_order_id_delivery_order"),
            "delivery_order",
            ["pickup_order_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_index("uq_delivery_order_pickup", ["pickup_order_id"], unique=True)
        batch_op.create_check_constraint(
            op.f("ck_delivery_order_pickup_not_self"),
            "pickup_order_id IS NULL OR pickup_order_id <> id",
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_order", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_delivery_order_pickup_not_self"), type_="check")
        batch_op.drop_index("uq_delivery_order_pickup")
        batch_op.drop_constraint(
            op.f("fk_delivery_order_pickup_order_id_delivery_order"), type_="foreignkey"
        )
        batch_op.drop_column("pickup_order_id")
