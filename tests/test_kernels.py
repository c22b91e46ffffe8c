"""The server-side pieces of a quick, quiet form (issue 24 Deliver 2 and item 10) without a
browser: which kernel requests take a heated kernel, how the server talks to kernels,
and which server warnings stay out of the terminal. The browser tests
(``tests/browser/test_log_form_browser.py``) check the pool and the terminal end to end."""

from __future__ import annotations

import asyncio
import logging

import pytest
from own_loop import run_on_own_loop

from backtrack import serve
from backtrack.kernels import FormKernelManager
from backtrack.server_extension import QuietFilter, quiet


def _manager(**config) -> FormKernelManager:
    return FormKernelManager(**config)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kernel_name": "python3", "env": {"SCRIPT_NAME": f"/{serve.FORM_PATH}"}}, True),
        ({"env": {"SCRIPT_NAME": f"/{serve.FORM_PATH}"}}, True),  # the default kernel
        (
            {"kernel_name": "python3", "env": {"SCRIPT_NAME": "/voila/render/02-trends.ipynb"}},
            False,
        ),  # noqa: E501
        ({"kernel_name": "ir", "env": {"SCRIPT_NAME": f"/{serve.FORM_PATH}"}}, False),
        ({"kernel_name": "python3", "env": {}}, False),  # JupyterLab's notebooks
        ({"kernel_name": "python3"}, False),
    ],
)
def test_only_the_forms_page_takes_a_heated_kernel(kwargs, expected):
    assert _manager(form_path=f"/{serve.FORM_PATH}").is_form_request(kwargs) is expected


def test_no_pool_or_no_page_no_heated_kernel():
    form = {"env": {"SCRIPT_NAME": f"/{serve.FORM_PATH}"}}
    assert not _manager(form_path=f"/{serve.FORM_PATH}", pool_size=0).is_form_request(form)
    assert not _manager().is_form_request(form)  # backtrack.serve names the page


def test_the_server_command_names_the_pool_and_the_forms_page(tmp_path):
    command = serve.server_command("lab", port=8888, root=tmp_path, state=tmp_path)
    assert f"--ServerApp.kernel_manager_class={serve.KERNEL_MANAGER}" in command
    assert f"--FormKernelManager.form_path=/{serve.FORM_PATH}" in command
    assert "--ServerApp.jpserver_extensions=backtrack.server_extension=True" in command


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        (True, ["--MappingKernelManager.transport_encryption=auto"]),
        (False, ["--KernelManager.transport=ipc"]),
    ],
)
def test_kernel_messages_are_never_plain_tcp(monkeypatch, curve, expected):
    monkeypatch.setattr(serve.zmq, "has", lambda feature: curve and feature == "curve")
    assert serve.kernel_transport() == expected


def _record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("ServerApp", level, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("record", "shown"),
    [
        (_record("Notebook %s is not trusted", "01-log.ipynb"), False),
        (_record("Notebook %s is not trusted", "/05-trial.ipynb"), False),
        (_record("Notebook %s is not trusted", "mine/analysis.ipynb"), True),  # a person's
        (_record("Notebook %s is not trusted", "my-notes.ipynb"), True),
        (
            _record(
                "The websocket_ping_timeout (90000) cannot be longer than the "
                "websocket_ping_interval (30000).\nSetting websocket_ping_timeout=30000"
            ),
            False,
        ),
        (_record("Kernel %s died, removing from map.", "abc"), True),
        (_record("403 POST /voila/api/shutdown/%s", "abc"), True),
        (_record("Uncaught exception", level=logging.ERROR), True),
    ],
)
def test_only_the_two_harmless_warnings_are_kept_out(record, shown):
    assert QuietFilter().filter(record) is shown


def test_quiet_filters_every_handler_once():
    log = logging.getLogger("backtrack-test-quiet")
    handlers = [logging.StreamHandler(), logging.StreamHandler()]
    for handler in handlers:
        log.addHandler(handler)
    try:
        quiet(log)
        quiet(log)
        assert [len(h.filters) for h in handlers] == [1, 1]
    finally:
        for handler in handlers:
            log.removeHandler(handler)


def _done(result):
    future = asyncio.get_running_loop().create_future()
    future.set_result(result)
    return future


def test_a_heated_kernel_that_waited_too_long_is_replaced_and_ended(monkeypatch):
    """After max_age the waiting kernel is renewed in the background (a new one heated
    first, then the old one ended), so a daily open still finds a heated kernel."""
    manager = _manager(form_path=f"/{serve.FORM_PATH}")
    calls = []

    async def shutdown_kernel(kernel_id, now=False):
        calls.append(("shutdown", kernel_id, now))

    monkeypatch.setattr(manager, "shutdown_kernel", shutdown_kernel)
    monkeypatch.setattr(manager, "fill_pool", lambda delay=0.0: calls.append(("fill",)))

    async def scenario():
        manager._pool = [_done("old")]
        manager._waiting = {"old"}
        await manager._renew("other")  # not a waiting kernel: nothing happens
        assert calls == [] and len(manager._pool) == 1
        await manager._renew("old")
        assert manager._pool == [] and manager._waiting == set()

    run_on_own_loop(scenario())
    assert calls == [("fill",), ("shutdown", "old", True)]


def test_a_page_skips_heated_kernels_that_failed_or_ended(monkeypatch):
    """A heating that failed (None) or a kernel ended meanwhile (say from JupyterLab's
    list) is skipped; with none left the page starts a kernel as without the pool."""
    manager = _manager(form_path=f"/{serve.FORM_PATH}")

    async def scenario():
        manager._pool = [_done(None), _done("ended")]
        manager._waiting = {"ended"}
        assert await manager.take_heated() is None
        assert manager._pool == [] and manager._waiting == set()

    run_on_own_loop(scenario())
