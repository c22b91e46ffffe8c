"""The LAN server's gate (``make app LAN=1``): a token holder reaches the form, nothing else.

The phone mode is jupyter-server with Voila as its extension (Voila standalone has no
HTTPS: its ``listen`` passes no certificate, "TODO: https / certfile" in voila 0.5's
``app.py``). Every handler that asks who the user is (``@authenticated``/``@authorized``:
contents, files, kernels, sessions, kernelspecs, config, nbconvert, events, shutdown,
``/api/me``, ``/api/status``, Voila's tree and contents) asks
:class:`FormOnlyIdentityProvider`, which knows the user only on the three handlers the
form page uses: Voila's render of the form's notebook (nothing else under
``/voila/render/``), and its kernel's model, channels and shutdown (:data:`KERNEL_HANDLERS`).
Everywhere else the token counts for nothing: 403, or a redirect to the login page.

Kernels: no route that starts, restarts or interrupts one is reachable, so the kernels
running are the ones Voila started for a page and the one heated for the next page
(``backtrack/kernels.py``: the form's imports only; its id is given to no one until a
page takes it). On their channels the server passes on
only ``backtrack.serve.KERNEL_MESSAGES`` (Voila standalone's list): widget messages, no
``execute_request``, so no code runs but the form's own. ``backtrack.serve`` names this
module's class on the server's command line and does not import it (jupyter-server and
Voila take seconds to import; the server process imports them anyway).
"""

from __future__ import annotations

from collections.abc import Awaitable

from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.services.kernels.handlers import KernelHandler
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
from tornado import web
from traitlets import Unicode
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.tornado.handler import TornadoVoilaHandler

KERNEL_HANDLERS: dict[type[web.RequestHandler], frozenset[str]] = {
    KernelHandler: frozenset({"GET"}),
    KernelWebsocketHandler: frozenset({"GET"}),
    VoilaShutdownKernelHandler: frozenset({"POST"}),
}
"""The handlers (and methods) of the page's own kernel: its model
(``GET /api/kernels/<id>``, not ``DELETE``), its channels (``/api/kernels/<id>/channels``)
and Voila's shutdown of it (``/voila/api/shutdown/<id>``)."""


class FormOnlyIdentityProvider(IdentityProvider):
    """jupyter-server's token login, honoured only where the form page needs it."""

    form_path = Unicode(
        "/voila/render/01-log.ipynb",
        config=True,
        help="The one address under /voila/render/ that is served (the form's notebook).",
    )

    def reachable(self, handler: web.RequestHandler) -> bool:
        """True for the form's page and its kernel's handlers; false for every other."""
        methods = KERNEL_HANDLERS.get(type(handler))
        if methods is not None:
            return handler.request.method in methods
        if isinstance(handler, TornadoVoilaHandler):
            return bool(handler.request.path == self.form_path)
        return False

    def get_user(self, handler: web.RequestHandler) -> User | None | Awaitable[User | None]:
        """The token's user on a :meth:`reachable` handler; nobody anywhere else."""
        if not self.reachable(handler):
            return None
        return super().get_user(handler)
