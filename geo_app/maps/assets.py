"""Front-end assets served by the app itself, so maps and pages work offline (base-map tiles aside).

Folium's ``Map`` and plugins declare their JavaScript/CSS as CDN URLs (``default_js`` /
``default_css`` of ``folium.elements.JSCSSMixin``). This module maps every CDN URL the project
uses to a file installed at set-up from a package registry — XStatic packages on PyPI where one
exists at the right version, npm packages (``make assets``, into the git-ignored
``build/npm-assets``) otherwise, and folium's own bundled files — and rewrites a map's links to
``/assets/<package>/<version>/<file>`` before rendering. Nothing third-party is committed.

A URL with no local file raises :class:`~geo_app.errors.AssetMissing` naming the package and the
set-up command; a rendered page that still links a remote script or stylesheet is refused.
"""

from __future__ import annotations

import filecmp
import fnmatch
import hashlib
import importlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import folium
from branca.element import Element

from ..errors import AssetMissing

SETUP_HINT = "make assets"
#: One year: every asset URL carries the installed version, so a changed file gets a new URL.
CACHE_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class AssetPackage:
    """One installed front-end package and the files of it that pages may use."""

    key: str  # URL segment: /assets/<key>/<version>/<file>
    kind: str  # "xstatic" (PyPI), "npm" (build/npm-assets), "python" (files inside a Python package) or
    # "project" (this project's own unminified files under geo_app/; versioned by a hash of their content)
    dist: str  # what to install: pip distribution or npm "name@version"
    module: str = ""  # xstatic / python: the module holding the files
    subdir: str = ""  # folder inside the module dir or the npm package
    files: tuple[str, ...] = ()  # glob patterns (relative to the root) that may be served

    @property
    def npm_name(self) -> str:
        return self.dist.rsplit("@", 1)[0]

    def install_command(self) -> str:
        if self.kind == "npm":
            return SETUP_HINT
        return f"pip install '{self.dist}' (or make install)"

    def locate(self, npm_dir: Path) -> tuple[Path, str]:
        """The root folder and the installed version; AssetMissing when the package is not installed."""
        if self.kind == "npm":
            pkg = Path(npm_dir) / "node_modules" / self.npm_name
            meta = pkg / "package.json"
            if not meta.is_file():
                raise self._missing(f"not in {npm_dir}")
            version = str(json.loads(meta.read_text(encoding="utf-8")).get("version", "0"))
            return pkg / self.subdir, version
        try:
            mod = importlib.import_module(self.module)
        except ImportError:
            raise self._missing("Python package not installed") from None
        if self.kind == "xstatic":
            return Path(mod.BASE_DIR) / self.subdir, str(mod.VERSION)
        if self.kind == "project":
            root = Path(mod.__file__).resolve().parent / self.subdir
            return root, _content_version(root, self)
        return Path(mod.__file__).resolve().parent / self.subdir, str(getattr(mod, "__version__", "0"))

    def allows(self, relpath: str) -> bool:
        """Whether ``relpath`` is one of the declared file patterns, matched per path segment.

        ``fnmatch`` alone lets ``*`` match ``/`` and ``..``; here a pattern segment matches one
        path segment, and dot segments, backslashes and absolute paths never match.
        """
        parts = relpath.split("/")
        if not relpath or "\\" in relpath or any(p in ("", ".", "..") for p in parts):
            return False
        return any(
            len(parts) == len(pat) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pat))
            for pat in (pattern.split("/") for pattern in self.files)
        )

    def _missing(self, why: str) -> AssetMissing:
        return AssetMissing(
            f"Aset front-end '{self.key}' ({self.kind} {self.dist}) tidak ditemukan ({why}); "
            f"pasang dengan: {self.install_command()}",
            details=[f"paket: {self.kind} {self.dist}", f"pasang: {self.install_command()}"],
        )


