"""The dry run of a submit (``POST jobs/plan``): the run form's count comes from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import TERMINAL, simple_notebook, wait_for


@pytest.fixture
def mllab_config() -> dict[str, Any]:
    return {"max_concurrent_runs": 1, "max_sweep_runs": 12}


async def test_plan_counts_and_lists_the_runs_a_submit_queues(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir)
    grid = {
        "notebook": "train.ipynb",
        "parameters": {
            "alpha": {"values": [0.1, 0.2]},
            "epochs": {"range": {"low": 1, "high": 5, "step": 2}},
            "name": "y",
        },
        "first": 4,
    }
    code, plan = await api("POST", "jobs", "plan", body=grid)
    assert code == 200, plan
    assert plan["count"] == 6 and plan["search"] == "grid" and plan["warnings"] == []
    # the first four of the product, in the order the sweep runs them
    assert plan["runs"] == [
        {"alpha": 0.1, "epochs": 1, "name": "y"},
        {"alpha": 0.1, "epochs": 3, "name": "y"},
        {"alpha": 0.1, "epochs": 5, "name": "y"},
        {"alpha": 0.2, "epochs": 1, "name": "y"},
    ]
    code, single = await api("POST", "jobs", "plan", body={"notebook": "train.ipynb"})
    assert (code, single["count"], single["search"], single["runs"]) == (200, 1, "single", [{}])
    _, listed = await api("GET", "jobs")
    assert listed["total"] == 0  # a dry run queues nothing

    random = {
        "notebook": "train.ipynb",
        "parameters": {"alpha": {"range": {"low": 0.001, "high": 1.0, "log": True}}},
        "search": {"kind": "random", "trials": 3, "seed": 7},
    }
    code, plan = await api("POST", "jobs", "plan", body=random)
    assert code == 200 and plan["count"] == 3 and plan["search"] == "random", plan
    code, sweep = await api("POST", "jobs", body=random)
    assert code == 201, sweep
    # the same seeded draws as the submit made: one expansion, on the server
    assert [c["parameters"] for c in sweep["children"]] == plan["runs"]
    await api("POST", "jobs", sweep["id"], "cancel")
    assert (await wait_for(api, sweep["id"], TERMINAL, timeout=60))["status"] in TERMINAL


BAD = [
    ({"notebook": "missing.ipynb"}, 404, "no_such_notebook"),
    ({"notebook": "../outside.ipynb"}, 400, "outside_root"),
    ({"notebook": "train.ipynb", "parameters": {"beta": 1}}, 400, "unknown_parameter"),
    ({"notebook": "train.ipynb", "parameters": {"epochs": "x"}}, 400, "bad_parameter_type"),
    (
        {"notebook": "train.ipynb", "parameters": {"epochs": {"values": list(range(13))}}},
        400,
        "too_many_runs",
    ),
    (
        {"notebook": "train.ipynb", "parameters": {"epochs": {"range": {"low": 1}}}},
        400,
        "bad_range",
    ),
    ({"notebook": "train.ipynb", "search": {"kind": "random", "trials": 2}}, 400, "empty_grid"),
    ({"notebook": "train.ipynb", "gpus": 1}, 400, "no_gpu"),
    ({"notebook": "train.ipynb", "tags": {"mllab.job_id": "x"}}, 400, None),
]


async def test_plan_refuses_what_a_submit_refuses(api: Any, jp_root_dir: Path) -> None:
    simple_notebook(jp_root_dir)
    for body, status, reason in BAD:
        code, reply = await api("POST", "jobs", "plan", body=body)
        assert code == status, (body, reply)
        assert reply["message"] and (reason is None or reply["reason"] == reason), reply
        # the submit of the same body says the same
        code, submitted = await api("POST", "jobs", body=body)
        assert (code, submitted["reason"]) == (status, reply["reason"]), submitted
    for first in (101, -1, "3"):
        body = {"notebook": "train.ipynb", "first": first}
        code, reply = await api("POST", "jobs", "plan", body=body)
        assert (code, reply["reason"]) == (400, "bad_first"), reply
    _, listed = await api("GET", "jobs")
    assert listed["total"] == 0
