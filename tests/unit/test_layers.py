"""The one-way import rule: backend never imports the UI, nothing imports in a cycle, pages hold
no callbacks."""

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
        if _imports(path) & UI_PACKAGES
    }
    assert offenders == {}


OUR_PACKAGES = ("backend", "callbacks", "components", "pages")


def _module_graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each imports (lazy imports too; not TYPE_CHECKING)."""
    modules: dict[str, Path] = {"app": ROOT / "app.py"}
    for package in OUR_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        targets: set[str | None] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.update(
                    resolve(f"{node.module}.{alias.name}") or resolve(node.module)
                    for alias in node.names
                )
        graph[name] = {t for t in targets if t and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_module_graph()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


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
