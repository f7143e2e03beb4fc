"""notification stop: at-risk (late_risk) alerts name their stop, clear, and carry link data

route_stop_id and resolved_at let one open alert of a kind exist per stop (a partial unique
index, so two workers raising it at once store one); data holds what the screens link to
(vehicle, route, stop, order reference) and the suggested action.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route_stop_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("resolved_at", backend.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("data", JSON, nullable=False, server_default=sa.text("'{}'")))
        batch_op.create_index(
            "uq_notification_open_stop",
            ["kind", "route_stop_id"],
            unique=True,
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("uq_notification_open_stop")
        batch_op.drop_column("data")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("route_stop_id")