#: Packages. Versions follow folium 0.20's CDN links; where a registry lacks that exact version the
#: nearest compatible release is used (noted).
PACKAGES: dict[str, AssetPackage] = {
    p.key: p
    for p in (
        AssetPackage(
            "leaflet",
            "xstatic",
            "XStatic-Leaflet>=1.9.3",
            "xstatic.pkg.leaflet",
            files=("leaflet.js", "leaflet.css", "images/*.png"),
        ),
        AssetPackage("jquery", "xstatic", "XStatic-jQuery>=3.7.1", "xstatic.pkg.jquery", files=("jquery.min.js",)),
        # XStatic-Font-Awesome 6.2.1 (folium links 6.2.0)
        AssetPackage(
            "font-awesome",
            "xstatic",
            "XStatic-Font-Awesome>=6.2",
            "xstatic.pkg.font_awesome",
            files=("css/all.min.css", "webfonts/*"),
        ),
        # XStatic-Leaflet-MarkerCluster 1.4.1 (folium links 1.1.0; same API, made for Leaflet 1.x)
        AssetPackage(
            "leaflet-markercluster",
            "xstatic",
            "XStatic-Leaflet-MarkerCluster>=1.4",
            "xstatic.pkg.leaflet_markercluster",
            files=("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
        ),
        # XStatic-Bootstrap does not build with current setuptools: the npm release folium links.
        AssetPackage(
            "bootstrap",
            "npm",
            "bootstrap@5.2.2",
            subdir="dist",
            files=("js/bootstrap.bundle.min.js", "css/bootstrap.min.css"),
        ),
        # 2.0.2 (folium's link) is not on npm; 2.0.5 is the same plugin.
        AssetPackage(
            "leaflet-awesome-markers",
            "npm",
            "leaflet.awesome-markers@2.0.5",
            subdir="dist",
            files=("leaflet.awesome-markers.js", "leaflet.awesome-markers.css", "images/*.png"),
        ),
        AssetPackage(
            "leaflet-fullscreen",
            "npm",
            "leaflet.fullscreen@3.0.0",
            files=("Control.FullScreen.js", "Control.FullScreen.css", "icon-fullscreen.svg"),
        ),
        AssetPackage(
            "leaflet-search",
            "npm",
            "leaflet-search@2.9.7",
            files=("dist/leaflet-search.min.js", "dist/leaflet-search.min.css", "images/*"),
        ),
        # folium ships leaflet.heat itself (folium/templates/leaflet_heat.min.js).
        AssetPackage("folium", "python", "folium>=0.17", "folium", subdir="templates", files=("leaflet_heat.min.js",)),
        # the map shell's own script and stylesheet (geo_app/static/map), written for this project
        AssetPackage("geo-app", "project", "geo_app", "geo_app", subdir="static", files=("map/*.js", "map/*.css")),
    )
}

#: Links to the project's own files in ``default_js``/``default_css``: ``asset:<key>/<file>``.
PROJECT_LINK = "asset:"

#: Marker for CDN files deliberately left out (not needed by the project's maps).
OMIT = None

#: Path of each URL folium links for its scripts and stylesheets -> (package key, file) or OMIT.
#: Matched on the URL's path only: the hosts are folium's choice, the files are ours.
CDN_MAP: dict[str, tuple[str, str] | None] = {
    "/npm/leaflet@1.9.3/dist/leaflet.js": ("leaflet", "leaflet.js"),
    "/npm/leaflet@1.9.3/dist/leaflet.css": ("leaflet", "leaflet.css"),
    "/jquery-3.7.1.min.js": ("jquery", "jquery.min.js"),
    "/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": ("bootstrap", "js/bootstrap.bundle.min.js"),
    "/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": ("bootstrap", "css/bootstrap.min.css"),
    "/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": ("font-awesome", "css/all.min.css"),
    "/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
        "leaflet-awesome-markers",
        "leaflet.awesome-markers.js",
    ),
    "/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
        "leaflet-awesome-markers",
        "leaflet.awesome-markers.css",
    ),
    # Bootstrap 3 glyphicons: no registry package ships the font; a marker icon would use
    # Font Awesome (folium.Icon(prefix="fa")), which is served.
    "/bootstrap/3.0.0/css/bootstrap-glyphicons.css": OMIT,
    # only for folium.Icon(angle=...), which the project does not use; not shipped in folium's wheel
    "/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": OMIT,
    "/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
        "leaflet-markercluster",
        "leaflet.markercluster.js",
    ),
    "/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css": ("leaflet-markercluster", "MarkerCluster.css"),
    "/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
        "leaflet-markercluster",
        "MarkerCluster.Default.css",
    ),
    "/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": ("leaflet-fullscreen", "Control.FullScreen.js"),
    "/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": ("leaflet-fullscreen", "Control.FullScreen.css"),
    "/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js": ("leaflet-search", "dist/leaflet-search.min.js"),
    "/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css": ("leaflet-search", "dist/leaflet-search.min.css"),
    "/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js": ("folium", "leaflet_heat.min.js"),
}

