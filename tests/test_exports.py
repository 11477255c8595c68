"""Every public module's ``__all__`` lists exactly its public names (trio's and anyio's
``test_exports.py`` are the model), and the layers above the core use only public names.

The rule for a module's public names, read from its source (what the module itself binds,
not what an import elsewhere happens to attach to it):

* every name it **defines** at top level (``def``, ``class``, an assignment) that does not
  start with ``_``; ``TypeVar``/``ParamSpec`` objects are typing helpers, not API;
* in a package's ``__init__``, every name it **imports from its own submodules** (``labkit.go``
  from ``labkit.go._context``, ``labkit.rust`` its ``mpsc`` module): that is what a package
  facade is for;
* nothing else. A name imported from elsewhere (the standard library, ``labkit._runtime``
  for the implementation, another public labkit module) is not API, unless ``__all__``
  lists it: a deliberate re-export, such as ``go.Deadlock``.

A module is public when no part of its dotted name starts with ``_``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import typing
from pathlib import Path
from types import ModuleType

import pytest

import labkit

ROOT = Path(labkit.__file__).resolve().parent.parent


def _public_module_names() -> list[str]:
    found = ["labkit"]
    for info in pkgutil.walk_packages(labkit.__path__, "labkit."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.append(info.name)
    return sorted(found)


PUBLIC_MODULES = _public_module_names()

#: Modules another helper owns that fail today, and who owns them; each is expected to
#: fail until its owner fixes it (strict: the mark must go once it passes).
#: Modules that do not follow the rule yet: (test, module) -> why. Empty: they all do.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _statements(body: list[ast.stmt]) -> typing.Iterator[ast.stmt]:
    """Top-level statements, looking into ``try`` and ``if`` (not ``if TYPE_CHECKING``)."""
    for node in body:
        if isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                yield from _statements(node.body)
                yield from _statements(node.orelse)
        elif isinstance(node, ast.Try):
            for part in (node.body, *(h.body for h in node.handlers), node.orelse,
                         node.finalbody):
                yield from _statements(part)
        else:
            yield node


def _targets(node: ast.expr) -> typing.Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)


def _bindings(module: ModuleType) -> tuple[set[str], set[str], set[str]]:
    """``(defined, re_exported, imported)`` top-level names of ``module``'s source."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    package = module.__name__ if hasattr(module, "__path__") else None
    defined: set[str] = set()
    re_exported: set[str] = set()
    imported: set[str] = set()
    for node in _statements(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                defined.update(_targets(target))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For):
            defined.update(_targets(node.target))
        elif isinstance(node, ast.Import):
            imported.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = {a.asname or a.name for a in node.names}
            imported |= names
            source = node.module or ""
            if node.level:  # relative: from . import x, from ._core import y
                base = module.__name__.split(".")
                base = base if package else base[:-1]
                base = base[:len(base) - node.level + 1]
                source = ".".join([*base, *([source] if source else [])])
            if package is not None and source.startswith(package + "."):
                re_exported |= names
            elif package is not None and source == package:
                re_exported |= names  # from labkit.rust import mpsc: its own submodules
    return defined, re_exported, imported


def public_names(module: ModuleType) -> set[str]:
    """The names ``module.__all__`` must list, by the rule in this file's docstring."""
    defined, re_exported, _imported = _bindings(module)
    names = set()
    for name in defined | re_exported:
        if name.startswith("_"):
            continue
        value = getattr(module, name, None)
        if isinstance(value, typing.TypeVar | typing.ParamSpec | typing.TypeVarTuple):
            continue
        names.add(name)
    return names


def _known_gap(test: str, modname: str) -> list[pytest.MarkDecorator]:
    owner = KNOWN_GAPS.get((test, modname))
    if owner is None:
        return []
    return [pytest.mark.xfail(strict=True, reason=f"{modname} belongs to {owner}")]


def _params(test: str) -> list[typing.Any]:
    return [pytest.param(name, id=name, marks=_known_gap(test, name))
            for name in PUBLIC_MODULES]


def test_every_public_module_is_found() -> None:
    """The walk finds at least the modules the issue names (a module that failed to
    import, or moved, would otherwise pass silently)."""
    required = {"labkit", "labkit.go", "labkit.rust", "labkit.rust.mpsc",
                "labkit.rust.oneshot", "labkit.rust.broadcast", "labkit.rust.watch",
                "labkit.rust.result", "labkit.actor", "labkit.routing", "labkit.flow",
                "labkit.channel", "labkit.trace", "labkit.scenarios", "labkit.viz",
                "labkit.widgets", "labkit.cli", "labkit.errors"}
    assert required <= set(PUBLIC_MODULES)


@pytest.mark.parametrize("modname", _params("tuple"))
def test_all_is_a_tuple_of_distinct_public_names(modname: str) -> None:
    module = importlib.import_module(modname)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, tuple), f"{modname}.__all__ must be a tuple"
    assert len(set(exported)) == len(exported), "a name listed twice"
    assert not [name for name in exported if name.startswith("_")]


