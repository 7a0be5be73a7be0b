"""A notebook's parameters (papermill's inspection) and what a submission asks of them:
checked against their inferred types and expanded into one set of values per run."""

from __future__ import annotations

import ast
import itertools
import math
import random
import re
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class NotebookParameters:
    """What papermill makes of a notebook's parameters cell, for a kernel.

    ``checked``: papermill's translator read the cell, so a name it did not list is
    unknown (a 400). Otherwise (a translator that cannot inspect, e.g. bash) the names are
    read from ``name = value`` lines, untyped, and any name goes in with a warning, as
    papermill itself would inject it. ``unread``: names assigned on lines papermill's
    parser skips (``d = a == 3``): listed untyped, injected with a warning.
    ``injectable``: papermill has a translator for the kernel (else no parameter can go in).
    """

    has_cell: bool
    parameters: list[Parameter]
    checked: bool = True
    injectable: bool = True
    language: str | None = None
    unread: dict[str, str] = field(default_factory=dict)  # name -> the line papermill skipped
    warnings: list[str] = field(default_factory=list)


def notebook_language(nb: Any, kernel_name: str) -> str | None:
    """The notebook's language for papermill's translators: from its metadata, else Python
    for a Python kernel (notebooks written by tools often carry no language)."""
    meta = nb.metadata
    named = (meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get(
        "name"
    )
    if named:
        return str(named)
    return "python" if kernel_name.startswith("python") else None


# A line that assigns a name, as a parameters cell's lines do (``lr: float = 0.1``,
# ``alpha=0.1``); ``==`` is no assignment.
_ASSIGNED = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)\s*(?P<value>.*?)\s*$")


def _literal(text: str) -> Any:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if _json_safe(value) else None


def inspect_parameters(nb: Any, kernel: str | None = None) -> NotebookParameters:
    """The parameters of an nbformat notebook for ``kernel`` (default: its own), read by
    papermill's public translator API (``find_translator(kernel, language).inspect``)."""
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators

    cell = next((c for c in nb.cells if "parameters" in (c.metadata.get("tags") or [])), None)
    kernel_name = kernel or (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    language = notebook_language(nb, kernel_name)
    try:
        translator = papermill_translators.find_translator(kernel_name, language)
    except PapermillException:
        return NotebookParameters(
            cell is not None,
            [],
            checked=False,
            injectable=False,
            language=language,
            warnings=[
                f"papermill has no parameter translator for kernel '{kernel_name}' "
                f"(language {language or 'unknown'}): this notebook runs as it is, "
                "without parameters."
            ],
        )
    if cell is None:
        return NotebookParameters(False, [], language=language)
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    assigned = [
        (number, match)
        for number, line in enumerate(source.splitlines(), 1)
        if (match := _ASSIGNED.match(line))
    ]
    try:
        inspected = translator.inspect(nbformat_cell(source))
    except NotImplementedError:
        # papermill injects into any notebook its translator can write to, inspected or
        # not: the names are what the cell's lines assign, unchecked.
        found = [
            Parameter(m["name"], "None", _literal(m["value"]), m["value"], "") for _, m in assigned
        ]
        return NotebookParameters(
            True,
            _unique(found),
            checked=False,
            language=language,
            warnings=[
                f"papermill cannot inspect a {language or kernel_name} notebook's parameters: "
                "the names below are read from the cell's `name = value` lines, and values "
                "are injected as given, unchecked."
            ],
        )
    found = []
    for p in inspected:
        default = _literal(str(p.default))
        # papermill infers a type from an annotation (``lr: float = 0.1``); without one,
        # the literal default's type is the best guess.
        kind = str(p.inferred_type_name)
        if kind not in TYPES or kind == "None":
            kind = _LITERAL_TYPES.get(type(default), "None")
        found.append(Parameter(p.name, kind, default, str(p.default), p.help or ""))
    known = {p.name for p in found}
    unread: dict[str, str] = {}
    warnings = []
    for number, m in assigned:
        name = m["name"]
        if name in known or name in unread:
            continue
        line = m.group(0).strip()
        unread[name] = line
        found.append(Parameter(name, "None", None, m["value"], ""))
        warnings.append(
            f"papermill cannot read line {number} of the parameters cell ({line!r}): "
            f"'{name}' is listed without a type, and a value given for it is injected unchecked."
        )
    line_of: dict[str, int] = {}
    for number, m in assigned:
        line_of.setdefault(m["name"], number)
    found.sort(key=lambda p: line_of.get(p.name, len(line_of) + 1))  # the cell's order
    return NotebookParameters(True, found, language=language, unread=unread, warnings=warnings)


def nbformat_cell(source: str) -> Any:
    import nbformat

    return nbformat.v4.new_code_cell(source)


def _unique(params: list[Parameter]) -> list[Parameter]:
    """The first assignment of each name (papermill's injected cell overrides them all)."""
    seen: dict[str, Parameter] = {}
    for p in params:
        seen.setdefault(p.name, p)
    return list(seen.values())


def notebook_parameters(nb: Any) -> tuple[bool, list[Parameter]]:
    """``(has_parameters_cell, parameters)`` of an nbformat notebook, by papermill."""
    found = inspect_parameters(nb)
    return found.has_cell, found.parameters


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
    warnings: list[str] = field(default_factory=list)  # accepted, but papermill could not check


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


def _accept(
    found: NotebookParameters, requested: dict[str, Any]
) -> tuple[dict[str, Parameter], list[str]]:
    """The parameter each requested name stands for, and the warnings for those papermill
    will inject without having read them; a 400 for names it would not inject."""
    known = {p.name: p for p in found.parameters}
    if requested and not found.injectable:
        raise BadRequest(found.warnings[0], reason="no_translator")
    unknown = sorted(set(requested) - set(known))
    warnings = []
    if unknown and found.has_cell and not found.checked:
        for name in unknown:
            known[name] = Parameter(name, "None", None, "", "")
        unknown = []
    if unknown:
        names = ", ".join(known) or "none (the notebook has no parameters cell)"
        raise BadRequest(
            f"Unknown parameter {', '.join(repr(u) for u in unknown)}. "
            f"The notebook's parameters: {names}.",
            reason="unknown_parameter",
        )
    if requested and not found.checked:
        warnings.append(
            f"papermill cannot inspect a {found.language or 'non-Python'} notebook's "
            f"parameters: {', '.join(repr(n) for n in requested)} "
            "injected as given, unchecked."
        )
    for name in requested:
        if name in found.unread:
            warnings.append(
                f"Parameter '{name}': papermill cannot read its line in the parameters cell "
                f"({found.unread[name]!r}); the value is injected as given, unchecked."
            )
    return known, warnings


def plan_runs(
    declared: list[Parameter] | NotebookParameters,
    requested: dict[str, Any],
    search: dict[str, Any] | None,
    max_runs: int,
) -> Plan:
    """Check ``requested`` against the notebook's ``declared`` parameters and expand it.

    Each value is one value, ``{"values": [...]}`` (grid), ``{"range": {...}}`` or
    ``{"choices": [...]}`` (random search; a range with a step also works in a grid).
    Names papermill injects without having read them (see ``NotebookParameters``) go in
    untyped, each with a warning in ``Plan.warnings``."""
    if not isinstance(requested, dict):
        raise BadRequest("parameters must be a JSON object.", reason="bad_parameters")
    if not isinstance(declared, NotebookParameters):
        declared = NotebookParameters(bool(declared), list(declared))
    known, warnings = _accept(declared, requested)
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
        return Plan(combos, "grid" if varying else "single", warnings)

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
    return Plan(combos, "random", warnings)