_REMOTE_LINK = re.compile(
    r"""<(?:script[^>]*\ssrc|link[^>]*\shref)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", re.IGNORECASE
)


def default_npm_dir() -> Path:
    from ..config import PROJECT_ROOT

    return PROJECT_ROOT / "build" / "npm-assets"


def npm_specs() -> list[str]:
    """The npm packages `make assets` installs (single source: PACKAGES)."""
    return [p.dist for p in PACKAGES.values() if p.kind == "npm"]


class AssetRegistry:
    """Resolves packages against one npm folder; the web blueprint and exports share it."""

    def __init__(self, npm_dir: Path | str | None = None) -> None:
        self.npm_dir = Path(npm_dir) if npm_dir else default_npm_dir()
        self._located: dict[str, tuple[Path, str]] = {}
        self._served: dict[str, dict[str, Path]] = {}

    def locate(self, key: str) -> tuple[Path, str]:
        if key not in self._located:
            self._located[key] = PACKAGES[key].locate(self.npm_dir)
        return self._located[key]

    def file(self, key: str, relpath: str) -> Path:
        """The installed file; AssetMissing when the package or the file is absent."""
        package = PACKAGES[key]
        root, _version = self.locate(key)
        path = self.served_files(key).get(relpath)
        if path is None:
            raise package._missing(f"file {relpath} absent under {root}")
        return path

    def served_files(self, key: str) -> dict[str, Path]:
        """The fixed table of files the web may serve for ``key``: declared patterns expanded once,
        each resolved to its real path and kept only when that path lies inside the package root
        (a symlink pointing elsewhere is dropped). Requests are looked up here, never joined to a path."""
        if key not in self._served:
            root, _version = self.locate(key)
            real_root = root.resolve()
            table = {}
            for rel in _expand(root, PACKAGES[key]):
                real = (root / rel).resolve()
                if real.is_file() and real.is_relative_to(real_root):
                    table[rel] = real
            self._served[key] = table
        return self._served[key]

    def relative_url(self, url: str) -> str | None:
        """``<key>/<version>/<file>`` for a known CDN URL, None for an omitted one."""
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https", "") or parsed.path not in CDN_MAP:
            raise AssetMissing(
                f"Tidak ada salinan lokal untuk {url}: tambahkan paketnya ke geo_app/maps/assets.py",
                details=[url],
            )
        target = CDN_MAP[parsed.path]
        if target is OMIT:
            return None
        key, relpath = target
        self.file(key, relpath)  # fail early, naming the package and the set-up command
        _root, version = self.locate(key)
        return f"{key}/{version}/{relpath}"

    def project_url(self, link: str) -> str:
        """``<key>/<version>/<file>`` for a ``asset:<key>/<file>`` link of the project's own files."""
        key, _sep, relpath = link.removeprefix(PROJECT_LINK).partition("/")
        if key not in PACKAGES:
            raise AssetMissing(
                f"Aset {link} tidak dikenal: tambahkan paketnya ke geo_app/maps/assets.py", details=[link]
            )
        self.file(key, relpath)
        return f"{key}/{self.locate(key)[1]}/{relpath}"

    def status(self) -> dict[str, dict[str, str]]:
        """Per package: installed version or the error; for diagnostics (``python -m geo_app.maps.assets``)."""
        out = {}
        for key, package in PACKAGES.items():
            try:
                root, version = self.locate(key)
                missing = [f for f in _expand(root, package) if not (root / f).is_file()]
                out[key] = {"version": version, "root": str(root), "dist": package.dist}
                if not any(True for _ in _expand(root, package)):
                    out[key]["error"] = f"no files matching {package.files} under {root}"
                elif missing:
                    out[key]["error"] = f"missing {missing}"
            except AssetMissing as exc:
                out[key] = {"error": exc.message, "dist": package.dist}
        return out


def _content_version(root: Path, package: AssetPackage) -> str:
    """A short hash of the files' names and bytes: an edited file gets a new URL, so the year-long
    ``immutable`` cache of ``/assets/`` never serves an old copy of the project's own files."""
    digest = hashlib.sha256()
    for rel in _expand(root, package):
        digest.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _expand(root: Path, package: AssetPackage):
    for pattern in package.files:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                yield path.relative_to(root).as_posix()


def walk_elements(element: Element):
    """``element`` and every element below it in a folium/branca tree."""
    yield element
    for child in list(element._children.values()):
        yield from walk_elements(child)


def localize(m: folium.Map, registry: AssetRegistry, prefix: str) -> folium.Map:
    """Point every JS/CSS link of the map and its children at ``prefix + <key>/<version>/<file>``.

    Sets instance attributes, so folium's class-level lists (shared by every map) stay untouched.
    """
    for element in walk_elements(m.get_root()):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if url.startswith(PROJECT_LINK):
                    local.append((name, prefix + registry.project_url(url)))
                    continue
                if url.startswith(prefix) or not url.startswith(("http://", "https://", "//")):
                    local.append((name, url))
                    continue
                rel = registry.relative_url(url)
                if rel is not None:
                    local.append((name, prefix + rel))
            setattr(element, attr, local)
    return m


def remote_links(html: str) -> list[str]:
    """URLs of scripts and stylesheets in ``html`` that point off the machine."""
    return _REMOTE_LINK.findall(html)


def render_offline(m: folium.Map, registry: AssetRegistry, prefix: str) -> str:
    """Render the whole page with local assets; refuse a page that would still load a remote file."""
    html = localize(m, registry, prefix).get_root().render()
    remote = remote_links(html)
    if remote:
        raise AssetMissing(
            "Halaman peta masih memuat berkas dari luar: " + ", ".join(sorted(set(remote))),
            details=sorted(set(remote)),
        )
    return html


def copy_assets(html: str, registry: AssetRegistry, out_dir: Path, prefix: str = "assets/") -> list[Path]:
    """Copy every package the page links (``prefix<key>/<version>/...``) into ``out_dir/<prefix>``.

    Whole declared file sets are copied because CSS refers to images and fonts beside it. Files
    already identical are left alone, so a repeated export writes nothing. Returns files written.
    """
    written: list[Path] = []
    used = sorted(set(re.findall(re.escape(prefix) + r"([\w.-]+)/([\w.+-]+)/", html)))
    for key, version in used:
        if key not in PACKAGES:
            continue
        root, installed = registry.locate(key)
        if installed != version:
            raise AssetMissing(f"Aset '{key}' versi {version} diminta, terpasang {installed}")
        for rel in _expand(root, PACKAGES[key]):
            src, dst = root / rel, Path(out_dir) / prefix / key / version / rel
            if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(dst.name + ".tmp")
            shutil.copyfile(src, tmp)
            tmp.replace(dst)
            written.append(dst)
    return written


def render_standalone(
    m: folium.Map, registry: AssetRegistry, out_dir: Path, prefix: str = "assets/"
) -> tuple[str, list[Path]]:
    """HTML for a file saved in ``out_dir`` with its assets copied beside it (relative URLs)."""
    html = render_offline(m, registry, prefix)
    return html, copy_assets(html, registry, out_dir, prefix)


# --- per app -------------------------------------------------------------------------------------


def app_registry(app) -> AssetRegistry:
    """The registry of this app (npm folder from the NPM_ASSET_DIR setting, else build/npm-assets)."""
    registry = app.extensions.get("geo_app.assets")
    if registry is None:
        registry = AssetRegistry(app.config.get("NPM_ASSET_DIR"))
        app.extensions["geo_app.assets"] = registry
    return registry
