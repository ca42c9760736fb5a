"""Kabupaten keep their upstream polygon beside the one derived from their desa (issue 14).

The stored kabupaten polygon stays the union of its kecamatan (so every desa lies in its kabupaten);
the upstream outline is kept, as the kecamatan's already is, and the import reports desa whose
representative point lies outside it. Existing rows get NULL until the next upstream import fills it.

Revision ID: 0003_kabupaten_upstream
Revises: 0002_account_security
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_kabupaten_upstream"
down_revision: str | Sequence[str] | None = "0002_account_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kabupaten") as batch:
        batch.add_column(sa.Column("upstream_geometry", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kabupaten") as batch:
        batch.drop_column("upstream_geometry")
