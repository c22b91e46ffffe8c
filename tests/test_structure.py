"""The package's structure (DESIGN.md "Package layout", issue 26 items 3-4): no module
takes another module's ``_private`` names, and no import hides inside a function unless
it says why it is lazy (``# lazy: <why>``), so a cycle cannot be dodged that way."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import backtrack

PACKAGE = Path(backtrack.__file__).parent
LAZY = "# lazy:"


@dataclass(frozen=True)
class Module:
    name: str  # backtrack.form.model
    path: Path
    source: str
    tree: ast.Module

    @property
    def package(self) -> str:
        """The package a relative import starts from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"


def modules() -> list[Module]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        source = path.read_text(encoding="utf-8")
        found.append(Module(".".join(parts), path, source, ast.parse(source, str(path))))
    return found


MODULES = modules()
NAMES = {m.name for m in MODULES}


def is_private(name: str) -> bool:
    """``_name``: one leading underscore, not a dunder."""
    return name.startswith("_") and not name.startswith("__")


def target(module: Module, node: ast.ImportFrom) -> str:
    """The absolute name of the module ``node`` imports from."""
    if not node.level:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def is_ours(name: str) -> bool:
    return name == "backtrack" or name.startswith("backtrack.")


def imported_names(module: Module) -> list[tuple[ast.AST, str, str]]:
    """(node, module imported from, name) for every ``from X import name`` of a backtrack
    module X, and (node, "", module) for every ``import backtrack.x``."""
    found: list[tuple[ast.AST, str, str]] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and is_ours(target(module, node)):
            found.extend((node, target(module, node), alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node, "", a.name) for a in node.names if is_ours(a.name))
    return found


def module_aliases(module: Module) -> set[str]:
    """Local names bound to a backtrack module (``from . import metrics``, ``import
    backtrack.stats as stats``)."""
    aliases = set()
    for node, source, name in imported_names(module):
        alias = next(a for a in node.names if a.name == name)  # type: ignore[attr-defined]
        if source and f"{source}.{name}" in NAMES:
            aliases.add(alias.asname or name)
        elif not source and alias.asname:
            aliases.add(alias.asname)
    return aliases


def private_imports(module: Module) -> list[str]:
    """``from .x import _name`` (a private name of another module; a private *module*,
    such as ``_files``, is a module of its own, and its public names are for the
    package)."""
    return [
        f"{module.where(node)}: imports {name} from {source}"
        for node, source, name in imported_names(module)
        if source and is_private(name) and f"{source}.{name}" not in NAMES
    ]


def private_attributes(module: Module) -> list[str]:
    """``metrics._column``: a private name reached through an imported module."""
    aliases = module_aliases(module)
    return [
        f"{module.where(node)}: uses {node.value.id}.{node.attr}"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and is_private(node.attr)
    ]


def function_imports(module: Module) -> list[ast.Import | ast.ImportFrom]:
    """The imports inside a function body (``if TYPE_CHECKING:`` at module level is not
    a function)."""
    found = []
    for function in ast.walk(module.tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            found.extend(
                node
                for node in ast.walk(function)
                if isinstance(node, ast.Import | ast.ImportFrom)
            )
    return found


def unexplained_function_imports(module: Module) -> list[str]:
    """Function-level imports with no ``# lazy: <why>`` on their lines."""
    lines = module.source.splitlines()
    bad = []
    for node in function_imports(module):
        text = "\n".join(lines[node.lineno - 1 : (node.end_lineno or node.lineno)])
        if LAZY not in text:
            bad.append(f"{module.where(node)}: {lines[node.lineno - 1].strip()}")
    return sorted(set(bad))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_no_module_imports_a_private_name_of_another(module):
    assert private_imports(module) == []


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_no_module_reaches_into_another_modules_private_names(module):
    assert private_attributes(module) == []


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_an_import_inside_a_function_says_why_it_is_lazy(module):
    assert unexplained_function_imports(module) == []


def test_the_checks_see_what_they_look_for():
    """The walk finds each kind of fault in a module written to have them (so an empty
    list above means none, not a walk that sees nothing)."""
    source = (
        "from . import metrics\n"
        "from .metrics import _column, daily_since\n"
        "from ._files import write_private\n"
        "def f():\n"
        "    from .trial import routine_of\n"
        "    from .demo import demo_log  # lazy: only for the demo\n"
        "    return metrics._routine_mask, metrics.__name__\n"
    )
    fake = Module("backtrack.fake", PACKAGE / "fake.py", source, ast.parse(source))
    assert [e.split(": ", 1)[1] for e in private_imports(fake)] == [
        "imports _column from backtrack.metrics"
    ]
    assert [e.split(": ", 1)[1] for e in private_attributes(fake)] == [
        "uses metrics._routine_mask"
    ]
    assert [e.split(": ", 1)[1] for e in unexplained_function_imports(fake)] == [
        "from .trial import routine_of"
    ]
    assert len(MODULES) > 30 and "backtrack.form.model" in NAMES
