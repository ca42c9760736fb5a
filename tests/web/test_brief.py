"""The A4 brief per kecamatan (issue 12): ``/kecamatan/<code>/brief.pdf``, ``/brief.pdf`` and
``geo-app coverage brief``, read back with pypdf (page size, page count, extracted text)."""

from __future__ import annotations

import io
import re

import pytest

from geo_app.app_db import get_session
from geo_app.i18n import status_label
from geo_app.services import layers as layer_service
from tests.maps.test_template_injection import PAYLOADS, renamed  # noqa: F401  (the fixture)

pypdf = pytest.importorskip("pypdf", reason="install the test extra: pip install -e '.[test]'")

A4_PT = (595.28, 841.89)  # 210 × 297 mm in PDF points


def _coverage(app, args=None):
    with app.app_context():
        return layer_service.load_view(get_session(), args or {})[1]


def _code_of(result, name: str) -> str:
    rows = result.kecamatan[result.kecamatan["name"] == name]
    assert len(rows) == 1, name
    return str(rows["code"].iloc[0])


def _pdf(response) -> pypdf.PdfReader:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(response.data))


def _assert_a4(reader: pypdf.PdfReader) -> None:
    for page in reader.pages:
        box = page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(A4_PT, abs=0.5)


def _text(reader: pypdf.PdfReader) -> str:
    """The text of every page, runs of white space made one space."""
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _attachment_name(response) -> str:
    disposition = response.headers["Content-Disposition"]
    match = re.fullmatch(r'attachment; filename="([A-Za-z0-9._-]+\.pdf)"', disposition)
    assert match, disposition
    return match.group(1)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_teramang_jaya_brief_is_one_a4_page_with_every_desa_and_status(demo_app, demo_client, lang):
    result = _coverage(demo_app)
    code = _code_of(result, "Teramang Jaya")
    response = demo_client.get(f"/kecamatan/{code}/brief.pdf?lang={lang}")
    reader = _pdf(response)
    assert 1 <= len(reader.pages) <= 2
    _assert_a4(reader)
    assert _attachment_name(response) == f"ringkasan_{code}_{result.settings.reference_date.isoformat()}.pdf"

    text = _text(reader)
    assert "Teramang Jaya" in text and code in text
    assert result.settings.reference_date.strftime("%d/%m/%Y") in text
    assert "WIB" in text and "mukomuko-2024" in text
    own = result.desa[result.desa["kecamatan_code"] == code]
    assert len(own) == 13  # FACTS.md: Teramang Jaya has 13 desa
    for name, status in zip(own["name"], own["status"]):
        # the table row: the desa's name, then its status label
        assert re.search(rf"{re.escape(name)} {re.escape(status_label(status, lang))}", text), (name, status)
    # the gaps' reasons are spelled out; every status in the legend with its count
    reasons = layer_service.reasons_by_code(result, lang)
    for desa_code in own["code"]:
        for reason in reasons.get(desa_code, []):
            assert re.sub(r"\s+", " ", reason) in text, reason
    counts = own["status"].value_counts()
    for status in ("uncovered", "at_risk", "insecure", "no_data", "covered"):
        assert f"{status_label(status, lang)} ({int(counts.get(status, 0))})" in text


def test_planned_rakor_follow_the_view_date(demo_app, demo_client):
    """Before the Teramang Jaya rakor of 11/11/2024 it is planned: on the map with its legend entry, and
    named in the reasons; on election day it lies in the past and the legend has no planned rakor."""
    code = _code_of(_coverage(demo_app), "Teramang Jaya")
    before = _text(_pdf(demo_client.get(f"/kecamatan/{code}/brief.pdf?date=2024-11-05")))
    assert "05/11/2024" in before
    assert "Rakor terencana" in before and "direncanakan 11/11/2024" in before
    after = _text(_pdf(demo_client.get(f"/kecamatan/{code}/brief.pdf")))
    assert "Rakor terencana" not in after


