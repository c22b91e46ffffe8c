"""The set-up contract: same dependencies for pip and conda, private data, CI = make test."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _normalise(requirement: str) -> str:
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def pyproject_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        deps += extra
    return {_normalise(d) for d in deps}


def environment_dependencies() -> set[str]:
    deps = set()
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if stripped.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and stripped and not stripped.startswith(" "):
            in_deps = False
        match = re.match(r"\s+-\s+(\S+)$", stripped) if in_deps else None
        if match and not match.group(1).startswith(("python", "pip")):
            deps.add(_normalise(match.group(1)))
    return deps


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pip_side, conda_side = pyproject_dependencies(), environment_dependencies()
    assert pip_side, "no dependencies parsed from pyproject.toml"
    assert conda_side == pip_side, (
        f"only in pyproject.toml: {sorted(pip_side - conda_side)}; "
        f"only in environment.yml: {sorted(conda_side - pip_side)}"
    )


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def environment_sections() -> dict[str, set[str]]:
    """environment.yml's dependencies by section: ``""`` before the first ``# <extra>``
    comment line, then one per extra (``# test``, ``# bench``)."""
    sections: dict[str, set[str]] = {"": set()}
    current, in_deps = "", False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and line.strip() and not line.startswith(" "):
            in_deps = False
        if not in_deps:
            continue
        heading = re.fullmatch(r"\s+#\s*([a-z]+)\s*", line)
        if heading:
            current = heading.group(1)
            sections.setdefault(current, set())
            continue
        match = re.match(r"\s+-\s+(\S+)$", line.split("#", 1)[0].rstrip())
        if match and not match.group(1).startswith(("python", "pip")):
            sections[current].add(_normalise(match.group(1)))
    return sections


def test_environment_yml_has_each_extra_in_its_own_section():
    """A conda user sees what is needed to run, to test and to benchmark, as pip does."""
    project = _project()
    want = {"": {_normalise(d) for d in project["dependencies"]}}
    want |= {
        extra: {_normalise(d) for d in deps}
        for extra, deps in project["optional-dependencies"].items()
        if deps
    }
    assert environment_sections() == want


NOT_IMPORTED = {
    "jupyterlab": "backtrack.serve runs it (python -m jupyterlab)",
    "dask": "the scheduler and workers distributed runs the cohort on (dask[distributed])",
}
"""Run-time dependencies the package uses without importing them."""
IMPORT_NAMES = {"fhir-resources": "fhir"}


def test_every_run_time_dependency_is_used_by_the_package():
    """A run-time dependency is one the package imports (or runs): what only the benches
    or the tests use belongs in their extra."""
    imported = set()
    for path in (ROOT / "backtrack").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                imported.add(node.module.partition(".")[0])
    imported -= set(sys.stdlib_module_names)
    unused = []
    for requirement in _project()["dependencies"]:
        name = re.split(r"[<>=!~\[ ]", _normalise(requirement))[0]
        module = IMPORT_NAMES.get(name, name.replace("-", "_"))
        if module not in imported and name not in NOT_IMPORTED:
            unused.append(name)
    assert unused == []
    assert "fhir" in imported and "pandas" in imported  # the walk sees the imports


def test_core_packages_are_declared():
    names = {re.split(r"[<>=!~]", d)[0] for d in pyproject_dependencies()}
    for needed in [
        "pandas",
        "matplotlib",
        "ipywidgets",
        "jupyterlab",
        "filelock",
        "nbval",
        "pytest",
        "hypothesis",
        "playwright",
    ]:
        assert needed in names


def test_the_users_log_is_never_committed():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "data/backtrack.csv"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "data/backtrack.csv must be git-ignored"
    answers = subprocess.run(
        ["git", "check-ignore", "-q", "data/backtrack.measures.csv"], cwd=ROOT, check=False
    )
    assert answers.returncode == 0, "the measures file beside the log must be git-ignored"
    kept = subprocess.run(["git", "check-ignore", "-q", "data/README.md"], cwd=ROOT, check=False)
    assert kept.returncode == 1, "data/README.md must stay tracked"
    assert "git-ignored" in (ROOT / "data" / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme


def test_servers_are_started_by_backtrack_serve():
    """`make lab`/`make app` go through backtrack.serve, whose command lines (loopback,
    token in the environment, no news or update calls) tests/test_serve.py checks."""
    makefile = (ROOT / "Makefile").read_text()
    assert "-m backtrack.serve lab" in makefile and "-m backtrack.serve app" in makefile
    assert "token=''" not in makefile and 'token=""' not in makefile
    assert "0.0.0.0" not in makefile
