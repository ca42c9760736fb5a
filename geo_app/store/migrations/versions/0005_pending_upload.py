"""Dry-run files of the import page live in the database (table ``pending_upload``), not on one host's
disk, so every worker and every host behind a load balancer finds them (issue 14).

Revision ID: 0005_pending_upload
Revises: 0004_postgis_geometry
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_pending_upload"
down_revision: str | Sequence[str] | None = "0004_postgis_geometry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_upload",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("skip_invalid", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("pending_upload") as batch:
        batch.create_index(batch.f("ix_pending_upload_username"), ["username"], unique=False)
        batch.create_index(batch.f("ix_pending_upload_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_upload") as batch:
        batch.drop_index(batch.f("ix_pending_upload_expires_at"))
        batch.drop_index(batch.f("ix_pending_upload_username"))
    op.drop_table("pending_upload")
