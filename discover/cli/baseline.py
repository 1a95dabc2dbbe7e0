"""``discover baseline --task T``: the size-optimal sorting network's program, or a known
construction for a kernel task."""

from __future__ import annotations

import re

from discover.cli.common import TaskOptions, UsageError, make_task
from discover.cli.options import Options

HELP = "print the baseline program of a task (a sorting network, or a known construction)"

PRUNED = "the size-optimal sorting network pruned to the outputs (half comparators where one side is read)"
BASELINES = {
    "median": "the median selection network (Devillard), pruned to the middle wire",
    "min2max": "the tournament (pairs, then the minimum of the lows and the maximum of the highs)",
    "merge": "Batcher's odd-even merge",
    "stablesort": "the insertion network (adjacent comparators) carrying each key's payload",
}


def add_arguments(parser) -> None:
    Options(parser).add(TaskOptions)


def run(args) -> int:
    from discover.kernels import OPTIMAL_NETWORKS, baseline_program

    task = make_task(args)
    if task.registers < task.n + 1:
        raise UsageError(f"the network program needs {task.n + 1} registers, got {task.registers}")
    try:
        program = baseline_program(task)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not task.is_sort:
        family = next((f for f in BASELINES if re.fullmatch(f"{f}[0-9+]+", task.name)), None)
        print(f"; {task.name}: {BASELINES.get(family, PRUNED)}, {len(program)} instructions")
    elif task.variable:
        print(f"; {task.name}: branch on the length to the size-optimal network of that "
              f"length, {len(program)} instructions")
    else:
        print(f"; {task.name}: size-optimal network, {len(OPTIMAL_NETWORKS[task.n])} "
              f"comparators, {len(program)} instructions")
    print(program.text(), end="")
    return 0
