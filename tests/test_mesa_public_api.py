"""``sim/`` uses Mesa through its public API only, so one code base runs on Mesa 3.3 and 3.5.

The check is static: every ``sim/**/*.py`` and every module of the installed ``mesa``
package are parsed with :mod:`ast`; nothing from ``sim`` is imported or run. It runs on
each supported Python, so against each supported Mesa.

**Mesa's private names** start with one underscore and are not dunders (``_agents``; not
``__init__``, not a bare ``_``) and are defined by Mesa's own source as something reachable
as an attribute: assigned as an attribute anywhere (``self._agents = ...``), or bound at
module or class level (``_ids = ...`` in a class body, ``def _remove_agent(self)``, a
module's ``_logger``). Function locals are not attributes and do not count. Per Mesa
class the names it has, its own and its Mesa bases', are also kept.
:data:`PRIVATE_IN_OTHER_MESA` adds, per class, those of the other supported release that
``sim/`` has used (3.5's ``Agent`` has no ``_ids``), so they are caught on either release.

**A use** in ``sim/`` is any of:

- an attribute read, write or delete of one of those names (``cls._ids[model]``,
  ``Borrower._ids = ...``, ``model._all_agents._agents``), or the name as a string
  constant given to ``getattr``/``setattr``/``hasattr``/``delattr``;
- an import of a private name or module from Mesa (``from mesa.agent import _x``,
  ``import mesa._x``), whether or not Mesa defines it;
- a ``sim/`` class derived from a Mesa class defining for itself a private name that its
  Mesa ancestors have (``_ids = ...`` in an ``Agent`` subclass, ``self._all_agents = ...``
  in a ``Model`` subclass): that overrides or clobbers Mesa's own state.

**Our own private names are exempt.** A private name that a ``sim/`` class defines for
itself (in its class body: assignment, annotation, method, ``__slots__``; or as
``self.<name>``/``cls.<name>`` assigned in one of its methods) and that is not a name its
Mesa ancestors have is ours, and ``x.<name>`` is then not flagged anywhere in ``sim/``: a
static check cannot tell which object ``x`` is. So ``self._failure`` of
``sim.model.CreditMarketModel`` (set in its own methods; Mesa's ``Model`` has no such
name) and ``self._events`` of ``sim.outputs.recorder.RunRecord`` (a plain class; Mesa's
event list class has an ``_events`` of its own) are ours. Assigning another object's
attribute (``_cls._ids = ...`` at module level) never makes a name ours. Base classes
are followed by name: names imported from ``mesa`` and ``sim/`` classes derived from them.

Limits: a private attribute of an object reached through a Mesa private one
(``weak = agent_set._agents; weak._remove``) is caught at the first access only, and a
Mesa private name that some ``sim/`` class also defines for itself is not caught.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"
MESA = Path(mesa.__file__).resolve().parent

#: Private names that ``sim/`` has used, by the Mesa class that has them in 3.3 or 3.5: each
#: counts on either release (Mesa 3.5's ``Agent`` has no ``_ids``, its ``Model`` no ``_agents``).
PRIVATE_IN_OTHER_MESA: dict[str, frozenset[str]] = {
    "Agent": frozenset({"_ids"}),
    "Model": frozenset({"_agents", "_all_agents", "_agents_by_type"}),
    "AgentSet": frozenset({"_agents"}),
}

_PRIVATE = re.compile(r"_[^_]\w*")
_ATTR_FUNCTIONS = frozenset({"getattr", "setattr", "hasattr", "delattr"})


def is_private(name: str) -> bool:
    """One leading underscore and more after it; not a dunder, not a bare ``_``."""
    return bool(_PRIVATE.fullmatch(name)) and not name.endswith("__")


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _defined_in_body(body: Iterable[ast.stmt]) -> Iterator[str]:
    """Names a module or class body binds at its own level (not inside its functions)."""
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield stmt.name
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        yield node.id
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                yield alias.asname or alias.name.split(".")[0]
        elif isinstance(stmt, ast.If | ast.Try | ast.With | ast.For | ast.While):
            # Definitions under module/class-level control flow (version switches etc.).
            for field in ("body", "orelse", "finalbody"):
                yield from _defined_in_body(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                yield from _defined_in_body(handler.body)


@functools.cache
def mesa_private_names(package: Path = MESA) -> frozenset[str]:
    """Every private name the installed Mesa defines as an attribute, module or class level."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        tree = parse(path)
        names.update(_defined_in_body(tree.body))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names.update(_defined_in_body(node.body))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
                names.add(node.attr)
    return frozenset(n for n in names if is_private(n))


