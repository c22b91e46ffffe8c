"""The tracker's server set-up (backtrack.serve): stable private token, loopback by default,
notebooks saved as committed, LAN only over HTTPS, no outside hosts in the Voila page."""

from __future__ import annotations

import copy
import importlib
import json
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from backtrack import lan as lan_gate
from backtrack import serve

ROOT = Path(__file__).resolve().parent.parent


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_token_is_made_once_private_and_rotated_on_request(tmp_path):
    state = tmp_path / "state"
    first = serve.read_token(state)
    assert len(first) >= 32
    assert _mode(state / "token") == 0o600 and _mode(state) == 0o700
    assert serve.read_token(state) == first  # a bookmark keeps working
    rotated = serve.read_token(state, rotate=True)
    assert rotated != first and serve.read_token(state) == rotated
    assert _mode(state / "token") == 0o600


def test_a_token_readable_by_others_is_refused(tmp_path):
    state = tmp_path / "state"
    serve.read_token(state)
    (state / "token").chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        serve.read_token(state)


def test_a_loose_token_file_stops_the_start_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BACKTRACK_STATE_DIR", str(tmp_path))
    serve.read_token(tmp_path)
    (tmp_path / "token").chmod(0o640)
    assert serve.main(["lab"]) == 2  # no server started with a token others can read
    assert "readable by others" in capsys.readouterr().err


