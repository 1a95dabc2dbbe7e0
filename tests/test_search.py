"""Stochastic (AlphaDev-S) and random search, their kernels, and `discover search`."""

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from discover.kernels import Program, Task, baseline_program, verify
from discover.cli import main
from discover.kernels import mcmc
from discover.search import (CostMonitor, Monitor, RandomConfig, StochasticConfig, search,
                             search_random, search_stochastic)
from discover.search.stochastic import _Chains, start_program

from conftest import default_sigint, random_program, wait_until

SORT3 = Task.from_name("sort3")
SORT4 = Task.from_name("sort4")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- kernels -------------------------------------------------------------------------------

def test_well_formed_agrees_with_program_check(rng):
    """The chain's yes/no check is Program.check, on well-formed and mutated programs."""
    for _ in range(300):
        n = int(rng.integers(2, 5))
        registers = int(rng.integers(1, 6))
        code = random_program(rng, n, registers, int(rng.integers(1, 12))).copy()
        if rng.random() < 0.7:  # break it somewhere
            code[rng.integers(len(code)), rng.integers(3)] = rng.integers(-1, registers + 2)
        try:
            Program(code).check(n, registers)
            expected = True
        except ValueError:
            expected = False
        assert mcmc.well_formed(code, len(code), n, registers) == expected


def test_masked_random_programs_are_well_formed():
    code = np.zeros((20, 3), dtype=np.int32)
    state = np.zeros(1, dtype=np.uint64)
    for seed in range(200):
        state[0] = mcmc.seed_state(seed, 0)
        n, registers = 2 + seed % 4, 1 + seed % 6
        mcmc._random_program(state, 20, n, registers, code)
        Program(code.copy()).check(n, registers)


@pytest.mark.parametrize("task", [SORT3, SORT4], ids=str)
def test_chain_caches_match_a_fresh_run(task):
    """After many accepted moves, each chain's prefix states and cost are those of its program."""
    config = StochasticConfig(seed=3, alpha=0.5, beta=1.0).resolved(task)
    chains = _Chains(task, config, start_program(task, config), capacity=len(
        baseline_program(task)) + 2)
    for _ in range(5):
        chains.run(3000)
        for c in range(config.chains):
            length = int(chains.lengths[c])
            program = Program(chains.codes[c, :length].copy())
            program.check(task.n, task.registers)
            states = np.zeros_like(chains.states[c])
            misplaced = mcmc.prefix_states(chains.codes[c], length, states, chains.inputs,
                                           chains.expected, task.registers)
            assert np.array_equal(states[:length + 1], chains.states[c, :length + 1])
            assert chains.costs[c] == pytest.approx(config.alpha * length + misplaced)
            best = Program(chains.best_codes[c, :chains.best_lengths[c]].copy())
            assert verify(best, task).correct
    assert chains.counters[:, mcmc.ACCEPTED].min() > 100


def test_chains_do_not_depend_on_call_sizes():
    """1 call of 6000 steps = 6 calls of 1000: what makes time-sliced runs reproducible."""
    config = StochasticConfig(seed=5).resolved(SORT4)
    one = _Chains(SORT4, config, baseline_program(SORT4), 30)
    many = _Chains(SORT4, config, baseline_program(SORT4), 30)
    one.run(6000)
    for _ in range(6):
        many.run(1000)
    for name in ("codes", "lengths", "costs", "rngs", "best_codes", "counters"):
        assert np.array_equal(getattr(one, name), getattr(many, name)), name


# --- stochastic search ---------------------------------------------------------------------

def test_stochastic_reaches_17_on_sort3_from_the_baseline():
    result = search_stochastic(SORT3, StochasticConfig(seed=0, steps=200_000), Monitor())
    assert len(baseline_program(SORT3)) == 18
    assert len(result.program) == 17
    assert verify(result.program, SORT3).correct
    assert result.optimal is False  # a stochastic search proves nothing
    assert result.time_to_first <= result.time_to_best
    assert result.explored == 2 * 200_000


def test_stochastic_same_seed_same_result():
    config = StochasticConfig(seed=11, steps=30_000)
    first = search_stochastic(SORT4, config, Monitor())
    second = search_stochastic(SORT4, config, Monitor())
    assert first.program == second.program
    assert first.notes["acceptance_rate"] == second.notes["acceptance_rate"]
    other = search_stochastic(SORT4, StochasticConfig(seed=12, steps=30_000), Monitor())
    assert other.notes["acceptance_rate"] != first.notes["acceptance_rate"]


def test_stochastic_cold_start_on_sort2():
    """From the empty program the chains find no sort2 in 50,000 steps (nor in 2,000,000,
    nor at other alpha and beta: AlphaDev-S found none cold either); the run completes,
    counts its proposals and caps programs at the network's length."""
    result = search_stochastic(Task.from_name("sort2"),
                               StochasticConfig(seed=1, cold_start=True, steps=50_000), Monitor())
    assert result.notes["start"] == "cold" and result.notes["start_length"] == 0
    assert result.program is None and result.time_to_first is None
    assert result.stopped == "completed" and result.explored == 2 * 50_000
    assert result.notes["max_length"] == len(baseline_program(Task(2))) == 8
    assert 0 < result.notes["acceptance_rate"] < 1


