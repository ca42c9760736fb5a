"""``geo-app`` command line. Commands call the same services as the views; errors become ClickException."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from werkzeug.serving import run_simple

from .app_db import current_settings as _settings
from .app_db import get_session
from .errors import GeoAppError, ValidationError
from .ingest.vector import PRESETS, resolve_mapping
from .services import audit as audit_service
from .services import boundaries as boundary_service
from .services import demo as demo_service
from .services import records_import as import_service
from .services import synthetic as synthetic_service
from .services import users as user_service
from .store import migrate


class GeoAppGroup(AppGroup):
    """A command group that turns ``GeoAppError`` into a one-line ``click.ClickException``."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GeoAppError as exc:
            raise click.ClickException(exc.message) from None


boundaries = GeoAppGroup("boundaries", help="Batas wilayah: fetch, import, list.")
KABUPATEN_HELP = "17.06 (one), 17.06,17.01 (a list) or 17 (the province); default GEO_APP_KABUPATEN (17.06)."


@boundaries.command("fetch")
@click.option("--source", help="Base URL or local folder with the wilayah_boundaries layout.")
@click.option("--kabupaten", help=KABUPATEN_HELP)
def boundaries_fetch(source: str | None, kabupaten: str | None) -> None:
    """Download (or copy) the upstream boundary files into shapefiles/."""
    for path in boundary_service.fetch(_settings(), source=source, kabupaten=kabupaten):
        click.echo(f"disimpan / saved: {path}")


@boundaries.command("import")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="Column names of a known layout (big: BIG/RBI).")
@click.option("--desa-code-col")
@click.option("--desa-name-col")
@click.option("--kecamatan-code-col")
@click.option("--kecamatan-name-col")
@click.option("--kabupaten", help=KABUPATEN_HELP)
def boundaries_import(path, preset, desa_code_col, desa_name_col, kecamatan_code_col, kecamatan_name_col, kabupaten):
    """Import the upstream boundaries (no PATH) or desa polygons from any vector file."""
    mapping = None
    if path:
        mapping = resolve_mapping(
            preset,
            desa_code=desa_code_col,
            desa_name=desa_name_col,
            kecamatan_code=kecamatan_code_col,
            kecamatan_name=kecamatan_name_col,
        )
    report = boundary_service.import_boundaries(
        get_session(), _settings(), path=path, mapping=mapping, kabupaten=kabupaten
    )
    for line in report.lines():
        click.echo(line)


@boundaries.command("list")
def boundaries_list() -> None:
    """The kecamatan with their desa counts and areas."""
    session = get_session()
    boundary_service.require_boundaries(session)
    rows = boundary_service.kecamatan_summary(session)
    click.echo(f"{'Kode':<9} {'Kecamatan':<16} {'Desa':>5} {'Luas km²':>9}")
    for r in rows:
        click.echo(f"{r['code']:<9} {r['name']:<16} {r['desa_count']:>5} {r['area_km2']:>9.1f}")
    kabupaten = boundary_service.kabupaten_list(session)
    if len(kabupaten) > 1:
        for k in kabupaten.itertuples():
            click.echo(
                f"{k.code} {k.name}: {k.kecamatan_count} kecamatan, {k.desa_count} desa/kelurahan, {k.area_km2:.1f} km²"
            )
    click.echo(
        f"{len(rows)} kecamatan, {sum(r['desa_count'] for r in rows)} desa/kelurahan, "
        f"{sum(r['area_km2'] for r in rows):.1f} km²"
    )


demo = GeoAppGroup("demo", help="Data demo (sintetis, berdasarkan angka nyata FACTS.md).")