@pytest.mark.parametrize("modname", _params("missing"))
def test_all_lists_every_public_name(modname: str) -> None:
    """A public name missing from ``__all__``: list it, or make it private (``_name``)."""
    module = importlib.import_module(modname)
    missing = public_names(module) - set(getattr(module, "__all__", ()))
    assert not missing, f"{modname}: public but not in __all__: {sorted(missing)}"


@pytest.mark.parametrize("modname", _params("extra"))
def test_all_lists_only_names_the_module_has(modname: str) -> None:
    """Every listed name exists, and is the module's own or a deliberate re-export."""
    module = importlib.import_module(modname)
    exported = set(getattr(module, "__all__", ()))
    absent = sorted(name for name in exported if not hasattr(module, name))
    assert not absent, f"{modname}.__all__ lists names it does not have: {absent}"
    defined, re_exported, imported = _bindings(module)
    unknown = sorted(exported - defined - re_exported - imported)
    assert not unknown, f"{modname}.__all__ lists names bound elsewhere: {unknown}"


def test_the_rule_on_a_small_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the rule counts: defined names and a package's own re-exports; not imports
    from elsewhere, private names, TypeVars or ``if TYPE_CHECKING`` imports."""
    package = tmp_path / "exports_demo"
    package.mkdir()
    (package / "_impl.py").write_text("def helper(): pass\nclass Thing: pass\n")
    (package / "__init__.py").write_text(
        "from __future__ import annotations\n"
        "import math\n"
        "from typing import TYPE_CHECKING, TypeVar\n"
        "from collections import OrderedDict\n"
        "from exports_demo._impl import Thing, helper as _helper\n"
        "if TYPE_CHECKING:\n"
        "    from decimal import Decimal\n"
        "T = TypeVar('T')\n"
        "LIMIT = 3\n"
        "_hidden = 4\n"
        "def make() -> None: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("exports_demo")
    assert public_names(module) == {"LIMIT", "Thing", "make"}


# -- the layers above the core use only public names --------------------------------------

#: Files that must use labkit only through public names (the validation module, the one
#: way every layer checks its arguments, is the exception).
HIGHER_LAYERS = sorted([*(ROOT / "labkit" / "scenarios").glob("*.py"),
                        ROOT / "labkit" / "widgets.py", ROOT / "labkit" / "viz.py",
                        ROOT / "labkit" / "cli.py", ROOT / "labkit" / "__main__.py",
                        *(ROOT / "benchmarks").glob("*.py")])
_PRIVATE_READ = re.compile(r"\b(rt|runtime)\._\w+|\bcurrent\(\)|\bcurrent_task\(")


def _private_imports(path: Path) -> list[str]:
    return _private_imports_in(path, ROOT)


def _private_imports_in(path: Path, root: Path) -> list[str]:
    """The private labkit modules ``path`` imports, and the private names it imports from
    labkit's public modules (``labkit.trace._helper``), but for ``labkit._check`` (how
    every layer validates) and the private helpers of its own package
    (``scenarios._common``)."""
    own = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in modules:
            parts = name.split(".")
            private = [k for k, part in enumerate(parts) if part.startswith("_")]
            if parts[0] != "labkit" or name == "labkit._check":
                continue
            if not private:  # a public module: no private name from it
                if isinstance(node, ast.ImportFrom):
                    found += [f"{name}.{a.name}" for a in node.names
                              if a.name.startswith("_")]
                continue
            if ".".join(parts[:private[0]]) == own:
                continue
            found.append(name)
    return found


@pytest.mark.parametrize("path", HIGHER_LAYERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_higher_layers_use_only_public_names(path: Path) -> None:
    """Scenarios, viz, widgets, the CLI and benchmarks go through labkit's public API: no
    ``labkit._runtime`` import, no runtime lookup, no private attribute of the runtime
    (``labkit.trace.record``, ``current_task_name`` and ``new_corr_id`` serve instead)."""
    assert not _private_imports(path)
    text = path.read_text(encoding="utf-8")
    assert not _PRIVATE_READ.search(text), _PRIVATE_READ.search(text)


def test_the_public_names_check_would_catch_a_private_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "labkit" / "scenarios" / "sneaky.py"
    sneaky.parent.mkdir(parents=True)
    sneaky.write_text("from labkit._runtime.core import current\n"
                      "import labkit._runtime.rows\n"
                      "from labkit._check import check_int\n"
                      "from labkit.scenarios._common import simulate\n"
                      "from labkit.trace import Columns, _first_times\n")
    assert _private_imports_in(sneaky, tmp_path) == ["labkit._runtime.core",
                                                    "labkit._runtime.rows",
                                                    "labkit.trace._first_times"]
