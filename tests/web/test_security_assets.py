"""/assets/ serves only the files resolved at start: no traversal, in any encoding, for any package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo_app.maps.assets import PACKAGES, app_registry
from tests.conftest import get_closed

SECRET = "traversal-canary-7f3a"


@pytest.fixture
def canary(tmp_path) -> Path:
    path = tmp_path / "canary.txt"
    path.write_text(SECRET)
    return path


def _attacks(folder: str, root: Path, target: Path) -> list[str]:
    """Ways of writing "go up to / and read ``target``" after ``folder`` (a served folder or '')."""
    depth = len(root.resolve().parts) + folder.count("/") + 2
    rel_target = str(target).lstrip("/")
    up = "../" * depth
    return [
        folder + up + rel_target,  # literal
        folder + up.replace("/", "%2f") + rel_target.replace("/", "%2f"),  # encoded slashes
        folder + up.replace("..", "%2e%2e") + rel_target,  # encoded dots
        folder + up.replace("/", "%252f") + rel_target.replace("/", "%252f"),  # double-encoded
        folder + up.replace("..", "%252e%252e") + rel_target,
        folder + up.replace("/", "\\") + rel_target.replace("/", "\\"),  # backslashes
        folder + up.replace("/", "%5c") + rel_target.replace("/", "%5c"),
        "/" + str(target),  # absolute
        str(target).replace("/", "%2f"),
        folder + "..%2f" * depth + "etc%2fpasswd",
        folder + "./" + "../" * depth + "etc/passwd",
    ]


@pytest.mark.parametrize("key", sorted(PACKAGES))
def test_traversal_in_every_form_is_404_for_every_package(app, canary, key):
    app.config["ALLOW_ANONYMOUS_VIEW"] = False  # the attacker is anonymous; assets stay public
    client = app.test_client()
    registry = app_registry(app)
    root, version = registry.locate(key)
    folders = sorted({p.rsplit("/", 1)[0] + "/" if "/" in p else "" for p in PACKAGES[key].files})
    for folder in folders:
        for target in (canary, Path("/etc/passwd")):
            for attack in _attacks(folder, root, target):
                resp = get_closed(client, f"/assets/{key}/{version}/{attack}")
                assert resp.status_code == 404, (key, attack, resp.status_code)
                body = resp.get_data(as_text=True)
                assert SECRET not in body and "root:x:0:0" not in body, (key, attack)
                assert "immutable" not in resp.headers.get("Cache-Control", ""), (key, attack)


def test_a_served_file_still_comes_and_a_missing_one_is_a_plain_404(app):
    client = app.test_client()
    registry = app_registry(app)
    _root, version = registry.locate("leaflet")
    ok = get_closed(client, f"/assets/leaflet/{version}/images/marker-icon.png")
    assert ok.status_code == 200 and ok.data[:4] == b"\x89PNG"
    assert "immutable" in ok.headers["Cache-Control"]
    missing = get_closed(client, f"/assets/leaflet/{version}/images/no-such-file.png")
    assert missing.status_code == 404
    assert "site-packages" not in missing.get_data(as_text=True)
    assert "immutable" not in missing.headers.get("Cache-Control", "")
    assert get_closed(client, "/assets/leaflet/0.0.0/leaflet.js").status_code == 404
    assert get_closed(client, f"/assets/nosuchpackage/{version}/leaflet.js").status_code == 404


def test_a_symlink_out_of_a_package_is_not_served(tmp_path, canary):
    """A link planted inside an npm package that points elsewhere is dropped from the served table."""
    from geo_app.maps.assets import AssetRegistry

    npm = tmp_path / "npm" / "node_modules" / "leaflet-search"
    (npm / "images").mkdir(parents=True)
    (npm / "package.json").write_text('{"version": "2.9.7"}')
    (npm / "images" / "ok.png").write_bytes(b"png")
    os.symlink(canary, npm / "images" / "evil.png")
    registry = AssetRegistry(tmp_path / "npm")
    assert sorted(registry.served_files("leaflet-search")) == ["images/ok.png"]
