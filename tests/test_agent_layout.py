"""The agent package's imports flow one way: no module imports one that imports it back.

Every import counts, at module level or inside a function (the lazy ones that keep torch
out of ``discover --help``), and under ``TYPE_CHECKING`` too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "discover.agent"
ROOT = Path(__file__).resolve().parents[1] / "discover" / "agent"


def _modules() -> dict[str, Path]:
    return {(PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"): path
            for path in sorted(ROOT.glob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, modules) -> set[str]:
    """The package's modules an import statement imports (modules outside it dropped)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if node.level:  # relative: from this module's package, `level - 1` packages up
        base = PACKAGE.rsplit(".", node.level - 1)[0] if node.level > 1 else PACKAGE
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    found = set()
    for alias in node.names:
        # `from pkg import sub` imports the submodule; `from pkg import name` the package.
        sub = f"{module}.{alias.name}"
        found.add(sub if sub in modules else module)
    return found & set(modules)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports anywhere in its source."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(_targets(node, modules))
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert f"{PACKAGE}.train" in graph[PACKAGE]  # the package re-exports train()
    assert f"{PACKAGE}.actors" in graph[f"{PACKAGE}.alphazero"]  # imported inside __init__
    assert f"{PACKAGE}.mcts" in graph[f"{PACKAGE}.selfplay"]  # `from . import mcts`
    assert f"{PACKAGE}.model" in graph[f"{PACKAGE}.rundir"]  # under TYPE_CHECKING


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_agent_imports_have_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
