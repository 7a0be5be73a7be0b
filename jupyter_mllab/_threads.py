"""Run blocking work (SQLite, MLflow, file scans) off the event loop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
