"""Language of a request and the translation helpers pages use (Flask-Babel over geo_app/i18n.py's catalogs).

The language is chosen as before: ``?lang=id|en`` on any page switches it and is kept in the session
cookie (so it survives logging in); Indonesian otherwise. Flask-Babel's locale selector reads that
choice, so ``{{ _('…') }}`` in templates, ``t()`` in code and the number/date filters agree. Times are
shown in WIB (Asia/Jakarta).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request, session, url_for
from flask_babel import Babel, refresh
from sqlalchemy.exc import SQLAlchemyError

from .. import i18n
from ..app_db import get_session
from ..config import TRANSLATIONS_DIR
from ..errors import ValidationError
from ..services.boundaries import Area, loaded_area

#: paths that never switch the language (machine interfaces keep their bilingual messages)
_NO_SWITCH = ("/api/", "/ogc", "/assets/", "/healthz")


def current_lang() -> str:
    """The language of this request: the session's choice, Indonesian by default (and outside a request)."""
    if not request:
        return i18n.DEFAULT_LANG
    return i18n.check_lang(session.get("lang"))


def _switch_language() -> None:
    """``?lang=`` on a page: remembered in the session; an unknown one is a 400 naming the parameter."""
    raw = request.args.get("lang")
    if raw is None or request.path.startswith(_NO_SWITCH):
        return
    if raw not in i18n.LANGS:
        raise ValidationError(
            i18n.msg("lang: %(value)r tidak dikenal; pilihan: %(choices)s", value=raw, choices=", ".join(i18n.LANGS)),
            details={"lang": "unknown language"},
        )
    if session.get("lang") != raw:
        session["lang"] = raw
    refresh()


def lang_switch_url() -> str:
    """This page in the other language (its other parameters kept)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = "id" if current_lang() == "en" else "en"
    if request.endpoint is None:  # an error page for an unknown URL: the dashboard
        return url_for("pages.index", lang=args["lang"])
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def page_area() -> Area:
    """The loaded area (``services.boundaries.loaded_area``), read once per request for the titles. A
    page still renders without it (an error page while the database is away): titles then name no area."""
    if "page_area" not in g:
        try:
            g.page_area = loaded_area(get_session(), current_app.config.get("GEO_APP_SETTINGS"))
        except SQLAlchemyError:
            g.page_area = Area()
    return g.page_area


def _template_helpers() -> dict[str, Any]:
    lang = current_lang()
    return {
        "lang": lang,
        "tr": lambda key: i18n.t(key, lang),
        # what is loaded, named: "Peta Koordinasi Pilkada Mukomuko" / "... Provinsi Bengkulu"
        "site_title": lambda: page_area().title(lang),
        "app_brand": lambda: page_area().brand(lang),
        "status_label": lambda s: i18n.status_label(s, lang),
        "severity_label": lambda s: i18n.severity_label(s, lang),
        "category_label": lambda c: i18n.category_label(c, lang),
        "localize": lambda value: i18n.localize(value, lang),
        "STATUS_COLORS": i18n.STATUS_COLORS,
        "lang_switch_url": lang_switch_url,
    }


def init_app(app: Flask) -> None:
    """Flask-Babel on the project's catalogs (compiled first when a ``.mo`` is missing or stale), the
    language switch before every request, and the filters ``date``, ``datetime``, ``number``, ``localize``."""
    i18n.compile_catalogs(TRANSLATIONS_DIR)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", i18n.DEFAULT_LANG)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", i18n.WIB)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=current_lang, timezone_selector=lambda: i18n.WIB)
    app.before_request(_switch_language)
    app.context_processor(_template_helpers)
    app.jinja_env.filters.update(
        date=lambda value, missing="-": i18n.format_date(value, current_lang(), missing=missing),
        datetime=lambda value, naive="wib", missing="-": i18n.format_datetime(
            value, current_lang(), naive=naive, missing=missing
        ),
        number=lambda value, digits=None, missing="-": i18n.format_number(
            value, current_lang(), digits=digits, missing=missing
        ),
        localize=lambda value: i18n.localize(value, current_lang()),
    )
