"""What each route takes and returns, declared on its handler class; light (no pydantic).

A handler names its schemas per verb::

    class JobsHandler(MLLabHandler):
        api = {"POST": Op("Submit a run or a sweep", body="jobs.JobSubmit",
                          responses={201: "jobs.Job", 200: "jobs.Job"})}

Models are named ``"<domain>.<Model>"`` (``jupyter_mllab/<domain>/schemas.py``) or
``"<Model>"`` (``jupyter_mllab/schemas.py``) and imported on first use: the server
validates request bodies with them (``MLLabHandler.body``), ``jupyter_mllab.openapi``
writes docs/openapi.json from them, and the tests check every response against them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Raw:
    """A body that is not a JSON model: a download, a stream, text."""

    media_type: str
    description: str = ""


@dataclass(frozen=True)
class Query:
    name: str
    type: str = "string"  # a JSON Schema type
    description: str = ""
    enum: tuple[str, ...] = ()


Target = str | Raw | tuple[str | Raw, ...] | None


@dataclass(frozen=True)
class Op:
    summary: str
    body: str | Raw | None = None
    # status -> model name, a Raw body, or None (no body: 204)
    responses: dict[int, str | Raw | tuple[str | Raw, ...] | None] = field(
        default_factory=lambda: {200: None}
    )
    query: tuple[Query, ...] = ()
    auth: bool = True  # False: not Jupyter's login (the TensorBoard proxy's ticket)


def model(name: str) -> Any:
    """The pydantic model a declaration names (imports its schemas module)."""
    domain, _, cls = name.rpartition(".")
    module = f"jupyter_mllab.{domain}.schemas" if domain else "jupyter_mllab.schemas"
    return getattr(importlib.import_module(module), cls)


def operation(handler: type, method: str) -> Op | None:
    return (getattr(handler, "api", None) or {}).get(method.upper())