@demo.command("load")
@click.option(
    "--province",
    help="17: also the other nine kabupaten/kota of Bengkulu (3,452 TPS, 1,503,923 voters; needs GEO_APP_KABUPATEN=17).",
)
def demo_load(province: str | None) -> None:
    """Load the deterministic demo set (327 TPS, rakor, insiden); loading it again changes nothing."""
    counts = demo_service.load_demo(get_session(), _settings(), province=province)
    for line in demo_service.count_lines(counts):
        click.echo(line)
    if province:
        for row in demo_service.tps_by_kabupaten(get_session()):
            click.echo(f"{row['code']} {row['name']}: {row['tps']:,} TPS, {row['voters']:,} pemilih/voters")


@demo.command("incidents")
@click.option("--count", type=click.IntRange(min=1), required=True, help="Jumlah insiden / how many incidents.")
@click.option("--seed", type=int, default=2024, show_default=True, help="Same seed, same incidents.")
@click.option("--dry-run", is_flag=True, help="Periksa saja, tidak menyimpan / validate, write nothing.")
def demo_incidents(count: int, seed: int, dry_run: bool) -> None:
    """Generate COUNT synthetic incidents (deterministic, marked synthetic) and import them through the
    normal import; running it again with the same count and seed changes nothing."""
    result = synthetic_service.import_synthetic_incidents(
        get_session(), _settings(), count, seed, actor=_cli_actor(), dry_run=dry_run
    )
    for line in result.lines():
        click.echo(line)


import_group = GeoAppGroup("import", help="Impor rakor, TPS dan insiden dari CSV, XLSX atau GeoJSON.")

#: Files with more rows than this get a progress bar.
PROGRESS_MIN_ROWS = 300


