"""The stochastic search over ISA v2 (varsortN): its kernel (kernels/flow_mcmc.py), the
search (discover/search/stochastic_flow.py) and `discover search --method stochastic`."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from discover.cli import main
from discover.kernels import flow_mcmc, mcmc
from discover.kernels.flow import run_flow, trace_flow
from discover.kernels.isa import CMPN, JMP, JNE, N_OPCODES, Program, ProgramError
from discover.kernels.networks import varsort_program
from discover.kernels.tasks import Task
from discover.kernels.verify import flow_cost, verify
from discover.search import CostMonitor, Monitor, StochasticConfig, search_stochastic
from discover.search.stochastic_flow import FlowChains, resolved, start_program

from conftest import default_sigint, wait_until

VARSORT3 = Task.from_name("varsort3")
VARSORT4 = Task.from_name("varsort4")


def is_well_formed(code, task) -> bool:
    try:
        Program(np.asarray(code).copy()).check(task.n, task.registers, variable=True)
        return True
    except (ProgramError, ValueError):
        return False


def scratch(capacity):
    return (np.zeros(capacity + 1, dtype=np.int64), np.zeros(capacity + 1, dtype=np.bool_),
            np.zeros(capacity + 1, dtype=np.bool_))


def chains_for(task, seed=0, beta=None, capacity_extra=6, chains=2):
    config = resolved(StochasticConfig(seed=seed, beta=beta, chains=chains), task)
    start = start_program(task, config)
    return FlowChains(task, config, start, len(start) + capacity_extra)


def sample_programs(task, count, seed=0):
    """Well-formed, mostly incorrect programs with branches: a hot chain's current programs."""
    chains = chains_for(task, seed=seed, beta=0.05, chains=1)
    programs = []
    for _ in range(count):
        chains.run(97)
        programs.append(chains.program(0))
    return programs


def outcome(code, task):
    """What a program does on every test input: final memory and which inputs fault."""
    memory, fault, _, _ = run_flow(np.ascontiguousarray(code, dtype=np.int32), task.inputs,
                                   task.lengths, task.registers)
    return memory, fault != 0


# --- well-formedness --------------------------------------------------------------------

@pytest.mark.parametrize("task", [VARSORT3, VARSORT4], ids=str)
def test_well_formed_flow_agrees_with_program_check(task, rng):
    """The chain's must-analysis is Program.check(variable=True), on well-formed programs
    with branches and on mutations of them (operands, targets, control rows, opcodes)."""
    programs = sample_programs(task, 60, seed=5)
    checked = {True: 0, False: 0}
    for program in programs:
        for _ in range(20):
            code = program.code.copy()
            if len(code) and rng.random() < 0.8:
                k = rng.integers(len(code))
                choice = rng.integers(4)
                if choice == 0:
                    code[k, rng.integers(3)] = rng.integers(-1, task.registers + 2)
                elif choice == 1:
                    code[k] = (rng.integers(JMP, JNE + 1), rng.integers(0, len(code) + 2), 0)
                elif choice == 2:
                    code[k] = (CMPN, rng.integers(0, 2), rng.integers(-1, task.n + 2))
                else:
                    code[k, 0] = rng.integers(0, N_OPCODES)
            w, f, r = scratch(len(code))
            expected = is_well_formed(code, task)
            assert flow_mcmc.well_formed_flow(code, len(code), task.n, task.registers,
                                              w, f, r) == expected, Program(code).text()
            checked[expected] += 1
    assert min(checked.values()) > 100


def test_human_routine_is_well_formed_and_correct():
    for n in (3, 4, 5):
        task = Task.from_name(f"varsort{n}")
        program = varsort_program(n)
        w, f, r = scratch(len(program))
        assert flow_mcmc.well_formed_flow(program.code, len(program), n, task.registers,
                                          w, f, r)
        assert verify(program, task).correct


# --- jump-target bookkeeping ------------------------------------------------------------

