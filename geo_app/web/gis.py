"""GIS downloads: ``/api/export.gpkg`` (one GeoPackage) and ``/api/export-shp.zip`` (zipped shapefiles).

Coverage settings as query parameters, as ``/api/coverage`` takes them. Written by
``geo_app.services.export_gis`` with pyogrio into a temporary folder, never into the repository.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("gis", __name__, url_prefix="/api")