@dataclass(frozen=True)
class Use:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.what}"


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _class_name(base: ast.expr) -> str | None:
    """The simple name a base class is written with: ``Agent`` for ``mesa.agent.Agent``."""
    if isinstance(base, ast.Subscript):  # Generic[T] and the like
        base = base.value
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else None


def own_names(cls: ast.ClassDef) -> list[tuple[str, int]]:
    """What a class defines for itself, with lines: its body, ``__slots__``, self/cls attributes."""
    names = [(name, stmt.lineno) for stmt in cls.body for name in _defined_in_body([stmt])]
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in stmt.targets
        ):
            names += [
                (c.value, c.lineno)
                for c in ast.walk(stmt.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            params = stmt.args.posonlyargs + stmt.args.args
            if not params or any(_root_name(d) == "staticmethod" for d in stmt.decorator_list):
                continue
            me = params[0].arg
            names += [
                (node.attr, node.lineno)
                for node in ast.walk(stmt)
                if isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == me
            ]
    return names


@functools.cache
def mesa_class_names(package: Path = MESA) -> dict[str, frozenset[str]]:
    """Every Mesa class by simple name -> the private names it or its Mesa bases define."""
    own: dict[str, set[str]] = {}
    bases: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.ClassDef):  # same-named classes: merged (stricter)
                own.setdefault(node.name, set()).update(
                    name for name, _ in own_names(node) if is_private(name)
                )
                bases.setdefault(node.name, set()).update(
                    name for b in node.bases if (name := _class_name(b))
                )

    def inherited(name: str, seen: set[str]) -> set[str]:
        seen.add(name)
        names = set(own.get(name, ()))
        for base in bases.get(name, ()):
            if base not in seen:
                names |= inherited(base, seen)
        return names

    return {name: frozenset(inherited(name, set())) for name in own}


@dataclass
class SimClass:
    path: Path
    node: ast.ClassDef
    mesa_bases: set[str]  # Mesa classes named as bases, by simple name
    sim_bases: set[str]  # other names as bases (maybe sim classes)


def _mesa_imports(tree: ast.Module) -> dict[str, str | None]:
    """Local names bound by imports from Mesa -> the imported name (None for a module)."""
    bound: dict[str, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mesa":
                    bound[alias.asname or "mesa"] = None
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "mesa"
        ):
            bound.update({a.asname or a.name: a.name for a in node.names})
    return bound


def sim_files() -> list[Path]:
    return sorted(SIM.rglob("*.py"))


def sim_classes(trees: dict[Path, ast.Module]) -> list[SimClass]:
    classes = []
    for path, tree in trees.items():
        imported = _mesa_imports(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            mesa_bases, sim_bases = set(), set()
            for base in node.bases:
                root, name = _root_name(base), _class_name(base)
                # `Base` from `from mesa import Model as Base` is Model; `mesa.Agent` is Agent.
                if root in imported:
                    mesa_bases.add(imported[root] if isinstance(base, ast.Name) else name)
                elif name:
                    sim_bases.add(name)
            classes.append(SimClass(path, node, mesa_bases - {None}, sim_bases))
    return classes


def mesa_private_uses(
    files: Iterable[Path],
    mesa_private: frozenset[str],
    mesa_classes: dict[str, frozenset[str]],
) -> tuple[list[Use], frozenset[str]]:
    """The uses of Mesa's private names in ``files``, and the private names that are ours.

    Args:
        files: the Python files to check.
        mesa_private: Mesa's private names.
        mesa_classes: Mesa class name -> the private names it has (its own and inherited).
    """
    trees = {path: parse(path) for path in files}
    classes = sim_classes(trees)
    by_name: dict[str, list[SimClass]] = {}
    for cls in classes:
        by_name.setdefault(cls.node.name, []).append(cls)

    def from_mesa(cls: SimClass, seen: set[str]) -> set[str]:
        """Private names the class inherits from Mesa, through sim classes too."""
        seen.add(cls.node.name)
        names = set().union(*(mesa_classes.get(b, set()) for b in cls.mesa_bases))
        for base in cls.sim_bases - seen:
            for parent in by_name.get(base, []):
                names |= from_mesa(parent, seen)
        return names

    uses: list[Use] = []
    ours: set[str] = set()
    clashes: set[tuple[Path, int, str]] = set()
    for cls in classes:
        inherited = from_mesa(cls, set())
        for name, line in own_names(cls.node):
            if not is_private(name):
                continue
            if name in inherited:
                clashes.add((cls.path, line, name))
                uses.append(Use(cls.path, line, f"{cls.node.name} sets {name}, Mesa's own"))
            else:
                ours.add(name)
    flagged = mesa_private - ours
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in flagged:
                if (path, node.lineno, node.attr) not in clashes:
                    uses.append(Use(path, node.lineno, f".{node.attr}"))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in _ATTR_FUNCTIONS
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in flagged
            ):
                uses.append(Use(path, node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] == "mesa":
                    for name in [*parts[1:], *(a.name for a in node.names)]:
                        if is_private(name):
                            uses.append(Use(path, node.lineno, f"from {node.module} import {name}"))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "mesa" and any(is_private(p) for p in parts[1:]):
                        uses.append(Use(path, node.lineno, f"import {alias.name}"))
    return sorted(set(uses), key=lambda u: (str(u.path), u.line, u.what)), frozenset(ours)


def test_mesa_private_names_are_found_in_the_installed_mesa():
    names = mesa_private_names()
    classes = mesa_class_names()
    # Agent registries that Mesa 3.3 and 3.5 alike keep privately.
    assert {"_all_agents", "_agents_by_type"} <= classes["Model"], sorted(classes["Model"])
    assert "_agents" in classes["AgentSet"], sorted(classes["AgentSet"])
    assert set().union(*classes.values()) <= names
    assert not any(n.startswith("__") or n == "_" for n in names)


def test_sim_uses_no_private_mesa_attribute():
    classes = dict(mesa_class_names())
    for cls, names in PRIVATE_IN_OTHER_MESA.items():
        classes[cls] = classes.get(cls, frozenset()) | names
    mesa_private = mesa_private_names().union(*PRIVATE_IN_OTHER_MESA.values())
    uses, _ = mesa_private_uses(sim_files(), mesa_private, classes)
    if uses:
        pytest.fail(
            f"sim/ uses private names of Mesa {mesa.__version__} (it must keep to the public "
            "API to run on every supported Mesa):\n" + "\n".join(map(str, uses)),
            pytrace=False,
        )


def test_the_check_flags_private_uses_and_spares_our_own(tmp_path: Path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import mesa\n"
        "from mesa.agent import AgentSet, _hidden\n"
        "import mesa._impl\n"
        "from mesa import Model as Base\n"
        "class Mine:\n"
        "    def __init__(self):\n"
        "        self._first = 1\n"
        "class Row(mesa.Agent):\n"
        "    _ids = None\n"
        "    def step(self):\n"
        "        self._events = []\n"
        "class Sim(Base):\n"
        "    def setup(self):\n"
        "        self._all_agents = None\n"
        "class Deeper(Sim):\n"
        "    _agents_by_type = {}\n"
        "def f(model, cls, mine):\n"
        "    cls._ids[model] = 1\n"
        "    getattr(model, '_agents')\n"
        "    del model._agents\n"
        "    return mine._first, mine._events, model._all_agents\n"
    )
    uses, ours = mesa_private_uses(
        [source],
        frozenset({"_ids", "_agents", "_all_agents", "_agents_by_type", "_first", "_events"}),
        {
            "Agent": frozenset({"_ids"}),
            "Model": frozenset({"_agents", "_all_agents", "_agents_by_type"}),
        },
    )
    # _first: a plain class's; _events: a Mesa agent's own, not a name Mesa's Agent has.
    assert ours == {"_first", "_events"}
    assert [(u.line, u.what) for u in uses] == [
        (2, "from mesa.agent import _hidden"),
        (3, "import mesa._impl"),
        (9, "Row sets _ids, Mesa's own"),
        (14, "Sim sets _all_agents, Mesa's own"),
        (16, "Deeper sets _agents_by_type, Mesa's own"),
        (18, "._ids"),
        (19, "getattr(..., '_agents')"),
        (20, "._agents"),
        (21, "._all_agents"),
    ]


def test_a_trivial_model_runs_with_rng():
    class Walker(mesa.Agent):
        def __init__(self, model: mesa.Model) -> None:
            super().__init__(model)
            self.walked = 0

        def step(self) -> None:
            self.walked += 1

    class Tiny(mesa.Model):
        def __init__(self, rng) -> None:
            super().__init__(rng=rng)
            self.walker = Walker(self)

        def step(self) -> None:
            self.agents.do("step")

    models = [Tiny(rng=42), Tiny(rng=42), Tiny(rng=np.random.default_rng(7))]
    for model in models:
        model.step()
        model.step()
        assert list(model.agents) == [model.walker]
        assert list(model.agents_by_type[Walker]) == [model.walker]
        assert model.walker.walked == 2
        assert model.walker.model is model
    # The same seed gives the same draws from both of the model's generators.
    first, second, _ = models
    assert first.random.random() == second.random.random()
    assert first.rng.random() == second.rng.random()
