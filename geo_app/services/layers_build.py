"""``geo-app layers build``: standalone maps and tables written to a folder, opened from disk.

There is no server behind these files, so each map page is the served map's shell with its data
inline: desa polygons and statuses, and the records aggregated where they are many (see
``map_data.standalone_sources``), so the pages open from disk whatever the number of records. Everything is
written into a temporary folder and swapped in at the end (``dir_swap``); nothing is written when
the manifest shows the same data version, settings and format.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..analysis.coverage import CoverageResult, CoverageSettings
from ..errors import LayersBuildFailed
from ..i18n import t
from ..maps.assets import AssetRegistry, render_standalone
from ..maps.shell import MapShell, MapSources, build_map_shell
from ..store.db import data_version
from . import coverage as coverage_service
from . import dir_swap, map_data
from .boundaries import loaded_area
from .map_data import MapView

#: 2: map pages are the shell of the served maps with their data inline, aggregated where many;
#: 3: with several kabupaten each kabupaten folder has its own GIS files, titles name the loaded area
BUILD_FORMAT = 3
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


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _standalone_page(
    prep: map_data.PreparedMap,
    view: MapView,
    bounds: Any,
    lang: str,
    registry: AssetRegistry,
    out_dir: Path,
    title: str,
    threshold: int,
    rollup: bool = False,
    prefix: str = "assets/",
) -> str:
    """One map page that opens from disk: the same shell as the served pages, its data inline
    (``map_data.standalone_sources``: aggregated where records are many), assets copied beside it
    (``prefix``: their folder relative to the page). ``rollup``: the province overview, each kabupaten
    linking to its folder's ``overview.html``."""
    box = tuple(float(v) for v in bounds)
    links = (lambda code: f"{code}/overview.html") if rollup else None
    data = map_data.standalone_sources(prep, view, box, lang, threshold=threshold, kabupaten_url=links)
    shell = MapShell(bounds=box, sources=MapSources(**data), lang=lang, base=view.base, title=title, rollup=rollup)
    html, _assets = render_standalone(build_map_shell(shell), registry, out_dir, prefix)
    return html


def build_steps(result: CoverageResult) -> list[str]:
    """One step per page: with several kabupaten the province overview (``index.html``) and, per
    kabupaten, a folder with its overview and kecamatan pages; one kabupaten: the pages at the top."""
    if not coverage_service.several_kabupaten(result):
        return ["overview", *[f"kecamatan-{c}" for c in result.kecamatan["code"]], "tables", "manifest"]
    kabupaten = list(coverage_service.kabupaten_names(result))
    return ["index", *kabupaten, *[f"kecamatan-{c}" for c in result.kecamatan["code"]], "tables", "manifest"]


def _kabupaten_pages(
    prep: map_data.PreparedMap,
    result: CoverageResult,
    view: MapView,
    lang: str,
    registry: AssetRegistry,
    tmp: Path,
    title: str,
    threshold: int,
    on_step: Callable[[str], None] | None,
) -> list[str]:
    """Several kabupaten: ``index.html``, the province overview that rolls up (each kabupaten links to
    its folder), and per kabupaten a folder ``<code>/`` with its ``overview.html`` and a page per
    kecamatan (assets shared in the top folder's ``assets/``). Returns the files written."""
    files = []
    html = _standalone_page(prep, view, result.desa.total_bounds, lang, registry, tmp, title, threshold, rollup=True)
    _write_text(tmp / "index.html", html)
    files.append("index.html")
    on_step and on_step("index")
    for code, name in coverage_service.kabupaten_names(result).items():
        own = coverage_service.filter_desa(result.desa, kabupaten=code)
        kview = replace(view, kabupaten=code)
        page_title = f"{t('map.title', lang)} — {name}"
        html = _standalone_page(
            prep, kview, own.total_bounds, lang, registry, tmp / code, page_title, threshold, prefix="../assets/"
        )
        _write_text(tmp / code / "overview.html", html)
        files.append(f"{code}/overview.html")
        on_step and on_step(code)
        rows = coverage_service.filter_kecamatan(result, kabupaten=code)
        for kcode, kname in zip(rows["code"], rows["name"]):
            kown = result.desa[result.desa["kecamatan_code"] == kcode]
            page_title = f"{t('map.title', lang)} — {t('kecamatan', lang)} {kname}, {name}"
            html = _standalone_page(
                prep,
                replace(kview, kecamatan=str(kcode)),
                kown.total_bounds,
                lang,
                registry,
                tmp / code,
                page_title,
                threshold,
                prefix="../assets/",
            )
            page = f"{code}/kecamatan-{kcode}.html"
            _write_text(tmp / page, html)
            files.append(page)
            on_step and on_step(f"kecamatan-{kcode}")
    return files


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
    threshold: int = map_data.DEFAULT_POINTS_THRESHOLD,
    app_settings: Mapping[str, Any] | None = None,
) -> BuildReport:
    """Write the overview and every kecamatan map as standalone HTML (assets beside them), the coverage
    tables as CSV and GeoJSON, the GIS files (``export_gis.write_build_files``; with several kabupaten
    also each kabupaten's own in its folder) and ``manifest.json`` (data version, settings) into
    ``out_dir``. ``app_settings``: the app's (``GEO_APP_KABUPATEN`` says whether a province is meant, for
    the titles).

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
        dir_swap.recover(out)
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
        tmp = dir_swap.make_temporary(out)
    except OSError as exc:
        raise LayersBuildFailed(f"--out {out}: {exc.strerror or exc}") from None
    files: list[str] = []
    try:
        view = MapView(settings=settings)
        prep = map_data.PreparedMap(result, session)
        area = loaded_area(session, app_settings)
        title = f"{t('map.title', lang)} — {area.brand(lang)}"
        if coverage_service.several_kabupaten(result):
            files += _kabupaten_pages(prep, result, view, lang, registry, tmp, title, threshold, on_step)
        else:
            html = _standalone_page(prep, view, result.desa.total_bounds, lang, registry, tmp, title, threshold)
            _write_text(tmp / "overview.html", html)
            files.append("overview.html")
            on_step and on_step("overview")
            kec = result.kecamatan
            for code, name in zip(kec["code"], kec["name"]):
                own = result.desa[result.desa["kecamatan_code"] == code]
                title = f"{t('map.title', lang)} — {t('kecamatan', lang)} {name}"
                kview = replace(view, kecamatan=str(code))
                html = _standalone_page(prep, kview, own.total_bounds, lang, registry, tmp, title, threshold)
                page = f"kecamatan-{code}.html"
                _write_text(tmp / page, html)
                files.append(page)
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

        gis_settings = dict(app_settings or {})
        files += write_build_files(gis_layers(session, gis_settings, cache=cache, settings=settings), tmp, lang)
        if coverage_service.several_kabupaten(result):  # each kabupaten folder: its own desa and records
            for code in coverage_service.kabupaten_names(result):
                own = gis_layers(session, gis_settings, cache=cache, settings=settings, kabupaten=code)
                files += [f"{code}/{name}" for name in write_build_files(own, tmp / code, lang)]
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
        dir_swap.swap_in(tmp, out)
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
    from ..config import setting
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

    threshold = int(setting(app.config["GEO_APP_SETTINGS"], "MAP_POINTS_THRESHOLD"))
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
                threshold=threshold,
                app_settings=app.config["GEO_APP_SETTINGS"],
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
