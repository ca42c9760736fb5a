"""``geo-app layers build``: standalone maps with their assets, tables, manifest; no writes when nothing
changed; a failing or killed run leaves the previous output; clear errors and exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from geo_app.app_db import get_session
from geo_app.services import dir_swap, layers_build
from geo_app.services import layers as layer_service
from geo_app.services.records import create_record
from geo_app.store.db import data_version
from tests.conftest import REPO, TEST_ADMIN, copy_database, make_app


def _state(out: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``out`` with its inode, mtime (ns) and size."""
    return {
        p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _build(app, out: Path, **kw):
    return layer_service.run_build(app, out, kw.pop("overrides", {}), **kw)


@pytest.fixture(scope="module")
def built_once(demo_template, tmp_path_factory, boundary_source):  # noqa: F811
    """One build of the demo set; each test gets a copy (same data version as its ``demo_app``)."""
    root = tmp_path_factory.mktemp("built")
    db = root / "demo.sqlite"
    copy_database(demo_template, db)
    app = make_app(db, root / "shapefiles", BOUNDARY_SOURCE=boundary_source)
    out = root / "layers"
    report = _build(app, out)
    app.extensions["geo_app.engine"].dispose()
    assert not report.skipped
    return out


@pytest.fixture
def built(demo_app, tmp_path, built_once):  # noqa: F811
    out = tmp_path / "layers"
    shutil.copytree(built_once, out)
    return out, None


def test_build_writes_maps_assets_tables_and_manifest(demo_app, tmp_path):  # noqa: F811
    out = tmp_path / "layers"
    report = _build(demo_app, out)
    assert not report.skipped
    with demo_app.app_context():
        version = data_version(get_session())
        kecamatan = layer_service.coverage_service.get_coverage(get_session()).kecamatan["code"].tolist()
    names = {p.name for p in out.iterdir()}
    assert {
        "overview.html",
        "manifest.json",
        "coverage_desa.csv",
        "coverage_kecamatan.csv",
        "gaps.csv",
        "coverage_desa.geojson",
        "coverage_kecamatan.geojson",
        "assets",
    } <= names
    assert {f"kecamatan-{c}.html" for c in kecamatan} <= names and len(kecamatan) == 15
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data_version"] == version and manifest["settings"]["meeting_window_days"] == 60
    styles = sorted(f"styles/{p.name}" for p in (out / "styles").iterdir())  # QGIS styles (issue 15)
    assert sorted(manifest["files"]) == sorted(
        [*(n for n in names if n not in ("assets", "manifest.json", "styles")), *styles]
    )
    # every script and stylesheet is a relative file that exists beside the page
    for page in ("overview.html", f"kecamatan-{kecamatan[0]}.html"):
        html = (out / page).read_text()
        # (the page icon is inline, ``data:``: a page opened from disk asks for no favicon)
        links = [u for u in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html) if u != "data:,"]
        assert links and all(link.startswith("assets/") and (out / link).is_file() for link in links), page
        assert "/desa/" not in html  # no links to a server in a shared file
    geo = json.loads((out / "coverage_desa.geojson").read_text())
    assert len(geo["features"]) == 151 and geo["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    csv_lines = (out / "coverage_desa.csv").read_text().splitlines()
    assert len(csv_lines) == 152 and csv_lines[0].startswith("code,name,")
    assert (out / "kecamatan-17.06.10.html").stat().st_size < (out / "overview.html").stat().st_size


def test_unchanged_inputs_write_nothing(demo_app, built):  # noqa: F811
    out, _ = built
    before, inode = _state(out), out.stat().st_ino
    time.sleep(0.01)
    report = _build(demo_app, out)
    assert report.skipped and _state(out) == before and out.stat().st_ino == inode
    assert not list(out.parent.glob(".layers.*"))


def test_changed_settings_or_data_rebuild(demo_app, built):  # noqa: F811
    out, _ = built
    first = json.loads((out / "manifest.json").read_text())
    report = _build(demo_app, out, overrides={"window_days": "30"})
    second = json.loads((out / "manifest.json").read_text())
    assert not report.skipped and second["settings"]["meeting_window_days"] == 30
    assert second["summary"]["status_counts"] != first["summary"]["status_counts"]
    with demo_app.app_context():
        create_record(
            get_session(),
            demo_app.config["GEO_APP_SETTINGS"],
            "incidents",
            {
                "occurred_at": "20/11/2024 10:00",
                "category": "hoaks",
                "severity": "tinggi",
                "desa": "Penarik",
                "description": "Hoaks baru",
            },
            actor=TEST_ADMIN,
        )
    report = _build(demo_app, out, overrides={"window_days": "30"})
    third = json.loads((out / "manifest.json").read_text())
    assert not report.skipped and third["data_version"] != second["data_version"]
    assert "Hoaks baru" in (out / "overview.html").read_text()


def test_failure_midway_leaves_previous_output(demo_app, built, monkeypatch):  # noqa: F811
    out, _ = built
    before = {name: (out / name).read_bytes() for name in _state(out)}
    calls = []
    real = layers_build.render_standalone

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(layers_build, "render_standalone", failing)
    with pytest.raises(layers_build.LayersBuildFailed, match="No space left on device.*previous output kept"):
        _build(demo_app, out, overrides={"window_days": "30"})
    assert {name: (out / name).read_bytes() for name in _state(out)} == before
    assert not list(out.parent.glob(".layers.*"))


def test_killed_run_leaves_previous_output(demo_app, built):  # noqa: F811
    """A real process killed with SIGKILL while writing: the old folder is untouched, the next run cleans up."""
    out, _ = built
    before = {name: (out / name).read_bytes() for name in _state(out)}
    ready = out.parent / "ready"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from geo_app import create_app
        from geo_app.services import layers_build as layers
        real = layers._write_text
        count = [0]
        def slow(path, text):
            real(path, text)
            count[0] += 1
            if count[0] == 5:  # overview and a few kecamatan maps written into the temporary folder
                Path({str(ready)!r}).write_text("x")
                time.sleep(60)
        layers._write_text = slow
        app = create_app({{"DATABASE_URL": {demo_app.config["DATABASE_URL"]!r}, "SECRET_KEY": "x",
                           "SHAPEFILE_DIR": {demo_app.config["SHAPEFILE_DIR"]!r}}})
        layers.run_build(app, {str(out)!r}, {{"window_days": "30"}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the build did not reach the pause"
            time.sleep(0.05)
        partial = list(out.parent.glob(".layers.tmp-*"))
        assert len(partial) == 1 and (partial[0] / "overview.html").is_file()
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    assert {name: (out / name).read_bytes() for name in _state(out)} == before
    # the next run removes the half-written folder and, as inputs are unchanged, writes nothing
    report = _build(demo_app, out)
    assert report.skipped and not list(out.parent.glob(".layers.tmp-*"))


def test_cli_build_progress_and_errors(demo_app, tmp_path):  # noqa: F811
    runner = demo_app.test_cli_runner()
    out = tmp_path / "shared"
    result = runner.invoke(args=["layers", "build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ditulis / written: 30" in result.output and (out / "manifest.json").is_file()
    again = runner.invoke(args=["layers", "build", "--out", str(out)])
    assert again.exit_code == 0 and "tidak berubah / unchanged" in again.output

    bad = runner.invoke(args=["layers", "build", "--out", str(out), "--window-days", "tiga"])
    assert bad.exit_code != 0 and "window_days" in bad.output and "Traceback" not in bad.output

    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    refused = runner.invoke(args=["layers", "build", "--out", str(foreign)])
    assert refused.exit_code != 0 and "manifest.json" in refused.output
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    refused = runner.invoke(args=["layers", "build", "--out", str(a_file)])
    assert refused.exit_code != 0 and "is a file" in refused.output


def test_script_calls_the_same_service(demo_app, tmp_path):  # noqa: F811
    out = tmp_path / "by-script"
    env = {
        **os.environ,
        "GEO_APP_DATABASE_URL": demo_app.config["DATABASE_URL"],
        "GEO_APP_SECRET_KEY": "x",
        "GEO_APP_SHAPEFILE_DIR": demo_app.config["SHAPEFILE_DIR"],
    }
    run = subprocess.run(
        [sys.executable, "scripts/regenerate_layers.py", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "ditulis / written" in run.stdout and (out / "overview.html").is_file()
    bad = subprocess.run(
        [sys.executable, "scripts/regenerate_layers.py", "--out", str(out), "--date", "kemarin"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "date" in bad.stderr and "Traceback" not in bad.stderr


def test_swap_by_two_renames_and_recovery_after_a_kill_between_them(demo_app, built, monkeypatch):  # noqa: F811
    """Where the atomic exchange is not available the output is swapped by two renames; a run killed
    between them leaves ``.layers.old-*``, which the next run puts back before anything else."""
    out, _ = built
    monkeypatch.setattr(dir_swap, "exchange", lambda a, b: False)
    report = _build(demo_app, out, overrides={"window_days": "30"})
    assert (
        not report.skipped and json.loads((out / "manifest.json").read_text())["settings"]["meeting_window_days"] == 30
    )
    assert [p.name for p in out.parent.iterdir() if p.name.startswith((".layers", "layers"))] == ["layers"]
    before = {name: (out / name).read_bytes() for name in _state(out)}
    out.rename(out.parent / ".layers.old-4242")  # as if killed right after the first rename
    report = _build(demo_app, out, overrides={"window_days": "30"})
    assert report.skipped and {name: (out / name).read_bytes() for name in _state(out)} == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith((".layers", "layers"))] == ["layers"]
