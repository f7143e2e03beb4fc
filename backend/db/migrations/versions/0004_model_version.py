"""model version: the registry of trained ML models (ETA, demand) and their lifecycle

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "model_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", backend.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data_from", sa.Date(), nullable=True),
        sa.Column("data_to", sa.Date(), nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('training', 'ready', 'active', 'failed', 'retired')",
            name=op.f("ck_model_version_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["started_by"], ["app_user.id"], name=op.f("fk_model_version_started_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_version")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_model_version_name_version")),
    )
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_version_job_id"), ["job_id"], unique=False)
        batch_op.create_index("ix_model_version_name_status", ["name", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.drop_index("ix_model_version_name_status")
        batch_op.drop_index(batch_op.f("ix_model_version_job_id"))
    op.drop_table("model_version")
