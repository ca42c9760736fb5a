"""Safety under load and failure: a killed import, imports racing each other and map readers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import ON_POSTGRES, snapshot


def _tps_csv(path: Path, desa_codes: list[str], per_desa: int, first_number: int = 1) -> Path:
    lines = ["kode_desa;no_tps;jumlah_dpt;kerawanan;polisi;linmas"]
    for code in desa_codes:
        for n in range(first_number, first_number + per_desa):
            lines.append(f"{code};{n};{200 + n % 300};tidak rawan;1;2")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _desa_codes(app) -> list[str]:
    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as con:
            return [r[0] for r in con.execute(text("SELECT code FROM desa ORDER BY code"))]
    finally:
        engine.dispose()


def _cli(app, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "GEO_APP_DATABASE_URL": app.config["DATABASE_URL"],
        "GEO_APP_SHAPEFILE_DIR": app.config["SHAPEFILE_DIR"],
        "GEO_APP_SECRET_KEY": "test",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "geo_app:create_app", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _tps_numbers(app) -> list[int]:
    """TPS rows another connection sees (committed ones only)."""
    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as con:
            return [r[0] for r in con.execute(text("SELECT number FROM polling_station"))]
    finally:
        engine.dispose()


def _wal_size(app) -> int:
    wal = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///") + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _writing(app, wal_before: int = 0) -> bool:
    """Whether an import in another process has written rows inside its still open transaction: SQLite's
    write-ahead log has grown (pages spilled before the commit), or a PostgreSQL session of that database
    holds a transaction id."""
    if not ON_POSTGRES:
        return _wal_size(app) > wal_before + 256 * 1024
    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as con:
            return bool(
                con.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
                    )
                )
            )
    finally:
        engine.dispose()


def test_sigkill_mid_import_leaves_database_as_before(app, tmp_path):
    big = _tps_csv(tmp_path / "big.csv", _desa_codes(app), per_desa=300)  # 45,300 rows, written in chunks
    app.extensions["geo_app.engine"].dispose()
    before = snapshot(app)
    wal_before = 0 if ON_POSTGRES else _wal_size(app)
    proc = _cli(app, "import", "tps", str(big))
    deadline = time.monotonic() + 300
    while not _writing(app, wal_before):  # rows of the first chunks are in the open transaction
        assert proc.poll() is None, "import finished before it could be killed: make the file larger"
        assert time.monotonic() < deadline, "import never started writing"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGSTOP)  # frozen where it was: mid-transaction, unless it had just committed
    stored = len(_tps_numbers(app))
    os.kill(proc.pid, signal.SIGKILL)
    assert stored == 0, "the import committed before it could be stopped: make the file larger"
    proc.communicate(timeout=30)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(app) == before
    if not ON_POSTGRES:
        con = sqlite3.connect(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    # the next start is clean: the same import now lands whole
    again = _cli(app, "import", "tps", str(big))
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "45300 baru/new" in out


def test_concurrent_imports_while_maps_are_read(app, client, tmp_path):
    codes = _desa_codes(app)
    first = _tps_csv(tmp_path / "a.csv", codes, per_desa=8, first_number=1)
    second = _tps_csv(tmp_path / "b.csv", codes, per_desa=8, first_number=100)
    bad = tmp_path / "bad.csv"
    bad.write_text(first.read_text() + f"{codes[0]};500;9999;rawan;1;2\n", encoding="utf-8")
    app.extensions["geo_app.engine"].dispose()
    answers: list[int] = []
    stop = threading.Event()

    def read_maps() -> None:
        reader = app.test_client()
        paths = [
            "/api/desa/17.06.10.2001",
            "/api/coverage?format=json&kecamatan=17.06.10",
            "/map",
            "/api/polling-stations",
        ]
        i = 0
        while not stop.is_set() and i < 400:
            answers.append(reader.get(paths[i % len(paths)]).status_code)
            i += 1

    thread = threading.Thread(target=read_maps)
    thread.start()
    procs = [_cli(app, "import", "tps", str(p)) for p in (first, second, bad)]
    results = [p.communicate(timeout=300) for p in procs]
    stop.set()
    thread.join(timeout=60)
    assert [p.returncode for p in procs] == [0, 0, 1], results
    assert answers and set(answers) == {200}, sorted(set(answers))
    total = client.get("/api/polling-stations?per_page=1").json["total"]
    assert total == 2 * 8 * len(codes)  # both good files landed whole, the bad one not at all
    assert "tidak ada yang disimpan" in results[2][1]
