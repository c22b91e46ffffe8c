"""Running a coroutine from a test when the test's thread may already run an event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any


def run_on_own_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to its end on a loop of its own thread: Playwright's sync API
    keeps an event loop running in the main thread once a browser test has started one
    (the browser tests run first in the whole suite), and ``asyncio.run`` refuses there."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
