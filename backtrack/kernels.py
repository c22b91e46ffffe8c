"""Pre-heated kernels for the form: the bookmark opens on a kernel that already started.

Why (issue 24 Deliver 2, measured in docs/form-figures.md): of the ~1.9 s from the
bookmark to a usable form on a warm server, about 1.2 s was a new kernel (the
interpreter, ipykernel, then ``backtrack.form``'s imports: pandas, ipywidgets) before
the notebook's one cell could run. :class:`FormKernelManager` keeps :attr:`pool_size`
kernels started ahead, with those imports done (ipykernel's ``exec_lines``) and
nothing else, and hands one to the form's page; the notebook itself still runs when
the page is opened, so the form reads the log as it is then (never a state from when
the kernel was heated). Voila's own ``preheat_kernel`` is not used: it exists only in
standalone Voila (not as the JupyterLab server's extension, which serves ``make lab``
and the HTTPS LAN mode) and it runs the whole notebook ahead, so the form would show
the log as it was when the kernel was heated.

- Only the form's page takes a heated kernel (Voila's request for
  :attr:`form_path`); a notebook opened in JupyterLab starts its own, as before.
- A heated kernel is refilled :attr:`fill_delay` seconds after one is taken (the page
  being opened gets the CPU first); a page opened before the refill is ready starts it
  at once and waits for it (no slower than a start from nothing). A heated kernel
  that waited :attr:`max_age` is replaced by a new one in the background (new code
  installed since, a fresh interpreter), and none is culled while it waits.
- The server names this class on its command line (``backtrack.serve``) and
  :mod:`backtrack.server_extension` heats the pool as the server starts; like
  ``backtrack.lan`` it is imported by the server process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Float, Integer, List, Unicode

WARM_UP = (
    "import backtrack.form, backtrack.trial, backtrack.plots",
    "del backtrack",
)
"""What a heated kernel runs at its start: the form's imports (the self-trial banner's,
and matplotlib's for the sparkline drawn after a Save), no data read."""
POOL_SIZE = 1
"""Heated kernels kept ready: one idle interpreter (~150 MB) for an open in ~1 s less."""
FILL_DELAY = 5.0
"""Seconds from a page taking the heated kernel to heating the next: the page renders
first (on 2 cores a kernel starting beside it slowed it); a page opened meanwhile
starts the heating at once."""


