"""The network beam search (`--method beam`, the default from sort6 on) and its kernel."""

import json

import numpy as np
import pytest

from discover.cli import main
from discover.kernels import (MERGE_NETWORKS, OPTIMAL_NETWORKS, Program, Task, initial_state,
                              step, verify)
from discover.kernels import exchange as kex
from discover.search import BeamConfig, Monitor, default_method, network_variants, search
from discover.search.beam import _canonical, _sorts, search_beam


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def beam(task, **fields):
    return search_beam(task, BeamConfig(**fields), Monitor())


# --- networks and the exchange kernel ------------------------------------------------------

@pytest.mark.parametrize("n", range(2, 9))
def test_network_variants_sort_and_are_size_optimal(n):
    variants = network_variants(n)
    assert variants[0] == OPTIMAL_NETWORKS[n]
    assert len({_canonical(v) for v in variants}) == len(variants)
    for network in variants:
        assert len(network) == len(OPTIMAL_NETWORKS[n]) and _sorts(network, n)
        assert all(0 <= i < j < n for i, j in network)
    # the shipped network, the networks of merges, those the N+1 and N+2 networks leave,
    # and their mirror images (a mirror equal to its network up to commuting comparators
    # counts once)
    assert len(variants) == {2: 1, 3: 4, 4: 1, 5: 20, 6: 16, 7: 12, 8: 3}[n]
    for merged in MERGE_NETWORKS.get(n, ()):
        assert _sorts(merged, n) and _canonical(merged) in {_canonical(v) for v in variants}


def test_canonical_order_of_commuting_comparators():
    assert _canonical(((2, 3), (0, 1), (1, 2))) == ((0, 1), (2, 3), (1, 2))
    assert _canonical(((0, 1), (1, 2))) != _canonical(((1, 2), (0, 1)))


def test_sorts_rejects_a_network_that_does_not_sort():
    assert not _sorts(OPTIMAL_NETWORKS[4][:-1], 4)


def _exchange_state(task, program_lines):
    state = initial_state(task.inputs, task.registers)
    for op, dst, src in Program.from_instructions(program_lines).code:
        step(state, op, dst, src, task.registers)
    return state


@pytest.mark.parametrize("name, lines, a, b, dests", [
    ("sort2", ["mov r0, m0", "mov r1, m1", "mov r2, m0"], 0, 1, [2, 0, 1]),
    # sort3's network after (1, 2) and (0, 2), the spare r3 holding the old m0: (0, 1)
    ("sort3", ["mov r0, m0", "mov r1, m1", "mov r2, m2", "mov r3, r1", "cmp r1, r2",
               "cmovg r1, r2", "cmovg r2, r3", "mov r3, r0", "cmp r0, r2", "cmovg r0, r2",
               "cmovg r2, r3"], 0, 1, [3, 0, 1]),
])
def test_every_reported_exchange_leaves_min_and_max(name, lines, a, b, dests):
    """Each hit, replayed by the interpreter, leaves min and max in two registers and
    writes nothing but the destinations it was given."""
    task = Task.from_name(name)
    state = _exchange_state(task, lines)
    regs = state[:task.registers]
    lo, hi = np.minimum(regs[a], regs[b]), np.maximum(regs[a], regs[b])
    dests = np.array(dests, dtype=np.int32)
    out = np.zeros((kex.MAX_HITS, kex.HIT_WIDTH), dtype=np.int32)
    count = kex.exchanges(regs, a, b, dests, lo, hi, kex.CMOV_OPS, kex.CMOV_MASKS, 2, out)
    assert count > 0
    for hit in out[:count]:
        after = state.copy()
        step(after, 3, hit[0], hit[1], task.registers)  # cmp
        written = set()
        for op, dst, src in (hit[2:5], hit[5:8]):
            if op != kex.NONE:
                step(after, op, dst, src, task.registers)
                written.add(int(dst))
        assert written <= set(dests.tolist())
        rows = after[:task.registers]
        holds = lambda row: {q for q in range(task.registers)  # noqa: E731
                             if np.array_equal(rows[q], row)}
        assert holds(lo) and holds(hi) and (holds(lo) | holds(hi)) & written
        for q in set(range(task.registers)) - set(dests.tolist()):
            assert np.array_equal(rows[q], regs[q])  # the other wires are untouched


