"""The package's layering, checked on the source (issue 13): the store, analysis, ingest and record
vocabularies never see Flask; views reach storage and analysis only through the services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "geo_app"
FLASK_FREE = ("store", "analysis", "ingest", "records")
VIEWS_MAY_NOT_IMPORT = ("geo_app.store", "geo_app.analysis")


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved; ``from x import y``
    counts both ``x`` and ``x.y``, since ``y`` may be a submodule)."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_import_resolution_sees_relative_imports(tmp_path):
    """The checker itself: a relative ``from ..store import db`` in a view is seen as geo_app.store."""
    names = imported_modules(PACKAGE / "web" / "api.py")
    assert "geo_app.app_db" in names and "geo_app.services.boundaries" in names


@pytest.mark.parametrize("view", _modules(PACKAGE / "web"), ids=lambda p: p.name)
def test_views_call_services_not_store_or_analysis(view):
    bad = sorted(n for n in imported_modules(view) if any(_is_under(n, p) for p in VIEWS_MAY_NOT_IMPORT))
    assert not bad, f"{view.relative_to(PACKAGE.parent)} imports {bad}: call a service (geo_app/services) instead"


@pytest.mark.parametrize("package", FLASK_FREE)
def test_storage_analysis_ingest_records_do_not_know_flask(package):
    """As ``grep -rn flask geo_app/store geo_app/analysis geo_app/ingest geo_app/records``: not even a
    mention, so none of them needs an app context."""
    hits = [
        f"{path.relative_to(PACKAGE.parent)}:{no}: {line.strip()}"
        for path in _modules(PACKAGE / package)
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "flask" in line
    ]
    assert not hits, "\n".join(hits)
    for path in _modules(PACKAGE / package):
        assert not any(_is_under(n, "flask") for n in imported_modules(path)), path
