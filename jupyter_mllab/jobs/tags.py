"""The tags a person may put on a job: checked at submit, so that a job never fails later
(after its MLflow run was made) on a key MLflow refuses, and never overrides provenance.

Stdlib only: the kernel client submits through the same check. The rules are MLflow's
(``mlflow.utils.validation._validate_tag``; tests/test_jobs_hardening.py keeps them in step).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ..errors import BadRequest

# The lab writes these (mllab.job_id, mllab.notebook, mllab.notebook_sha256, mllab.project,
# mllab.env.*, mllab.sweep_id, mllab.dask_worker) and MLflow gives its own meaning to
# mlflow.* (source.name, parentRunId, user, ...): a user tag under either prefix could forge
# a run's provenance.
RESERVED_PREFIXES = ("mllab.", "mlflow.")
MAX_TAGS = 50
MAX_KEY_LENGTH = 250  # mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH
MAX_VALUE_LENGTH = 8000  # MAX_TAG_VAL_LENGTH (MLflow would cut a longer value silently)
_KEY = re.compile(r"^[/\w.\- :]*$")  # validate_param_and_metric_name (not on Windows)


def _shown(key: str) -> str:
    return repr(key if len(key) <= 40 else key[:40] + "...")


def check_key(key: str) -> None:
    if key.lower().startswith(RESERVED_PREFIXES):
        raise BadRequest(
            f"Tag {_shown(key)} is reserved: tags starting with "
            f"{' or '.join(RESERVED_PREFIXES)} are the lab's and MLflow's own.",
            reason="reserved_tag",
        )
    norm = posixpath.normpath(key)
    if (
        not _KEY.match(key)
        or norm != key
        or norm == "."
        or norm.startswith("..")
        or norm.startswith("/")
    ):
        raise BadRequest(
            f"Tag {_shown(key)} is not a valid tag name: use letters, digits, spaces and "
            "_ - . : /, as a relative path with no '.' or '..' parts.",
            reason="bad_tag",
        )
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"Tag {_shown(key)} is longer than {MAX_KEY_LENGTH} characters.", reason="bad_tag"
        )


def check_tags(tags: Any) -> dict[str, str]:
    """A submission's ``tags`` as ``{name: text}``, or a 400 that names the bad one."""
    if not isinstance(tags, dict) or not all(isinstance(k, str) for k in tags):
        raise BadRequest("tags must be an object of names to values.", reason="bad_tags")
    if len(tags) > MAX_TAGS:
        raise BadRequest(
            f"A job takes at most {MAX_TAGS} tags; got {len(tags)}.", reason="too_many_tags"
        )
    out = {}
    for key, value in tags.items():
        check_key(key)
        text = str(value)
        if len(text) > MAX_VALUE_LENGTH:
            raise BadRequest(
                f"The value of tag {_shown(key)} is longer than {MAX_VALUE_LENGTH} characters.",
                reason="bad_tag",
            )
        out[key] = text
    return out
