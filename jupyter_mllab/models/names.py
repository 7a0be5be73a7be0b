"""Names of registered models: one MLflow registered model per (project, name).

The user sees keys like datasets' (``wine-lab/wine@3``, ``wine-lab/wine@champion``); MLflow
sees ``wine-lab~wine``. ``~`` is legal in MLflow's names (which refuse ``/`` and ``:``) and
cannot occur in a project or model name (letters, digits, ``-``, ``_``, ``.``), so the
mapping is one-to-one. Light: the kernel side imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadRequest
from ..names import validate_name

SEPARATOR = "~"
MAX_MODEL_NAME = 100
_VERSION_RE = re.compile(r"^[1-9][0-9]{0,9}$")
_ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def registered_name(project: str, name: str) -> str:
    """The MLflow registered model that holds ``name``'s versions in ``project``."""
    validate_name(name, "model", MAX_MODEL_NAME)
    return f"{project}{SEPARATOR}{name}"


def split_registered_name(full: str) -> tuple[str, str] | None:
    """``(project, name)`` for one of ours, ``None`` for any other registered model."""
    project, sep, name = full.partition(SEPARATOR)
    return (project, name) if sep and project and name and SEPARATOR not in name else None


def validate_alias(alias: object) -> str:
    """An alias MLflow accepts and that cannot be read as a version number."""
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias) or alias.lower() == "latest":
        raise BadRequest(
            f"'{alias}' is not a valid alias: use letters, digits, '_' and '-', starting "
            "with a letter or '_' (at most 64 characters; 'latest' is reserved).",
            reason="invalid_alias",
        )
    return alias


@dataclass(frozen=True)
class ModelKey:
    """``project/name@3`` or ``project/name@champion`` (or without the project)."""

    project: str
    name: str
    version: int | None = None
    alias: str | None = None

    @property
    def registered(self) -> str:
        return registered_name(self.project, self.name)

    def __str__(self) -> str:
        ref = self.version if self.version is not None else self.alias
        return f"{self.project}/{self.name}" + (f"@{ref}" if ref is not None else "")


def parse_model_key(key: str, default_project: str) -> ModelKey:
    """``wine``, ``wine@3``, ``wine@champion``, ``lab/wine@3`` -> a :class:`ModelKey`."""
    if not isinstance(key, str) or not key.strip():
        raise BadRequest("A model key is empty.", reason="invalid_key")
    path, at, ref = key.strip().partition("@")
    project, _, name = path.rpartition("/")
    project = project or default_project
    validate_name(project, "project", 100)
    validate_name(name, "model", MAX_MODEL_NAME)
    if not at:
        return ModelKey(project, name)
    if _VERSION_RE.match(ref):
        return ModelKey(project, name, version=int(ref))
    return ModelKey(project, name, alias=validate_alias(ref))
