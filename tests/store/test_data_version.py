"""Several workers or hosts writing to one database at once: every write counts in the data version (so a
page cached under a version never misses a write committed after it), and a key taken meanwhile is a
conflict, not a crash."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from geo_app.app_db import get_session
from geo_app.errors import Conflict
from geo_app.services import users
from geo_app.store.db import bump_version
from geo_app.store.models import DataVersion, User


def _version(factory, name: str) -> int | None:
    with factory() as session:
        return session.scalar(select(DataVersion.version).where(DataVersion.name == name))


def _bump_while_another_writer_holds_it(factory, name: str) -> list[BaseException]:
    """Writer A bumps and holds its transaction open; writer B bumps meanwhile (it waits for A's lock);
    A commits, then B. Returns what B raised."""
    failures: list[BaseException] = []
    first = factory()
    bump_version(first, name)  # A's row lock (PostgreSQL) or write lock (SQLite), not yet committed

    def second_writer() -> None:
        try:
            with factory() as session, session.begin():
                bump_version(session, name)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            failures.append(exc)

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(0.5)  # B is now waiting on A (or has not got that far yet: the result is the same)
    first.commit()
    first.close()
    thread.join(60)
    assert not thread.is_alive()
    return failures


def test_two_writers_at_once_each_count_also_the_very_first_write(app):
    factory = sessionmaker(app.extensions["geo_app.engine"])
    name = "probe"
    assert _version(factory, name) is None
    # the first write of a name: both writers would insert the row; one must not fail on its key
    assert _bump_while_another_writer_holds_it(factory, name) == []
    assert _version(factory, name) == 2
    # a row that exists: both writers would read 2 and write 3; the second write must count
    assert _bump_while_another_writer_holds_it(factory, name) == []
    assert _version(factory, name) == 4


def test_a_user_made_meanwhile_by_another_worker_is_a_conflict_not_a_crash(app, monkeypatch):
    """Two admins (on two workers) adding the same user name at once: the second look-up misses the
    first's uncommitted row, and the database's unique name refuses the insert: 409, one user stays."""
    with app.app_context():
        session = get_session()
        users.create_user(session, "liaison-1", "a-long-password-1", "viewer")
        real_scalar = session.scalar
        # the look-up made as the other worker's row was not yet visible
        monkeypatch.setattr(session, "scalar", lambda stmt, *a, **k: None)
        with pytest.raises(Conflict, match="pengguna 'liaison-1' sudah ada"):
            users.create_user(session, "liaison-1", "another-password-2", "editor")
        monkeypatch.setattr(session, "scalar", real_scalar)
        rows = session.scalars(select(User).where(User.username == "liaison-1")).all()
        assert [u.role for u in rows] == ["viewer"]