def test_exchange_finds_alphadev_three_instruction_trick():
    """With the spare holding a wherever a > b, `cmp; cmovle z, b; cmovg a, b` is found."""
    task = Task.from_name("sort2", registers=3)
    state = _exchange_state(task, ["mov r0, m0", "mov r1, m1", "mov r2, m0"])
    regs = state[:3]
    lo, hi = np.minimum(regs[0], regs[1]), np.maximum(regs[0], regs[1])
    out = np.zeros((kex.MAX_HITS, kex.HIT_WIDTH), dtype=np.int32)
    count = kex.exchanges(regs, 0, 1, np.array([2, 0, 1], dtype=np.int32), lo, hi,
                          kex.CMOV_OPS, kex.CMOV_MASKS, 2, out)
    assert count > 0 and all(hit[5] != kex.NONE for hit in out[:count])
    # an unset register is never a cmov's destination (a cmov reads it)
    state[2] = -1
    count = kex.exchanges(state[:3], 0, 1, np.array([2, 0, 1], dtype=np.int32), lo, hi,
                          kex.CMOV_OPS, kex.CMOV_MASKS, 2, out)
    assert all(2 not in (hit[3], hit[6]) for hit in out[:count])


# --- the search ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, restarts, lengths", [
    ("sort3", 1, {"17": 1}), ("sort4", 1, {"28": 1}), ("sort5", 2, {"43": 1, "44": 1}),
    # AlphaDev's lengths are 57 and 76 (the network programs': 60, 78)
    ("sort6", 4, {"57": 1, "58": 2, "60": 1}), ("sort7", 4, {"75": 1, "76": 1, "77": 2})])
def test_beam_reaches_the_known_lengths(name, restarts, lengths):
    """Seed 0, random orders: each restart's length (the same on any machine)."""
    task = Task.from_name(name)
    result = beam(task, restarts=restarts, orders="random")
    assert verify(result.program, task).correct and not result.optimal
    assert result.notes["lengths"] == lengths and result.notes["restarts"] == restarts
    assert len(result.program) == min(int(k) for k in lengths)


def test_beam_passes_alphadev_on_sort8():
    """AlphaDev's sort8 has 91 instructions, the network's program 92: each of the first
    three restarts of the default search compiles a network in 90 (the exchanges found on
    a sample confirmed on all 545,835 inputs)."""
    task = Task.from_name("sort8")
    result = beam(task, restarts=3)
    assert result.notes["lengths"] == {"90": 3} and result.notes["sample"] == 4096
    assert len(result.program) == 90 and verify(result.program, task).correct


def test_beam_same_seed_same_result_for_any_worker_count():
    task = Task.from_name("sort6")
    one = beam(task, restarts=4, workers=1, seed=3)
    two = beam(task, restarts=4, workers=2, seed=3)
    assert one.notes["lengths"] == two.notes["lengths"]
    assert one.program == two.program
    other = beam(task, restarts=4, workers=2, seed=4)
    assert other.notes["lengths"] != one.notes["lengths"] or other.program != one.program


def test_a_tiny_sample_never_gives_a_wrong_program():
    """Exchanges found on 64 inputs that fail on others are dropped on confirmation."""
    task = Task.from_name("sort7")
    result = beam(task, restarts=2, sample=64, width=4)
    assert result.notes["sample"] == 64
    assert result.program is not None and verify(result.program, task).correct


@pytest.mark.parametrize("orders", ["search", "random", "fixed"])
def test_beam_orders(orders):
    task = Task.from_name("sort5")
    result = beam(task, restarts=1, orders=orders, width=8)
    assert verify(result.program, task).correct and len(result.program) <= 46


