"""The demo set: deterministic, idempotent, and faithful to the real figures in FACTS.md.

Expected figures are read from ../shared/data/FACTS.md itself, not copied from the generator.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime

import pytest
import shapely
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.records.desa_lookup import DesaLookup
from geo_app.services.demo import build_demo, load_demo
from geo_app.services.records import mismatches
from geo_app.store.adapter import desa_frame
from geo_app.store.models import Desa, Incident, Meeting, PollingStation
from tests.conftest import SHARED_DATA, snapshot


def facts_dpt() -> tuple[int, int, dict[str, int]]:
    """Total DPT, TPS count and DPT per kecamatan name, as written in FACTS.md."""
    text = (SHARED_DATA / "FACTS.md").read_text(encoding="utf-8")
    total = int(re.search(r"DPT \(final voter list\) ([\d,]+) voters", text).group(1).replace(",", ""))
    tps = int(re.search(r"- (\d+) TPS \(polling stations\)", text).group(1))
    block = text[text.index("Per kecamatan (voters, desa):") : text.index("Source: harianbengkuluekspress")]
    per_kec = {
        name.strip(): int(v.replace(",", ""))
        for name, v in re.findall(r"([A-Z][A-Za-z ]+?) ([\d,]{5,}) \(\d+\)", block.split(":", 1)[1])
    }
    return total, tps, per_kec


@pytest.fixture
def loaded(app):
    with app.app_context():
        session = get_session()
        first = load_demo(session, app.config["GEO_APP_SETTINGS"])
        yield session, first


def test_generator_anchors_are_the_facts(app):
    """The generator's constants (not only its output) are FACTS.md's figures, keyed by the real codes."""
    from geo_app.services import demo

    total, tps, per_kec = facts_dpt()
    assert (demo.TOTAL_DPT, demo.TOTAL_TPS) == (total, tps)
    with app.app_context():
        names = dict(zip(*desa_frame(get_session())[["kecamatan_code", "kecamatan_name"]].drop_duplicates().T.values))
    # the boundary data spells "Air Manjunto", the press "Air Majunto" (FACTS.md)
    spelled = {code: names[code].replace("Manjunto", "Majunto") for code in demo.DPT_PER_KECAMATAN}
    assert {spelled[code]: dpt for code, dpt in demo.DPT_PER_KECAMATAN.items()} == per_kec
    text = (SHARED_DATA / "FACTS.md").read_text(encoding="utf-8")
    total, polri, tni, linmas = map(
        int, re.search(r"Security: (\d+) personnel \((\d+) Polri, (\d+) TNI, (\d+) Linmas\)", text).groups()
    )
    assert demo.DEMO_PERSONNEL == {"police": polri, "tni": tni, "linmas": linmas} and polri + tni + linmas == total


def test_demo_loads_twice_without_duplicates(app, runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "TPS: 327 baru/new" in first.output
    before = snapshot(app)
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "TPS: 0 baru/new, 0 diperbarui/updated, 327 tetap/unchanged" in second.output
    assert "rakor: 0 baru/new, 0 diperbarui/updated" in second.output
    after = snapshot(app)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}
    for table in ("polling_station", "meeting", "incident", "meeting_desa", "data_version"):
        assert after[table] == before[table], table


def test_demo_is_deterministic(app):
    with app.app_context():
        desa = desa_frame(get_session())
    a, b = build_demo(desa), build_demo(desa)
    assert a == b
    assert build_demo(desa, seed=1).tps != a.tps


def test_tps_totals_match_facts(loaded):
    session, counts = loaded
    total, n_tps, per_kec_names = facts_dpt()
    lookup = DesaLookup(desa_frame(session))
    expected = {lookup.kecamatan(name): v for name, v in per_kec_names.items()}  # "Air Majunto" -> 17.06.13
    rows = session.execute(
        select(PollingStation.voters, Desa.kecamatan_code, PollingStation.synthetic).join(
            Desa, Desa.code == PollingStation.desa_code
        )
    ).all()
    assert counts["tps"]["inserted"] == len(rows) == n_tps
    assert sum(r.voters for r in rows) == total
    per_kec = Counter()
    for r in rows:
        assert isinstance(r.voters, int) and 0 < r.voters <= 600
        per_kec[r.kecamatan_code] += r.voters
    assert dict(per_kec) == expected
    assert all(r.synthetic for r in rows)
    # every kecamatan has enough TPS for its voters at 600 per TPS, and every desa has a TPS
    tps_per_kec = Counter(r.kecamatan_code for r in rows)
    assert all(tps_per_kec[k] * 600 >= v for k, v in expected.items())
    assert set(session.scalars(select(PollingStation.desa_code))) == set(session.scalars(select(Desa.code)))


def test_tps_points_inside_their_own_desa(loaded):
    session, _ = loaded
    polygons = {d.code: shapely.from_wkb(d.geometry) for d in session.scalars(select(Desa))}
    tps = session.scalars(select(PollingStation)).all()
    for t in tps:
        assert t.lon is not None and polygons[t.desa_code].contains(shapely.Point(t.lon, t.lat)), (
            t.desa_code,
            t.number,
        )
        assert t.point_desa_code == t.desa_code and t.placement == "inside" and not t.location_mismatch
    assert mismatches(session) == []


def test_one_rawan_tps_in_desa_penarik_and_some_short_staffed(loaded):
    session, _ = loaded
    rawan = session.scalars(select(PollingStation).where(PollingStation.vulnerability == "rawan")).all()
    assert [(t.desa_code, t.police, t.linmas) for t in rawan] == [("17.06.10.2001", 2, 2)]
    others = session.scalars(select(PollingStation).where(PollingStation.vulnerability == "tidak_rawan")).all()
    # totals as deployed in 2024 (FACTS.md): 240 Polri, 104 TNI, 654 Linmas; TNI count toward police
    everyone = [*rawan, *others]
    assert sum(t.police for t in everyone) == 240
    assert sum(t.tni for t in everyone) == 104
    assert sum(t.linmas for t in everyone) == 654
    short = [t for t in others if t.police + t.tni < 1 or t.linmas < 2]
    over = [t for t in others if t.police + t.tni > 1 or t.linmas > 2]
    assert 3 <= len(short) <= 10 and len(over) > 0


def test_meetings_anchor_and_gaps(loaded):
    session, _ = loaded
    meetings = session.scalars(select(Meeting)).all()
    tj = [m for m in meetings if m.date == date(2024, 11, 11) and m.host_kecamatan_code == "17.06.08"]
    assert len(tj) == 1
    m = tj[0]
    assert m.level == "kecamatan" and m.reaches_all_desa and not m.synthetic
    assert set(m.agencies) == {
        "sekda",
        "camat",
        "forkopimcam",
        "ppk",
        "panwascam",
        "kades",
        "bpd",
        "puskesmas",
        "uptd_pendidikan",
        "kb",
    }
    assert m.source_url.startswith("https://mukomuko.radarutara.bacakoran.co") and m.organiser == "Pemkab Mukomuko"
    kab = [x for x in meetings if x.level == "kabupaten"]
    assert len(kab) == 1 and kab[0].synthetic and "tidak dipublikasikan" in kab[0].notes
    assert {"polri", "tni", "bawaslu", "kpu"} <= set(kab[0].agencies)
    kec = [x for x in meetings if x.level == "kecamatan"]
    assert {x.host_kecamatan_code for x in kec} == {f"17.06.{i:02d}" for i in range(1, 16)}
    assert all(date(2024, 10, 1) <= x.date <= date(2024, 11, 30) for x in kec)
    assert all(x.synthetic for x in meetings if x is not m)
    # reached desa: explicit lists plus "all desa" of Teramang Jaya; a handful deliberately left out
    all_desa = set(session.scalars(select(Desa.code)))
    reached = {d.code for x in meetings for d in x.reached_desa}
    reached |= {c for c in all_desa if c.startswith("17.06.08.")}
    assert 10 <= len(all_desa - reached) <= 15
    assert any(x.level == "desa" for x in meetings)
    assert all(x.external_id.startswith("demo-rakor-") for x in meetings)


def test_incidents_include_the_three_bpd_findings(loaded):
    session, _ = loaded
    incidents = session.scalars(select(Incident)).all()
    assert 40 <= len(incidents) <= 70
    bpd = [i for i in incidents if not i.synthetic]
    assert sorted(i.desa_code for i in bpd) == ["17.06.01.2008", "17.06.04.2005", "17.06.14.2003"]
    names = {d.code: (d.name, d.kecamatan_code) for d in session.scalars(select(Desa))}
    assert sorted(names[i.desa_code] for i in bpd) == [
        ("Lubuk Gedang", "17.06.01"),
        ("Pondok Lunang", "17.06.14"),
        ("Pondok Suguh", "17.06.04"),
    ]
    for i in bpd:
        assert i.category == "neutrality_bpd" and i.source == "bawaslu"
        assert i.source_url == "https://lampung.antaranews.com/berita/745857"
        assert datetime(2024, 9, 25) <= i.occurred_at < datetime(2024, 10, 20)
        assert "tidak dipublikasikan" in i.notes
    synthetic = [i for i in incidents if i.synthetic]
    assert all(datetime(2024, 9, 1) <= i.occurred_at <= datetime(2024, 11, 30, 23, 59) for i in synthetic)
    assert len({i.category for i in synthetic}) >= 6 and len({i.status for i in synthetic}) == 5
    top = Counter(i.desa_code for i in incidents).most_common(2)
    assert all(n >= 5 for _, n in top)  # clustering in a couple of desa


def test_serve_loads_demo_only_into_an_empty_database(app, runner, monkeypatch):
    calls = []
    # `serve` replaces its process by gunicorn (and --dev runs Werkzeug): neither may happen inside pytest
    monkeypatch.setattr("geo_app.cli._exec_gunicorn", lambda host, port, workers, threads: calls.append("gunicorn"))
    monkeypatch.setattr("geo_app.cli.run_simple", lambda host, port, application, **kw: calls.append(application))

    def serve(*args: str) -> str:
        with app.app_context():  # `geo-app` (FlaskGroup) pushes one for plain commands; the test runner does not
            result = runner.invoke(args=["serve", *args])
        assert result.exit_code == 0, result.output
        return result.output

    app.config["GEO_APP_SETTINGS"]["DEMO_ON_EMPTY"] = False
    assert "data demo" not in serve()
    with app.app_context():
        assert get_session().scalars(select(PollingStation)).first() is None
    app.config["GEO_APP_SETTINGS"]["DEMO_ON_EMPTY"] = True
    assert "data demo" in serve("--dev")
    with app.app_context():
        assert len(get_session().scalars(select(PollingStation)).all()) == 327
    assert "data demo" not in serve()  # not empty any more: nothing loaded
    assert calls == ["gunicorn", app, "gunicorn"]  # --dev serves the app itself; otherwise gunicorn
