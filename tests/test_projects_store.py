"""The project store on its own: validation, changes, the current project (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mllab.errors import BadRequest, Conflict, NotFound
from jupyter_mllab.projects.store import ProjectStore, validate_project_name


@pytest.fixture
def store(tmp_path: Path) -> ProjectStore:
    return ProjectStore(tmp_path / "home")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 65, "too long"),
        ("a/b", "path separators"),
        ("..\\evil", "path separators"),
        ("../up", "path separators"),
        ("..", "not a valid"),
        (".hidden", "not a valid"),
        ("-flag", "not a valid"),
        ("with space", "not a valid"),
        ("nul\x00byte", "not a valid"),
        ("at@sign", "not a valid"),
        (42, "must be a string"),
    ],
)
def test_bad_names_are_refused_with_a_clear_message(name: object, fragment: str) -> None:
    with pytest.raises(BadRequest) as err:
        validate_project_name(name)
    assert fragment in err.value.message
    assert err.value.status == 400


def test_good_names_pass() -> None:
    for name in ("wine", "Wine-2024", "a", "x" * 64, "v1.2_final"):
        assert validate_project_name(name) == name


def test_create_list_get_and_folder(store: ProjectStore) -> None:
    created = store.create("wine", "red or white")
    assert [p.name for p in store.list()] == ["wine"]
    assert store.get("wine") == created
    assert created.description == "red or white"
    assert store.project_dir(created).is_dir()
    assert store.project_dir(created).parent == store.home / "projects"


def test_duplicates_are_case_insensitive(store: ProjectStore) -> None:
    store.create("Wine")
    with pytest.raises(Conflict) as err:
        store.create("wine")
    assert "already exists" in err.value.message
    assert len(store.list()) == 1


def test_rename_keeps_identity_and_checks_clashes(store: ProjectStore) -> None:
    a = store.create("a")
    store.create("b")
    with pytest.raises(Conflict):
        store.update("a", new_name="B")
    renamed = store.update("a", new_name="alpha", description="first")
    assert renamed.id == a.id
    assert renamed.name == "alpha"
    assert renamed.description == "first"
    with pytest.raises(NotFound):
        store.get("a")
    # a change of case only is allowed
    assert store.update("alpha", new_name="Alpha").name == "Alpha"


def test_delete_removes_row_and_folder(store: ProjectStore) -> None:
    project = store.create("tmp")
    (store.project_dir(project) / "datasets").mkdir()
    (store.project_dir(project) / "datasets" / "x.csv").write_text("a\n1\n")
    store.delete("tmp")
    assert store.find("tmp") is None
    assert not store.project_dir(project).exists()
    assert list((store.home / "projects").iterdir()) == []


def test_default_project_is_protected(store: ProjectStore) -> None:
    store.ensure("default")
    with pytest.raises(Conflict):
        store.delete("default")
    with pytest.raises(Conflict):
        store.update("default", new_name="other")


def test_current_project_follows_renames_and_deletes(store: ProjectStore) -> None:
    store.ensure("default")
    assert store.get_current() == "default"
    store.create("p1")
    store.set_current("p1")
    assert store.get_current() == "p1"
    store.update("p1", new_name="p2")
    assert store.get_current() == "p2"
    store.delete("p2")
    assert store.get_current() == "default"
    with pytest.raises(NotFound):
        store.set_current("nope")


def test_store_is_shared_between_instances(tmp_path: Path) -> None:
    """Server and kernels open the same home independently."""
    ProjectStore(tmp_path).create("shared")
    assert ProjectStore(tmp_path).get("shared").name == "shared"
