"""Every phase of ``discover search`` honours the clock and Ctrl-C, on sort7 and sort8 too.

A sort7 enum run once built its item-permutation table for 16 minutes in silence and
ignored Ctrl-C (issue 12). Here real commands run on sort7 and sort8 with a short time
limit, or get SIGINT, and must stop in time, leaving a verified ``best.asm`` (the network
program, offered before any slow set-up). The deadlines are generous for a loaded 2-core
machine (the measured figures are in the README): they test that the clock is honoured,
not how fast anything computes. The kernels are compiled (or loaded) once before, so a
cold Numba cache does not count against them.
"""

import itertools
import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import default_sigint, wait_until
from discover.kernels import Program, Task, baseline_program, verify
from discover.search import Monitor, SearchStopped
from discover.search.tables import item_colmap, item_symmetry, symmetry_blocks

CLI = [sys.executable, "-m", "discover.cli"]
LIMIT = 3  # seconds of --time-limit
SLACK = 3.0  # seconds past the limit, counted from the run directory's creation
CTRL_C = 3.0  # seconds from SIGINT to exit


@pytest.fixture(scope="module", autouse=True)
def compiled(tmp_path_factory):
    """Every search kernel compiled (or loaded) into the disk cache before the clocks run."""
    base = tmp_path_factory.mktemp("warm")
    budget = {"enum": [], "stochastic": ["--steps", "1000"], "random": ["--steps", "1000"],
              "beam": ["--restarts", "1"]}
    for method, extra in budget.items():
        subprocess.run([*CLI, "search", "--task", "sort3", "--method", method, *extra,
                        "--out", str(base / method)],
                       capture_output=True, timeout=600)


