"""Registered model names: one-to-one with (project, name); keys as the user writes them."""

from __future__ import annotations

import pytest

from jupyter_mllab.errors import BadRequest
from jupyter_mllab.models.names import (
    ModelKey,
    parse_model_key,
    registered_name,
    split_registered_name,
    validate_alias,
)


def test_registered_names_round_trip_and_do_not_collide() -> None:
    assert registered_name("a.b", "c") != registered_name("a", "b.c")
    for project, name in [("lab", "wine"), ("a.b", "c-d_e.f"), ("p1", "m")]:
        assert split_registered_name(registered_name(project, name)) == (project, name)
    assert split_registered_name("someone-elses-model") is None
    with pytest.raises(BadRequest):
        registered_name("lab", "no/slash")


def test_keys() -> None:
    assert parse_model_key("wine", "lab") == ModelKey("lab", "wine")
    assert parse_model_key("wine@3", "lab") == ModelKey("lab", "wine", version=3)
    assert parse_model_key("other/wine@champion", "lab") == ModelKey(
        "other", "wine", alias="champion"
    )
    assert str(parse_model_key("wine@3", "lab")) == "lab/wine@3"
    for bad in ["", "@3", "wine@", "wine@0", "wine@latest", "wine@a b", "x/y/z@1"]:
        with pytest.raises(BadRequest):
            parse_model_key(bad, "lab")
    assert validate_alias("champion") == "champion"
