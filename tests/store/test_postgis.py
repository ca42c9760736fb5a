"""PostGIS storage (issue 14): geometry columns with GiST indexes, spatial queries in the database that
agree with the in-memory answers (geopandas) on the real desa."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from geo_app import create_app
from geo_app.app_db import get_session
from geo_app.services.boundaries import import_boundaries
from geo_app.store.adapter import desa_frame
from geo_app.store.spatial import covering_desa, desa_codes_in_bbox, is_postgis
from tests.conftest import postgres_database

URL = os.environ.get("GEO_APP_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="GEO_APP_TEST_POSTGRES_URL not set (.ci/run sets it)")


@pytest.fixture(scope="module")
def postgis_app(tmp_path_factory, boundary_source):
    with postgres_database(URL) as url:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url,
                "SHAPEFILE_DIR": str(tmp_path_factory.mktemp("shp")),
                "BOUNDARY_SOURCE": boundary_source,
                "SECRET_KEY": "test",
            }
        )
        with app.app_context():
            import_boundaries(get_session(), app.config["GEO_APP_SETTINGS"])
        yield app
        app.extensions["geo_app.engine"].dispose()


def test_geometry_columns_are_postgis_with_gist_indexes(postgis_app):
    with postgis_app.app_context():
        session = get_session()
        assert is_postgis(session)
        types = dict(
            session.execute(
                text(
                    "SELECT table_name || '.' || column_name, udt_name FROM information_schema.columns "
                    "WHERE column_name IN ('geometry', 'upstream_geometry') AND table_schema = 'public'"
                )
            ).all()
        )
        assert {k: v for k, v in types.items() if not k.startswith("spatial_ref_sys")} == {
            f"{t}.{c}": "geometry"
            for t, c in [
                ("kabupaten", "geometry"),
                ("kabupaten", "upstream_geometry"),
                ("kecamatan", "geometry"),
                ("kecamatan", "upstream_geometry"),
                ("desa", "geometry"),
            ]
        }
        gist = session.execute(text("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")).scalars()
        assert {"kabupaten", "kecamatan", "desa"} <= set(gist)
        srid, valid = session.execute(
            text("SELECT min(ST_SRID(geometry)), bool_and(ST_IsValid(geometry)) FROM desa")
        ).one()
        assert srid == 4326 and valid
        # the WKB the app reads back is the polygon PostGIS holds: same area in EPSG:32747
        desa = desa_frame(session)
        db_km2 = session.scalar(text("SELECT sum(ST_Area(ST_Transform(geometry, 32747))) / 1e6 FROM desa"))
        assert abs(desa.to_crs(32747).area.sum() / 1e6 - db_km2) < 0.01 and abs(db_km2 - 4143) / 4143 < 0.01


def test_covering_desa_agrees_with_geopandas(postgis_app):
    with postgis_app.app_context():
        session = get_session()
        desa = desa_frame(session)
        rng = np.random.default_rng(14)
        minx, miny, maxx, maxy = desa.total_bounds
        # representative points (inside by construction), random points (gaps, overlaps, outside), a vertex
        lon = np.concatenate([desa["rep_lon"], rng.uniform(minx, maxx, 3000)])
        lat = np.concatenate([desa["rep_lat"], rng.uniform(miny, maxy, 3000)])
        pairs = covering_desa(session, lon, lat)
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        expected = gpd.sjoin(points, desa[["code", "geometry"]], how="inner", predicate="intersects")
        assert sorted(zip(pairs["point"], pairs["code"])) == sorted(zip(expected.index, expected["code"]))
        own = pairs[pairs["point"] < len(desa)]
        assert set(zip(own["point"], own["code"])) >= set(enumerate(desa["code"]))
        with pytest.raises(ValueError, match="finite"):
            covering_desa(session, np.array([np.nan]), np.array([-2.5]))


def test_desa_in_bbox_agrees_with_geopandas(postgis_app):
    with postgis_app.app_context():
        session = get_session()
        desa = desa_frame(session)
        for bbox in [(101.0, -2.8, 101.3, -2.5), (101.5, -3.0, 101.6, -2.9), (100.0, 0.0, 100.1, 0.1)]:
            expected = sorted(desa.loc[desa.intersects(shapely.box(*bbox)), "code"])
            assert desa_codes_in_bbox(session, bbox) == expected and (len(expected) > 0) == (bbox[0] > 100.5)
        assert len(desa_codes_in_bbox(session, desa.total_bounds)) == 151


def test_import_placement_through_postgis_equals_in_memory(postgis_app):
    """Imports on PostGIS take the covering desa from the database; the placement rule then gives the same
    desa, placement and distance as the in-memory join, overlaps and gaps included."""
    from geo_app.analysis.placement import place_points
    from geo_app.services.records import record_context

    with postgis_app.app_context():
        session = get_session()
        ctx = record_context(session, postgis_app.config["GEO_APP_SETTINGS"])
        assert ctx.covering is not None
        desa = ctx.desa
        rng = np.random.default_rng(7)
        minx, miny, maxx, maxy = desa.total_bounds
        lon = np.concatenate([desa["rep_lon"], rng.uniform(minx - 0.01, maxx + 0.01, 4000)])
        lat = np.concatenate([desa["rep_lat"], rng.uniform(miny - 0.01, maxy + 0.01, 4000)])
        declared = [None] * len(lon)
        declared[:151] = list(desa["code"])
        in_db = place_points(lon, lat, desa, ctx.tolerance_m, declared, covering_pairs=ctx.covering(lon, lat))
        in_memory = place_points(lon, lat, desa, ctx.tolerance_m, declared)
        assert in_db.equals(in_memory)
        assert set(in_db["placement"]) >= {"inside", "nearest", "outside"}
        with pytest.raises(ValueError, match="does not have"):
            place_points(lon[:1], lat[:1], desa, covering_pairs=pd.DataFrame({"point": [0], "code": ["99.99"]}))
