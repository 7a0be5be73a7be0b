"""Where a run came from: the environment's tags and the notebook's git commit.

Shared by the server's job runner and the kernel's ``mllab.start_run``: light (no
mlflow, no server module); packages' versions are read from their metadata."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from pathlib import Path

KEY_PACKAGES = (
    "papermill",
    "ipykernel",
    "mlflow",
    "numpy",
    "pandas",
    "scikit-learn",
    "tensorflow",
    "keras",
    "torch",
    "jupyter_mllab",
)

# -- environment: computed once per process ----------------------------------------------
_ENV_TAGS: dict[str, str] | None = None


def environment_tags() -> dict[str, str]:
    global _ENV_TAGS
    if _ENV_TAGS is None:
        import platform
        from importlib import metadata

        tags = {
            "mllab.env.python": platform.python_version(),
            "mllab.env.platform": platform.platform(),
            "mllab.env.host": socket.gethostname(),
            "mllab.env.cpu_count": str(os.cpu_count() or 0),
        }
        for name in KEY_PACKAGES:
            with contextlib.suppress(metadata.PackageNotFoundError):
                tags[f"mllab.env.{name}"] = metadata.version(name)
        from .monitor.gpu import gpu_inventory

        gpu = gpu_inventory()
        tags["mllab.env.gpus"] = ", ".join(gpu["names"]) or "none"
        _ENV_TAGS = tags
    return _ENV_TAGS


def git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path.parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


NOTEBOOK_ENV = "JPY_SESSION_NAME"  # jupyter_server tells a session's kernel its notebook
MAX_HASHED_BYTES = 64 * 2**20


def notebook_tags(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The tags that tie an interactive run to its notebook, as a tracked job's run has
    them: the path jupyter_server gave the kernel, the saved file's sha256, its git commit.
    Empty outside a notebook session (a script, a tracked job's kernel)."""
    import hashlib

    path = (environ if environ is not None else os.environ).get(NOTEBOOK_ENV)
    if not path or not path.endswith(".ipynb"):
        return {}
    notebook = Path(path)
    tags = {
        "mllab.notebook": str(notebook),
        "mlflow.source.name": str(notebook),
        "mlflow.source.type": "NOTEBOOK",
    }
    with contextlib.suppress(OSError):
        if notebook.stat().st_size <= MAX_HASHED_BYTES:
            tags["mllab.notebook_sha256"] = hashlib.sha256(notebook.read_bytes()).hexdigest()
        commit = git_commit(notebook)
        if commit:
            tags["mlflow.source.git.commit"] = commit
    return tags