def _import_command(kind: str, help_text: str) -> None:
    @import_group.command(kind, help=help_text)
    @click.argument("path", type=click.Path(dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Periksa saja, tidak menyimpan / validate, write nothing.")
    @click.option("--skip-invalid", is_flag=True, help="Simpan baris yang valid; baris lain ke --rejects.")
    @click.option("--rejects", type=click.Path(dir_okay=False), help="CSV for the rejected rows and their reasons.")
    def command(path: str, dry_run: bool, skip_invalid: bool, rejects: str | None) -> None:
        if skip_invalid and not rejects:
            raise click.UsageError("--skip-invalid perlu --rejects FILE / needs --rejects FILE")
        if rejects and not skip_invalid:
            raise click.UsageError("--rejects hanya dengan --skip-invalid / only with --skip-invalid")
        with contextlib.ExitStack() as stack:
            bar = None

            def progress(done: int, total: int) -> None:
                # rows validated and written (chunk by chunk, in one transaction) out of the file's rows
                nonlocal bar
                if total <= PROGRESS_MIN_ROWS:
                    return
                if bar is None:
                    bar = stack.enter_context(
                        click.progressbar(
                            length=total,
                            label=f"{kind}: memeriksa dan menyimpan / validating and writing",
                            file=sys.stderr,  # click.get_text_stream is deprecated (Click 9)
                        )
                    )
                bar.update(done - bar.pos)

            try:
                result = import_service.import_records(
                    get_session(),
                    _settings(),
                    kind,
                    path,
                    None,
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                    rejects_path=rejects,
                    progress=progress,
                    actor=_cli_actor(),
                )
            except ValidationError as exc:
                stack.close()
                details = exc.details if isinstance(exc.details, dict) else {}
                for w in details.get("warnings", []):
                    click.echo(f"peringatan / warning: {w}", err=True)
                for e in details.get("errors", []):
                    click.echo(f"  baris/row {e['row']}, kolom {e['column']}: {e['reason']}", err=True)
                raise click.ClickException(exc.message) from None
        for line in result.lines():
            click.echo(line)


_import_command("meetings", "Impor rakor (rapat koordinasi) / import meetings.")
_import_command("tps", "Impor TPS / import polling stations.")
_import_command("incidents", "Impor insiden / import incidents.")


def _cli_actor() -> str:
    """Who the audit log names for a command-line change: the operating-system user."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@import_group.command("batches")
def import_batches() -> None:
    """List import batches (newest first)."""
    for b in audit_service.list_batches(get_session()):
        state = "dibatalkan/rolled back" if b["rolled_back"] else ""
        click.echo(
            f"{b['batch']}  {b['label']:<48} {b['kind'] or '-':<10} "
            f"{b['created']:>5} baru  {b['updated']:>5} diperbarui  {state}"
        )


@import_group.command("rollback")
@click.argument("batch")
def import_rollback(batch: str) -> None:
    """Undo a whole import batch (refused if its records were changed afterwards)."""
    counts = audit_service.rollback_batch(get_session(), batch, actor=_cli_actor())
    click.echo(f"batch {batch}: {counts['deleted']} dihapus/deleted, {counts['restored']} dipulihkan/restored")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), help="gunicorn worker processes (default: GEO_APP_WORKERS).")
@click.option("--threads", type=click.IntRange(min=1), help="Threads per worker (default: GEO_APP_WORKER_THREADS).")
@click.option("--dev", is_flag=True, help="Werkzeug's development server instead of gunicorn (one process).")
def serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> None:
    """Start the service with gunicorn (or --dev: the development server); on first start fetch and
    import the boundaries if missing, create the first admin and load the demo set into an empty database."""
    try:
        report = boundary_service.ensure_boundaries(get_session(), _settings())
    except GeoAppError as exc:
        raise click.ClickException(exc.message) from None
    if report:
        for line in report.lines():
            click.echo(line)
    _ensure_first_admin()
    if _settings().get("DEMO_ON_EMPTY", True) and not demo_service.has_records(get_session()):
        click.echo(
            "Database tanpa data rakor/TPS/insiden: memuat data demo / loading the demo set "
            "(GEO_APP_DEMO_ON_EMPTY=0 to skip)"
        )
        try:
            province = demo_service.serve_province(_settings())
            counts = demo_service.load_demo(get_session(), _settings(), province=province)
        except GeoAppError as exc:
            raise click.ClickException(exc.message) from None
        for line in demo_service.count_lines(counts):
            click.echo(line)
    if dev:
        # not current_app.run(): under the `geo-app` FlaskGroup (FLASK_RUN_FROM_CLI) it returns without serving
        run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)
        return
    _exec_gunicorn(host, port, workers or int(_settings()["WORKERS"]), threads or int(_settings()["WORKER_THREADS"]))


def _exec_gunicorn(host: str, port: int, workers: int, threads: int) -> NoReturn:
    """Replace this process by gunicorn serving ``geo_app.wsgi:app``: each worker creates its own app
    from the same ``GEO_APP_*`` environment (so the database set-up above is not repeated)."""
    if not _has_module("gunicorn"):
        raise click.ClickException("gunicorn is not installed: pip install -e . (or geo-app serve --dev)")
    from .app_db import close_session

    close_session()
    current_app.extensions["geo_app.engine"].dispose()  # no connection of this process is inherited
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        # a first render of a large map takes seconds; the default 30 s would kill the worker
        "--timeout",
        "120",
        "--graceful-timeout",
        "30",
        "geo_app.wsgi:app",
    ]
    click.echo(f"gunicorn: http://{host}:{port} ({workers} workers × {threads} threads)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


users = GeoAppGroup("users", help="Pengguna dan peran (viewer, editor, admin).")


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(user_service.ROLES), default="viewer", show_default=True)
@click.password_option(help="At least 10 characters; prompted when not given.")
def users_create(username: str, role: str, password: str) -> None:
    """Create a user (the first admin is made this way)."""
    user = user_service.create_user(get_session(), username, password, role, actor=_cli_actor())
    click.echo(f"pengguna / user {user['username']} dibuat / created, peran / role {user['role']}")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(user_service.ROLES))
def users_set_role(username: str, role: str) -> None:
    user_service.set_role(get_session(), username, role, actor=_cli_actor())
    click.echo(f"{username}: {role}")


@users.command("set-password")
@click.argument("username")
@click.password_option(help="At least 10 characters; prompted when not given.")
def users_set_password(username: str, password: str) -> None:
    user_service.set_password(get_session(), username, password, actor=_cli_actor())
    click.echo(f"{username}: kata sandi diganti / password changed")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable a user: their sessions stop working at once."""
    user_service.set_active(get_session(), username, False, actor=_cli_actor())
    click.echo(f"{username}: nonaktif / disabled")


@users.command("list")
def users_list() -> None:
    for u in user_service.list_users(get_session()):
        click.echo(f"{u['username']:<24} {u['role']:<7} {'aktif' if u['active'] else 'nonaktif'}")


tokens = GeoAppGroup("tokens", help="Token API untuk skrip (Authorization: Bearer ...).")


@tokens.command("create")
@click.argument("name")
@click.option("--user", "username", required=True, help="The user the token speaks for; it dies with them.")
@click.option(
    "--role",
    type=click.Choice(user_service.ROLES),
    default="viewer",
    show_default=True,
    help="At most the user's role.",
)
@click.option(
    "--expires-days",
    type=click.IntRange(1, user_service.MAX_TOKEN_DAYS),
    default=None,
    help="Days until the token stops working (default: never).",
)
def tokens_create(name: str, username: str, role: str, expires_days: int | None) -> None:
    """Create a token owned by a user; it is shown once, only its hash is stored."""
    token = user_service.create_token(
        get_session(), name, role, username, created_by=_cli_actor(), expires_days=expires_days
    )
    until = f", berlaku sampai / expires {token['expires_at']}" if token["expires_at"] else ""
    click.echo(f"token {token['id']} ({token['role']}, {token['user']}{until}): {token['token']}")


@tokens.command("list")
def tokens_list() -> None:
    """Every token with its owner, expiry and last use."""
    for t in user_service.list_tokens(get_session()):
        state = "dicabut/revoked" if t["revoked"] else "aktif/active"
        click.echo(
            f"{t['id']:>4} {t['name']:<20} {t['role']:<7} {t['user'] or '-':<16} {state:<16} "
            f"exp {t['expires_at'] or '-'}  last {t['last_used_at'] or '-'}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    user_service.revoke_token(get_session(), token_id, actor=_cli_actor())
    click.echo(f"token {token_id} dicabut / revoked")


def _ensure_first_admin() -> None:
    """On a fresh installation, create an admin with a random password and print it once."""
    session = get_session()
    if user_service.list_users(session):
        return
    password = secrets.token_urlsafe(12)
    user_service.create_user(session, "admin", password, "admin", actor="serve")
    click.echo(
        f"Pengguna pertama / first user: admin, kata sandi / password: {password} "
        "(ganti dengan / change it with `geo-app users set-password admin`)"
    )


@click.group("coverage", cls=GeoAppGroup, invoke_without_command=True)
@click.option("--date", "ref_date", help="Tanggal acuan / reference date YYYY-MM-DD (default 2024-11-27).")
@click.option("--window-days", help="Jendela rakor / meeting window in days (default 60).")
@click.option("--incident-window-days", help="Jendela insiden / incident window in days (default 30).")
@click.option("--kecamatan", help="Kode atau nama kecamatan / kecamatan code or name.")
@click.option("--kabupaten", help="Kode atau nama kabupaten/kota / kabupaten code or name (17.71, Kota Bengkulu).")
@click.option("--status", help="uncovered, at_risk, insecure, no_data, covered (comma-separated).")
@click.option(
    "--preset", help="Preset pengamanan / security preset: mukomuko-2024 (default), pilkada-2020, pemilu-2019."
)
@click.option(
    "--set",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="Other settings, e.g. requirement.rawan.police=3 or severity_weight.high=5.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json", "geojson"]), default="table", show_default=True
)
@with_appcontext
@click.pass_context
def coverage(
    ctx, ref_date, window_days, incident_window_days, kecamatan, kabupaten, status, preset, extra, fmt
) -> None:
    """Cakupan per desa / coverage per desa: rakor reach, TPS security, incidents.

    `geo-app coverage brief` writes the A4 brief (PDF)."""
    if ctx.invoked_subcommand is not None:
        return
    from .services import coverage as coverage_service

    try:
        overrides = _coverage_overrides(ref_date, window_days, incident_window_days, preset, extra)
        cache = current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())
        click.echo(
            coverage_service.cli_output(get_session(), fmt, overrides, kecamatan, status, cache, kabupaten=kabupaten)
        )
    except GeoAppError as exc:
        raise click.ClickException(exc.message) from None


