"""A TensorBoard log folder per run: ``mllab.tensorboard_dir()``.

Write event files there (``tf.summary.create_file_writer(mllab.tensorboard_dir())``, Keras'
``TensorBoard(log_dir=...)``, PyTorch's ``SummaryWriter``) and the run's page in the lab
offers "Open TensorBoard". No tensorflow here: the caller brings its own writer.
"""

from __future__ import annotations

import re
from pathlib import Path

from .. import paths
from . import home, tracking_uri

RUN_ID = re.compile(r"[0-9a-f]{32}")  # MLflow's run ids; nothing else may name a folder

_tagged: set[tuple[str, str]] = set()  # (tracking URI, run id): tagged by this process


def tensorboard_dir(run_id: str | None = None) -> Path:
    """The run's TensorBoard log folder, ``<lab home>/tensorboard/<run_id>``, created.

    ``run_id``: default, the run this process logs to (a tracked job's run, or the open
    ``mllab.start_run``). The run gets the tag ``mllab.tensorboard`` (the folder), which
    tells the lab that it has TensorBoard logs.
    """
    from .tracking import _client, _run_id

    run_id = run_id or _run_id()
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"{run_id!r} is not an MLflow run id (32 hex characters).")
    folder = paths.tensorboard_root(home()) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    key = (tracking_uri(), run_id)
    if key not in _tagged:
        _client().set_tag(run_id, paths.TENSORBOARD_TAG, str(folder))
        _tagged.add(key)
    return folder