def _start(out, task, method, limit):
    return subprocess.Popen([*CLI, "search", "--task", task, "--method", method,
                             "--time-limit", str(limit), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)


def _wait_for(ready, process) -> None:
    """wait_until, the command killed if it never gets there."""
    try:
        wait_until(ready, process, poll=0.01)
    except BaseException:
        process.kill()
        raise


def _finish(process) -> tuple[str, float]:
    """(stderr, seconds until it exited) of a running command; killed if it hangs."""
    began = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return stderr, time.monotonic() - began


def _check_run(out, task, stopped):
    best = Program.read(out / "best.asm")
    assert verify(best, Task.from_name(task)).correct
    assert len(best) <= len(baseline_program(Task.from_name(task)))
    result = json.loads((out / "result.json").read_text())
    assert result["stopped"] == stopped and result["correct"] is True
    assert Program.parse(result["program"]) == best


@pytest.mark.parametrize("task, method", [("sort7", "enum"), ("sort7", "stochastic"),
                                          ("sort8", "enum"), ("sort8", "stochastic"),
                                          ("sort8", "random"), ("sort7", "beam"),
                                          ("sort8", "beam")])
def test_time_limit_is_honoured_with_a_verified_best(tmp_path, task, method):
    out = tmp_path / "run"
    process = _start(out, task, method, LIMIT)
    _wait_for(out.exists, process)
    stderr, took = _finish(process)
    assert "Traceback" not in stderr
    assert took <= LIMIT + SLACK, f"{task} {method} ran {took:.1f} s for --time-limit {LIMIT}"
    assert "setting up" in stderr  # set-up shows as a phase
    if method == "random":  # the floor starts from nothing and finds nothing here
        assert process.returncode == 1, stderr
        assert json.loads((out / "result.json").read_text())["stopped"] == "time limit"
        return
    assert process.returncode == 0, stderr
    _check_run(out, task, "time limit")


@pytest.mark.parametrize("task, method, delay", [
    ("sort7", "enum", 2.0), ("sort7", "stochastic", 2.0),
    ("sort8", "enum", 0.2), ("sort8", "enum", 3.0),  # set-up (tables), register phase
    ("sort8", "stochastic", 0.2), ("sort8", "stochastic", 4.0),  # prefix caches, chains
    ("sort8", "beam", 0.2), ("sort8", "beam", 3.0),  # set-up, restarts
])
def test_ctrl_c_stops_at_once_and_keeps_best(tmp_path, task, method, delay):
    out = tmp_path / "run"
    process = _start(out, task, method, 120)
    _wait_for((out / "best.asm").exists, process)  # the network, at start
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    stderr, took = _finish(process)
    assert process.returncode == 130, stderr
    assert took <= CTRL_C, f"{task} {method}: exit {took:.1f} s after SIGINT"
    assert "Traceback" not in stderr
    _check_run(out, task, "interrupted")


# --- the item symmetry -------------------------------------------------------------------

@pytest.mark.parametrize("n", range(2, 7))
def test_full_symmetric_group_up_to_sort6_as_before(n):
    """sort2..sort6 keep all N! permutations, in itertools order, and the same table as
    the dictionary look-up that built it before."""
    task = Task(n)
    inputs = task.inputs
    perms = item_symmetry(n, task.n_inputs)
    assert [tuple(p) for p in perms] == list(itertools.permutations(range(n)))
    assert symmetry_blocks(perms) == [n]
    index = {tuple(inputs[:, b]): b for b in range(task.n_inputs)}
    expected = np.array([[index[tuple(inputs[list(p), b])] for b in range(task.n_inputs)]
                         for p in perms[:50]], dtype=np.int32)
    assert np.array_equal(item_colmap(inputs, perms[:50]), expected)


@pytest.mark.parametrize("n, blocks", [(7, [4, 2, 1]), (8, [3, 1, 1, 1, 1, 1])])
def test_sort7_and_sort8_get_a_young_subgroup(n, blocks):
    task = Task(n)
    perms = item_symmetry(n, task.n_inputs)
    assert symmetry_blocks(perms) == blocks
    assert len(perms) == math.prod(math.factorial(k) for k in blocks)  # 48, 6
    assert (perms[0] == np.arange(n)).all()  # the identity first
    members = {tuple(p) for p in perms}
    assert len(members) == len(perms)
    for p in perms[:8]:  # a group: closed under composition
        for q in perms[:8]:
            assert tuple(p[q]) in members
    colmap = item_colmap(task.inputs, perms)
    rng = np.random.default_rng(0)
    for _ in range(200):
        p, b = int(rng.integers(len(perms))), int(rng.integers(task.n_inputs))
        assert np.array_equal(task.inputs[perms[p], b], task.inputs[:, colmap[p, b]])


def test_symmetry_shrinks_under_a_memory_limit():
    task = Task(6)
    assert len(item_symmetry(6, task.n_inputs, limit_bytes=8 << 30)) == 720
    small = item_symmetry(6, task.n_inputs, limit_bytes=16 << 20)
    assert 1 <= len(small) < 720


# --- the monitor's set-up section --------------------------------------------------------

def test_setup_is_interrupted_by_the_deadline():
    monitor = Monitor(time_limit=0.3)
    began = time.monotonic()
    with pytest.raises(SearchStopped, match="time limit"):
        with monitor.setup():
            while True:  # work that never polls the clock
                sum(range(1000))
    assert time.monotonic() - began < 2
    assert monitor.stop_reason == "time limit"


def test_setup_counts_against_the_limit_but_not_in_search_time():
    task = Task(3)
    monitor = Monitor(time_limit=60)
    with monitor.setup():
        monitor.found(baseline_program(task), task)
        time.sleep(0.2)
    monitor.start_search()
    assert monitor.time_to_first == 0.0  # found during set-up: at the search's start
    assert monitor.elapsed < 0.1
    assert 59 < monitor.remaining < 59.9


def test_a_stop_inside_a_jit_callback_is_raised_after_it(monkeypatch):
    """A stop that lands in Python code called back from llvmlite (its object cache,
    mid JIT compilation) is not raised there, where ctypes would print and drop it and
    leave the compilation broken: the timer is set to raise it a moment later."""
    import types

    from discover.search.base import CALLBACK_RETRY_S, Monitor

    armed = []
    monkeypatch.setattr(signal, "setitimer", lambda which, seconds: armed.append(seconds))
    monitor = Monitor()
    monitor._interruptible = True
    code = types.SimpleNamespace(co_filename="/x/site-packages/llvmlite/binding/executionengine.py")
    inner = types.SimpleNamespace(f_code=code, f_back=None)
    frame = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename="/x/numba/y.py"),
                                  f_back=inner)
    monitor._interrupt(signal.SIGALRM, frame)  # no raise inside the callback
    assert monitor.stop_reason == "time limit" and armed == [CALLBACK_RETRY_S]
    plain = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename="/x/y.py"),
                                  f_back=None)
    with pytest.raises(BaseException, match="time limit"):
        monitor._interrupt(signal.SIGALRM, plain)