def test_stochastic_latency_cost_keeps_the_fastest():
    monitor = CostMonitor(objective="latency")
    result = search_stochastic(SORT3, StochasticConfig(seed=2, cost="latency", steps=100_000),
                               monitor)
    check = verify(result.program, SORT3)
    assert check.correct
    assert check.latency <= verify(baseline_program(SORT3), SORT3).latency


def test_stochastic_stops_on_request_and_keeps_the_best():
    monitor = Monitor()
    monitor.on_progress = lambda **_: monitor.request_stop("interrupted")
    result = search_stochastic(SORT4, StochasticConfig(seed=0), monitor)
    assert result.stopped == "interrupted"
    assert verify(result.program, SORT4).correct


@pytest.mark.parametrize("fields, message", [
    ({"alpha": 0}, "alpha"),
    ({"cost": "speed"}, "cost"),
    ({"beta_ratio": 0}, "beta_ratio"),
    ({"move_weights": (1, 1)}, "move_weights"),
    ({"max_length": 5}, "max_length"),
    ({"memory_limit_gb": 1e-9}, "memory limit"),
])
def test_stochastic_rejects_bad_configs(fields, message):
    # Most are refused when the config is made (ConfigError), the rest by the search.
    with pytest.raises((ValueError, MemoryError), match=message):
        search_stochastic(SORT3, StochasticConfig(**fields), Monitor())


def test_cost_monitor_orders():
    fast_long = Program.read("discover/known/sort3.asm")
    latency = CostMonitor(objective="latency")
    assert latency.found(baseline_program(SORT3), SORT3)
    # A longer program is kept under 'latency' only when it is faster.
    assert latency.found(fast_long, SORT3) == (
        latency.key(fast_long, SORT3) < latency.key(baseline_program(SORT3), SORT3))
    length = CostMonitor()
    assert length.found(fast_long, SORT3)
    assert not length.found(baseline_program(SORT3), SORT3)


# --- random search -------------------------------------------------------------------------

class AlreadySorted(Task):
    """sortN with one input, already sorted: most short programs "sort" it."""

    @property
    def inputs(self):
        out = np.arange(self.n, dtype=np.int8).reshape(self.n, 1)  # int8[N, 1]
        out.setflags(write=False)
        return out

    @property
    def expected(self):
        return self.inputs


def test_random_search_finds_no_sort2():
    """200,000 random programs of 4..8 instructions hold no sort2 (5,000,000 of exactly 8
    hold none either): the best of them still misplaces one cell."""
    sort2 = Task.from_name("sort2")
    config = RandomConfig(seed=4, programs=200_000, max_length=8)
    first = search_random(sort2, config, Monitor())
    second = search(sort2, "random", config)
    assert first.explored == second.explored == 200_000
    assert first.program is None and second.program is None
    assert first.notes["programs_run"] == 200_000
    assert first.notes["fewest_misplaced"] == second.notes["fewest_misplaced"] == 1


def test_random_search_keeps_the_shortest_and_is_reproducible():
    task = AlreadySorted(3)
    config = RandomConfig(seed=4, programs=20_000, min_length=3, max_length=6)
    first = search_random(task, config, Monitor())
    second = search(task, "random", config)
    assert first.program == second.program == Program.parse(
        "mov r2, m1\nmov r3, m2\nmov m2, r3\n")
    assert verify(first.program, task).correct
    assert first.notes["fewest_misplaced"] == 0
    # A program of min_length cannot be beaten: the draw stops there.
    assert first.notes["programs_run"] == second.notes["programs_run"] < 20_000
    other = search_random(task, replace(config, seed=5), Monitor())
    assert other.program != first.program and len(other.program) == 3


def test_random_search_rejects_an_empty_length_range():
    with pytest.raises(ValueError, match="min_length"):
        search_random(SORT3, RandomConfig(min_length=10, max_length=5), Monitor())


def test_search_api_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown search method"):
        search(SORT3, "annealing")


# --- command line --------------------------------------------------------------------------

def test_cli_writes_best_and_result(capsys, tmp_path):
    out = tmp_path / "run"
    code, stdout, _ = run(capsys, "search", "--task", "sort3", "--method", "stochastic",
                          "--steps", 200_000, "--seed", 0, "--out", out)
    assert code == 0
    assert "correct: sorts all 13" in stdout and "optimal: not proved" in stdout
    best = Program.read(out / "best.asm")
    assert verify(best, SORT3).correct and len(best) == 17
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "sort3" and result["method"] == "stochastic"
    assert result["length"] == 17 and result["register_only_length"] == 11
    assert result["optimal"] is False and result["correct"] is True
    assert result["seed"] == 0 and result["explored"] == 400_000
    assert result["time_to_first"] <= result["time_to_best"]
    for key in ("latency_estimate", "version", "compile_time", "search_time"):
        assert key in result