def test_inserting_a_jump_to_the_next_row_keeps_programs_equivalent(rng):
    """``jmp`` to the row after it does nothing: inserted anywhere, on either side of a
    label, with every jump target rewritten, the program does what it did (run_flow); and
    removing it gives the program back."""
    task = VARSORT3
    for program in sample_programs(task, 80, seed=1):
        length = len(program)
        before = outcome(program.code, task)
        for kind in (flow_mcmc.SHIFT_INSERT_BEFORE_LABEL, flow_mcmc.SHIFT_INSERT_AFTER_LABEL):
            at = int(rng.integers(length + 1))
            code = np.zeros((length + 1, 3), dtype=np.int32)
            code[:length] = program.code
            assert flow_mcmc.insert_rows(code, length, at, 1, kind) == length + 1
            code[at] = (JMP, at + 1, 0)
            assert is_well_formed(code, task)
            after = outcome(code, task)
            assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
            assert flow_mcmc.remove_rows(code, length + 1, at, 1) == length
            assert np.array_equal(code[:length], program.code)


def test_inserting_after_a_jmp_before_its_label_is_dead_code(rng):
    """A row inserted right after an unconditional jmp, before the label there, is never
    run: the labels keep pointing at the instructions they stood before."""
    task = VARSORT3
    tried = 0
    for program in sample_programs(task, 120, seed=2):
        length = len(program)
        jumps = [k for k in range(length) if program.code[k, 0] == JMP]
        if not jumps:
            continue
        at = jumps[rng.integers(len(jumps))] + 1
        code = np.zeros((length + 1, 3), dtype=np.int32)
        code[:length] = program.code
        flow_mcmc.insert_rows(code, length, at, 1, flow_mcmc.SHIFT_INSERT_BEFORE_LABEL)
        code[at] = (2, rng.integers(task.n), rng.integers(task.registers))  # a store
        before, after = outcome(program.code, task), outcome(code, task)
        assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
        tried += 1
    assert tried > 10


def test_removing_a_row_no_input_runs_keeps_programs_equivalent():
    task = VARSORT4
    tried = 0
    for program in sample_programs(task, 120, seed=3):
        trace = trace_flow(program.code, task.inputs, task.lengths, task.registers)
        dead = np.flatnonzero(trace.sum(axis=1) == 0)
        for at in dead[:3]:
            code = program.code.copy()
            length = flow_mcmc.remove_rows(code, len(code), int(at), 1)
            if not is_well_formed(code[:length], task):
                continue  # a label on the removed row moved down
            before, after = outcome(program.code, task), outcome(code[:length], task)
            assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
            tried += 1
    assert tried > 10


@pytest.mark.parametrize("task", [VARSORT3, VARSORT4], ids=str)
def test_a_proposal_scored_from_the_cache_is_scored_as_from_scratch(task):
    """Every well-formed proposal (inserts and removals shift the cached resume indices)
    gets the incorrectness of a fresh run of the whole program."""
    chains = chains_for(task, seed=4, beta=0.2, chains=1)
    c = chains
    capacity = chains.capacity
    prop = np.zeros((capacity, 3), dtype=np.int32)
    shape = np.zeros(3, dtype=np.int64)
    w, f, r = scratch(capacity)
    states = np.zeros_like(c.states[0])
    resumes = np.zeros_like(c.resumes[0])
    moves = set()
    for _ in range(150):
        c.run(37)
        length = int(c.lengths[0])
        for _ in range(10):
            move, plen, first = flow_mcmc._propose(c.rngs[0], c.codes[0], length, prop,
                                                  capacity, task.n, task.registers,
                                                  c.move_cdf, shape)
            if first < 0 or not flow_mcmc.well_formed_flow(prop, plen, task.n,
                                                           task.registers, w, f, r):
                continue
            moves.add(int(move))
            bad, complete = flow_mcmc._score(prop, plen, first, c.states[0], c.resumes[0],
                                             shape[0], shape[1], shape[2], c.expected,
                                             c.input_lengths, task.registers, np.inf,
                                             mcmc.BLOCK_COLUMNS, c.works[0], c.res[0],
                                             c.fault_cost)
            fresh = flow_mcmc.prefix_states(prop, plen, states, resumes, c.inputs, c.expected,
                                            c.input_lengths, task.registers, c.fault_cost)
            assert complete and bad == fresh, (move, Program(prop[:plen].copy()).text())
    assert moves == set(range(flow_mcmc.N_MOVES))


