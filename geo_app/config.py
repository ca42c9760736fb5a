"""Settings: defaults, overridden by ``GEO_APP_*`` environment variables, then by ``create_app(config)``.

The project root is known here because templates and the ``shapefiles/`` cache live beside
the package, not inside it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .analysis.placement import DEFAULT_TOLERANCE_M
from .ingest.fetch import parse_kabupaten
from .records import vocab

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: gettext catalogs (translations/<lang>/LC_MESSAGES/messages.po, compiled .mo beside each; see babel.cfg)
TRANSLATIONS_DIR = PROJECT_ROOT / "translations"

#: Upstream boundary data (cahyadsn/wilayah_boundaries, MIT), see FACTS.md.
UPSTREAM_BOUNDARY_SOURCE = "https://raw.githubusercontent.com/cahyadsn/wilayah_boundaries/main"

#: Kabupaten Mukomuko, Kemendagri code.
DEFAULT_KABUPATEN = "17.06"


def default_workers() -> int:
    """gunicorn's rule of thumb, 2 × cores + 1, at most 9: each worker holds its own copy of the app
    and its caches (about 200-300 MB with the map libraries loaded)."""
    return min(2 * (os.cpu_count() or 1) + 1, 9)


@dataclass(frozen=True)
class Settings:
    """Every setting, with its type and default. Each can be set as ``GEO_APP_<KEY>`` in the environment
    (booleans ``1``/``0``, lists comma-separated) and overridden by ``create_app({...})``."""

    DATABASE_URL: str = f"sqlite:///{PROJECT_ROOT / 'instance' / 'geo_app.sqlite'}"
    BOUNDARY_SOURCE: str = UPSTREAM_BOUNDARY_SOURCE
    #: which kabupaten to fetch and import: one code (17.06), a list (17.06,17.01) or a province (17)
    KABUPATEN: str = DEFAULT_KABUPATEN
    SHAPEFILE_DIR: str = str(PROJECT_ROOT / "shapefiles")
    FETCH_TIMEOUT: float = 30.0
    AUTO_IMPORT_BOUNDARIES: bool = False
    #: `geo-app serve` loads the demo set (geo_app/services/demo.py) into a database without records
    DEMO_ON_EMPTY: bool = True
    SECRET_KEY: str | None = None  # unset: a random key kept in instance/secret_key
    MAX_CONTENT_LENGTH: int = 20 * 1024 * 1024
    #: data rows one import file may hold (counted while reading, before any validation)
    MAX_IMPORT_ROWS: int = 200_000
    #: access: anonymous visitors may not view by default; writes always need an editor
    ALLOW_ANONYMOUS_VIEW: bool = False
    CSRF_ENABLED: bool = True
    SECURE_COOKIES: bool = False  # set true behind HTTPS
    #: a point in a gap between desa polygons goes to the nearest desa within this distance
    PLACEMENT_TOLERANCE_M: float = DEFAULT_TOLERANCE_M
    #: TPS vulnerability classes records may use
    VULNERABILITY_CLASSES: tuple[str, ...] = vocab.VULNERABILITY_CLASSES
    #: rakor may name agencies outside the vocabulary (kept as written); false: such a name is rejected
    EXTRA_AGENCIES: bool = True
    #: reverse proxies in front of the service (nginx: 1); their X-Forwarded-For/-Proto/-Host are
    #: trusted that many hops deep, so the login throttle sees the client's address, not the proxy's
    PROXY_COUNT: int = 0
    #: https origins map tiles may load from (Content-Security-Policy img-src), comma-separated
    TILE_HOSTS: str = "https://tile.openstreetmap.org"
    #: npm front-end packages installed by `make assets` (see geo_app/maps/assets.py)
    NPM_ASSET_DIR: str = str(PROJECT_ROOT / "build" / "npm-assets")
    #: upgrade a database behind the migration head at start; false: refuse to start (geo-app db upgrade)
    AUTO_UPGRADE: bool = True
    #: map data: at most this many records of a kind in view are sent one by one, more as grid clusters
    MAP_POINTS_THRESHOLD: int = 1500
    #: `geo-app serve`: gunicorn worker processes (each a copy of the app; caches agree through the
    #: data version in the database) and threads per worker (slow clients do not hold a whole worker)
    WORKERS: int = default_workers()
    WORKER_THREADS: int = 4
    #: tests only: every response names the worker process that answered (X-Worker-Pid)
    WORKER_PID_HEADER: bool = False


_DEFAULTS = Settings()
_TYPES = {f.name: f.type for f in fields(Settings)}


def default(key: str) -> Any:
    """The declared default of ``key``."""
    return getattr(_DEFAULTS, key)


def setting(settings: Mapping[str, Any], key: str) -> Any:
    """``settings[key]``, or its declared default when a caller (a test, a script) passed fewer keys."""
    return settings.get(key, default(key))


def _cast(key: str, raw: str) -> Any:
    kind = _TYPES[key]
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind.startswith("tuple"):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the effective settings: defaults < ``GEO_APP_<KEY>`` variables < ``overrides``."""
    environ = os.environ if environ is None else environ
    settings = asdict(_DEFAULTS)
    for key in list(settings):
        raw = environ.get(f"GEO_APP_{key}")
        if raw not in (None, ""):
            settings[key] = _cast(key, raw)
    settings.update(overrides or {})
    # checked at start, so a typo in GEO_APP_KABUPATEN stops the app with one line naming it (kept as a
    # string: "17.06", "17.06,17.01" or "17"; geo_app.ingest.fetch.parse_kabupaten reads it)
    settings["KABUPATEN"] = str(parse_kabupaten(settings["KABUPATEN"], "GEO_APP_KABUPATEN"))
    source = str(settings["BOUNDARY_SOURCE"])
    if not source.startswith(("http://", "https://")):
        # a relative local mirror is taken relative to the working directory, as CI passes it
        settings["BOUNDARY_SOURCE"] = str(Path(source).expanduser().resolve())
    return settings
