"""The test session's guard: a lab process a test leaves behind is killed, and that test
fails by name (tests/conftest.py, tests/leftovers.py)."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_the_guard_kills_a_leftover_and_fails_its_test_by_name(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here = Path(__file__).parent
    pytester.makepyfile(
        conftest=(here / "conftest.py").read_text(),
        leftovers=(here / "leftovers.py").read_text(),
        _leakcheck=(here / "_leakcheck.py").read_text(),  # a plugin the conftest names
        schema_check=(here / "schema_check.py").read_text(),  # the api fixture's check
    )
    pid_file = tmp_path / "leaked.pid"
    pytester.makepyfile(
        test_leaky=f"""
import subprocess, sys
from pathlib import Path

def test_leaks_a_worker():
    # looks like a runs worker, in a session of its own: a parent's death won't end it
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)", "jupyter_mllab.jobs.worker"],
        start_new_session=True,
    )
    Path({str(pid_file)!r}).write_text(str(proc.pid))

def test_clean():
    pass
"""
    )
    monkeypatch.delenv("MLLAB_TEST_SESSION", raising=False)  # the inner session marks its own
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_leaky.py::test_leaks_a_worker left lab processes*"])
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the guard left the process running"
