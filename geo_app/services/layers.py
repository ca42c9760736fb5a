"""One cache for what maps and pages build (rendered map pages, static images, prepared map data),
keyed by data version and view; and the map names pages use, from where they live:

- ``services.map_data``: view parameters (``MapView``, ``parse_view``, ``load_view``), the frames a
  map shows (``visible_*``) and the map data endpoints' bodies;
- ``services.layers_build``: ``geo-app layers build`` (standalone maps and tables in a folder);
- ``services.dir_swap``: the atomic folder swap the build uses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ..store.db import data_version
from . import coverage as coverage_service  # noqa: F401 - used through this module
from .map_data import (  # noqa: F401 - the names pages and tests use through this module
    VIEW_PARAMS,
    MapView,
    load_view,
    meetings_reaching,
    parse_view,
    reasons_by_code,
    visible_incidents,
    visible_meetings,
    visible_tps,
)

T = TypeVar("T")


class LruCache:
    """A small thread-safe LRU keyed by data version and normalised parameters (the caller puts the
    data version in the key, so a write makes old entries unreachable; they age out).

    A value is computed outside the lock (a slow build does not block hits); ``renders`` counts the
    values actually computed, ``hits`` the answers from the cache (what the cache tests look at).
    """

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0
        self.hits = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = compute()
        with self._lock:
            self.renders += 1
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return value

    #: rendered pages (the name the page views use)
    get_or_render = get_or_compute

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


#: the rendered-page cache of the pages (same class; the name they know)
HtmlCache = LruCache


def page_key(session: Session, kind: str, ident: str, view: MapView, lang: str, prefix: str) -> tuple:
    return (kind, ident, data_version(session), view.cache_key(), lang, prefix)


_BUILD_NAMES = frozenset({"run_build", "build_layers", "BuildReport", "read_manifest", "BUILD_FORMAT", "MANIFEST"})


def __getattr__(name: str) -> Any:
    """``geo-app layers build`` lives in ``layers_build``; its names still resolve here (imported on
    first use: the build imports this module's neighbours, not the other way round)."""
    if name in _BUILD_NAMES:
        from . import layers_build

        return getattr(layers_build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
