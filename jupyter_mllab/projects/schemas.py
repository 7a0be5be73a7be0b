"""The shapes of the projects API (see docs/openapi.json)."""

from __future__ import annotations

from typing import ClassVar

from ..schemas import Request, Response


class ProjectCreate(Request):
    reasons: ClassVar[dict[str, str]] = {
        "name": "invalid_name",
        "description": "invalid_description",
    }

    name: str
    description: str | None = None


class ProjectUpdate(Request):
    """A rename and/or a new description; a field left out stays as it is."""

    reasons: ClassVar[dict[str, str]] = {
        "name": "invalid_name",
        "description": "invalid_description",
    }

    name: str | None = None
    description: str | None = None


class CurrentProjectSet(Request):
    reasons: ClassVar[dict[str, str]] = {"name": "invalid_name"}

    name: str


class ProjectCounts(Response):
    datasets: int
    runs: int
    models: int
    services: int


class Project(Response):
    name: str
    description: str
    created: str
    updated: str
    experiment_id: str | None
    counts: ProjectCounts


class ProjectList(Response):
    projects: list[Project]
    current: str


class CurrentProject(Response):
    name: str
