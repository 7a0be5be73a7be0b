"""The project table (plain sqlite3): used by the server's service and the kernel client alike."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..db import Database, register_schema
from ..errors import BadRequest, Conflict, NotFound
from ..names import validate_name
from ..paths import db_path

DEFAULT_PROJECT = "default"
MAX_NAME_LENGTH = 64

register_schema(
    "projects",
    """
    CREATE TABLE IF NOT EXISTS projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        description TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        experiment_id TEXT
    );
    CREATE TABLE IF NOT EXISTS state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
)


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate_project_name(name: Any) -> str:
    """Return the name if it can name a project (and a dataset key's first part), else 400."""
    return validate_name(name, "project", MAX_NAME_LENGTH)


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    description: str
    created: str
    updated: str
    experiment_id: str | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["id"]
        return data


class ProjectStore:
    """Projects of one lab home. Each has a stable id (its folder) and a unique name."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.db = Database(db_path(self.home))

    # -- paths -------------------------------------------------------------------------
    def project_dir(self, project: Project) -> Path:
        return self.home / "projects" / project.id

    def artifact_dir(self, project: Project, artifact_root: Path) -> Path:
        return artifact_root / project.id

    # -- queries -----------------------------------------------------------------------
    @staticmethod
    def _row(row: Any) -> Project:
        return Project(**dict(row))

    def list(self) -> list[Project]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT * FROM projects ORDER BY name COLLATE NOCASE").fetchall()
        return [self._row(r) for r in rows]

    def find(self, name: str) -> Project | None:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM projects WHERE name = ?", (name,)).fetchone()
        return self._row(row) if row else None

    def get(self, name: str) -> Project:
        project = self.find(name)
        if project is None:
            raise NotFound(f"There is no project named '{name}'.", reason="no_such_project")
        return project

    # -- changes -----------------------------------------------------------------------
    def create(self, name: str, description: str = "") -> Project:
        name = validate_project_name(name)
        if not isinstance(description, str):
            raise BadRequest("The description must be a string.", reason="invalid_description")
        now = utcnow()
        project = Project(uuid.uuid4().hex[:12], name, description, now, now, None)
        with self.db.transaction() as conn:
            clash = conn.execute("SELECT name FROM projects WHERE name = ?", (name,)).fetchone()
            if clash:
                raise Conflict(
                    f"A project named '{clash['name']}' already exists.", reason="duplicate"
                )
            conn.execute(
                "INSERT INTO projects (id, name, description, created, updated, experiment_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (project.id, name, description, now, now, None),
            )
        self.project_dir(project).mkdir(parents=True, exist_ok=True)
        return project

    def ensure(self, name: str) -> Project:
        """Get the project, creating it if missing (used for ``default``)."""
        try:
            return self.create(name)
        except Conflict:
            return self.get(name)

    def update(
        self, name: str, *, new_name: str | None = None, description: str | None = None
    ) -> Project:
        project = self.get(name)
        if new_name is not None:
            new_name = validate_project_name(new_name)
            if project.name == DEFAULT_PROJECT and new_name != DEFAULT_PROJECT:
                raise Conflict("The default project cannot be renamed.", reason="default_project")
        if description is not None and not isinstance(description, str):
            raise BadRequest("The description must be a string.", reason="invalid_description")
        with self.db.transaction() as conn:
            if new_name is not None and new_name.lower() != project.name.lower():
                clash = conn.execute(
                    "SELECT name FROM projects WHERE name = ?", (new_name,)
                ).fetchone()
                if clash:
                    raise Conflict(
                        f"A project named '{clash['name']}' already exists.", reason="duplicate"
                    )
            conn.execute(
                "UPDATE projects SET name = ?, description = ?, updated = ? WHERE id = ?",
                (
                    new_name if new_name is not None else project.name,
                    description if description is not None else project.description,
                    utcnow(),
                    project.id,
                ),
            )
            if new_name is not None:
                conn.execute(
                    "UPDATE state SET value = ? WHERE key = 'current_project' AND value = ?",
                    (new_name, project.name),
                )
        return self.get(new_name if new_name is not None else project.name)

    def set_experiment(self, project: Project, experiment_id: str | None) -> Project:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE projects SET experiment_id = ? WHERE id = ?", (experiment_id, project.id)
            )
        return self.get(project.name)

    def delete(self, name: str) -> Project:
        """Remove the project's row and its folder (the caller checked it may go)."""
        project = self.get(name)
        if project.name == DEFAULT_PROJECT:
            raise Conflict("The default project cannot be deleted.", reason="default_project")
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM projects WHERE id = ?", (project.id,))
            conn.execute(
                "DELETE FROM state WHERE key = 'current_project' AND value = ?", (project.name,)
            )
        folder = self.project_dir(project)
        if folder.exists():
            # Rename first so a crash mid-delete never leaves a half-deleted live folder.
            trash = folder.with_name(f".deleted-{project.id}")
            folder.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        return project

    # -- the lab's current project (what a new kernel starts in) --------------------------
    def get_current(self) -> str:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT p.name FROM state s JOIN projects p ON p.name = s.value"
                " WHERE s.key = 'current_project'"
            ).fetchone()
        return row["name"] if row else DEFAULT_PROJECT

    def set_current(self, name: str) -> Project:
        project = self.get(name)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO state (key, value) VALUES ('current_project', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (project.name,),
            )
        return project
