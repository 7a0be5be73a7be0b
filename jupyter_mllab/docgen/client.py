"""docs/client.md: the kernel client (``import jupyter_mllab as mllab``), its Keras
callback and the ``%mllab`` magics, from their signatures and docstrings."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

from . import NOTICE

# The client's modules, in the order a walkthrough meets them.
SECTIONS = {
    "jupyter_mllab.client": "The lab and its projects",
    "jupyter_mllab.client.datasets": "Datasets",
    "jupyter_mllab.client.tracking": "Tracking: runs, parameters, metrics, artifacts",
    "jupyter_mllab.client.jobs": "Running notebooks (runs and sweeps)",
    "jupyter_mllab.client.runs_table": "The runs table",
    "jupyter_mllab.client.outputs": "Run outputs",
    "jupyter_mllab.client.tensorboard": "TensorBoard",
    "jupyter_mllab.client.models": "Models",
    "jupyter_mllab.client.services": "Model services",
    "jupyter_mllab.client.templates": "New notebooks from templates",
}

INTRO = """# The kernel client and magics

In a notebook of the lab (or any Python process that can reach it), `import jupyter_mllab
as mllab` gives the functions below. The import is light: MLflow and the server's modules
load only when a function needs them. A run started by the lab (Run as experiment, a sweep,
`mllab.run_notebook`) sets `MLLAB_RUN_ID`, `MLLAB_PROJECT`, `MLFLOW_TRACKING_URI` in its
kernel, so that `mllab.log_metric(...)` lands on that run with no set-up; elsewhere
`mllab.start_run()` opens one. `%load_ext jupyter_mllab` registers the `%mllab` magics
([below](#the-mllab-magics)).

"""


def _signature(func: Any) -> str:
    params = []
    for p in inspect.signature(func).parameters.values():
        text = p.name
        if p.kind is p.VAR_POSITIONAL:
            text = f"*{text}"
        elif p.kind is p.VAR_KEYWORD:
            text = f"**{text}"
        if p.annotation is not p.empty:
            text += f": {p.annotation if isinstance(p.annotation, str) else p.annotation.__name__}"
        if p.default is not p.empty:
            shown = repr(p.default)
            text += f" = {'...' if ' at 0x' in shown else shown}"
        params.append(text)
    returns = inspect.signature(func).return_annotation
    tail = "" if returns is inspect.Signature.empty else f" -> {returns}"
    return f"mllab.{func.__name__}({', '.join(params)}){tail}"


def _function(func: Any) -> str:
    doc = inspect.getdoc(func) or "(no description)"
    return f"\n### `mllab.{func.__name__}`\n\n```python\n{_signature(func)}\n```\n\n{doc}\n"


def _keras() -> str:
    """The Keras callback, read from its source (importing it would import Keras)."""
    source = Path(__file__).resolve().parent.parent / "keras.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Callback"]
    [init] = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    args = init.args
    defaults = [None] * (len(args.args) - len(args.defaults)) + list(args.defaults)
    params = [
        f"{a.arg}: {ast.unparse(a.annotation) if a.annotation else 'Any'}"
        + (f" = {ast.unparse(d)}" if d is not None else "")
        for a, d in zip(args.args, defaults, strict=True)
        if a.arg != "self"
    ]
    return (
        "\n## Keras\n\n```python\nfrom jupyter_mllab.keras import Callback\n"
        f"Callback({', '.join(params)})\n```\n\n{ast.get_docstring(cls)}\n\n"
        "`model.fit(..., callbacks=[Callback()])`: inside a lab run it logs to that run, "
        "elsewhere it opens a run of its own for the training.\n"
    )


def render() -> str:
    import jupyter_mllab
    from jupyter_mllab.magics import USAGE

    out = [NOTICE.format(source="the docstrings of jupyter_mllab's client"), INTRO]
    by_module: dict[str, list[Any]] = {}
    for name in jupyter_mllab.__all__:
        obj = getattr(jupyter_mllab, name, None) if name != "keras" else None
        if inspect.isfunction(obj) and obj.__module__ in SECTIONS:
            by_module.setdefault(obj.__module__, []).append(obj)
    for module, title in SECTIONS.items():
        if module in by_module:
            out.append(f"\n## {title}\n")
            out.extend(_function(f) for f in sorted(by_module[module], key=lambda f: f.__name__))
    out.append(_keras())
    out.append(
        "\n## The `%mllab` magics\n\n`%load_ext jupyter_mllab` in a notebook, then `%mllab` "
        "(with no arguments: this list). Each is built on the client functions above.\n\n"
        f"```text\n{USAGE}\n```\n"
    )
    return "".join(out)
