"""What backtrack adds to the server it starts (``backtrack.serve`` enables this module with
``--ServerApp.jpserver_extensions``): the form's kernels are heated as the server starts
(:mod:`backtrack.kernels`), and two warnings that tell a patient nothing stay out of the
terminal (issue 24 item 10: ``make lab``/``make app`` print backtrack's own lines).

- ``Notebook 01-log.ipynb is not trusted``, at every open of the form: trust only decides
  whether a notebook's saved outputs (HTML, scripts) are shown, and the project's own
  notebooks are saved with no outputs (``serve.strip_notebook``). A person's own
  notebook still gets the warning.
- tornado's ``The websocket_ping_timeout (90000) cannot be longer than the
  websocket_ping_interval (30000)``, at the first page: jupyter-server's default for
  its own ping timeout, which tornado 6.5+ caps at the interval itself.

Every other warning and error still prints.
"""

from __future__ import annotations

import logging
from typing import Any

from .kernels import FormKernelManager
from .serve import is_shipped_notebook

UNTRUSTED = "Notebook %s is not trusted"
"""jupyter-server's warning (its ``ContentsManager``) when a notebook's signature is unknown."""
PING_CAPPED = "cannot be longer than the websocket_ping_interval"
"""Part of tornado's warning when jupyter-server's ping timeout exceeds its interval."""


class QuietFilter(logging.Filter):
    """Drops the two records above; passes every other."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a shipped notebook's trust warning and the ping-timeout warning."""
        if record.msg == UNTRUSTED and record.args:
            path = record.args[0] if isinstance(record.args, tuple) else record.args
            return not is_shipped_notebook(str(path))
        return PING_CAPPED not in record.getMessage()


def quiet(log: logging.Logger) -> None:
    """Add :class:`QuietFilter` to ``log``'s handlers (tornado's loggers print through them)."""
    for handler in log.handlers:
        if not any(isinstance(f, QuietFilter) for f in handler.filters):
            handler.addFilter(QuietFilter())


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Quiet the server's log and heat the form's kernels once the server runs."""
    quiet(server_app.log)
    manager = server_app.kernel_manager
    if isinstance(manager, FormKernelManager):
        server_app.io_loop.add_callback(manager.fill_pool)