def test_state_dir_is_outside_the_repository_by_default(tmp_path):
    assert serve.state_dir({"BACKTRACK_STATE_DIR": str(tmp_path)}) == tmp_path
    default = serve.state_dir({"XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert default == tmp_path / "xdg" / "backtrack"


def _executed(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What JupyterLab sends to save after running the notebook."""
    ran = copy.deepcopy(notebook)
    for number, cell in enumerate(ran.cells, start=1):
        cell.metadata["scrolled"] = True
        cell.metadata["execution"] = {"iopub.status.busy": "2026-12-02T20:00:00Z"}
        if cell.cell_type == "code":
            cell.execution_count = number
            cell.outputs = [
                nbformat.v4.new_output(
                    "display_data",
                    data={"application/vnd.jupyter.widget-view+json": {"model_id": "ab12"}},
                )
            ]
    ran.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    ran.metadata["language_info"] = {
        "name": "python",
        "version": "3.11.2",
        "mimetype": "text/x-python",
        "codemirror_mode": {"name": "ipython", "version": 3},
    }
    return ran


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saving_a_run_notebook_writes_it_back_as_committed(path):
    committed = path.read_text(encoding="utf-8")
    notebook = nbformat.reads(committed, as_version=4)
    model = {"type": "notebook", "content": _executed(notebook)}
    assert nbformat.writes(model["content"]) + "\n" != committed
    serve.strip_notebook(model=model, path=f"/{path.name}", contents_manager=None)
    assert nbformat.writes(model["content"]) + "\n" == committed  # git status stays clean


def test_strip_keeps_what_a_person_edits():
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["keep"]}))
    model = {"type": "notebook", "content": _executed(notebook)}
    serve.strip_notebook(model=model, path="02-trends.ipynb")
    cell = model["content"].cells[0]
    assert cell.source == "x = 1" and cell.metadata == {"tags": ["keep"]}
    serve.strip_notebook(model={"type": "file", "content": "text"})  # other files: untouched


@pytest.mark.parametrize("path", ["my-analysis.ipynb", "work/01-log.ipynb", "1-x.ipynb"])
def test_a_persons_own_notebooks_keep_their_outputs(path):
    model = {"type": "notebook", "content": _executed(nbformat.v4.new_notebook())}
    model["content"].cells.append(nbformat.v4.new_code_cell("1"))
    ran = copy.deepcopy(_executed(model["content"]))
    model["content"] = copy.deepcopy(ran)
    serve.strip_notebook(model=model, path=path)
    assert model["content"] == ran


def test_servers_listen_on_loopback_and_keep_the_token_off_the_command_line(tmp_path):
    for mode in ("lab", "app"):
        command = serve.server_command(mode, port=8888, root=tmp_path, state=tmp_path / "s")
        assert "--ServerApp.ip=127.0.0.1" in command
        assert not any("token" in part.lower() for part in command)
        assert "--ContentsManager.pre_save_hook=backtrack.serve.strip_notebook" in command
        assert "--VoilaConfiguration.template=backtrack" in command
        assert "--VoilaConfiguration.allow_template_override=NO" in command  # no ?template=
    env = serve.server_environment("secret-token", "lab", environ={"JUPYTER_PATH": "/x"})
    assert env["JUPYTER_TOKEN"] == "secret-token"
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(serve.TEMPLATES), "/x"]
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str(serve.LAB_CONFIG)
    assert env["BACKTRACK_LAB_URL"] == "/lab"
    assert "BACKTRACK_LAB_URL" not in serve.server_environment("t", "app", environ={})


def test_jupyterlab_makes_no_news_update_or_extension_calls(tmp_path):
    command = serve.server_command("lab", port=8888, root=tmp_path, state=tmp_path / "s")
    assert "--LabApp.news_url=None" in command
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in command
    assert "--LabApp.extension_manager=readonly" in command
    makefile = (ROOT / "Makefile").read_text()
    assert '"fetchNews": "false", "checkForUpdates": false' in makefile
    # a restart does not reopen every notebook (and start a kernel for each)
    workspaces = tmp_path / "s" / "workspaces"
    assert f"--LabApp.workspaces_dir={workspaces}" in command
    (workspaces / "old.jupyterlab-workspace").write_text("{}")
    serve.server_command("lab", port=8888, root=tmp_path, state=tmp_path / "s")
    assert list(workspaces.iterdir()) == []


def test_the_form_alone_has_no_jupyterlab_and_no_terminals(tmp_path):
    command = serve.server_command("app", port=8866, root=tmp_path, state=tmp_path / "s")
    assert command[1:3] == ["-m", "jupyter_server"]
    assert "--ServerApp.terminals_enabled=False" in command
    assert "--ServerApp.jpserver_extensions=jupyterlab=False" in command


def test_lan_is_https_with_a_private_self_signed_certificate(tmp_path):
    state = tmp_path / "s"
    command = serve.server_command("app", port=8866, root=tmp_path, state=state, lan=True)
    cert, key = state / "tls" / "cert.pem", state / "tls" / "key.pem"
    assert f"--ServerApp.certfile={cert}" in command and f"--ServerApp.keyfile={key}" in command
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert _mode(key) == 0o600 and _mode(state / "tls") == 0o700
    made = cert.read_bytes()
    serve.server_command("app", port=8866, root=tmp_path, state=state, lan=True)
    assert cert.read_bytes() == made  # made on first use only
    text = serve.banner(
        "app", port=8866, token="t" * 43, lan=True, log=tmp_path / "none.csv", state=state
    )
    assert "WARNING" in text and "https://" in text and "█" in text  # the QR code


@pytest.mark.parametrize("lan", [False, True])
def test_each_server_binds_the_one_address_it_prints(tmp_path, lan):
    command = serve.server_command("app", port=8866, root=tmp_path, state=tmp_path, lan=lan)
    binds = [part.split("=", 1)[1] for part in command if part.startswith("--ServerApp.ip=")]
    printed = serve.addresses("app", port=8866, token="t" * 43, lan=lan)["form"]
    assert binds == [urlsplit(printed).hostname]
    assert binds == [serve.lan_address() if lan else "127.0.0.1"]  # never every interface


def test_lan_serves_the_form_through_the_gate_and_its_kernel_runs_no_code(tmp_path):
    command = serve.server_command("app", port=8866, root=tmp_path, state=tmp_path, lan=True)
    assert f"--ServerApp.identity_provider_class={serve.LAN_GATE}" in command
    module, name = serve.LAN_GATE.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name) is lan_gate.FormOnlyIdentityProvider
    assert f"--FormOnlyIdentityProvider.form_path=/{serve.FORM_PATH}" in command
    assert "--ServerApp.allow_unauthenticated_access=False" in command
    assert "--VoilaConfiguration.file_allowlist=[]" in command
    (allowed,) = [p for p in command if p.startswith("--MappingKernelManager.allowed_message")]
    messages = json.loads(allowed.split("=", 1)[1])
    assert messages == list(serve.KERNEL_MESSAGES) and "execute_request" not in messages
    for mode in ("lab", "app"):  # on loopback the servers are as they were
        loopback = serve.server_command(mode, port=8866, root=tmp_path, state=tmp_path)
        assert not any("FormOnly" in part or "allowed_message" in part for part in loopback)


def test_the_lan_has_its_own_token_and_rotate_token_changes_both(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state"
    monkeypatch.setenv("BACKTRACK_STATE_DIR", str(state))
    addresses = {}
    for lan in (False, True):
        assert serve.main(["print-address", *(["--lan"] if lan else [])]) == 0
        addresses[lan] = capsys.readouterr().out.strip().rsplit("token=", 1)[1]
    assert addresses[False] == serve.read_token(state)
    assert addresses[True] == serve.read_token(state, lan=True) != addresses[False]
    assert _mode(state / "lan-token") == 0o600
    assert serve.main(["rotate-token"]) == 0
    said = capsys.readouterr().out
    assert str(state / "token") in said and str(state / "lan-token") in said
    assert serve.read_token(state) != addresses[False]
    assert serve.read_token(state, lan=True) != addresses[True]
    (state / "lan-token").chmod(0o644)
    assert serve.main(["app", "--lan"]) == 2  # a LAN token others can read: no start
    assert "lan-token: readable by others" in capsys.readouterr().err


@pytest.mark.parametrize("lan", [False, True])
def test_the_banner_names_the_token_file_and_what_a_lan_token_holder_can_do(tmp_path, lan):
    text = serve.banner(
        "app", port=8866, token="t" * 43, lan=lan, log=tmp_path / "log.csv", state=tmp_path
    )
    assert f"token in {tmp_path / serve.TOKEN_FILES[lan]}," in text
    assert ("\n".join(serve.LAN_WARNING) in text) is lan
    warning = " ".join(serve.LAN_WARNING)
    for can in ("see any day of your", "save, correct or remove a day"):
        assert can in warning
    for cannot in ("JupyterLab", "terminal", "another notebook or any file", "run code"):
        assert cannot in warning.split("They cannot", 1)[1]


def test_banner_mentions_demo_data_only_without_a_log(tmp_path):
    log = tmp_path / "backtrack.csv"
    kwargs = {"port": 8888, "token": "x" * 43, "lan": False, "state": tmp_path}
    before = serve.banner("lab", log=log, **kwargs)
    assert "demo data" in before
    assert f"http://127.0.0.1:8888/voila/render/01-log.ipynb?token={'x' * 43}" in before
    assert "http://127.0.0.1:8888/lab?token=" in before
    log.write_text("recorded_at\n")
    after = serve.banner("lab", log=log, **kwargs)
    assert "demo data" not in after and f"Your log: {log}" in after


def test_voila_template_links_no_outside_host():
    folder = serve.TEMPLATES / "voila" / "templates" / "backtrack"
    assert json.loads((folder / "conf.json").read_text())["base_template"] == "lab"
    template = (folder / "index.html.j2").read_text()
    body = template.split("-#}", 1)[1]  # after the comment saying what is left out
    assert "html_head_js_mermaidjs" in body and "http" not in body


def test_rotate_token_command_and_printed_address(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BACKTRACK_STATE_DIR", str(tmp_path / "state"))
    assert serve.main(["print-address", "--port", "8888"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("http://127.0.0.1:8888/voila/render/01-log.ipynb?token=")
    assert serve.main(["print-address", "--port", "8888"]) == 0
    assert capsys.readouterr().out.strip() == first  # stable
    assert serve.main(["rotate-token"]) == 0
    assert "old bookmarks stop working" in capsys.readouterr().out
    assert serve.main(["print-address", "--port", "8888"]) == 0
    assert capsys.readouterr().out.strip() != first
    makefile = (ROOT / "Makefile").read_text()
    assert "rotate-token:" in makefile and "-m backtrack.serve rotate-token" in makefile
