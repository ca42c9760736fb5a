"""Account security: session versions on users; tokens owned by a user, with expiry and last use.

Existing tokens get the owner whose user name is in ``created_by`` (tokens made through the API
by an admin); a token with no such user (made by the CLI before owners existed) is revoked, since a
token must belong to somebody: make a new one with ``geo-app tokens create NAME --user USER``.

Revision ID: 0002_account_security
Revises: 0001_baseline
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_account_security"
down_revision: str | Sequence[str] | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_api_token_user_id"), ["user_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_api_token_user_id_app_user"), "app_user", ["user_id"], ["id"], ondelete="CASCADE"
        )
    token = sa.table(
        "api_token",
        sa.column("user_id", sa.Integer()),
        sa.column("created_by", sa.String()),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    user = sa.table("app_user", sa.column("id", sa.Integer()), sa.column("username", sa.String()))
    owner = sa.select(user.c.id).where(user.c.username == token.c.created_by).scalar_subquery()
    op.execute(token.update().values(user_id=owner))
    op.execute(
        token.update()
        .where(token.c.user_id.is_(None), token.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.current_timestamp())
    )


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_constraint(batch.f("fk_api_token_user_id_app_user"), type_="foreignkey")
        batch.drop_index(batch.f("ix_api_token_user_id"))
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
        batch.drop_column("user_id")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_version")
