"""Parameters: papermill's inspection, type checks, grids and seeded random search."""

from __future__ import annotations

import nbformat
import pytest

from jupyter_mllab.errors import BadRequest
from jupyter_mllab.jobs.params import Parameter, notebook_parameters, parse_cli_value, plan_runs


def _declared() -> list[Parameter]:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "lr = 0.1  # learning rate\nepochs = 5\noptimizer = 'adam'\nshuffle = True\nlayers = [8]"
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    has_cell, params = notebook_parameters(nb)
    assert has_cell
    return params


def test_inspection_names_types_defaults_help() -> None:
    params = {p.name: p for p in _declared()}
    assert [p for p in params] == ["lr", "epochs", "optimizer", "shuffle", "layers"]
    assert params["lr"].type == "float" and params["lr"].default == 0.1
    assert params["lr"].help == "learning rate"
    assert params["epochs"].type == "int" and params["epochs"].default == 5
    assert params["optimizer"].type == "str" and params["shuffle"].type == "bool"
    assert params["layers"].type == "list" and params["layers"].default == [8]


def test_no_parameters_cell() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    assert notebook_parameters(nb) == (False, [])


def test_grid_is_the_cartesian_product() -> None:
    plan = plan_runs(
        _declared(),
        {"lr": {"values": [0.1, 0.01]}, "epochs": {"values": [1, 2, 3]}, "optimizer": "sgd"},
        None,
        100,
    )
    assert plan.search == "grid"
    assert len(plan.combinations) == 6
    assert {(c["lr"], c["epochs"]) for c in plan.combinations} == {
        (lr, e) for lr in (0.1, 0.01) for e in (1, 2, 3)
    }
    assert all(c["optimizer"] == "sgd" for c in plan.combinations)


def test_grid_range_with_step_and_int_to_float() -> None:
    plan = plan_runs(_declared(), {"epochs": {"range": {"low": 1, "high": 5, "step": 2}}}, None, 9)
    assert [c["epochs"] for c in plan.combinations] == [1, 3, 5]
    single = plan_runs(_declared(), {"lr": 1}, None, 9)
    assert single.search == "single" and single.combinations == [{"lr": 1.0}]


def test_random_search_is_seeded_and_in_range() -> None:
    requested = {
        "lr": {"range": {"low": 1e-4, "high": 1e-1, "log": True}},
        "optimizer": {"choices": ["adam", "sgd"]},
        "epochs": {"range": {"low": 1, "high": 4}},
    }
    search = {"kind": "random", "trials": 8, "seed": 7}
    a = plan_runs(_declared(), requested, search, 100)
    b = plan_runs(_declared(), requested, search, 100)
    c = plan_runs(_declared(), requested, {**search, "seed": 8}, 100)
    assert a.combinations == b.combinations != c.combinations
    assert len(a.combinations) == 8
    for combo in a.combinations:
        assert 1e-4 <= combo["lr"] <= 1e-1
        assert combo["optimizer"] in ("adam", "sgd")
        assert isinstance(combo["epochs"], int) and 1 <= combo["epochs"] <= 4


@pytest.mark.parametrize(
    ("requested", "search", "reason"),
    [
        ({"nope": 1}, None, "unknown_parameter"),
        ({"epochs": "five"}, None, "bad_parameter_type"),
        ({"epochs": 1.5}, None, "bad_parameter_type"),
        ({"shuffle": 1}, None, "bad_parameter_type"),
        ({"lr": {"values": [0.1, "x"]}}, None, "bad_parameter_type"),
        ({"lr": {"values": []}}, None, "empty_grid"),
        ({"epochs": {"values": list(range(11))}}, None, "too_many_runs"),
        ({"epochs": {"range": {"low": 1, "high": 5}}}, None, "bad_range"),
        ({"lr": 0.1}, {"kind": "random", "trials": 3}, "empty_grid"),
        ({"lr": {"choices": [1.0]}}, {"kind": "random", "trials": 0}, "bad_search"),
        ({"lr": {"choices": [1.0]}}, {"kind": "bayes"}, "bad_search"),
    ],
)
def test_bad_requests(requested: dict, search: dict | None, reason: str) -> None:
    with pytest.raises(BadRequest) as info:
        plan_runs(_declared(), requested, search, 10)
    assert info.value.reason == reason
    assert info.value.message


def test_cli_values() -> None:
    assert parse_cli_value("0.1") == 0.1
    assert parse_cli_value("[1, 2]") == [1, 2]
    assert parse_cli_value("adam") == "adam"