# --- the chains -------------------------------------------------------------------------

@pytest.mark.parametrize("task", [VARSORT3, VARSORT4], ids=str)
def test_chains_accept_only_well_formed_programs_and_keep_their_caches(task):
    """After every call (a few proposals each), each chain's program is well-formed, its
    caches and cost are a fresh run's, and its best program is correct."""
    chains = chains_for(task, seed=6)
    config = chains.config
    states = np.zeros_like(chains.states[0])
    resumes = np.zeros_like(chains.resumes[0])
    for _ in range(200):
        chains.run(50)
        for c in range(config.chains):
            length = int(chains.lengths[c])
            program = chains.program(c)
            program.check(task.n, task.registers, variable=True)
            bad = flow_mcmc.prefix_states(chains.codes[c], length, states, resumes,
                                          chains.inputs, chains.expected, chains.input_lengths,
                                          task.registers, chains.fault_cost)
            assert np.array_equal(states[:length + 1], chains.states[c, :length + 1])
            assert np.array_equal(resumes[:length + 1], chains.resumes[c, :length + 1])
            assert chains.costs[c] == pytest.approx(config.alpha * length + bad)
    for c in range(config.chains):
        best = Program(chains.best_codes[c, :chains.best_lengths[c]].copy())
        assert verify(best, task).correct
    assert chains.counters[:, mcmc.ACCEPTED].min() > 100
    assert chains.counters[:, mcmc.ILL_FORMED].min() > 0  # proposed, and rejected


def test_chains_do_not_depend_on_call_sizes():
    one, other = chains_for(VARSORT3, seed=8), chains_for(VARSORT3, seed=8)
    one.run(3000)
    for _ in range(3):
        other.run(1000)
    assert np.array_equal(one.codes, other.codes) and np.array_equal(one.costs, other.costs)
    assert np.array_equal(one.counters, other.counters)


# --- the search -------------------------------------------------------------------------

