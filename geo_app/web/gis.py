"""GIS downloads: ``/api/export.gpkg`` (one GeoPackage) and ``/api/export-shp.zip`` (zipped shapefiles).

Coverage settings as query parameters, as ``/api/coverage`` takes them. Written by
``geo_app.services.export_gis`` with pyogrio into a temporary folder, never into the repository;
conditional and range-aware like every data response.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..services import coverage as coverage_service
from ..services import export_gis as service
from .access import role
from .geodata import conditional, get_session

bp = Blueprint("gis", __name__, url_prefix="/api")

#: view parameters of the gap list's links: the file always holds the whole kabupaten, so they are ignored
VIEW_PARAMS = frozenset({"kecamatan", "status", "category", "peta_dasar", "sort", "lang"})


def _overrides() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k not in VIEW_PARAMS}


def _layers() -> service.GisLayers:
    cache = current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())
    return service.gis_layers(get_session(), current_app.config["GEO_APP_SETTINGS"], _overrides(), cache)


def _name(ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="pilkada_mukomuko.{ext}"'}


@bp.get("/export.gpkg")
@role("viewer")
def export_gpkg():
    coverage_service.coverage_settings(_overrides())  # a bad setting is a 400 before any work
    return conditional(lambda: service.gpkg_bytes(_layers()), service.GPKG_MEDIA_TYPE, headers=_name("gpkg"))


@bp.get("/export-shp.zip")
@role("viewer")
def export_shapefile():
    coverage_service.coverage_settings(_overrides())
    return conditional(lambda: service.shapefile_zip_bytes(_layers()), service.ZIP_MEDIA_TYPE, headers=_name("shp.zip"))
