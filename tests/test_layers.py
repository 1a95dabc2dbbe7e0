"""The layer rule, read from the source: kernels -> envs -> discover, and no import cycle.

``kernels/`` (installed as ``discover.kernels``) imports nothing else of ours, ``envs/``
(``discover.envs``) imports only the kernels, and no chain of imports among our modules
comes back to where it started. Every import counts: module-level ones and the lazy ones
inside functions (a cycle that only closes at call time is still a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Package -> source folder, as [tool.setuptools.package-dir] in pyproject.toml maps them.
PACKAGE_DIRS = {"discover": "discover", "discover.kernels": "kernels", "discover.envs": "envs"}
KERNELS = "discover.kernels"
ENVS = "discover.envs"
OURS = ("discover", "kernels", "envs")  # top-level names that would be ours (kernels, envs:
# the source folders, importable only by a sys.path hack the installed package lacks)


def our_modules() -> dict[str, Path]:
    """Every module of ours: dotted name -> file (``__init__.py`` for a package)."""
    modules = {}
    for package, folder in PACKAGE_DIRS.items():
        base = ROOT / folder
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            if not all((base.joinpath(*parts[:k]) / "__init__.py").exists()
                       for k in range(len(parts))):
                continue  # a file in a folder that is not a package
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package,) + parts)] = path
    return modules


def imports(source: str, module: str, is_package: bool) -> list[tuple[str, str | None]]:
    """What a module's source imports, anywhere in it: ``(module, name)`` pairs.

    ``import X`` and ``importlib.import_module("X")`` give ``(X, None)``; ``from X import a``
    gives ``(X, "a")``, where a may be a name defined in X or a submodule X.a. Relative imports are resolved against the
    module's package (``from . import a`` inside ``discover.search.enum``:
    ``("discover.search", "a")``).
    """
    package = module if is_package else module.rpartition(".")[0]
    out = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_import_call(node.func):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.append((arg.value, None))
            else:
                # A name computed at run time (cli.py imports its command modules from a
                # tuple): every dotted name of ours written in the module may be one.
                out.extend((c.value, None) for c in ast.walk(tree)
                           if isinstance(c, ast.Constant) and isinstance(c.value, str)
                           and c.value.split(".")[0] in OURS
                           and all(p.isidentifier() for p in c.value.split(".")))
        elif isinstance(node, ast.Import):
            out.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = node.module
            if node.level:
                parts = package.split(".")
                if node.level > len(parts):
                    raise ValueError(f"{module}: relative import beyond the top package")
                base = ".".join(parts[:len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            out.extend((target, alias.name) for alias in node.names)
    return out


def _is_import_call(func) -> bool:
    """``importlib.import_module(...)``, ``import_module(...)`` or ``__import__(...)``."""
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def edges(found: list[tuple[str, str | None]], modules) -> set[str]:
    """The modules of ours an import list depends on.

    ``from X import a`` depends on X.a when that is a module, else on X. A package that
    is only the parent of what is imported (``import X.y``: X runs first) is no edge:
    Python finishes it or finds it in progress, and every submodule would be in a cycle
    with its package otherwise.
    """
    out = set()
    for target, name in found:
        if name is not None and f"{target}.{name}" in modules:
            out.add(f"{target}.{name}")
        elif target in modules:
            out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module of ours -> the modules of ours it imports (module- and function-level)."""
    modules = our_modules()
    graph = {}
    for name, path in modules.items():
        found = imports(path.read_text(), name, path.name == "__init__.py")
        graph[name] = edges(found, modules) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph.get(node, ())):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)  # depth is bounded by the module count (a few dozen)
    return out


def violations(layer: str, allowed: tuple[str, ...]) -> list[str]:
    """Imports of ours, in the modules of ``layer``, that fall outside ``allowed``."""
    out = []
    for name, path in our_modules().items():
        if name != layer and not name.startswith(layer + "."):
            continue
        for target, imported in imports(path.read_text(), name, path.name == "__init__.py"):
            if target.split(".")[0] not in OURS:
                continue
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                what = f"from {target} import {imported}" if imported else f"import {target}"
                out.append(f"{path.relative_to(ROOT)}: {what}")
    return out


# --- the rule --------------------------------------------------------------------------

def test_every_layer_is_found():
    modules = our_modules()
    assert {"discover", KERNELS, ENVS, "discover.search", "discover.agent",
            "discover.kernels.interp", "discover.envs.game"} <= set(modules)
    assert len(modules) > 30


def test_kernels_import_nothing_else_of_ours():
    assert violations(KERNELS, (KERNELS,)) == []


def test_envs_import_only_the_kernels():
    assert violations(ENVS, (KERNELS, ENVS)) == []


def test_no_import_cycles():
    assert [sorted(c) for c in cycles(import_graph())] == []


def test_networks_are_re_exported_from_the_kernels():
    import discover
    import discover.kernels

    for name in ("OPTIMAL_NETWORKS", "baseline_program", "network_program"):
        assert getattr(discover, name) is getattr(discover.kernels, name)


# --- the checker itself ----------------------------------------------------------------

def test_relative_and_lazy_imports_are_resolved():
    source = """
from . import base
from .bound import StateBound
from .. import kernels
from ..kernels import Program, enum

def later():
    import discover.envs.game
    from discover import __version__
    importlib.import_module("discover.search.enum")
"""
    found = imports(source, "discover.search.stochastic", is_package=False)
    assert set(found) == {
        ("discover.search", "base"), ("discover.search.bound", "StateBound"),
        ("discover", "kernels"), ("discover.kernels", "Program"),
        ("discover.kernels", "enum"), ("discover.envs.game", None),
        ("discover", "__version__"), ("discover.search.enum", None)}
    modules = {"discover", "discover.search", "discover.search.base", "discover.search.enum",
               "discover.search.bound", "discover.kernels", "discover.kernels.enum",
               "discover.envs", "discover.envs.game"}
    assert edges(found, modules) == {"discover.search.base", "discover.search.bound",
                                     "discover.kernels", "discover.kernels.enum",
                                     "discover.envs.game", "discover",
                                     "discover.search.enum"}
    # In a package's __init__, "." is the package itself.
    assert imports("from .game import X", "discover.envs", is_package=True) == [
        ("discover.envs.game", "X")]
    computed = 'NAMES = ("discover.commands", "not.ours", "discover x")\n' \
        "for name in NAMES:\n    importlib.import_module(name)\n"
    assert imports(computed, "discover.cli", is_package=False) == [("discover.commands", None)]
    with pytest.raises(ValueError, match="beyond the top package"):
        imports("from ... import x", "discover.search", is_package=True)


def test_cycle_finder():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}
    assert sorted(sorted(c) for c in cycles(graph)) == [["a", "b", "c"], ["e", "e2"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
