"""Every rakor names the kabupaten that held it (``meeting.host_kabupaten_code``).

With several kabupaten loaded, a kabupaten-level rakor without a host kecamatan and without reached desa
belonged to no kabupaten: ``?kabupaten=`` could not find it and nothing said where it was held.

Existing rows are filled, in this order:

1. the kabupaten of the host kecamatan (else of the host desa's kecamatan);
2. with no host: the kabupaten of the reached desa, when they all lie in one;
3. still none and the database holds exactly one kabupaten: that one (every row of a one-kabupaten
   deployment, such as Mukomuko alone, gets it).

A row none of these places keeps NULL (a kabupaten-level rakor of a province database reaching no desa,
or desa of several kabupaten): saving it again asks for its kabupaten. Content hashes are unchanged.

Revision ID: 0006_meeting_host_kabupaten
Revises: 0005_pending_upload
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_meeting_host_kabupaten"
down_revision: str | Sequence[str] | None = "0005_pending_upload"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

meeting = sa.table(
    "meeting",
    sa.column("id", sa.Integer()),
    sa.column("host_kabupaten_code", sa.String()),
    sa.column("host_kecamatan_code", sa.String()),
    sa.column("host_desa_code", sa.String()),
)
meeting_desa = sa.table("meeting_desa", sa.column("meeting_id", sa.Integer()), sa.column("desa_code", sa.String()))
desa = sa.table("desa", sa.column("code", sa.String()), sa.column("kecamatan_code", sa.String()))
kecamatan = sa.table("kecamatan", sa.column("code", sa.String()), sa.column("kabupaten_code", sa.String()))
kabupaten = sa.table("kabupaten", sa.column("code", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("host_kabupaten_code", sa.String(length=16), nullable=True))
        batch.create_index(batch.f("ix_meeting_host_kabupaten_code"), ["host_kabupaten_code"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_meeting_host_kabupaten_code_kabupaten"), "kabupaten", ["host_kabupaten_code"], ["code"]
        )
    backfill()


def backfill() -> None:
    """Correlated UPDATEs (the same SQL on SQLite and PostgreSQL); each step fills only what is still NULL."""
    unset = meeting.c.host_kabupaten_code.is_(None)
    # 1. the host kecamatan's kabupaten, else the host desa's
    of_kecamatan = (
        sa.select(kecamatan.c.kabupaten_code).where(kecamatan.c.code == meeting.c.host_kecamatan_code).scalar_subquery()
    )
    op.execute(
        meeting.update()
        .where(unset, meeting.c.host_kecamatan_code.is_not(None))
        .values(host_kabupaten_code=of_kecamatan)
    )
    of_desa = (
        sa.select(kecamatan.c.kabupaten_code)
        .select_from(desa.join(kecamatan, kecamatan.c.code == desa.c.kecamatan_code))
        .where(desa.c.code == meeting.c.host_desa_code)
        .scalar_subquery()
    )
    op.execute(meeting.update().where(unset, meeting.c.host_desa_code.is_not(None)).values(host_kabupaten_code=of_desa))
    # 2. no host: the reached desa, when they all lie in one kabupaten
    links = meeting_desa.join(desa, desa.c.code == meeting_desa.c.desa_code).join(
        kecamatan, kecamatan.c.code == desa.c.kecamatan_code
    )

    def over_reached(column):
        return sa.select(column).select_from(links).where(meeting_desa.c.meeting_id == meeting.c.id).scalar_subquery()

    distinct_count = over_reached(sa.func.count(sa.distinct(kecamatan.c.kabupaten_code)))
    only = over_reached(sa.func.min(kecamatan.c.kabupaten_code))
    op.execute(
        meeting.update()
        .where(unset, meeting.c.host_kecamatan_code.is_(None), meeting.c.host_desa_code.is_(None), distinct_count == 1)
        .values(host_kabupaten_code=only)
    )
    # 3. one kabupaten in the database: every rakor still without one is held there
    count = sa.select(sa.func.count()).select_from(kabupaten).scalar_subquery()
    first = sa.select(sa.func.min(kabupaten.c.code)).scalar_subquery()
    op.execute(meeting.update().where(unset, count == 1).values(host_kabupaten_code=first))


def downgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.drop_constraint(batch.f("fk_meeting_host_kabupaten_code_kabupaten"), type_="foreignkey")
        batch.drop_index(batch.f("ix_meeting_host_kabupaten_code"))
        batch.drop_column("host_kabupaten_code")
