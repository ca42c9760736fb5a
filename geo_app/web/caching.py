"""HTTP caching of GET views (issue 11): a strong ``ETag`` worked out before the view does any work,
``304 Not Modified`` on a matching ``If-None-Match``, and ``Cache-Control`` that fits.

The ETag hashes what the body depends on: the data version read from the database (so every worker
process agrees, and any write changes it), the coverage settings in effect (the defaults of this code
plus the request's parameters), this app's settings and code, the request path and its sorted query
arguments, the page language, the caller (role, user, session CSRF token) and the day. Working it out
costs one small query; a browser revalidating an unchanged map page gets a 304 without the coverage,
the map or the page being touched, and a first request for an answer this worker already gave is
sent from its :class:`ResponseCache` without running the view.

Cache-Control of these views is ``private, no-cache``: a browser may keep the page but asks every
time (a 304 when nothing changed); shared caches keep nothing. Versioned ``/assets/`` files are
``public, max-age=31536000, immutable`` (``geo_app/web/assets.py``); errors and other logged-in
responses are ``no-store`` (``geo_app/web/headers.py``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, overload

from flask import Flask, Response, current_app, g, request, session

from ..app_db import get_session
from ..services import coverage as coverage_service
from ..services.boundaries import current_data_version
from ..services.file_cache import code_stamp
from .auth import csrf_token
from .locale import current_lang

F = TypeVar("F", bound=Callable[..., Any])

#: logged-in pages and data: a browser keeps them privately and revalidates on every use
REVALIDATE = "private, no-cache"

#: what compression appends to a strong ETag (Flask-Compress: ``"abc"`` → ``"abc:gzip"``)
_CODING_SUFFIX = re.compile(r":(?:br|gzip|zstd|deflate)$")
_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


def _app_stamp(app: Flask) -> str:
    """This app's settings (secrets left out), the default coverage settings and the code, hashed once."""
    stamp = app.extensions.get("geo_app.etag_stamp")
    if stamp is None:
        settings = {k: v for k, v in app.config["GEO_APP_SETTINGS"].items() if k != "SECRET_KEY"}
        raw = json.dumps(
            [settings, coverage_service.coverage_settings().cache_key(), code_stamp()], sort_keys=True, default=str
        )
        stamp = app.extensions["geo_app.etag_stamp"] = hashlib.sha256(raw.encode()).hexdigest()
    return stamp