class Recording(Monitor):
    """A Monitor that keeps every program offered to it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = []

    def found(self, program, task):
        self.offered.append(program)
        return super().found(program, task)


def test_search_reports_verified_programs_shorter_than_the_human_routine():
    monitor = Recording()
    result = search_stochastic(VARSORT3, StochasticConfig(seed=0, steps=100_000), monitor)
    assert monitor.offered and all(verify(p, VARSORT3).correct for p in monitor.offered)
    assert monitor.offered[0] == varsort_program(3)  # the warm start, offered first
    assert verify(result.program, VARSORT3).correct
    assert len(result.program) < len(varsort_program(3)) == 30
    assert result.program.branches
    assert result.notes["isa"] == "v2" and result.notes["start"] == "human routine"
    assert result.explored == 2 * 100_000 and result.optimal is False


def test_search_same_seed_same_result():
    config = StochasticConfig(seed=11, steps=20_000)
    first = search_stochastic(VARSORT4, config, Monitor())
    second = search_stochastic(VARSORT4, config, Monitor())
    assert first.program == second.program
    assert first.notes["acceptance_rate"] == second.notes["acceptance_rate"]
    other = search_stochastic(VARSORT4, StochasticConfig(seed=12, steps=20_000), Monitor())
    assert other.notes["acceptance_rate"] != first.notes["acceptance_rate"]


def test_search_starts_from_a_given_program_and_cold():
    found = search_stochastic(VARSORT3, StochasticConfig(seed=0, steps=50_000), Monitor())
    result = search_stochastic(VARSORT3, StochasticConfig(seed=1, steps=1000,
                                                          start=found.program), Monitor())
    assert result.notes["start"] == "program"
    assert result.notes["start_length"] == len(found.program)
    assert len(result.program) <= len(found.program)
    cold = search_stochastic(VARSORT3, StochasticConfig(seed=1, steps=1000, cold_start=True),
                             Monitor())
    assert cold.notes["start"] == "cold" and cold.notes["max_length"] == 30
    assert cold.program is None or verify(cold.program, VARSORT3).correct


def test_search_stops_on_request_and_keeps_the_best():
    monitor = Monitor()
    monitor.on_progress = lambda **_: monitor.request_stop("interrupted")
    result = search_stochastic(VARSORT4, StochasticConfig(seed=0), monitor)
    assert result.stopped == "interrupted"
    assert verify(result.program, VARSORT4).correct


def test_search_refuses_a_cost_it_cannot_compute():
    with pytest.raises(ValueError, match="length or latency only"):
        search_stochastic(VARSORT3, StochasticConfig(cost="fitted"), Monitor())


@pytest.mark.parametrize("task", [VARSORT3, VARSORT4], ids=str)
def test_latency_mean_is_flow_costs(task):
    """The chains' latency term is verify.flow_cost's latency_mean, on the human routine
    and on programs that do not fault (correct or not)."""
    programs = [varsort_program(task.n)] + sample_programs(task, 150, seed=9)
    compared = 0
    for program in programs:
        _, fault, _, _ = run_flow(program.code, task.inputs, task.lengths, task.registers)
        if fault.any():
            continue
        assert flow_mcmc.latency_mean(program.code, len(program), task.inputs, task.lengths,
                                      task.registers) == pytest.approx(
            flow_cost(program, task).latency_mean, abs=1e-9), program.text()
        compared += 1
    assert compared > 20


def test_latency_cost_keeps_the_fastest():
    monitor = CostMonitor(objective="latency")
    result = search_stochastic(VARSORT3, StochasticConfig(seed=2, cost="latency",
                                                          steps=50_000), monitor)
    assert verify(result.program, VARSORT3).correct
    human = flow_cost(varsort_program(3), VARSORT3).latency_mean
    assert flow_cost(result.program, VARSORT3).latency_mean <= human
    assert result.notes["cost"] == "latency"


def test_cli_prints_a_verified_varsort3_program(capsys, tmp_path):
    out = tmp_path / "run"
    code = main(["search", "--task", "varsort3", "--method", "stochastic", "--steps",
                 "50000", "--seed", "0", "--out", str(out)])
    stdout, _ = capsys.readouterr()
    assert code == 0
    assert "correct: sorts all 18 inputs" in stdout
    best = Program.read(out / "best.asm")
    assert verify(best, VARSORT3).correct and len(best) < 30
    assert best.text() in stdout
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "varsort3" and result["correct"] is True
    assert result["length"] == len(best) and result["explored"] == 100_000


def test_cli_interrupted_varsort_run_keeps_its_best(tmp_path):
    """Ctrl-C (SIGINT) mid-search: exit 130, best.asm verified, result.json says interrupted."""
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "discover.cli", "search", "--task", "varsort4", "--method",
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
    assert process.returncode == 130, stderr
    assert verify(Program.read(out / "best.asm"), VARSORT4).correct
    result = json.loads((out / "result.json").read_text())
    assert result["stopped"] == "interrupted" and result["correct"] is True
    assert "correct: sorts all 93 inputs" in stdout


def test_cli_resume_starts_from_the_best(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["search", "--task", "varsort3", "--method", "stochastic", "--steps", "20000",
                 "--seed", "0", "--out", str(out)]) == 0
    first = Program.read(out / "best.asm")
    capsys.readouterr()
    assert main(["search", "--task", "varsort3", "--resume", str(out), "--steps",
                 "1000"]) == 0
    stdout, _ = capsys.readouterr()
    result = json.loads((out / "result.json").read_text())
    assert result["notes"]["start"] == "program"
    assert result["notes"]["start_length"] == len(first) >= result["length"]
    assert verify(Program.read(out / "best.asm"), VARSORT3).correct
