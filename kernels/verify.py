"""Exhaustive verification: run on every weak ordering of N items, say correct or not."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cost import latency_estimate
from .interp import placed_counts, run
from .isa import Program
from .tasks import Task


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
    """Latency estimate in cycles (kernels/cost.py's model)."""

    def summary(self) -> str:
        """Human-readable lines, as ``discover verify`` prints them."""
        if self.correct:
            head = f"correct: sorts all {self.n_inputs} weak orderings of {self.task.n} items"
        else:
            head = (f"incorrect: {self.n_inputs - self.n_solved} of {self.n_inputs} inputs "
                    f"unsorted; counterexample input {list(self.counterexample)} "
                    f"-> output {list(self.output)}")
        return (f"{head}\n"
                f"task: {self.task.name} (registers: {self.task.registers})\n"
                f"length: {self.length}\n"
                f"register-only length: {self.register_only_length}\n"
                f"latency estimate: {self.latency} cycles (model)\n")


def verify(program: Program, task: Task) -> Verification:
    """Check well-formedness (ProgramError if not), then run on every test input."""
    program.check(task.n, task.registers)
    memory = run(program.code, task.inputs, task.registers)
    placed = placed_counts(memory, task.expected)
    wrong = np.flatnonzero(placed != task.n)
    counterexample = output = None
    if len(wrong):
        column = wrong[0]
        counterexample = tuple(int(v) for v in task.inputs[:, column])
        output = tuple(int(v) for v in memory[:, column])
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
    )
