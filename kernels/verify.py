"""Exhaustive verification: run on every weak ordering of N items, say correct or not.

varsortN (ISA v2): on every weak ordering of n items for every length n = 0..N, through
the branch-aware interpreter (``flow.py``); a fault (a cell past the length) is an error
like a wrong output, and the cost figures cover every path (``FlowCost``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .cost import ISSUE_WIDTH, latency_estimate
from .flow import run_flow, trace_flow
from .interp import placed_counts, run
from .isa import (CMPN, CONTROL, N_OPCODES, OPCODES, REG, Program, ProgramError,
                  format_instruction)
from .tasks import Task, weak_orderings


MISPREDICT_CYCLES = 16
"""Cycles a mispredicted branch costs in the model (``discover bench`` on the reference
machine: about 5.6 ns a misprediction at ~3 GHz, from programs that differ only in the
order of their branches)."""
BRANCH_CYCLES = 1
"""Cycles a conditional jump costs in the model even when predicted (the front end's
bubble on a taken one, a port on either)."""
_ON_PATH = re.compile(r"on a path of length (\d+)$")


@dataclass(frozen=True)
class FlowCost:
    """What a program with branches costs, over the test inputs of a varsort task."""

    paths: int
    """Distinct paths the test inputs take."""
    executed_max: int
    """Most instructions one input runs."""
    executed_mean_inputs: float
    """Instructions run, mean over the test inputs."""
    executed_mean: float
    """Instructions run, mean over the lengths 0..N (each length weighted alike, or as
    ``flow_cost``'s weights say; the inputs of a length alike)."""
    latency_max: int
    """The latency estimate of the slowest path (cycles, the model of cost.py)."""
    latency_mean: float
    """The latency estimate, mean over the lengths 0..N as ``executed_mean``."""
    by_length: tuple[tuple[int, float, float], ...]
    """``(n, mean instructions run, mean latency estimate)`` per length n."""
    mispredictions: float = 0.0
    """Conditional jumps mispredicted per call, mean over the lengths as ``latency_mean``,
    by a predictor that knows which way each jump went before in the same call (global
    history, as modern cores' predictors keep) and, given that, guesses a jump's likelier
    way: each jump, for each history before it, mispredicts the less likely way's share.
    Random lengths make a varsort's branches the larger part of its time on real cores:
    ``discover bench`` measures it."""

    branches: float = 0.0
    """Conditional jumps run per call, mean over the lengths as ``latency_mean``."""

    @property
    def expected_cycles(self) -> float:
        """``latency_mean`` + MISPREDICT_CYCLES x ``mispredictions`` + BRANCH_CYCLES x
        ``branches``: the model's time of one call on random lengths (what ``--cost
        latency`` ranks varsort programs by)."""
        return (self.latency_mean + MISPREDICT_CYCLES * self.mispredictions
                + BRANCH_CYCLES * self.branches)


def flow_cost(program: Program, task: Task, weights=None) -> FlowCost:
    """Cost figures of a (well-formed) program over ``task``'s inputs, path by path: a
    path's latency is the model's estimate of the v1 instructions it runs, at least its
    instructions run over the issue width (jumps and ``cmp n`` take issue slots; branch
    prediction is for ``discover bench`` to measure). ``weights``: how likely each length
    0..N is (``executed_mean`` and ``latency_mean`` are means under it; None: uniform)."""
    code = program.code
    inputs, lengths = task.inputs, task.lengths
    _, _, executed, path = run_flow(code, inputs, lengths, task.registers)
    keys, first, which = np.unique(path, return_index=True, return_inverse=True)
    # one input per path is traced (int8[P, paths], not int8[P, B]: varsort8 has 598,445)
    trace = trace_flow(code, np.ascontiguousarray(inputs[:, first]),
                       np.ascontiguousarray(lengths[first]), task.registers)
    latency = np.empty(len(keys), dtype=np.int64)
    for j in range(len(first)):
        rows = code[trace[:, j] != 0]
        straight = np.ascontiguousarray(rows[rows[:, 0] < N_OPCODES])
        latency[j] = max(int(latency_estimate(straight, task.n, task.registers)),
                         -(-len(rows) // ISSUE_WIDTH))
    per_input = latency[which.reshape(-1)]
    weight_of = np.zeros(task.n_inputs)  # each input's probability (length, then alike)
    by_length = []
    for m in range(int(lengths.min()), int(lengths.max()) + 1):
        mask = lengths == m
        by_length.append((m, float(executed[mask].mean()), float(per_input[mask].mean())))
    if weights is None:
        weights = np.ones(len(by_length))
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(by_length),) or weights.min() < 0 or weights.sum() <= 0:
        raise ValueError(f"weights: one non-negative weight per length "
                         f"0..{task.n}, not all zero, got {weights.tolist()}")
    weights = weights / weights.sum()
    for (m, _, _), p in zip(by_length, weights):
        mask = lengths == m
        weight_of[mask] = p / mask.sum()
    # the branch sequence of each path (its first input's trace), weighted by its inputs
    branches: dict = {}
    branch_count = 0.0
    for j in range(len(first)):
        sequence, history = [], ()
        for k in np.flatnonzero(trace[:, j]):
            op, target, _ = (int(v) for v in code[k])
            if op in CONTROL and CONTROL[op].reads_flags:
                taken = int(trace[k, j] == 2)
                sequence.append((k, history, taken))
                history = history + ((k, taken),)
        mass = float(weight_of[which.reshape(-1) == j].sum())
        branch_count += mass * len(sequence)
        for k, before, taken in sequence:
            entry = branches.setdefault((k, before), [0.0, 0.0])
            entry[taken] += mass
    mispredictions = sum(min(a, b) for a, b in branches.values())
    return FlowCost(paths=len(keys), executed_max=int(executed.max()),
                    executed_mean_inputs=float(executed.mean()),
                    executed_mean=float(sum(p * e for p, (_, e, _) in zip(weights, by_length))),
                    latency_max=int(latency.max()),
                    latency_mean=float(sum(p * t for p, (_, _, t) in zip(weights, by_length))),
                    by_length=tuple(by_length), mispredictions=float(mispredictions),
                    branches=float(branch_count))


def _reads(op: int, dst: int, src: int) -> tuple[list[int], bool]:
    """(registers read, reads the flags) of one instruction."""
    if op in CONTROL:
        return [], CONTROL[op].reads_flags
    spec = OPCODES[op]
    regs = [v for v, kind, read in ((dst, spec.dst, spec.reads_dst),
                                    (src, spec.src, spec.reads_src)) if read and kind == REG]
    return regs, spec.reads_flags


def path_witness(program: Program, task: Task, index: int, length: int | None = None) -> int | None:
    """The first test input (of ``length``, if given) whose path reaches instruction
    ``index`` without having written a register it reads (or made a cmp its condition
    needs); None if none does."""
    trace = trace_flow(program.code, task.inputs, task.lengths, task.registers)
    regs, flags_needed = _reads(*(int(v) for v in program.code[index]))
    reached = trace[index] != 0
    if length is not None:
        reached &= task.lengths == length
    for column in np.flatnonzero(reached):
        written, flags = set(), False
        for k in np.flatnonzero(trace[:index, column]):  # the instructions it ran
            op, dst, _ = (int(v) for v in program.code[k])
            if op == CMPN or (op < N_OPCODES and OPCODES[op].writes_flags):
                flags = True
            elif op < N_OPCODES and OPCODES[op].writes_dst and OPCODES[op].dst == REG:
                written.add(dst)
        if not written.issuperset(regs) or (flags_needed and not flags):
            return int(column)
    return None


def describe_input(task: Task, column: int) -> str:
    """``input [1, 0] (length 2)``: a test input by its column."""
    m = int(task.lengths[column])
    values = [int(v) for v in task.inputs[:m, column]]
    return f"input {values} (length {m})" if task.variable else f"input {values}"


@dataclass(frozen=True, eq=False)
class Verification:
    """The verdict on one program for one task, with its cost figures."""

    task: Task
    correct: bool
    """Every input ends sorted: proved for all inputs of any totally ordered type."""
    n_inputs: int
    n_solved: int
    """Inputs whose memory ends fully sorted."""
    placed: np.ndarray
    """``int8[B]``: per input, memory cells holding their sorted value."""
    counterexample: tuple[int, ...] | None
    """First input (ranks) left unsorted, or None when correct."""
    output: tuple[int, ...] | None
    """What the program left in memory for the counterexample."""
    length: int
    register_only_length: int
    latency: int
    """Latency estimate in cycles (kernels/cost.py's model; varsort: the slowest path)."""
    counterexample_length: int | None = None
    """varsort: the counterexample's length."""
    n_faults: int = 0
    """varsort: inputs on which the program loads or stores a cell past the length."""
    fault: str | None = None
    """varsort: the first fault, in words (input, length, line and instruction)."""
    cost: FlowCost | None = None
    """varsort: the cost figures over every path (None for a fixed sort)."""
    expected_output: tuple[int, ...] | None = None
    """What the counterexample's output cells m0..m{K-1} should hold."""

    def summary(self) -> str:
        """Human-readable lines, as ``discover verify`` prints them."""
        if self.task.variable:
            return self._flow_summary()
        task = self.task
        if self.correct and task.is_sort:
            head = f"correct: sorts all {self.n_inputs} weak orderings of {task.n} items"
        elif self.correct:
            whole = task.n_inputs == weak_orderings(task.n).shape[1]
            head = (f"correct: {task.summary}, on all {self.n_inputs} "
                    f"{'' if whole else 'admissible '}weak orderings of {task.n} items")
        else:
            head = (f"incorrect: {self.n_inputs - self.n_solved} of {self.n_inputs} inputs "
                    f"{'unsorted' if task.is_sort else 'wrong'}; counterexample input "
                    f"{list(self.counterexample)} -> output {list(self.output)} (expected "
                    f"{list(self.expected_output)})")
        return (f"{head}\n"
                f"task: {self.task.name} (registers: {self.task.registers})\n"
                f"length: {self.length}\n"
                f"register-only length: {self.register_only_length}\n"
                f"latency estimate: {self.latency} cycles (model)\n")


    def _flow_summary(self) -> str:
        task, cost = self.task, self.cost
        if self.correct:
            head = (f"correct: sorts all {self.n_inputs} inputs (every weak ordering of "
                    f"0..{task.n} items), no fault")
        else:
            wrong = self.n_inputs - self.n_solved
            head = f"incorrect: {wrong} of {self.n_inputs} inputs wrong ({self.n_faults} faulted)"
            if self.fault is not None:
                head += f"; first fault: {self.fault}"
            if self.counterexample is not None:
                head += (f"; counterexample input {list(self.counterexample)} (length "
                         f"{self.counterexample_length}) -> output {list(self.output)} "
                         f"(expected {list(self.expected_output)})")
        return (f"{head}\n"
                f"task: {task.name} (registers: {task.registers})\n"
                f"length: {self.length}\n"
                f"register-only length: {self.register_only_length}\n"
                f"executed: at most {cost.executed_max} instructions, mean "
                f"{cost.executed_mean_inputs:.2f} over the test inputs, "
                f"{cost.executed_mean:.2f} over the lengths 0..{task.n} alike\n"
                f"paths: {cost.paths}\n"
                f"latency estimate: {cost.latency_max} cycles on the slowest path, mean "
                f"{cost.latency_mean:.2f} (model)\n"
                f"branches on random lengths: {cost.branches:.2f} a call, "
                f"{cost.mispredictions:.2f} mispredicted (model: {cost.expected_cycles:.1f} "
                f"cycles a call)\n")


def check_program(program: Program, task: Task) -> None:
    """``program.check`` for the task; on a varsort task, an error on a path of some
    length names the first test input of that length that takes the path."""
    try:
        program.check(task.n, task.registers, task.variable)
    except ProgramError as error:
        match = _ON_PATH.search(error.reason)
        if not (task.variable and match):
            raise
        index = program.lines.index(error.line) if error.line in program.lines else None
        column = None if index is None else path_witness(program, task, index,
                                                         int(match.group(1)))
        where = (f": {describe_input(task, column)} takes it" if column is not None
                 else " (no test input takes it: the data decides a jump on it)")
        raise ProgramError(error.line, error.text, error.reason + where) from None


def _verify_flow(program: Program, task: Task) -> Verification:
    memory, fault, _, _ = run_flow(program.code, task.inputs, task.lengths, task.registers)
    placed = placed_counts(memory, task.expected)
    good = (placed == task.n) & (fault == 0)
    wrong = np.flatnonzero(~good)
    faulted = np.flatnonzero(fault != 0)
    counterexample = output = length = fault_text = expected = None
    if len(faulted):
        column = faulted[0]
        k = int(fault[column]) - 1
        op, dst, src = (int(v) for v in program.code[k])
        cell = src if OPCODES[op].src != REG else dst
        fault_text = (f"{describe_input(task, column)} at line {program.lines[k]} "
                      f"{format_instruction(op, dst, src)!r}: m{cell} is past the length")
    unsorted = np.flatnonzero((placed != task.n) & (fault == 0))
    if len(unsorted):
        column = unsorted[0]
        length = int(task.lengths[column])
        counterexample = tuple(int(v) for v in task.inputs[:length, column])
        output = tuple(int(v) for v in memory[:length, column])
        expected = tuple(int(v) for v in task.expected[:length, column])
    cost = flow_cost(program, task)
    return Verification(
        task=task, correct=not len(wrong), n_inputs=task.n_inputs,
        n_solved=task.n_inputs - len(wrong), placed=placed, counterexample=counterexample,
        output=output, length=len(program), register_only_length=program.register_only_length,
        latency=cost.latency_max, counterexample_length=length, n_faults=len(faulted),
        fault=fault_text, cost=cost, expected_output=expected)


def verify(program: Program, task: Task) -> Verification:
    """Check well-formedness (ProgramError if not), then run on every test input."""
    check_program(program, task)
    if task.variable:
        return _verify_flow(program, task)
    memory = run(program.code, task.inputs, task.registers)
    placed = placed_counts(memory, task.expected)
    wrong = np.flatnonzero(placed != task.n_outputs)
    counterexample = output = expected = None
    if len(wrong):
        column = wrong[0]
        counterexample = tuple(int(v) for v in task.inputs[:, column])
        output = tuple(int(v) for v in memory[:task.n_outputs, column])
        expected = tuple(int(v) for v in task.expected[:, column])
    return Verification(
        task=task,
        correct=not len(wrong),
        n_inputs=task.n_inputs,
        n_solved=task.n_inputs - len(wrong),
        placed=placed,
        counterexample=counterexample,
        output=output,
        length=len(program),
        register_only_length=program.register_only_length,
        latency=int(latency_estimate(program.code, task.n, task.registers)),
        expected_output=expected,
    )
