"""``discover tasks``: the tasks and their test-input counts."""

from __future__ import annotations

from discover.cli.options import Options

HELP = "list the tasks: sorts, variable-length sorts, comparison kernels, and their test inputs"


def add_arguments(parser) -> None:
    Options(parser)  # no options


def run(args) -> int:
    from discover.kernels import ALL_TASK_NAMES, Task

    print(f"{'task':<11} {'items':>5} {'outputs':>7} {'registers':>9} {'inputs':>7}  computes")
    for name in ALL_TASK_NAMES:
        task = Task.from_name(name)
        items = f"0..{task.n}" if task.variable else str(task.n)
        print(f"{name:<11} {items:>5} {task.n_outputs:>7} {task.registers:>9} "
              f"{task.n_inputs:>7}  {task.summary}")
    return 0
