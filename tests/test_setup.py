"""The set-up contract: same dependencies for pip and conda, private data, CI = make test."""

from __future__ import annotations

import re
import subprocess
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
    kept = subprocess.run(["git", "check-ignore", "-q", "data/README.md"], cwd=ROOT, check=False)
    assert kept.returncode == 1, "data/README.md must stay tracked"
    assert "git-ignored" in (ROOT / "data" / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme


def test_servers_bind_to_loopback_only():
    makefile = (ROOT / "Makefile").read_text()
    assert "--ServerApp.ip=127.0.0.1" in makefile
    assert "--Voila.ip=127.0.0.1" in makefile
    assert "token=''" not in makefile and 'token=""' not in makefile
    assert "--Voila.auto_token=True" in makefile


def test_jupyterlab_makes_no_news_or_update_calls():
    """Health data stays local: the tracker's JupyterLab fetches no news, checks no updates."""
    makefile = (ROOT / "Makefile").read_text()
    assert "--LabApp.news_url=None" in makefile
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in makefile
    assert '"fetchNews": "false", "checkForUpdates": false' in makefile
