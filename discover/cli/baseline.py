"""``discover baseline --task T``: the size-optimal sorting network's program."""

from __future__ import annotations

from discover.cli.common import TaskOptions, UsageError, make_task
from discover.cli.options import Options

HELP = "print the sorting-network program of a task"


def add_arguments(parser) -> None:
    Options(parser).add(TaskOptions)


def run(args) -> int:
    from discover.kernels import OPTIMAL_NETWORKS, baseline_program

    task = make_task(args)
    if task.registers < task.n + 1:
        raise UsageError(f"the network program needs {task.n + 1} registers, got {task.registers}")
    program = baseline_program(task)
    if task.variable:
        print(f"; {task.name}: branch on the length to the size-optimal network of that "
              f"length, {len(program)} instructions")
    else:
        print(f"; {task.name}: size-optimal network, {len(OPTIMAL_NETWORKS[task.n])} "
              f"comparators, {len(program)} instructions")
    print(program.text(), end="")
    return 0
