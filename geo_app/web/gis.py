"""GIS downloads: ``/api/export.gpkg`` (one GeoPackage) and ``/api/export-shp.zip`` (zipped shapefiles).

Coverage settings as query parameters, as ``/api/coverage`` takes them; ``kabupaten`` (code or name,
unknown: the same 400 as ``/api/coverage``) keeps every layer to that kabupaten, and the file is named
after it (``pilkada_bengkulu_selatan.gpkg``; everything loaded: ``pilkada_mukomuko.gpkg``,
``pilkada_provinsi_bengkulu.gpkg``). Written by
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
from ..services.boundaries import Area
from .access import role
from .caching import conditional_by_version
from .geodata import conditional, get_session

bp = Blueprint("gis", __name__, url_prefix="/api")

#: view parameters of the gap list's links the file does not follow (it holds every desa and record of
#: what is loaded, or of the one ``kabupaten`` asked for), so they are ignored
VIEW_PARAMS = frozenset({"kabupaten", "kecamatan", "status", "category", "peta_dasar", "sort", "lang"})


def _overrides() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k not in VIEW_PARAMS}


def _area() -> tuple[str | None, Area]:
    """The ``kabupaten`` asked for (a code; unknown: 400) and the area the file names."""
    return service.download_area(get_session(), current_app.config["GEO_APP_SETTINGS"], request.args.get("kabupaten"))


def _layers(kabupaten: str | None) -> service.GisLayers:
    cache = current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())
    return service.gis_layers(
        get_session(), current_app.config["GEO_APP_SETTINGS"], _overrides(), cache, kabupaten=kabupaten
    )


def _built(kind: str, kabupaten: str | None, build: Callable[[service.GisLayers], bytes]) -> bytes:
    """The file for the stored data, the request's settings and kabupaten, from the file cache under the
    instance folder when it was built before (by any worker); built and kept otherwise."""
    settings = coverage_service.coverage_settings(_overrides())
    app_settings = {k: v for k, v in current_app.config["GEO_APP_SETTINGS"].items() if k != "SECRET_KEY"}
    key = file_cache.build_key(get_session(), kind, settings.cache_key(), app_settings, {"kabupaten": kabupaten})
    return export_cache().get_or_build(key, lambda: build(_layers(kabupaten)))


def export_cache() -> file_cache.FileCache:
    """Built GIS downloads of this app, under ``<instance>/cache/exports`` (shared by the workers)."""
    folder = Path(current_app.instance_path) / "cache" / "exports"
    return current_app.extensions.setdefault("geo_app.export_cache", file_cache.FileCache(folder))


def _name(area: Area, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{service.file_stem(area)}.{ext}"'}


@bp.get("/export.gpkg")
@role("viewer")
@conditional_by_version
def export_gpkg():
    coverage_service.coverage_settings(_overrides())  # a bad setting is a 400 before any work
    kabupaten, area = _area()  # so is an unknown kabupaten
    return conditional(
        lambda: _built("gpkg", kabupaten, service.gpkg_bytes), service.GPKG_MEDIA_TYPE, headers=_name(area, "gpkg")
    )


@bp.get("/export-shp.zip")
@role("viewer")
@conditional_by_version
def export_shapefile():
    coverage_service.coverage_settings(_overrides())
    kabupaten, area = _area()
    return conditional(
        lambda: _built("shp.zip", kabupaten, service.shapefile_zip_bytes),
        service.ZIP_MEDIA_TYPE,
        headers=_name(area, "shp.zip"),
    )
