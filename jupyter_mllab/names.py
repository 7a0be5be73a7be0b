"""Names of projects and datasets: they appear in keys (project/name@3), so they are strict."""

from __future__ import annotations

import re

from .errors import BadRequest

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def validate_name(name: object, kind: str, max_length: int) -> str:
    """Return the name if it can name a ``kind`` (project, dataset), else a clear 400."""
    if not isinstance(name, str):
        raise BadRequest(f"The {kind} name must be a string.", reason="invalid_name")
    if not name.strip():
        raise BadRequest(f"The {kind} name is empty.", reason="invalid_name")
    if len(name) > max_length:
        raise BadRequest(
            f"The {kind} name is too long ({len(name)} characters; at most {max_length}).",
            reason="invalid_name",
        )
    if "/" in name or "\\" in name:
        raise BadRequest(
            f"A {kind} name cannot contain path separators ('/' or '\\').", reason="invalid_name"
        )
    if not _NAME_RE.match(name):
        raise BadRequest(
            f"'{name}' is not a valid {kind} name: use letters, digits, '-', '_' and '.', "
            "starting with a letter or a digit.",
            reason="invalid_name",
        )
    return name
