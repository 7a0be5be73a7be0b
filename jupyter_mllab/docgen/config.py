"""docs/configuration.md: every configurable trait of MLLabApp, its type, default and help."""

from __future__ import annotations

from typing import Any

from . import NOTICE, escape

INTRO = """# Configuration reference

Every setting of the `MLLabApp` server extension. Set them in a Jupyter config file
(`jupyter_server_config.py` in a directory of `jupyter --paths`, or the file given with
`--config`):

```python
c.MLLabApp.tracking_uri = "http://mlflow.example:5000"
c.MLLabApp.executor = "dask"
```

or on the command line: `jupyter lab --MLLabApp.max_concurrent_runs=2`. Settings the
lab inherits from Jupyter's `ExtensionApp` (and the server's own, `ServerApp.*`) are in
[Jupyter Server's configuration docs](https://jupyter-server.readthedocs.io/en/latest/other/full-config.html).
Scaling out (a Dask cluster, a shared MLflow server) is described in [scaling.md](scaling.md).

"""


def _size(value: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size and value % size == 0:
            return f" ({value // size} {unit})"
    return ""


def _type(trait: Any) -> str:
    kind = type(trait).__name__
    values = getattr(trait, "values", None)
    if values:
        return f"{kind}: " + ", ".join(f"`{v}`" for v in values)
    if kind == "Type":
        klass = trait.klass if isinstance(trait.klass, str) else trait.klass.__qualname__
        return f"Type (a subclass of `{klass.rsplit('.', 1)[-1]}`)"
    return kind


def _default(cls: type, name: str, trait: Any) -> str:
    if name in getattr(cls, "_trait_default_generators", {}):
        return "computed at start (see below)"
    value = trait.default_value_repr()
    if value in ("''", '""'):
        return "unset (see below)"
    if type(trait).__name__ in ("Int", "Integer") and value.isdigit():
        return f"`{int(value):_}`{_size(int(value))}".replace("_", ",")
    return f"`{value}`"


def render() -> str:
    from ..app import MLLabApp

    lines = [NOTICE.format(source="the traits of jupyter_mllab.app.MLLabApp"), INTRO]
    traits = MLLabApp.class_own_traits(config=True)
    lines.append("| Setting | Type | Default |\n|---|---|---|\n")
    for name in sorted(traits):
        trait = traits[name]
        default = _default(MLLabApp, name, trait)
        lines.append(f"| [`{name}`](#{name}) | {_type(trait)} | {default} |\n")
    for name in sorted(traits):
        trait = traits[name]
        help_text = escape(" ".join(trait.help.split())) or "(no description)"
        lines.append(
            f"\n## {name}\n\n{help_text}\n\n"
            f"- Type: {_type(trait)}\n"
            f"- Default: {_default(MLLabApp, name, trait)}\n"
            f"- Command line: `--MLLabApp.{name}=...`\n"
        )
    return "".join(lines)