def test_cli_random_method(capsys, tmp_path):
    code, stdout, _ = run(capsys, "search", "--task", "sort2", "--method", "random",
                          "--steps", 100_000, "--out", tmp_path / "r")
    result = json.loads((tmp_path / "r" / "result.json").read_text())
    assert result["explored"] == 100_000 and result["method"] == "random"
    # Random programs hold no sort2 (test_random_search_finds_no_sort2): exit 1, no program.
    assert code == 1 and result["correct"] is False and result["length"] is None
    assert stdout.startswith("no correct sort2 program found (completed")
    assert not (tmp_path / "r" / "best.asm").exists()


@pytest.mark.parametrize("argv, message", [
    (["--method", "stochastic", "--alpha", "-1"], "--alpha must be positive"),
    (["--method", "stochastic", "--all"], "--all applies to --method enum"),
    (["--method", "random", "--cold-start"], "--cold-start applies"),
    (["--method", "random", "--cost", "latency"], "--cost latency applies"),
    (["--method", "anneal"], "invalid choice"),
    (["--method", "stochastic", "--time-limit", "0"], "--time-limit must be positive"),
    (["--method", "stochastic", "--max-length", "3"], "max_length"),
    (["--method", "stochastic", "--registers", "3"], "needs 4 registers"),
])
def test_cli_bad_options_exit_2_with_one_line(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, "search", "--task", "sort3", "--out", tmp_path / "x", *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_resume_continues_from_the_best(capsys, tmp_path):
    out = tmp_path / "run"
    assert run(capsys, "search", "--task", "sort4", "--method", "stochastic",
               "--steps", 2000, "--out", out)[0] == 0
    first = json.loads((out / "result.json").read_text())
    # A better program in the run directory: the resumed search starts from it.
    (out / "best.asm").write_text(Program.read("discover/known/sort3.asm").text())
    code, _, err = run(capsys, "search", "--task", "sort4", "--method", "stochastic",
                       "--resume", out, "--steps", 1000)
    assert code == 2 and "not a correct sort4 program" in err
    (out / "best.asm").write_text(baseline_program(SORT4).text())
    code, stdout, _ = run(capsys, "search", "--task", "sort4", "--method", "stochastic",
                          "--resume", out, "--steps", 1000, "--seed", 1)
    assert code == 0
    second = json.loads((out / "result.json").read_text())
    assert second["explored"] == first["explored"] + 2 * 1000
    assert second["notes"]["start"] == "program"
    assert second["notes"]["resumed_from"]["length"] == first["length"]
    assert second["length"] <= first["length"]


@pytest.mark.parametrize("damage, message", [
    ("result.json", "corrupt JSON"),
    ("best.asm", "line 1"),
    ("task", "is a run of 'sort3'"),
])
def test_cli_resume_rejects_a_damaged_run(capsys, tmp_path, damage, message):
    out = tmp_path / "run"
    assert run(capsys, "search", "--task", "sort3", "--method", "stochastic",
               "--steps", 1000, "--out", out)[0] == 0
    task = "sort3"
    if damage == "result.json":
        (out / "result.json").write_text('{"task": "sort3", "explo')
    elif damage == "best.asm":
        (out / "best.asm").write_text("movv r0, m0\n")
    else:
        task = "sort4"
    code, _, err = run(capsys, "search", "--task", task, "--method", "stochastic",
                       "--resume", out)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_interrupted_run_keeps_its_best(tmp_path):
    """Ctrl-C (SIGINT) mid-search: exit 130, best.asm verified, result.json says interrupted."""
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "discover.cli", "search", "--task", "sort4", "--method",
         "stochastic", "--time-limit", "120", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint)
    try:
        wait_until((out / "best.asm").exists, process)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr  # interrupted, as `discover train` exits
    assert verify(Program.read(out / "best.asm"), SORT4).correct
    result = json.loads((out / "result.json").read_text())
    assert result["stopped"] == "interrupted" and result["correct"] is True
    assert "correct: sorts all 75" in stdout


def test_cli_default_method_is_stochastic(capsys, tmp_path):
    code, stdout, _ = run(capsys, "search", "--task", "sort2", "--steps", 1000,
                          "--out", tmp_path / "d")
    result = json.loads((tmp_path / "d" / "result.json").read_text())
    assert code == 0 and result["method"] == "stochastic" and result["correct"]
    assert verify(Program.read(tmp_path / "d" / "best.asm"), Task.from_name("sort2")).correct


def test_programs_text_lists_every_program():
    from discover.cli.search import programs_text as _programs_text

    programs = [baseline_program(SORT3), Program.read("discover/known/sort3.asm")]
    text = _programs_text(programs)
    chunks = text.split("; program ")[1:]
    assert [c.split("\n", 1)[0] for c in chunks] == ["1 of 2", "2 of 2"]
    assert [Program.parse(c.split("\n", 1)[1]) for c in chunks] == programs