def _coverage_overrides(ref_date, window_days, incident_window_days, preset, extra) -> dict[str, Any]:
    """The coverage settings the options of `geo-app coverage` and `coverage brief` ask for."""
    from .services import coverage as coverage_service

    return {
        "date": ref_date,
        "window_days": window_days,
        "incident_window_days": incident_window_days,
        "preset": preset,
        **coverage_service.parse_set_options(extra),
    }


@coverage.command("brief")
@click.option("--kecamatan", help="Kode atau nama kecamatan; tanpa: semua / kecamatan code or name; none: every one.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="PDF file to write.")
@click.option("--date", "ref_date", help="Tanggal acuan / reference date YYYY-MM-DD (default 2024-11-27).")
@click.option("--window-days", help="Jendela rakor / meeting window in days (default 60).")
@click.option("--incident-window-days", help="Jendela insiden / incident window in days (default 30).")
@click.option("--preset", help="Preset pengamanan / security preset (default mukomuko-2024).")
@click.option("--set", "extra", multiple=True, metavar="KEY=VALUE", help="Other coverage settings.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True)
def coverage_brief(kecamatan, out_path, ref_date, window_days, incident_window_days, preset, extra, lang) -> None:
    """Ringkasan A4 per kecamatan (PDF) / the A4 brief per kecamatan (PDF): map, settings, gap table."""
    from .services import brief as brief_service
    from .services import coverage as coverage_service

    try:
        overrides = _coverage_overrides(ref_date, window_days, incident_window_days, preset, extra)
        cache = current_app.extensions.setdefault("geo_app.coverage_cache", coverage_service.CoverageCache())
        path, pages = brief_service.write_brief(get_session(), out_path, overrides, kecamatan, lang, cache)
    except GeoAppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"ditulis / written: {path} ({pages} halaman / pages)")


layers = GeoAppGroup("layers", help="Lapisan peta untuk dibagikan / map layers for sharing.")


@layers.command("build")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--date", "ref_date", help="Tanggal acuan / reference date YYYY-MM-DD (default 2024-11-27).")
@click.option("--window-days", help="Jendela rakor / meeting window in days (default 60).")
@click.option("--incident-window-days", help="Jendela insiden / incident window in days (default 30).")
@click.option("--set", "extra", multiple=True, metavar="KEY=VALUE", help="Other coverage settings.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True)
@click.option("--force", is_flag=True, help="Write even when data and settings are unchanged.")
def layers_build(out_dir, ref_date, window_days, incident_window_days, extra, lang, force) -> None:
    """Peta ringkasan dan per kecamatan (HTML mandiri), tabel cakupan (CSV, GeoJSON), manifest.json."""
    from .services import layers as layer_service

    report = layer_service.run_build(
        current_app,
        out_dir,
        {"date": ref_date, "window_days": window_days, "incident_window_days": incident_window_days},
        extra,
        lang=lang,
        force=force,
        progress=click.progressbar,
    )
    for line in report.lines():
        click.echo(line)


db = GeoAppGroup("db", help="Skema database / database schema (Alembic migrations).")


def _db_engine():
    """The database of the settings `geo-app` starts with; the app is not created, so these commands also
    work on a database the app refuses (behind head with GEO_APP_AUTO_UPGRADE=0, or an unknown revision)."""
    from .config import load_settings
    from .store.db import make_engine

    return make_engine(load_settings()["DATABASE_URL"])


@db.command("upgrade", with_appcontext=False)
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema (an empty database is created, one from before migrations is stamped first)."""
    engine = _db_engine()
    try:
        before, after = migrate.upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(
        f"skema / schema: {before or '-'} -> {after}"
        if before != after
        else f"skema / schema: {after}, tidak ada perubahan / nothing to do"
    )


@db.command("current", with_appcontext=False)
def db_current() -> None:
    """The database's revision and the code's head."""
    engine = _db_engine()
    try:
        with engine.connect() as conn:
            state = migrate.schema_state(conn)
    finally:
        engine.dispose()
    notes = {
        "at_head": "at head",
        "empty": "empty database",
        "legacy": "made before migrations (no alembic_version)",
        "behind": f"behind: run `{migrate.UPGRADE_COMMAND}`",
        "unknown": "unknown to this code (newer release?)",
    }
    click.echo(f"current: {state.current or '-'} ({notes[state.kind]}); head: {state.head}")


@db.command("history", with_appcontext=False)
def db_history() -> None:
    """The revisions, oldest first."""
    head = migrate.head_revision()
    for revision, message in migrate.history():
        click.echo(f"{revision:<28} {message}{'  (head)' if revision == head else ''}")


@db.command("revision", with_appcontext=False)
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option(
    "--autogenerate/--empty",
    default=True,
    show_default=True,
    help="Compare the models with the database (at head) and write the difference.",
)
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new revision into geo_app/store/migrations/versions/ (review it before committing)."""
    engine = _db_engine()
    try:
        path = migrate.new_revision(engine, message, autogenerate=autogenerate)
    finally:
        engine.dispose()
    click.echo(
        f"ditulis / written: {path}"
        if path
        else "model dan database sama / the models and the database agree: nothing written"
    )


def register(app: Flask) -> None:
    app.cli.add_command(coverage)
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(boundaries)
    app.cli.add_command(serve)
    app.cli.add_command(demo)
    app.cli.add_command(import_group)
    app.cli.add_command(layers)


def _create_app() -> Flask:
    from . import create_app

    try:
        return create_app()
    except GeoAppError as exc:  # e.g. the schema check at start: one line, not a traceback
        raise click.ClickException(exc.message) from None


assets = GeoAppGroup("assets", help="Aset front-end / front-end files (XStatic from PyPI, npm via make assets).")


@assets.command("npm-specs", with_appcontext=False)
def assets_npm_specs() -> None:
    """The npm packages `make assets` installs (one line)."""
    from .maps.assets import npm_specs

    click.echo(" ".join(npm_specs()))


@assets.command("check", with_appcontext=False)
@click.option("--npm-dir", type=click.Path(file_okay=False), help="npm folder (default: GEO_APP_NPM_ASSET_DIR).")
@click.option("--quiet", is_flag=True, help="Print only problems.")
def assets_check(npm_dir: str | None, quiet: bool) -> None:
    """Every front-end package installed? Exit 1 naming the missing ones and the set-up command."""
    from .config import load_settings
    from .maps.assets import SETUP_HINT, AssetRegistry

    status = AssetRegistry(npm_dir or load_settings()["NPM_ASSET_DIR"]).status()
    bad = sorted(k for k, v in status.items() if "error" in v)
    for key, info in status.items():
        if bad or not quiet:
            click.echo(f"{key:26} {info.get('version', '-'):10} {info.get('error', 'ok')}")
    if bad:
        raise click.ClickException(
            f"aset front-end hilang / front-end assets missing ({', '.join(bad)}): "
            f"run `{SETUP_HINT}` (npm) / `make install` (PyPI)"
        )


main = FlaskGroup(create_app=_create_app, add_version_option=False, help="Mukomuko coordination map service.")
# here rather than in register(app): `geo-app db upgrade` must work when the app refuses to start
main.add_command(db)
main.add_command(assets)  # `make assets` runs these before any database exists
