"""Which of a project's datasets fit a template's dataset parameter, and the key to fill.

Blocking (SQLite, a file's first line): the server calls it in a thread, the kernel client
directly. Shared by both sides, so it imports only the store and the light template catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound
from .keys import parse_key

if TYPE_CHECKING:
    from ..projects.store import Project
    from ..templates import Template
    from .store import DatasetStore, Version

AUTO = "auto"  # the newest version that fits
MAX_CANDIDATES = 200  # the newest datasets looked at for a fit (each costs one header read)


def latest_versions(
    store: DatasetStore, project: Project, media_types: Iterable[str]
) -> list[dict[str, Any]]:
    """The latest version of each of the project's datasets, newest first, as JSON with
    ``columns``: the CSV header of a file version whose media type is one of
    ``media_types`` (None for the others: their bytes are not read)."""
    wanted = set(media_types)
    out = []
    for row in store.list_datasets(project)[:MAX_CANDIDATES]:
        version = row["latest"]
        if _readable(version["kind"], version["media_type"], version["filename"], wanted):
            out.append(
                _with_columns(store, store.get(project, version["name"], version["version"]))
            )
        else:
            out.append({**version, "columns": None})
    return out


def _readable(kind: str, media_type: str, filename: str, wanted: set[str]) -> bool:
    """Whether a version's header is worth reading: a file of a media type some slot takes
    (by its stored type or, as ``fits`` does, by its file name)."""
    from .store import guess_media_type

    return kind == "file" and (media_type in wanted or guess_media_type(filename) in wanted)


def _with_columns(store: DatasetStore, version: Version) -> dict[str, Any]:
    """A file version's JSON with ``columns``: its CSV header (the blob's first line)."""
    from ..templates import header_columns

    return {**version.to_json(), "columns": header_columns(store.blob_path(version)[0])}


def slot_media_types(templates: Iterable[Template]) -> set[str]:
    return {m for t in templates if t.dataset for m in t.dataset.media_types}


def fitting_keys(template: Template, versions: list[dict[str, Any]]) -> list[str]:
    """The keys of the versions (``latest_versions``) that fit ``template``, in order."""
    from ..templates import fits

    return [v["key"] for v in versions if fits(template, v)]


def pick_dataset(
    store: DatasetStore, project: Project, template: Template, dataset: str | None
) -> str | None:
    """The key to fill into a new notebook: ``AUTO`` -> the newest version that fits (None
    when none does, or the template takes no dataset); None -> none; a key -> that version
    of this project, pinned (``wine`` -> ``project/wine@3``), if it fits."""
    if dataset is None:
        return None
    if dataset == AUTO:
        if template.dataset is None:
            return None
        keys = fitting_keys(template, latest_versions(store, project, template.dataset.media_types))
        return keys[0] if keys else None
    if template.dataset is None:
        raise BadRequest(
            f"The template '{template.id}' takes no dataset.", reason="no_dataset_parameter"
        )
    key = parse_key(dataset, project.name)
    if key.project != project.name:
        raise BadRequest(
            f"'{dataset}' is a dataset of project '{key.project}', not of '{project.name}'.",
            reason="other_project",
        )
    try:
        version = store.get(project, key.name, key.version)
    except NotFound as exc:
        raise BadRequest(exc.message, reason=exc.reason) from None
    wanted = set(template.dataset.media_types)
    readable = _readable(version.kind, version.media_type, version.filename, wanted)
    data = _with_columns(store, version) if readable else {**version.to_json(), "columns": None}
    from ..templates import fits

    if not fits(template, data):
        needs = ", ".join(template.dataset.columns) or "any columns"
        types = ", ".join(template.dataset.media_types) or "any type"
        raise BadRequest(
            f"{version.key} does not fit the template '{template.id}': it takes a file of "
            f"{types} with the columns {needs}.",
            reason="dataset_does_not_fit",
        )
    return version.key
