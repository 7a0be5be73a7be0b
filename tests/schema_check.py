"""Every JSON answer of the API, checked against the schema its route declares.

The ``api`` fixture (conftest.py) passes each response here: a 2xx must be a status the
verb declares, with a body its model (jupyter_mllab/*/schemas.py) accepts; an error must be
``{"message", "reason"}``; and every JSON body must be strict JSON (no NaN, no Infinity).
So a field the server sends that the schema lacks, or the other way round, fails a test.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jupyter_mllab.api import Raw, model, operation


class SchemaDrift(AssertionError):
    pass


@cache
def _routes() -> list[tuple[re.Pattern[str], type]]:
    from jupyter_mllab.app import route_table

    return [(re.compile(pattern), handler) for pattern, handler in route_table()]


def handler_of(path: str) -> type | None:
    for pattern, handler in _routes():
        if pattern.fullmatch(path):
            return handler
    return None


def _no_constants(name: str) -> Any:
    raise SchemaDrift(f"the body holds {name}, which is not JSON")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and -Infinity (as browsers do)."""
    return json.loads(text, parse_constant=_no_constants)


def check(method: str, path: str, code: int, content_type: str, text: str) -> None:
    """Raise SchemaDrift when the answer does not match the route's declaration."""
    is_json = content_type.startswith("application/json")
    where = f"{method} {path} -> {code}"
    if is_json and text:
        try:
            strict_json(text)
        except SchemaDrift as exc:
            raise SchemaDrift(f"{where}: {exc}") from None
    handler = handler_of(path)
    if code >= 400 or handler is None:
        if is_json and text:
            _validate("Error", text, where)
        return
    op = operation(handler, method)
    if op is None:
        raise SchemaDrift(f"{where}: {handler.__name__}.api declares no {method}")
    if code not in op.responses:
        raise SchemaDrift(f"{where}: {method} declares {sorted(op.responses)}, not {code}")
    target = op.responses[code]
    targets = target if isinstance(target, tuple) else (target,)
    if target is None:
        if text:
            raise SchemaDrift(f"{where}: declared without a body, but one came")
        return
    names = [t for t in targets if isinstance(t, str)]
    if is_json and names:
        _validate(names[0], text, where)
    elif not any(isinstance(t, Raw) for t in targets):
        raise SchemaDrift(f"{where}: {content_type or 'no content type'}, declared JSON")


def _validate(name: str, text: str, where: str) -> None:
    from pydantic import ValidationError

    try:
        model(name).model_validate_json(text)
    except ValidationError as exc:
        raise SchemaDrift(f"{where}: the body is not a {name}:\n{exc}") from None