def test_brief_of_every_kecamatan_in_one_pdf(demo_app, demo_client):
    result = _coverage(demo_app)
    response = demo_client.get("/brief.pdf")
    reader = _pdf(response)
    assert 15 <= len(reader.pages) <= 30
    _assert_a4(reader)
    assert _attachment_name(response).startswith("ringkasan_semua-kecamatan_")
    text = _text(reader)
    for code, name in zip(result.kecamatan["code"], result.kecamatan["name"]):
        assert f"{name} ({code})" in text
    for name in result.desa["name"]:
        assert name in text
    # cached: the same view again does not draw again
    cache = demo_app.extensions["geo_app.pdf_cache"]
    renders = cache.renders
    assert demo_client.get("/brief.pdf").data == response.data
    assert cache.renders == renders


def test_brief_errors(demo_client):
    assert demo_client.get("/kecamatan/17.06.99/brief.pdf").status_code == 404
    assert demo_client.get("/kecamatan/17.06.08/brief.pdf?date=2024-13-45").status_code == 400
    assert demo_client.get("/brief.pdf?window_days=-3").status_code == 400


def test_brief_needs_a_viewer(secure_app):
    client = secure_app.test_client()
    response = client.get("/kecamatan/17.06.08/brief.pdf")
    assert response.status_code in (302, 401)


def test_hostile_names_are_drawn_as_typed(client, renamed):  # noqa: F811
    """Template syntax and mathtext (``$\\frac{$``) in desa and kecamatan names: every brief is drawn,
    and its text holds each name exactly (white space aside: a long name wraps in its column)."""
    desa_names, kec_names = renamed
    for code, kec in kec_names.items():
        text = re.sub(
            r"\s+", "", " ".join(p.extract_text() for p in _pdf(client.get(f"/kecamatan/{code}/brief.pdf")).pages)
        )
        own = [d for c, d in desa_names.items() if c.startswith(code + ".")]
        for name in [kec, *own]:
            assert re.sub(r"\s+", "", name) in text, (code, name)
        assert "kec[49]" not in text and "PWNED" not in text.replace("echoPWNED", "")
        # the print view's map of the same kecamatan (same drawing functions) is drawn too
        png = client.get(f"/gaps/print/{code}.png")
        assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert len(kec_names) == len(PAYLOADS)


def test_cli_writes_the_brief(demo_app, tmp_path):
    code = _code_of(_coverage(demo_app), "Teramang Jaya")
    out = tmp_path / "brief.pdf"
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["coverage", "brief", "--kecamatan", code, "--out", str(out), "--date", "2024-11-05"])
    assert result.exit_code == 0, result.output
    reader = pypdf.PdfReader(out)
    assert 1 <= len(reader.pages) <= 2
    text = _text(reader)
    assert "Teramang Jaya" in text and "05/11/2024" in text
    assert str(out) in result.output and "1" in result.output

    # by name too; an unknown kecamatan is an error that writes nothing
    by_name = tmp_path / "by-name.pdf"
    assert (
        runner.invoke(args=["coverage", "brief", "--kecamatan", "Teramang Jaya", "--out", str(by_name)]).exit_code == 0
    )
    assert pypdf.PdfReader(by_name).pages
    missing = tmp_path / "none.pdf"
    result = runner.invoke(args=["coverage", "brief", "--kecamatan", "17.06.99", "--out", str(missing)])
    assert result.exit_code != 0 and "17.06.99" in result.output
    assert not missing.exists()


def test_pages_have_links_to_the_briefs(demo_app, demo_client):
    code = _code_of(_coverage(demo_app), "Teramang Jaya")
    query = "date=2024-11-05"
    kecamatan = demo_client.get(f"/kecamatan/{code}?{query}").get_data(as_text=True)
    link = re.search(r'<a id="brief-pdf" href="([^"]+)"', kecamatan).group(1).replace("&amp;", "&")
    assert link.startswith(f"/kecamatan/{code}/brief.pdf?") and query in link
    for page in ("/gaps", "/gaps/print"):
        html = demo_client.get(f"{page}?{query}").get_data(as_text=True)
        link = re.search(r'<a id="brief-all" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert link == f"/brief.pdf?{query}"
    print_page = demo_client.get(f"/gaps/print?{query}").get_data(as_text=True)
    assert f'href="/kecamatan/{code}/brief.pdf?{query}"' in print_page