def version_etag(*, extra: Any = None) -> str:
    """The strong ETag of the current GET request (40 hex digits), without running its view.

    The caller's role, user and session CSRF token are part of it: a page may show them, and only the
    caller's own browser keeps the answer (``private``), so nothing is lost by telling users apart."""
    identity = g.get("identity") or {}
    if "Authorization" not in request.headers:
        csrf_token()  # pages show the session's CSRF token (base.html): made first, so the ETag covers it
    parts = [
        _app_stamp(current_app),
        current_data_version(get_session()),
        date.today().isoformat(),
        request.host_url,  # documents link to themselves by absolute URL (OGC API)
        request.path,
        sorted(request.args.items(multi=True)),
        current_lang(),  # the same rule the pages use (geo_app/web/locale.py)
        identity.get("role"),
        identity.get("id"),
        identity.get("username"),
        session.get("csrf_token"),
        extra,
    ]
    raw = json.dumps(parts, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


def matching_tag(header: str | None, etag: str) -> tuple[str, bool] | None:
    """The entity tag of an ``If-None-Match`` header that matches ``etag``, as ``(tag, weak)``.

    Weak comparison (RFC 9110 13.1.2): ``W/"x"`` matches ``"x"``; a tag with a content-coding
    suffix (``"x:gzip"``, sent back by a browser that got the compressed body) matches too, and
    is returned as it was sent. ``("*", False)`` for ``*``; None when nothing matches."""
    if not header:
        return None
    if header.strip() == "*":
        return "*", False
    for weak, tag in _TAG.findall(header):
        if _CODING_SUFFIX.sub("", tag) == etag:
            return tag, bool(weak)
    return None


def not_modified(tag: str, weak: bool = False) -> Response:
    """A 304 without a body, carrying the validator the client holds."""
    response = Response(status=304)
    response.set_etag(tag, weak=weak)
    response.headers["Cache-Control"] = REVALIDATE
    return response


class ResponseCache:
    """Successful answers of this process by ETag (an LRU bounded in bytes). The ETag covers all a
    body depends on (a 304 relies on that already), so an answer stored under it can be sent again
    without running the view: a cached map page costs the ETag's one query, not the view's work.
    Large bodies (the GIS downloads, kept as files) and streamed ones are not stored."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024, max_body: int = 4 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.max_body = max_body
        self._items: OrderedDict[str, tuple[int, list[tuple[str, str]], bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, etag: str) -> Response | None:
        with self._lock:
            item = self._items.get(etag)
            if item is None:
                return None
            self._items.move_to_end(etag)
            self.hits += 1
        status, headers, body = item
        return Response(body, status=status, headers=headers)

    def put(self, etag: str, response: Response) -> None:
        if response.status_code != 200 or response.direct_passthrough or response.is_streamed:
            return
        body = response.get_data()
        if len(body) > self.max_body:
            return
        with self._lock:
            if etag in self._items:
                return
            self._items[etag] = (response.status_code, list(response.headers.items()), body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._items:
                _tag, (_status, _headers, old) = self._items.popitem(last=False)
                self._bytes -= len(old)


def response_cache(app: Flask) -> ResponseCache:
    return app.extensions.setdefault("geo_app.response_cache", ResponseCache())


def _add_vary(response: Response, header: str) -> None:
    vary = response.headers.get("Vary", "")
    if header.lower() not in vary.lower():
        response.headers["Vary"] = f"{vary}, {header}" if vary else header


@overload
def conditional_by_version(view: F) -> F: ...
@overload
def conditional_by_version(
    view: None = None, *, key: Callable[[], Any] | None = None, vary: str | None = None
) -> Callable[[F], F]: ...
def conditional_by_version(view=None, *, key=None, vary=None):
    """Decorate a GET view: its ETag is worked out first (:func:`version_etag`); a matching
    ``If-None-Match`` gets a 304 and the view does not run. Otherwise the answer stored under the
    ETag in this process is sent (:class:`ResponseCache`), or the view runs and a successful answer
    gets the ETag (unless it set one from the same value, see ``geodata.conditional``) and
    ``Cache-Control: private, no-cache``. Errors pass through untouched and are never stored.

    ``key``: a callable giving what else the body depends on (e.g. the format negotiated from
    ``Accept``), with ``vary`` naming the request header it reads. Use as ``@conditional_by_version``
    or ``@conditional_by_version(...)``, below ``@role``."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method not in ("GET", "HEAD"):
                return fn(*args, **kwargs)
            etag = version_etag(extra=key() if key else None)
            g.http_etag = etag  # geodata.conditional uses it, so ranges and 304s agree
            matched = matching_tag(request.headers.get("If-None-Match"), etag)
            stored = response_cache(current_app)
            ranged = "Range" in request.headers  # answered by the view (206), never from the store
            if matched is not None and matched[0] != "*":
                response = not_modified(*matched)
            else:
                response = stored.get(etag) if matched is None and not ranged else None
                if response is None:
                    response = current_app.make_response(fn(*args, **kwargs))
                    if not 200 <= response.status_code < 300:
                        return response
                    if matched is not None and response.status_code == 200:  # "*": any current representation
                        response = not_modified(etag)
                    if not response.get_etag()[0]:
                        response.set_etag(etag)
                    response.headers["Cache-Control"] = REVALIDATE
                    if not ranged:
                        stored.put(etag, response)
            if vary:
                _add_vary(response, vary)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate
