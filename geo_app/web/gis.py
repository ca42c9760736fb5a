"""GIS downloads: ``/api/export.gpkg`` (one GeoPackage) and ``/api/export-shp.zip`` (zipped shapefiles).

Coverage settings as query parameters, as ``/api/coverage`` takes them. Written by
``geo_app.services.export_gis`` with pyogrio into a temporary folder, never into the repository;
conditional and range-aware like every data response. A built file is kept under the instance
folder (``services/file_cache.py``), so a repeated download, through any worker, is not rebuilt
until the data, the settings or the code change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, current_app, request

from ..services import coverage as coverage_service
from ..services import export_gis as service
from ..services import file_cache
from .access import role
from .caching import conditional_by_version
from .geodata import conditional, get_session

bp = Blueprint("gis", __name__, url_prefix="/api")

#: view parameters of the gap list's links: the file always holds everything loaded (with several
#: kabupaten, every row names its kabupaten), so they are ignored
VIEW_PARAMS = frozenset({"kabupaten", "kecamatan", "status", "category", "peta_dasar", "sort", "lang"})


def _overrides() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k not in VIEW_PARAMS}


def _layers() -> service.GisLayers:
    cache = current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())
    return service.gis_layers(get_session(), current_app.config["GEO_APP_SETTINGS"], _overrides(), cache)


def _built(kind: str, build: Callable[[service.GisLayers], bytes]) -> bytes:
    """The file for the stored data and the request's settings, from the file cache under the
    instance folder when it was built before (by any worker); built and kept otherwise."""
    settings = coverage_service.coverage_settings(_overrides())
    app_settings = {k: v for k, v in current_app.config["GEO_APP_SETTINGS"].items() if k != "SECRET_KEY"}
    key = file_cache.build_key(get_session(), kind, settings.cache_key(), app_settings)
    return export_cache().get_or_build(key, lambda: build(_layers()))


def export_cache() -> file_cache.FileCache:
    """Built GIS downloads of this app, under ``<instance>/cache/exports`` (shared by the workers)."""
    folder = Path(current_app.instance_path) / "cache" / "exports"
    return current_app.extensions.setdefault("geo_app.export_cache", file_cache.FileCache(folder))


def _name(ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="pilkada_mukomuko.{ext}"'}


@bp.get("/export.gpkg")
@role("viewer")
@conditional_by_version
def export_gpkg():
    coverage_service.coverage_settings(_overrides())  # a bad setting is a 400 before any work
    return conditional(lambda: _built("gpkg", service.gpkg_bytes), service.GPKG_MEDIA_TYPE, headers=_name("gpkg"))


@bp.get("/export-shp.zip")
@role("viewer")
@conditional_by_version
def export_shapefile():
    coverage_service.coverage_settings(_overrides())
    return conditional(
        lambda: _built("shp.zip", service.shapefile_zip_bytes), service.ZIP_MEDIA_TYPE, headers=_name("shp.zip")
    )
