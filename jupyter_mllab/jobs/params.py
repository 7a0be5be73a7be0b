"""A notebook's parameters (papermill's inspection) and what a submission asks of them:
checked against their inferred types and expanded into one set of values per run."""

from __future__ import annotations

import ast
import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest

TYPES = ("int", "float", "str", "bool", "list", "dict", "None")
_LITERAL_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # one of TYPES; "None": not inferred, any value goes
    default: Any
    default_source: str
    help: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "default_source": self.default_source,
            "help": self.help,
        }


def notebook_parameters(nb: Any) -> tuple[bool, list[Parameter]]:
    """``(has_parameters_cell, parameters)`` of an nbformat notebook, by papermill."""
    import copy

    from papermill.inspection import _infer_parameters

    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # papermill expects every cell to have tags (its loader adds them)
        cell.metadata.setdefault("tags", [])
    has_cell = any("parameters" in cell.metadata.tags for cell in nb.cells)
    found = []
    kernel = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    language = (nb.metadata.get("kernelspec") or {}).get("language") or (
        nb.metadata.get("language_info") or {}
    ).get("name", "python")
    for p in _infer_parameters(nb, name=kernel, language=language):
        try:
            default = ast.literal_eval(p.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            default = None
        if not _json_safe(default):
            default = None
        # papermill infers a type from an annotation (``lr: float = 0.1``); without one,
        # the literal default's type is the best guess.
        kind = str(p.inferred_type_name)
        if kind not in TYPES or kind == "None":
            kind = _LITERAL_TYPES.get(type(default), "None")
        found.append(Parameter(p.name, kind, default, str(p.default), p.help or ""))
    return has_cell, found


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def coerce(param: Parameter, value: Any) -> Any:
    """``value`` as ``param``'s type, or a 400 that says what was expected."""
    kind = param.type

    def wrong() -> BadRequest:
        return BadRequest(
            f"Parameter '{param.name}' takes a value of type {kind}; got {value!r}.",
            reason="bad_parameter_type",
        )

    if kind == "None" or value is None:
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise wrong()
    if isinstance(value, bool):
        raise wrong()
    if kind == "int":
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise wrong()
    if kind == "float":
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
        raise wrong()
    if kind == "str":
        if isinstance(value, str):
            return value
        raise wrong()
    if kind == "list" and isinstance(value, list):
        return value
    if kind == "dict" and isinstance(value, dict):
        return value
    raise wrong()


def parse_cli_value(text: str) -> Any:
    """A value typed on a command line (magics): a Python literal, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


@dataclass
class Plan:
    """What a submission runs: one dict of parameter values per run."""

    combinations: list[dict[str, Any]]
    search: str  # "single", "grid" or "random"


def _spec_kind(spec: Any) -> str:
    if isinstance(spec, dict) and len(spec) == 1:
        key = next(iter(spec))
        if key in ("values", "range", "choices"):
            return key
    return "value"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite_bounds(name: str, rng: dict[str, Any], keys: tuple[str, ...]) -> None:
    """JSON from a browser or Python's json can carry NaN and Infinity: refuse them here,
    where the message can name the parameter (they would end as a 500 or a NaN run)."""
    for key in keys:
        value = rng[key]
        if isinstance(value, float) and not math.isfinite(value):
            raise BadRequest(
                f"Parameter '{name}': the range's {key} must be a finite number; got {value}.",
                reason="bad_range",
            )


def _check_finite(name: str, value: Any) -> None:
    """A value (or list of values) with NaN or an infinity in it, however deep: a 400.
    Stored, it would make job views that are not JSON (the browser cannot read them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise BadRequest(
                f"Parameter '{name}': values must be finite numbers; got {item}.",
                reason="bad_parameter_value",
            )
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _range_values(name: str, rng: Any) -> list[Any]:
    if not isinstance(rng, dict) or "low" not in rng or "high" not in rng or "step" not in rng:
        raise BadRequest(
            f"Parameter '{name}': a range in a grid needs low, high and step.",
            reason="bad_range",
        )
    low, high, step = rng["low"], rng["high"], rng["step"]
    if not all(_is_number(v) for v in (low, high, step)):
        raise BadRequest(
            f"Parameter '{name}': low, high and step must be numbers.", reason="bad_range"
        )
    _finite_bounds(name, rng, ("low", "high", "step"))
    if step <= 0 or high < low:
        raise BadRequest(
            f"Parameter '{name}': a range needs step > 0 and high >= low.", reason="bad_range"
        )
    span = (high - low) / step  # finite bounds can still overflow (-1e308 .. 1e308)
    if not math.isfinite(span) or span > 100_000:
        raise BadRequest(f"Parameter '{name}': the range has too many values.", reason="bad_range")
    count = math.floor(span + 1e-9) + 1
    values = [low + i * step for i in range(count)]
    if all(isinstance(v, int) for v in (low, high, step)):
        return [int(v) for v in values]
    return [round(v, 12) for v in values]


def _draw(name: str, spec: dict[str, Any], rnd: random.Random) -> Any:
    kind = _spec_kind(spec)
    if kind == "choices":
        return rnd.choice(spec["choices"])
    if kind == "values":
        return rnd.choice(spec["values"])
    rng = spec["range"]
    if not isinstance(rng, dict):
        raise BadRequest(
            f"Parameter '{name}': a range is an object with low and high "
            f'(e.g. {{"low": 0.001, "high": 1, "log": true}}); got {rng!r}.',
            reason="bad_range",
        )
    low: Any = rng.get("low")
    high: Any = rng.get("high")
    if not all(_is_number(v) for v in (low, high)):
        raise BadRequest(
            f"Parameter '{name}': a range needs numbers low and high.", reason="bad_range"
        )
    _finite_bounds(name, rng, ("low", "high"))
    if high < low:
        raise BadRequest(f"Parameter '{name}': a range needs high >= low.", reason="bad_range")
    if rng.get("log"):
        if low <= 0:
            raise BadRequest(f"Parameter '{name}': a log range needs low > 0.", reason="bad_range")
        return math.exp(rnd.uniform(math.log(low), math.log(high)))
    if isinstance(low, int) and isinstance(high, int) and not rng.get("float"):
        return rnd.randint(low, high)
    return rnd.uniform(low, high)


def plan_runs(
    declared: list[Parameter],
    requested: dict[str, Any],
    search: dict[str, Any] | None,
    max_runs: int,
) -> Plan:
    """Check ``requested`` against the notebook's ``declared`` parameters and expand it.

    Each value is one value, ``{"values": [...]}`` (grid), ``{"range": {...}}`` or
    ``{"choices": [...]}`` (random search; a range with a step also works in a grid)."""
    if not isinstance(requested, dict):
        raise BadRequest("parameters must be a JSON object.", reason="bad_parameters")
    known = {p.name: p for p in declared}
    unknown = sorted(set(requested) - set(known))
    if unknown:
        names = ", ".join(known) or "none (the notebook has no parameters cell)"
        raise BadRequest(
            f"Unknown parameter {', '.join(repr(u) for u in unknown)}. "
            f"The notebook's parameters: {names}.",
            reason="unknown_parameter",
        )
    search = search or {}
    kind = search.get("kind", "grid")
    if kind not in ("grid", "random"):
        raise BadRequest("search.kind must be 'grid' or 'random'.", reason="bad_search")

    fixed: dict[str, Any] = {}
    varying: dict[str, Any] = {}
    for name, spec in requested.items():
        spec_kind = _spec_kind(spec)
        if spec_kind == "value":
            _check_finite(name, spec)
            fixed[name] = coerce(known[name], spec)
            continue
        body = spec[spec_kind]
        if spec_kind in ("values", "choices"):
            if not isinstance(body, list) or not body:
                raise BadRequest(
                    f"Parameter '{name}': {spec_kind} must be a non-empty list.",
                    reason="empty_grid",
                )
            _check_finite(name, body)
            spec = {spec_kind: [coerce(known[name], v) for v in body]}
        varying[name] = spec

    if kind == "grid":
        axes: list[list[Any]] = []
        for name, spec in varying.items():
            spec_kind = _spec_kind(spec)
            if spec_kind == "range":
                values = [coerce(known[name], v) for v in _range_values(name, spec["range"])]
            else:
                values = spec[spec_kind]
            axes.append(values)
        total = math.prod(len(a) for a in axes) if axes else 1
        if total > max_runs:
            raise BadRequest(
                f"The grid makes {total} runs; at most {max_runs} are allowed in one sweep.",
                reason="too_many_runs",
            )
        order = list(requested)  # runs list their values in the order they were asked
        combos = [
            {k: {**fixed, **dict(zip(varying, values, strict=True))}[k] for k in order}
            for values in itertools.product(*axes)
        ]
        return Plan(combos, "grid" if varying else "single")

    trials = search.get("trials")
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise BadRequest("search.trials must be a positive integer.", reason="bad_search")
    if trials > max_runs:
        raise BadRequest(
            f"The search asks for {trials} runs; at most {max_runs} are allowed in one sweep.",
            reason="too_many_runs",
        )
    if not varying:
        raise BadRequest(
            "A random search needs at least one parameter with a range, choices or values.",
            reason="empty_grid",
        )
    seed = search.get("seed", 0)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
        raise BadRequest(
            f"search.seed must be a whole number or a string; got {seed!r}.", reason="bad_search"
        )
    rnd = random.Random(seed)
    combos = []
    for _ in range(trials):
        draw = {}
        for name, spec in varying.items():
            value = _draw(name, spec, rnd)
            if known[name].type == "int" and isinstance(value, float):
                value = round(value)
            draw[name] = coerce(known[name], value)
        merged = {**fixed, **draw}
        combos.append({k: merged[k] for k in requested})
    return Plan(combos, "random")
