"""Dataset keys, the thing people copy: ``project/name@3`` (``@latest`` by default).

Shared by the server and the kernel client (stdlib only). Names never become paths (blobs
are stored by sha256), but keys are still validated strictly so that a key in a URL or a
notebook means exactly one thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BadRequest
from ..names import validate_name

MAX_NAME_LENGTH = 128
LATEST = "latest"


def validate_dataset_name(name: object) -> str:
    return validate_name(name, "dataset", MAX_NAME_LENGTH)


@dataclass(frozen=True)
class DatasetKey:
    project: str
    name: str
    version: int | None  # None: the latest version

    def __str__(self) -> str:
        return f"{self.project}/{self.name}@{self.version if self.version else LATEST}"


def parse_key(key: object, default_project: str) -> DatasetKey:
    """``name``, ``name@3``, ``project/name``, ``project/name@latest`` -> DatasetKey."""
    if not isinstance(key, str) or not key.strip():
        raise BadRequest("A dataset key is empty.", reason="invalid_key")
    text = key.strip()
    if "%" in text or "\\" in text or "\x00" in text:
        raise BadRequest(
            f"'{key}' is not a dataset key: keys look like project/name@3.", reason="invalid_key"
        )
    ref, _, version_text = text.partition("@")
    parts = ref.split("/")
    if len(parts) == 1:
        project, name = default_project, parts[0]
    elif len(parts) == 2:
        project, name = parts
    else:
        raise BadRequest(
            f"'{key}' is not a dataset key: keys look like project/name@3.", reason="invalid_key"
        )
    from ..projects.store import validate_project_name

    try:
        validate_project_name(project)
        validate_dataset_name(name)
    except BadRequest as exc:
        raise BadRequest(
            f"'{key}' is not a dataset key: {exc.message}", reason="invalid_key"
        ) from None
    version: int | None = None
    if version_text and version_text != LATEST:
        if not version_text.isdigit() or int(version_text) < 1:
            raise BadRequest(
                f"'{key}': the version must be a positive number or 'latest'.",
                reason="invalid_key",
            )
        version = int(version_text)
    return DatasetKey(project, name, version)
