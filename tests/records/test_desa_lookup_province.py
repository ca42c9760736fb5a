"""Issue 14: the desa lookup across the ten kabupaten/kota of Bengkulu, where names repeat across
kabupaten far more than across kecamatan."""

from __future__ import annotations

import pytest

from geo_app.app_db import get_session
from geo_app.records.desa_lookup import DesaLookup, DesaLookupError
from geo_app.store.adapter import desa_frame
from tests.conftest import copy_database, make_app


@pytest.fixture(scope="module")
def desa(province_template, tmp_path_factory, boundary_source):
    root = tmp_path_factory.mktemp("province-lookup")
    db_path = root / "province.sqlite"
    copy_database(province_template.path, db_path)
    app = make_app(db_path, root / "shapefiles", BOUNDARY_SOURCE=boundary_source, KABUPATEN="17")
    with app.app_context():
        frame = desa_frame(get_session())
    app.extensions["geo_app.engine"].dispose()
    return frame


@pytest.fixture(scope="module")
def lookup(desa):
    return DesaLookup(desa)


def _spread(desa):
    """Names (as stored) with the kabupaten and kecamatan they occur in."""
    return desa.assign(lower=desa["name"].str.lower()).groupby("lower")


def test_names_repeat_far_more_across_kabupaten_than_across_kecamatan(desa):
    groups = _spread(desa)
    across_kab = sum(1 for _, g in groups if g["kabupaten_code"].nunique() > 1)
    within_one_kab = sum(1 for _, g in groups if g["kabupaten_code"].duplicated().any())
    assert across_kab > 2 * within_one_kab > 0  # measured: 128 names across kabupaten, 43 within one


def test_a_name_in_several_kabupaten_lists_every_candidate(lookup, desa):
    for _, group in _spread(desa):
        if group["kabupaten_code"].nunique() < 2:
            continue
        name = group["name"].iloc[0]
        with pytest.raises(DesaLookupError) as err:
            lookup.desa_by_name(name.upper())
        message = str(err.value)
        assert f"ada di {group['kabupaten_code'].nunique()} kabupaten/kota" in message
        assert "sebutkan kecamatan atau kabupatennya" in message and err.value.field == "desa"
        for code, kec, kab in zip(group["code"], group["kecamatan_name"], group["kabupaten_name"]):
            assert f"{code} (Kec. {kec}, {kab})" in message
        # each candidate is found with its kecamatan, and with its kabupaten when the name is single there
        for code, kec, kab, kab_name in zip(
            group["code"], group["kecamatan_name"], group["kabupaten_code"], group["kabupaten_name"]
        ):
            assert lookup.desa_by_name(name, kec) == code
            if (group["kabupaten_code"] == kab).sum() == 1:
                assert lookup.desa_by_name(name, kabupaten=kab) == code
                assert lookup.desa_by_name(name, kabupaten=kab_name) == code
                assert lookup.desa_by_name(name, kabupaten=kab_name.removeprefix("Kabupaten ").lower()) == code


def test_a_name_repeated_inside_one_kabupaten_still_needs_the_kecamatan(lookup, desa):
    groups = [g for _, g in _spread(desa) if g["kabupaten_code"].duplicated().any()]
    group = groups[0]
    kab = group.loc[group["kabupaten_code"].duplicated(keep=False), "kabupaten_code"].iloc[0]
    in_kab = group[group["kabupaten_code"] == kab]
    name = in_kab["name"].iloc[0]
    with pytest.raises(DesaLookupError, match=r"ada di beberapa kecamatan \(") as err:
        lookup.desa_by_name(name, kabupaten=kab)
    for kec in in_kab["kecamatan_name"]:
        assert kec in str(err.value)
    assert in_kab["kabupaten_name"].iloc[0] in str(err.value)


def test_kabupaten_and_kecamatan_must_agree(lookup, desa):
    row = desa[desa["kabupaten_code"] == "17.06"].iloc[0]
    with pytest.raises(DesaLookupError, match=r"ada di Kabupaten Mukomuko, bukan Kota Bengkulu") as err:
        lookup.desa_by_name(row["name"], row["kecamatan_name"], "Kota Bengkulu")
    assert err.value.field == "kecamatan"
    assert lookup.kecamatan(row["kecamatan_name"], "Mukomuko") == row["kecamatan_code"]


def test_unknown_kabupaten_and_names_get_suggestions(lookup):
    with pytest.raises(
        DesaLookupError, match=r"kabupaten 'Bengkulu Utra' tidak dikenal.*Kabupaten Bengkulu Utara"
    ) as err:
        lookup.kabupaten("Bengkulu Utra")
    assert err.value.field == "kabupaten"
    with pytest.raises(DesaLookupError, match=r"kode kabupaten 17\.99 tidak dikenal"):
        lookup.kabupaten("17.99")
    with pytest.raises(DesaLookupError, match=r"did you mean: Penarik \(Kec\. Penarik, Kabupaten Mukomuko\)"):
        lookup.desa_by_name("Pnarik")
    with pytest.raises(DesaLookupError, match=r"tidak ada di wilayah yang dimuat \(10 kabupaten/kota\)"):
        lookup.desa_code("17.06.99.2001")