def test_beam_stops_on_request():
    task = Task.from_name("sort8")
    monitor = Monitor()
    monitor.request_stop("interrupted")
    result = search_beam(task, BeamConfig(), monitor)
    assert result.stopped == "interrupted" and result.explored == 0
    assert result.notes == {"stopped_in": "set-up"}


@pytest.mark.parametrize("fields, message", [
    ({"width": 0}, "width"), ({"orders": "best"}, "orders"), ({"sample": 3}, "sample"),
    ({"restarts": 0}, "restarts"), ({"workers": 0}, "workers"), ({"seed": -1}, "seed")])
def test_beam_rejects_bad_configs(fields, message):
    with pytest.raises(ValueError, match=message):
        BeamConfig(**fields)


def test_default_method_by_task():
    assert [default_method(Task(n)) for n in range(2, 9)] == ["stochastic"] * 4 + ["beam"] * 3
    assert default_method(Task(7, registers=7)) == "stochastic"  # no spare: no network
    result = search(Task(6), config=BeamConfig(restarts=1), time_limit=60)
    assert result.method == "beam" and verify(result.program, Task(6)).correct


# --- the command line ----------------------------------------------------------------------

def test_cli_default_method_from_sort6_is_beam(capsys, tmp_path):
    code, stdout, _ = run(capsys, "search", "--task", "sort6", "--restarts", 1,
                          "--out", tmp_path / "d")
    result = json.loads((tmp_path / "d" / "result.json").read_text())
    assert code == 0 and result["method"] == "beam" and result["correct"]
    assert result["length"] == int(stdout.split("length: ")[1].split()[0]) <= 59
    assert verify(Program.read(tmp_path / "d" / "best.asm"), Task(6)).correct


@pytest.mark.parametrize("argv, message", [
    (["--task", "sort6", "--registers", "6", "--method", "beam"], "needs --registers 7"),
    (["--task", "sort6", "--method", "stochastic", "--width", "4"],
     "--width 4 applies to --method beam only"),
    (["--task", "sort6", "--method", "beam", "--orders", "best"], "--orders"),
    (["--task", "sort8", "--width", "20000"], "over the 8 GB memory limit"),
    (["--task", "sort8", "--memory-limit", "1"], "over the 1 GB memory limit"),
])
def test_cli_beam_bad_options_exit_2(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, "search", *argv, "--out", tmp_path / "d")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("n, length, alphadev", [(6, 56, 57), (7, 74, 76), (8, 90, 91)])
def test_shipped_programs_beat_alphadev(n, length, alphadev):
    """discover/known/sortN.asm for N = 6..8: verified, and shorter than AlphaDev's."""
    from discover.known import known_length, known_program

    program = known_program(Task(n))
    assert verify(program, Task(n)).correct
    assert len(program) == known_length(n) == length < alphadev


def test_cli_resume_goes_on_after_the_restarts_made(capsys, tmp_path):
    out = tmp_path / "d"
    code, _, _ = run(capsys, "search", "--task", "sort6", "--restarts", 2, "--out", out)
    first = json.loads((out / "result.json").read_text())
    assert code == 0 and first["notes"]["first_restart"] == 0
    code, _, _ = run(capsys, "search", "--resume", out, "--task", "sort6")
    second = json.loads((out / "result.json").read_text())
    assert code == 0 and second["method"] == "beam"
    assert second["notes"]["first_restart"] == 2 and second["notes"]["restarts"] == 2
    assert second["length"] <= first["length"]
    later = search_beam(Task(6), BeamConfig(restarts=2, first_restart=2), Monitor())
    assert second["notes"]["lengths"] == later.notes["lengths"]  # restarts 2 and 3 of seed 0
    data = json.loads((out / "result.json").read_text())
    data["notes"]["restarts"] = -3
    (out / "result.json").write_text(json.dumps(data))
    code, _, err = run(capsys, "search", "--resume", out, "--task", "sort6")
    assert code == 2 and "field 'restarts' must be >= 0" in err