class FormKernelManager(AsyncMappingKernelManager):
    """jupyter-server's kernel manager with a pool of heated kernels for the form's page."""

    form_path = Unicode(
        "",
        config=True,
        help="The page that takes heated kernels: Voila's render of the form's notebook "
        "(``backtrack.serve`` sets it; empty: none does).",
    )
    pool_size = Integer(POOL_SIZE, config=True, help="Heated kernels kept ready (0: none).")
    fill_delay = Float(
        FILL_DELAY, config=True, help="Seconds from taking a kernel to heating the next."
    )
    max_age = Float(
        3600.0, config=True, help="Seconds a heated kernel waits before it is replaced."
    )
    warm_up = List(
        Unicode(), list(WARM_UP), config=True, help="Lines a heated kernel runs at its start."
    )
    kernel_name_heated = Unicode("python3", config=True, help="The form notebook's kernel.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._pool: list[asyncio.Task[str | None]] = []
        self._waiting: set[str] = set()
        """Heated kernels not yet handed to a page (never culled)."""
        self._hurry = asyncio.Event()
        """Set while a page waits for a kernel: a heating waiting out its delay starts."""
        self._starting: set[str] = set()
        """Heated kernels still starting (not listed: jupyter-server's model of a kernel
        is complete only once it started; listing one before failed with a 500)."""

    # -- the pool ---------------------------------------------------------------------
    def fill_pool(self, delay: float = 0.0) -> None:
        """Start heating kernels until :attr:`pool_size` are ready or on their way."""
        while len(self._pool) < self.pool_size:
            self._pool.append(asyncio.ensure_future(self._heat(delay)))

    async def _heat(self, delay: float) -> str | None:
        """One heated kernel: started, its warm-up run, answering (its id); renewed after
        :attr:`max_age` if no page took it."""
        if delay and not self._hurry.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), delay)
        kernel_id = str(uuid.uuid4())
        self._waiting.add(kernel_id)
        self._starting.add(kernel_id)
        try:
            await super().start_kernel(
                kernel_id=kernel_id,
                kernel_name=self.kernel_name_heated,
                path="",  # type: ignore[arg-type]
                extra_arguments=[f"--IPKernelApp.exec_lines={list(self.warm_up)!r}"],
            )
            self._starting.discard(kernel_id)
            client = self.get_kernel(kernel_id).client()
            client.start_channels()
            try:
                await client.wait_for_ready(timeout=120)  # type: ignore[misc]
            finally:
                client.stop_channels()
        except Exception:  # the page then starts a kernel as without the pool
            self.log.exception("backtrack: a heated kernel did not start")
            self._waiting.discard(kernel_id)
            if kernel_id in self:
                with contextlib.suppress(Exception):
                    await self.shutdown_kernel(kernel_id, now=True)  # type: ignore[no-untyped-call]
            return None
        finally:
            self._starting.discard(kernel_id)
        asyncio.get_running_loop().call_later(
            self.max_age, lambda: asyncio.ensure_future(self._renew(kernel_id))
        )
        return kernel_id

    async def _renew(self, kernel_id: str) -> None:
        """Replace a heated kernel that waited :attr:`max_age` (the next first, then the
        old one ends): the next page still opens on a heated kernel."""
        for task in list(self._pool):
            if task.done() and not task.cancelled() and task.result() == kernel_id:
                self._pool.remove(task)
                self._waiting.discard(kernel_id)
                self.fill_pool()
                with contextlib.suppress(Exception):
                    await self.shutdown_kernel(kernel_id, now=True)  # type: ignore[no-untyped-call]
                return

    async def take_heated(self) -> str | None:
        """A heated kernel's id for the form's page, or ``None`` when none is usable."""
        while self._pool:
            task = self._pool.pop(0)
            self._hurry.set()
            try:
                found = await task
            finally:
                self._hurry.clear()
            if found is None:
                continue
            self._waiting.discard(found)
            if found not in self:  # shut down meanwhile (from JupyterLab's list)
                continue
            if await self.get_kernel(found).is_alive():  # type: ignore[misc]
                return found
            with contextlib.suppress(Exception):
                await self.shutdown_kernel(found, now=True)  # type: ignore[no-untyped-call]
        return None

    def is_form_request(self, kwargs: dict[str, Any]) -> bool:
        """True for Voila's kernel request of the form's page (its ``SCRIPT_NAME``)."""
        env = kwargs.get("env") or {}
        return (
            self.pool_size > 0
            and bool(self.form_path)
            and env.get("SCRIPT_NAME") == self.form_path
            and kwargs.get("kernel_name", self.kernel_name_heated) == self.kernel_name_heated
        )

    # -- jupyter-server's kernel manager ------------------------------------------------
    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, path: str | None = None, **kwargs: Any
    ) -> str:
        """The form's page gets a heated kernel (and the pool is refilled); every other
        request starts a kernel as jupyter-server does."""
        if kernel_id is None and self.is_form_request(kwargs):
            heated = await self.take_heated()
            self.fill_pool(self.fill_delay)
            if heated is not None:
                self.get_kernel(heated).last_activity = datetime.now(UTC)  # type: ignore[attr-defined]
                self.log.info("backtrack: the form's page took heated kernel %s", heated)
                return heated
        return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)  # type: ignore[arg-type]

    def kernel_model(self, kernel_id: str) -> dict[str, Any]:
        """jupyter-server's model of a kernel, plus ``backtrack_heated``: true while it
        waits for the form's next page (``GET /api/kernels`` says which kernel that is)."""
        model: dict[str, Any] = super().kernel_model(kernel_id)  # type: ignore[no-untyped-call]
        model["backtrack_heated"] = kernel_id in self._waiting
        return model

    def list_kernels(self) -> list[dict[str, Any]]:
        """As jupyter-server's, without heated kernels still starting."""
        models = []
        for kernel_id in self.list_kernel_ids():
            if kernel_id in self._starting:
                continue
            with contextlib.suppress(web.HTTPError, KeyError):  # ended meanwhile
                models.append(self.kernel_model(kernel_id))
        return models

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """As jupyter-server's, except for heated kernels still waiting for a page."""
        if kernel_id in self._waiting:
            return
        await super().cull_kernel_if_idle(kernel_id)  # type: ignore[no-untyped-call]

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]
        """Every kernel, the ones still heating included (none is left running)."""
        pending, self._pool = self._pool, []
        for task in pending:
            with contextlib.suppress(Exception):
                await task
        self._waiting.clear()
        await super().shutdown_all(now=now)
