"""The house's rules, checked on the source: imports point one way and no module imports itself
back through others.

- No import cycle anywhere in src/, bench/ or tests/ (function-level imports included).
- `cache` is generic: it imports no domain package; `catalog` (the read side) never imports
  `shopify` (the write side); the simulator, being the outside world, imports nothing of the
  service.
- Migrations import no live code, so an old migration never changes when the app does.
- No package outside the simulator holds more than a dozen flat modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.support.services import ROOT

SOURCES = (ROOT / "src", ROOT / "bench", ROOT / "tests")
MAX_FLAT_MODULES = 12


def _module_name(path: Path) -> str:
    base = ROOT / "src" if path.is_relative_to(ROOT / "src") else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for source in SOURCES
        for path in source.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _imported(name: str, path: Path) -> Iterator[str]:
    """Every module this one imports, resolved to a module of the repository where possible."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield full if full in modules() else base


@cache
def import_graph() -> dict[str, frozenset[str]]:
    known = modules()
    return {
        name: frozenset(dep for dep in _imported(name, path) if dep in known and dep != name)
        for name, path in known.items()
    }


def _cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
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
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    assert _cycles(import_graph()) == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("shababco.cache", ("shababco.catalog", "shababco.shopify", "shababco.commands")),
        ("shababco.catalog", ("shababco.shopify", "shababco.commands", "shababco.sale")),
        ("shababco.sale", ("shababco.shopify", "shababco.commands")),
        ("shababco.database", ("shababco.catalog", "shababco.shopify", "shababco.cache")),
        ("shababco.shopify", ("shababco.commands",)),
        ("shababco.simulator", ("shababco.",)),
    ],
)
def test_imports_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = {
        f"{name} -> {dep}"
        for name, deps in import_graph().items()
        if name == package or name.startswith(f"{package}.")
        for dep in deps
        if dep.startswith(forbidden) and not dep.startswith(package)
    }
    assert not wrong, sorted(wrong)


def test_migrations_import_no_live_code() -> None:
    versions = ROOT / "src" / "shababco" / "migrations" / "versions"
    importing = [
        path.name
        for path in versions.glob("*.py")
        for dep in _imported("migration", path)
        if dep.split(".")[0] == "shababco"
    ]
    assert list(versions.glob("*.py"))
    assert importing == []


def test_no_package_is_a_long_flat_list() -> None:
    folders = {path.parent for path in modules().values()}
    crowded = {
        str(folder.relative_to(ROOT)): count
        for folder in folders
        if folder.name != "simulator" or "tests" in folder.parts
        if (count := len([p for p in folder.glob("*.py") if p.name != "__init__.py"]))
        > MAX_FLAT_MODULES
    }
    assert crowded == {}
