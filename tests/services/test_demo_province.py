"""Issue 14: ``geo-app demo load --province 17``: the Mukomuko demo as it is, plus the other nine
kabupaten/kota of Bengkulu in proportion to their public DPT. Expected figures are read from FACTS.md."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.errors import ValidationError
from geo_app.services.demo import build_province_demo, load_demo
from geo_app.store.adapter import desa_frame
from geo_app.store.db import data_version
from geo_app.store.models import Incident, Meeting, PollingStation
from tests.conftest import SHARED_DATA, _fold_wal, copy_database, make_app, snapshot

FACTS = (SHARED_DATA / "FACTS.md").read_text(encoding="utf-8")
TPS_COLUMNS = ["desa_code", "number", "voters", "address", "lat", "lon", "vulnerability", "police", "tni", "linmas"]


def facts_province() -> dict:
    """The province figures as FACTS.md writes them."""
    section = FACTS[FACTS.index("## Bengkulu province") :]
    total = int(re.search(r"DPT at \*\*([\d,]+)\*\* voters", section).group(1).replace(",", ""))
    tps = int(re.search(r"in \*\*([\d,]+) TPS\*\*", section).group(1).replace(",", ""))
    block = section[section.index("DPT per kabupaten/kota as reported") : section.index("together they are")]
    dpt = {code: int(v.replace(",", "")) for code, v in re.findall(r"\((17\.\d{2})\)\s+([\d,]+)", block)}
    remainder = int(re.search(r"together they are the remainder, ([\d,]+)", section).group(1).replace(",", ""))
    city_tps = int(re.search(r"the city's own figure, (\d+) TPS", section).group(1))
    counts = section[section.index("Desa/kelurahan per kabupaten/kota in the boundary mirror:") :].split("(1,513)")[0]
    desa = {code: int(n) for code, n in re.findall(r"(17\.\d{2}) (\d+)", counts)}
    return {"total": total, "tps": tps, "dpt": dpt, "remainder": remainder, "city_tps": city_tps, "desa": desa}


def _app(template: Path, root: Path, boundary_source: str, keep: bool = False):
    db_path = root / "db.sqlite"
    copy_database(template, db_path)
    if keep:  # for the module (PostgreSQL: not dropped after the first test)
        _fold_wal(db_path)
    return make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")


def _records(app) -> dict[str, pd.DataFrame]:
    with app.app_context():
        session = get_session()
        out = {}
        for name, model in (("tps", PollingStation), ("meetings", Meeting), ("incidents", Incident)):
            rows = session.scalars(select(model).where(model.deleted_at.is_(None))).all()
            out[name] = pd.DataFrame([{c.name: getattr(r, c.name) for c in model.__table__.columns} for r in rows])
        meetings = session.scalars(select(Meeting)).all()
        out["reached"] = {m.external_id: sorted(d.code for d in m.reached_desa) for m in meetings}
        out["desa"] = desa_frame(session)
    return out


@pytest.fixture(scope="module")
def province(province_demo_template, tmp_path_factory, boundary_source):
    app = _app(province_demo_template.path, tmp_path_factory.mktemp("province-demo"), boundary_source, keep=True)
    yield app, _records(app)
    app.extensions["geo_app.engine"].dispose()


@pytest.fixture(scope="module")
def mukomuko(demo_template, tmp_path_factory, boundary_source):
    """The single-kabupaten demo (the suite's demo template)."""
    root = tmp_path_factory.mktemp("mukomuko-demo")
    db_path = root / "db.sqlite"
    copy_database(demo_template, db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    yield _records(app)
    app.extensions["geo_app.engine"].dispose()


def _kab(frame: pd.DataFrame, column: str = "desa_code") -> pd.Series:
    return frame[column].str.slice(0, 5)


def test_province_totals_are_the_facts(province):
    _, rec = province
    facts = facts_province()
    tps = rec["tps"]
    assert len(tps) == facts["tps"] == 3452
    assert int(tps["voters"].sum()) == facts["total"] == 1_503_923
    voters = tps.groupby(_kab(tps))["voters"].sum().to_dict()
    for code, dpt in facts["dpt"].items():
        assert voters[code] == dpt, code
    # Kepahiang and Bengkulu Tengah share the remainder in proportion to their desa counts
    assert voters["17.08"] + voters["17.09"] == facts["remainder"] == facts["total"] - sum(facts["dpt"].values())
    share = facts["remainder"] * facts["desa"]["17.08"] / (facts["desa"]["17.08"] + facts["desa"]["17.09"])
    assert abs(voters["17.08"] - share) < 1
    counts = tps.groupby(_kab(tps)).size().to_dict()
    assert counts["17.71"] == facts["city_tps"] and counts["17.06"] == 327
    # the other TPS follow DPT: voters per TPS within a few percent of the province's other kabupaten
    others = {k: voters[k] / counts[k] for k in counts if k not in ("17.06", "17.71")}
    assert max(others.values()) / min(others.values()) < 1.05
    assert tps["voters"].max() <= 600
    assert set(tps["desa_code"]) == set(rec["desa"]["code"])  # spread over every desa


def test_mukomuko_part_is_the_single_kabupaten_demo(province, mukomuko):
    _, rec = province
    mine = rec["tps"][_kab(rec["tps"]) == "17.06"].sort_values(["desa_code", "number"]).reset_index(drop=True)
    single = mukomuko["tps"].sort_values(["desa_code", "number"]).reset_index(drop=True)
    assert len(mine) == 327 and int(mine["voters"].sum()) == 139_976
    pd.testing.assert_frame_equal(
        mine[TPS_COLUMNS + ["notes", "synthetic"]], single[TPS_COLUMNS + ["notes", "synthetic"]]
    )
    for kind, key in (("meetings", "external_id"), ("incidents", "external_id")):
        ids = set(mukomuko[kind][key])
        mine = rec[kind][rec[kind][key].isin(ids)].sort_values(key).reset_index(drop=True)
        theirs = mukomuko[kind].sort_values(key).reset_index(drop=True)
        columns = [c for c in theirs.columns if c not in ("id", "import_batch", "created_at", "updated_at")]
        if kind == "meetings":
            # the kabupaten-level rakor without host kecamatan counts its kabupaten in its content hash only
            # when several are loaded (schema.meeting_hashes); every other rakor keeps the same hash
            alone = theirs["host_kecamatan_code"].isna().to_numpy()
            assert theirs.loc[alone, "external_id"].tolist() == ["demo-rakor-002"]
            assert (mine["content_hash"] == theirs["content_hash"]).tolist() == (~alone).tolist()
            columns.remove("content_hash")
        pd.testing.assert_frame_equal(mine[columns], theirs[columns], check_dtype=False)
    assert {k: v for k, v in rec["reached"].items() if k in set(mukomuko["meetings"]["external_id"])} == mukomuko[
        "reached"
    ]


def test_every_generated_record_is_synthetic_with_rakor_and_incidents_per_kabupaten(province, mukomuko):
    _, rec = province
    real = set(mukomuko["meetings"].loc[~mukomuko["meetings"]["synthetic"], "external_id"]) | set(
        mukomuko["incidents"].loc[~mukomuko["incidents"]["synthetic"], "external_id"]
    )
    for kind in ("tps", "meetings", "incidents"):
        frame = rec[kind]
        generated = frame if kind == "tps" else frame[~frame["external_id"].isin(real)]
        assert generated["synthetic"].all(), kind
    meetings = rec["meetings"].assign(kab=rec["meetings"]["host_desa_code"].fillna("").str.slice(0, 5))
    meetings.loc[meetings["kab"] == "", "kab"] = meetings["host_kecamatan_code"].fillna("").str.slice(0, 5)
    incidents = rec["incidents"].assign(kab=_kab(rec["incidents"]))
    for kab in sorted(set(rec["desa"]["kabupaten_code"]) - {"17.06"}):
        levels = meetings.loc[meetings["kab"] == kab, "level"].value_counts()
        assert levels.get("kabupaten", 0) >= 1 and levels.get("kecamatan", 0) >= 2 and levels.get("desa", 0) >= 1, kab
        assert (incidents["kab"] == kab).sum() >= 3, kab
    # generated points lie inside their own desa
    for kind in ("tps", "incidents"):
        located = rec[kind][rec[kind]["lat"].notna()]
        assert (located["placement"] == "inside").all() and not located["location_mismatch"].any(), kind


def test_province_demo_is_deterministic(province):
    _, rec = province
    first = build_province_demo(rec["desa"])
    second = build_province_demo(rec["desa"].sample(frac=1, random_state=1))  # row order does not matter
    assert first == second
    assert len(first.tps) == 3452 - 327


def test_second_province_load_changes_nothing(province_demo_template, tmp_path, boundary_source):
    app = _app(province_demo_template.path, tmp_path, boundary_source)
    try:
        before = snapshot(app)
        with app.app_context():
            session = get_session()
            version = data_version(session)
            counts = load_demo(session, app.config["GEO_APP_SETTINGS"], province="17")
            assert data_version(session) == version
        assert {k: c["inserted"] + c["updated"] for k, c in counts.items()} == {"meetings": 0, "tps": 0, "incidents": 0}
        assert counts["tps"]["unchanged"] == 3452
        assert counts == {
            k: {"inserted": 0, "updated": 0, "unchanged": c["inserted"]}
            for k, c in province_demo_template.report.items()
        }
        after = snapshot(app)
        for table in ("polling_station", "meeting", "incident", "meeting_desa", "data_version"):
            assert after[table] == before[table], table
    finally:
        app.extensions["geo_app.engine"].dispose()


def test_province_demo_needs_the_province_boundaries(app, runner):
    before = snapshot(app)
    with (
        app.app_context(),
        pytest.raises(ValidationError, match=r"missing: 17\.01, 17\.02.*17\.71 \(GEO_APP_KABUPATEN=17"),
    ):
        load_demo(get_session(), app.config["GEO_APP_SETTINGS"], province="17")
    result = runner.invoke(args=["demo", "load", "--province", "16"])
    assert result.exit_code == 1 and "--province 16: the province demo exists for Bengkulu (17) only" in result.output
    assert snapshot(app) == before
