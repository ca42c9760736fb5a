"""Settings: defaults, overridden by ``GEO_APP_*`` environment variables, then by ``create_app(config)``.

The project root is known here because templates and the ``shapefiles/`` cache live beside
the package, not inside it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Upstream boundary data (cahyadsn/wilayah_boundaries, MIT), see FACTS.md.
UPSTREAM_BOUNDARY_SOURCE = "https://raw.githubusercontent.com/cahyadsn/wilayah_boundaries/main"

#: Kabupaten Mukomuko, Kemendagri code.
DEFAULT_KABUPATEN = "17.06"


def _defaults() -> dict[str, Any]:
    instance = PROJECT_ROOT / "instance"
    return {
        "DATABASE_URL": f"sqlite:///{instance / 'geo_app.sqlite'}",
        "BOUNDARY_SOURCE": UPSTREAM_BOUNDARY_SOURCE,
        "KABUPATEN": DEFAULT_KABUPATEN,
        "SHAPEFILE_DIR": str(PROJECT_ROOT / "shapefiles"),
        "FETCH_TIMEOUT": 30.0,
        "AUTO_IMPORT_BOUNDARIES": False,
        # `geo-app serve` loads the demo set (geo_app/services/demo.py) into a database without records
        "DEMO_ON_EMPTY": True,
        "SECRET_KEY": None,  # unset: a random key kept in instance/secret_key
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        # data rows one import file may hold (counted while reading, before any validation)
        "MAX_IMPORT_ROWS": 200_000,
        # access: anonymous visitors may not view by default; writes always need an editor
        "ALLOW_ANONYMOUS_VIEW": False,
        "CSRF_ENABLED": True,
        "SECURE_COOKIES": False,  # set true behind HTTPS
        # a point in a gap between desa polygons goes to the nearest desa within this distance
        "PLACEMENT_TOLERANCE_M": 500.0,
        # reverse proxies in front of the service (nginx: 1); their X-Forwarded-For/-Proto/-Host are
        # trusted that many hops deep, so the login throttle sees the client's address, not the proxy's
        "PROXY_COUNT": 0,
        # https origins map tiles may load from (Content-Security-Policy img-src), comma-separated
        "TILE_HOSTS": "https://tile.openstreetmap.org",
        # npm front-end packages installed by `make assets` (see geo_app/maps/assets.py)
        "NPM_ASSET_DIR": str(PROJECT_ROOT / "build" / "npm-assets"),
        # upgrade a database behind the migration head at start; false: refuse to start (geo-app db upgrade)
        "AUTO_UPGRADE": True,
    }


_CASTS = {
    "PROXY_COUNT": int,
    "FETCH_TIMEOUT": float,
    "MAX_CONTENT_LENGTH": int,
    "MAX_IMPORT_ROWS": int,
    "PLACEMENT_TOLERANCE_M": float,
}
_BOOLS = {
    "AUTO_IMPORT_BOUNDARIES",
    "DEMO_ON_EMPTY",
    "ALLOW_ANONYMOUS_VIEW",
    "CSRF_ENABLED",
    "SECURE_COOKIES",
    "AUTO_UPGRADE",
}


def _cast(key: str, raw: str) -> Any:
    if key in _BOOLS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    cast = _CASTS.get(key)
    return cast(raw) if cast else raw


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the effective settings: defaults < ``GEO_APP_<KEY>`` variables < ``overrides``."""
    environ = os.environ if environ is None else environ
    settings = _defaults()
    for key in list(settings):
        raw = environ.get(f"GEO_APP_{key}")
        if raw not in (None, ""):
            settings[key] = _cast(key, raw)
    settings.update(overrides or {})
    source = str(settings["BOUNDARY_SOURCE"])
    if not source.startswith(("http://", "https://")):
        # a relative local mirror is taken relative to the working directory, as CI passes it
        settings["BOUNDARY_SOURCE"] = str(Path(source).expanduser().resolve())
    return settings
