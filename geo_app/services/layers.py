"""Map layers: the view parameters shared by maps and pages, the data a coverage map shows, a cache of
rendered map pages, and ``geo-app layers build`` (standalone maps and tables written to a folder).

The coverage itself comes from ``services.coverage`` (cached per data version and settings); this
module only selects and joins what the maps and tables show.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from ..analysis.coverage import CoverageResult, CoverageSettings, in_window
from ..errors import LayersBuildFailed, ValidationError
from ..maps.assets import AssetRegistry, render_standalone
from ..maps.overview import BASE_MAPS, MapLayers, build_coverage_map
from ..records.vocab import CATEGORY_ALIASES, INCIDENT_CATEGORIES, lookup
from ..store.db import data_version
from ..store.records import incidents_frame, meetings_frame, tps_frame
from . import coverage as coverage_service

#: query parameters that select what a map or table shows (kept in every link of a view)
VIEW_PARAMS = ("date", "window_days", "incident_window_days", "kecamatan", "category", "peta_dasar")
_DEFAULT_SETTINGS = CoverageSettings()


# --- view parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MapView:
    """What a map or table shows: coverage settings (date and windows), a kecamatan, an incident
    category and the base map. ``kecamatan`` is a code once resolved against the boundaries."""

    settings: CoverageSettings = field(default_factory=CoverageSettings)
    kecamatan: str | None = None
    category: str | None = None
    base: str = "osm"

    def query(self, **changes: Any) -> dict[str, str]:
        """The non-default parameters, normalised, for links (``url_for(..., **view.query())``)."""
        view = replace(self, **changes) if changes else self
        s, d = view.settings, _DEFAULT_SETTINGS
        out: dict[str, str] = {}
        if s.reference_date != d.reference_date:
            out["date"] = s.reference_date.isoformat()
        if s.meeting_window_days != d.meeting_window_days:
            out["window_days"] = str(s.meeting_window_days)
        if s.incident_window_days != d.incident_window_days:
            out["incident_window_days"] = str(s.incident_window_days)
        if view.kecamatan:
            out["kecamatan"] = view.kecamatan
        if view.category:
            out["category"] = view.category
        if view.base != "osm":
            out["peta_dasar"] = view.base
        return out

    def cache_key(self) -> str:
        return json.dumps([self.settings.cache_key(), self.kecamatan, self.category, self.base])


def parse_view(args: Mapping[str, str]) -> MapView:
    """Read the view parameters; a bad value raises ValidationError naming the parameter (a 400)."""
    overrides = {k: args.get(k) for k in ("date", "window_days", "incident_window_days") if args.get(k)}
    settings = coverage_service.coverage_settings(overrides)
    base = (args.get("peta_dasar") or "osm").strip()
    if base not in BASE_MAPS:
        raise ValidationError(
            f"peta_dasar harus salah satu dari {', '.join(BASE_MAPS)}, bukan {base!r}",
            details={"peta_dasar": "unknown base map"},
        )
    category = None
    raw = (args.get("category") or "").strip()
    if raw:
        category = lookup(raw, INCIDENT_CATEGORIES, CATEGORY_ALIASES)
        if category is None:
            raise ValidationError(
                f"category: kategori insiden {raw!r} tidak dikenal / unknown incident category; "
                f"pilihan / choose: {', '.join(INCIDENT_CATEGORIES)}",
                details={"category": "unknown category"},
            )
    kecamatan = (args.get("kecamatan") or "").strip() or None
    return MapView(settings=settings, kecamatan=kecamatan, category=category, base=base)


def load_view(
    session: Session, args: Mapping[str, str], cache: coverage_service.CoverageCache | None = None
) -> tuple[MapView, CoverageResult]:
    """Parse the parameters, get the (cached) coverage, resolve the kecamatan (code or name)."""
    view = parse_view(args)
    result = coverage_service.get_coverage(session, view.settings, cache)
    code = coverage_service.resolve_kecamatan(result, view.kecamatan)
    return replace(view, kecamatan=code), result


# --- what the maps and tables show --------------------------------------------------------------


def reasons_by_code(result: CoverageResult, lang: str) -> dict[str, list[str]]:
    gaps = result.gaps()
    col = "reasons_en" if lang == "en" else "reasons_id"
    return dict(zip(gaps["code"], gaps[col]))


def _in_kecamatan(codes: pd.Series, desa_kec: Mapping[str, str], kecamatan: str | None) -> pd.Series:
    if not kecamatan:
        return pd.Series(True, index=codes.index)
    return codes.map(lambda c: desa_kec.get(c) == kecamatan if isinstance(c, str) else False).astype(bool)


def visible_incidents(session: Session, result: CoverageResult, view: MapView) -> pd.DataFrame:
    """Incidents inside the incident window (not excluded statuses), of the category and kecamatan."""
    desa = result.desa
    df = incidents_frame(session, desa)
    s = result.settings
    keep = pd.Series(in_window(df["occurred_at"].dt.normalize(), s.incident_window), index=df.index)
    keep &= ~df["status"].isin(s.excluded_statuses)
    if view.category:
        keep &= df["category"] == view.category
    desa_kec = dict(zip(desa["code"], desa["kecamatan_code"]))
    keep &= _in_kecamatan(df["desa_code"], desa_kec, view.kecamatan)
    out = df[keep.to_numpy()].copy()
    out["desa_name"] = out["desa_code"].map(dict(zip(desa["code"], desa["name"])))
    return out.sort_values("occurred_at", ascending=False)


def visible_tps(session: Session, result: CoverageResult, view: MapView) -> pd.DataFrame:
    desa = result.desa
    df = tps_frame(session, desa)
    req = result.tps[["id", "required_police", "required_tni", "required_linmas", "secured"]]
    df = df.merge(req, on="id", how="left")
    desa_kec = dict(zip(desa["code"], desa["kecamatan_code"]))
    df = df[_in_kecamatan(df["desa_code"], desa_kec, view.kecamatan).to_numpy()].copy()
    df["desa_name"] = df["desa_code"].map(dict(zip(desa["code"], desa["name"])))
    return df.sort_values(["desa_code", "number"])


def visible_meetings(session: Session, result: CoverageResult, view: MapView) -> pd.DataFrame:
    """Rakor in the meeting window with their venue point; in the kecamatan when one is chosen
    (held there or reaching one of its desa)."""
    desa = result.desa
    df = meetings_frame(session, desa)
    venue = result.meetings[["id", "venue_lon", "venue_lat", "in_window", "reached_desa_count", "reached_codes"]]
    df = df.merge(venue, on="id", how="left")
    df = df[df["in_window"].fillna(False).astype(bool).to_numpy()].copy()
    names = dict(zip(desa["code"], desa["name"]))
    desa_kec = dict(zip(desa["code"], desa["kecamatan_code"]))
    kec_names = dict(zip(result.kecamatan["code"], result.kecamatan["name"]))
    df["reached_names"] = [[names.get(c, c) for c in codes] for codes in df["reached_codes"]]
    df["host_kecamatan_name"] = df["host_kecamatan_code"].map(kec_names)
    if view.kecamatan:
        k = view.kecamatan
        mask = [
            hk == k or desa_kec.get(hd) == k or any(desa_kec.get(c) == k for c in codes)
            for hk, hd, codes in zip(df["host_kecamatan_code"], df["host_desa_code"], df["reached_codes"])
        ]
        df = df[pd.Series(mask, index=df.index, dtype=bool)]
    return df.sort_values("date", ascending=False)


def meetings_reaching(meetings: pd.DataFrame, code: str, kecamatan_code: str | None = None) -> pd.DataFrame:
    """Rakor that reached the desa: ``meetings`` carries ``reached_codes`` from the coverage result,
    computed by the one reach rule (``analysis.coverage.meeting_reach``)."""
    if meetings.empty:
        return meetings
    mask = [code in list(codes) for codes in meetings["reached_codes"]]
    return meetings[pd.Series(mask, index=meetings.index, dtype=bool)]


def map_layers(session: Session, result: CoverageResult, view: MapView, lang: str) -> MapLayers:
    desa = result.desa
    if view.kecamatan:
        desa = desa[desa["kecamatan_code"] == view.kecamatan]
    kecamatan = result.kecamatan
    if not isinstance(kecamatan, gpd.GeoDataFrame):  # a result computed without kecamatan polygons
        from ..store.adapter import kecamatan_frame

        kecamatan = kecamatan_frame(session)
    return MapLayers(
        desa=desa,
        kecamatan=kecamatan,
        tps=visible_tps(session, result, view),
        incidents=visible_incidents(session, result, view),
        meetings=visible_meetings(session, result, view),
        severity_weights=dict(result.settings.severity_weights),
        reasons=reasons_by_code(result, lang),
    )


def coverage_map(
    session: Session,
    result: CoverageResult,
    view: MapView,
    lang: str,
    *,
    labels: str = "kecamatan",
    focus: gpd.GeoDataFrame | None = None,
    desa_url: Callable[[str], str] | None = None,
    highlight: gpd.GeoDataFrame | None = None,
):
    """The folium map of a view (overview, or one kecamatan when ``view.kecamatan`` is set)."""
    layers = map_layers(session, result, view, lang)
    return build_coverage_map(
        layers, focus=focus, labels=labels, base=view.base, lang=lang, desa_url=desa_url, highlight=highlight
    )


# --- rendered pages cache ------------------------------------------------------------------------


class HtmlCache:
    """A small thread-safe LRU of rendered map pages keyed by data version and normalised parameters.

    ``renders`` counts the pages actually built (what the cache tests look at).
    """

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0
        self.hits = 0

    def get_or_render(self, key: tuple, render: Callable[[], str]) -> str:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        html = render()
        with self._lock:
            self.renders += 1
            self._items[key] = html
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return html


def page_key(session: Session, kind: str, ident: str, view: MapView, lang: str, prefix: str) -> tuple:
    return (kind, ident, data_version(session), view.cache_key(), lang, prefix)


# --- geo-app layers build ---------------------------------------------------------------------------

BUILD_FORMAT = 1
MANIFEST = "manifest.json"


@dataclass
class BuildReport:
    out_dir: Path
    skipped: bool
    data_version: str
    files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"tidak berubah / unchanged (data {self.data_version}): {self.out_dir}"]
        return [f"ditulis / written: {len(self.files)} berkas / files in {self.out_dir} (data {self.data_version})"]


def _settings_hash(settings: CoverageSettings) -> str:
    return hashlib.sha256(settings.cache_key().encode()).hexdigest()


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE); False when not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def _recover(out: Path) -> None:
    """Undo what a run killed during the swap left behind; drop stale temporary folders."""
    parent = out.parent
    olds = sorted(parent.glob(f".{out.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not out.exists() and olds:
        olds[-1].rename(out)
        olds = olds[:-1]
    for stale in [*olds, *parent.glob(f".{out.name}.tmp-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def _swap_in(tmp: Path, out: Path) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    if _exchange(tmp, out):  # out now holds the new files, tmp the old ones
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_steps(result: CoverageResult) -> list[str]:
    return ["overview", *[f"kecamatan-{c}" for c in result.kecamatan["code"]], "tables", "manifest"]


def build_layers(
    session: Session,
    out_dir: Path | str,
    settings: CoverageSettings,
    registry: AssetRegistry,
    cache: coverage_service.CoverageCache | None = None,
    lang: str = "id",
    force: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BuildReport:
    """Write the overview and every kecamatan map as standalone HTML (assets beside them), the coverage
    tables as CSV and GeoJSON, and ``manifest.json`` (data version, settings) into ``out_dir``.

    Nothing is written when the manifest shows the same data version, settings and format. Otherwise
    everything is written into a temporary folder beside ``out_dir`` and swapped in at the end, so a
    run that fails or is killed leaves the previous output as it was.
    """
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise LayersBuildFailed(f"--out {out}: bukan folder / not a folder")
    if out.is_dir() and any(out.iterdir()) and read_manifest(out) is None:
        raise LayersBuildFailed(
            f"--out {out}: folder berisi berkas lain tanpa {MANIFEST}; pilih folder baru/kosong "
            f"/ folder holds other files and no {MANIFEST}; choose a new or empty folder"
        )
    version = data_version(session)
    inputs = {"data_version": version, "settings_hash": _settings_hash(settings), "format": BUILD_FORMAT, "lang": lang}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _recover(out)
    except OSError as exc:
        raise LayersBuildFailed(f"--out {out}: {exc.strerror or exc}") from None
    manifest = read_manifest(out)
    if (
        not force
        and manifest
        and manifest.get("inputs") == inputs
        and all((out / f).is_file() for f in manifest.get("files", []))
    ):
        return BuildReport(out, True, version, list(manifest.get("files", [])))

    result = coverage_service.get_coverage(session, settings, cache)
    steps = build_steps(result)
    if on_start:
        on_start(len(steps))
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output is meant to be shared
    except OSError as exc:
        raise LayersBuildFailed(f"--out {out}: {exc.strerror or exc}") from None
    files: list[str] = []
    try:
        view = MapView(settings=settings)
        m = coverage_map(session, result, view, lang)
        html, _assets = render_standalone(m, registry, tmp)
        _write_text(tmp / "overview.html", html)
        files.append("overview.html")
        on_step and on_step("overview")
        kec = result.kecamatan
        for code in kec["code"]:
            kview = replace(view, kecamatan=str(code))
            km = coverage_map(session, result, kview, lang, labels="desa", focus=kec[kec["code"] == code])
            html, _assets = render_standalone(km, registry, tmp)
            name = f"kecamatan-{code}.html"
            _write_text(tmp / name, html)
            files.append(name)
            on_step and on_step(f"kecamatan-{code}")
        cs = coverage_service
        tables = {
            "coverage_desa.csv": cs.to_csv(cs.rows(result.desa, cs.DESA_COLUMNS), cs.DESA_COLUMNS),
            "coverage_kecamatan.csv": cs.to_csv(cs.rows(result.kecamatan, cs.KECAMATAN_COLUMNS), cs.KECAMATAN_COLUMNS),
            "gaps.csv": cs.to_csv(cs.rows(result.gaps(), cs.GAP_COLUMNS), cs.GAP_COLUMNS),
            "coverage_desa.geojson": json.dumps(
                cs.to_geojson(result.desa, cs.DESA_COLUMNS, settings=settings.to_dict()), ensure_ascii=False
            ),
            "coverage_kecamatan.geojson": json.dumps(
                cs.to_geojson(result.kecamatan, cs.KECAMATAN_COLUMNS, settings=settings.to_dict()), ensure_ascii=False
            ),
        }
        for name, text in tables.items():
            _write_text(tmp / name, text)
            files.append(name)
        from .export_gis import gis_layers, write_build_files  # GeoPackage, shapefiles, QGIS project

        files += write_build_files(gis_layers(session, {}, cache=cache, settings=settings), tmp, lang)
        on_step and on_step("tables")
        assets = sorted(p.relative_to(tmp).as_posix() for p in (tmp / "assets").rglob("*") if p.is_file())
        body = {
            "inputs": inputs,
            "data_version": version,
            "settings": settings.to_dict(),
            "summary": cs.summary_for(result),
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
            "assets": assets,
        }
        _write_text(tmp / MANIFEST, json.dumps(body, ensure_ascii=False, indent=2))
        on_step and on_step("manifest")
        _swap_in(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LayersBuildFailed(
            f"menulis / writing {out} gagal / failed: {exc.strerror or exc}"
            f"{' (' + exc.filename + ')' if getattr(exc, 'filename', None) else ''}; "
            "keluaran lama tetap / previous output kept"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(out, False, version, files)


def run_build(
    app,
    out_dir: Path | str,
    overrides: Mapping[str, Any],
    extra: list[str] | tuple[str, ...] = (),
    lang: str = "id",
    force: bool = False,
    progress: Callable | None = None,
) -> BuildReport:
    """``geo-app layers build`` and ``scripts/regenerate_layers.py``: settings from options, the app's
    asset registry and coverage cache, a progress bar (``click.progressbar``-like) when given."""
    from ..app_db import database
    from ..maps.assets import app_registry

    settings = coverage_service.coverage_settings(
        {**{k: v for k, v in overrides.items() if v not in (None, "")}, **coverage_service.parse_set_options(extra)}
    )
    cache = app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())
    bar = None

    def on_start(total: int) -> None:
        nonlocal bar
        if progress is not None:
            bar = progress(length=total, label="Menulis lapisan / writing layers")
            bar.__enter__()

    def on_step(_label: str) -> None:
        if bar is not None:
            bar.update(1)

    with database(app).session() as session:
        try:
            return build_layers(
                session,
                out_dir,
                settings,
                app_registry(app),
                cache,
                lang=lang,
                force=force,
                on_start=on_start,
                on_step=on_step,
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
