"""The one-way import rule: backend never imports dash or the UI layers; pages hold no callbacks."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI_PACKAGES = {"dash", "dash_leaflet", "pages", "components", "callbacks", "app"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_backend_never_imports_the_ui() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & UI_PACKAGES)
        for path in (ROOT / "backend").rglob("*.py")
        if _imports(path) & UI_PACKAGES and path.name != "cli.py"
    }
    assert offenders == {}


def test_only_the_cli_reaches_the_composition_root() -> None:
    # The CLI's `serve` builds the app; nothing else in backend may.
    cli_imports = _imports(ROOT / "backend" / "cli.py") & UI_PACKAGES
    assert cli_imports <= {"app"}


def test_pages_register_no_callbacks_and_run_no_queries() -> None:
    for path in (ROOT / "pages").glob("*.py"):
        text = path.read_text()
        assert "callback" not in text, f"{path.name} defines a callback"
        assert "session" not in text, f"{path.name} touches the database"


def test_web_process_never_imports_tensorflow() -> None:
    for folder in ("backend", "pages", "components", "callbacks"):
        for path in (ROOT / folder).rglob("*.py"):
            if "ml" in path.relative_to(ROOT).parts:
                continue  # ML jobs import it lazily inside their own processes
            assert "tensorflow" not in _imports(path), f"{path} imports tensorflow"
