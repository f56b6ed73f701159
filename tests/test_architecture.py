"""The package architecture: imports point down the layers, no package cycle, small modules.

Layers, bottom to top (a module may import its own layer and lower layers only):

0. ``sim.units``, ``sim.blocks``, ``sim.rows``, ``sim.compiled``, ``sim.interrupts`` and
   ``sim.platform.policies`` (the policy plug-in API)
1. ``sim.config``
2. ``sim.world``
3. ``sim.lending``
4. ``sim.platform`` (other than ``policies``)
5. ``sim.month``
6. ``sim.outputs``
7. ``sim.agents``, ``sim.model``
8. ``sim.analysis``, ``sim.runtime``, ``sim.empirical``

Within layer 8 the three packages import each other only along :data:`TOP_LAYER_ALLOWED`:
``analysis`` (statistics and figures over run outputs) is a library for the other two and
imports neither; ``runtime`` (config composition, the runner) draws figures with
``analysis``; ``empirical`` (validation and calibration against data) composes configs
with ``runtime`` and draws figures with ``analysis``; nothing imports ``empirical``.

Imports are read from the source with :mod:`ast` at any depth (imports inside functions
count); imports under ``if TYPE_CHECKING:`` are annotation-only and exempt, and so is the
public facade ``sim/__init__.py`` (as importer and as imported module).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

SIM_DIR = Path(__file__).resolve().parents[1] / "sim"

#: Package or module prefix -> layer; a module takes the layer of its longest prefix.
LAYERS: dict[str, int] = {
    "sim.units": 0,
    "sim.blocks": 0,
    "sim.rows": 0,
    "sim.compiled": 0,
    "sim.interrupts": 0,
    "sim.platform.policies": 0,
    "sim.config": 1,
    "sim.world": 2,
    "sim.lending": 3,
    "sim.platform": 4,
    "sim.month": 5,
    "sim.month_release": 0,
    "sim.build": 5,
    "sim.outputs": 6,
    "sim.agents": 7,
    "sim.model": 7,
    "sim.analysis": 8,
    "sim.runtime": 8,
    "sim.empirical": 8,
}

#: Same-layer imports between different layer-8 packages that are allowed.
TOP_LAYER_ALLOWED: dict[str, frozenset[str]] = {
    "sim.analysis": frozenset(),
    "sim.runtime": frozenset({"sim.analysis"}),
    "sim.empirical": frozenset({"sim.analysis", "sim.runtime"}),
}

#: The public API facade: exempt from the layer rules.
FACADE = "sim"

MAX_LINES = 400


def module_name(path: Path) -> str:
    """``sim/world/firms.py`` -> ``sim.world.firms``; a package's ``__init__`` -> the package."""
    parts = list(path.relative_to(SIM_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sim_modules() -> dict[str, Path]:
    """Every module of ``sim/`` by dotted name."""
    return {module_name(p): p for p in sorted(SIM_DIR.rglob("*.py"))}


def unit_of(module: str) -> str | None:
    """The layer unit (the longest prefix in :data:`LAYERS`) of a module, None if none."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return prefix
    return None


def package_of(module: str, modules: dict[str, Path]) -> str:
    """The innermost package holding a module, the node of the subpackage cycle check.

    A top-level module is its own node, and so is a module that sits beside subpackages
    (``sim/lending/accounts.py`` beside ``sim/lending/channels/``): the subpackages and
    those modules are peers, each a concept of its own.
    """
    path = modules[module]
    if path.name == "__init__.py" or path.parent == SIM_DIR:
        return module
    if any((child / "__init__.py").exists() for child in path.parent.iterdir()):
        return module
    return module.rsplit(".", 1)[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements under ``node`` at any depth, skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                if isinstance(other, ast.Import | ast.ImportFrom):
                    yield other
                yield from _runtime_import_nodes(other)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _runtime_import_nodes(child)


def runtime_imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The ``sim`` modules that ``module`` imports at run time.

    ``from package import name`` resolves to ``package.name`` when that is a module,
    else to ``package``; relative imports are resolved against ``module``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else base)
        found.update(t for t in targets if t == FACADE or t.startswith(FACADE + "."))
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``sim`` modules it imports at run time (the facade left out)."""
    modules = sim_modules()
    return {
        module: {t for t in runtime_imports(module, path, modules) if t != FACADE}
        for module, path in modules.items()
        if module != FACADE
    }


def tangles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a directed graph: its strongly connected components of two or
    more nodes (Tarjan), each sorted; empty if the graph is acyclic (self-loops ignored)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _collapse(graph: dict[str, set[str]], key: Callable[[str], str]) -> dict[str, set[str]]:
    """The module graph with modules merged into the packages ``key`` maps them to."""
    collapsed: dict[str, set[str]] = defaultdict(set)
    for source, targets in graph.items():
        a = key(source)
        collapsed[a].update(b for b in map(key, targets) if b != a)
    return dict(collapsed)


def shortest_cycle(graph: dict[str, set[str]], node: str) -> list[str] | None:
    """A shortest cycle through ``node`` (first node repeated at the end), None if none."""
    parent: dict[str, str] = {}
    frontier = [node]
    while frontier:
        following = []
        for a in frontier:
            for b in sorted(graph.get(a, ())):
                if b == node:
                    path = [a]
                    while path[-1] != node:
                        path.append(parent[path[-1]])
                    return [*reversed(path), node]
                if b not in parent:
                    parent[b] = a
                    following.append(b)
        frontier = following
    return None


def cycle_report(graph: dict[str, set[str]], key: Callable[[str], str]) -> list[str]:
    """The import cycles between the packages ``key`` maps modules to: for every package in a
    cycle, a shortest cycle through it, with the module imports behind each of its edges."""
    packages = _collapse(graph, key)
    seen: set[frozenset[tuple[str, str]]] = set()
    lines = []
    for component in tangles(packages):
        for start in component:
            cycle = shortest_cycle(packages, start)
            assert cycle is not None
            edges = list(zip(cycle, cycle[1:], strict=False))
            if frozenset(edges) in seen:
                continue
            seen.add(frozenset(edges))
            lines.append(" -> ".join(cycle))
            for a, b in edges:
                lines += [
                    f"    {source} -> {t}"
                    for source, targets in sorted(graph.items())
                    if key(source) == a
                    for t in sorted(targets)
                    if key(t) == b
                ]
    return lines


def test_every_module_has_a_layer():
    unassigned = sorted(m for m in sim_modules() if m != FACADE and unit_of(m) is None)
    assert not unassigned, "modules with no layer in LAYERS:\n" + "\n".join(unassigned)


def test_imports_point_down_the_layers():
    violations = []
    for module, targets in sorted(import_graph().items()):
        unit = unit_of(module)
        for target in sorted(targets):
            other = unit_of(target)
            if unit is None or other is None:
                continue  # reported by test_every_module_has_a_layer
            a, b = LAYERS[unit], LAYERS[other]
            upward = b > a or (
                a == b == 8 and other != unit and other not in TOP_LAYER_ALLOWED[unit]
            )
            if upward:
                violations.append(f"{module} -> {target} (layer {a} -> layer {b})")
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_no_import_cycle_between_layer_packages():
    report = cycle_report(import_graph(), unit_of)
    assert not report, "import cycles between packages:\n" + "\n".join(report)


def test_no_import_cycle_between_subpackages():
    modules = sim_modules()
    report = cycle_report(import_graph(), lambda module: package_of(module, modules))
    assert not report, "import cycles between subpackages:\n" + "\n".join(report)


def test_modules_are_at_most_400_lines():
    too_long = []
    for path in sim_modules().values():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            too_long.append(f"{path.relative_to(SIM_DIR.parent)}: {n} lines")
    assert not too_long, f"modules over {MAX_LINES} lines:\n" + "\n".join(too_long)


def test_the_import_reader_sees_lazy_imports_and_skips_type_checking(tmp_path):
    source = (
        "from typing import TYPE_CHECKING\n"
        "import sim.units\n"
        "if TYPE_CHECKING:\n"
        "    from sim.model import CreditMarketModel\n"
        "else:\n"
        "    import sim.blocks\n"
        "def f():\n"
        "    from sim.runtime.compose import CONF_DIR\n"
        "    return CONF_DIR\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    modules = {"sim.runtime.compose": path, "sim.units": path, "sim.blocks": path}
    assert runtime_imports("sim.world.probe", path, modules) == {
        "sim.units",
        "sim.blocks",
        "sim.runtime.compose",
    }
    assert tangles({"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": {"d"}}) == [["a", "b", "c"]]
    assert tangles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert shortest_cycle({"a": {"b", "c"}, "b": {"c"}, "c": {"a"}}, "a") == ["a", "c", "a"]
