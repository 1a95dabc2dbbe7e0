"""``discover tasks``: the tasks and their test-input counts."""

from __future__ import annotations

from discover.cli.options import Options

HELP = "list the tasks and their test-input counts"


def add_arguments(parser) -> None:
    Options(parser)  # no options


def run(args) -> int:
    from discover.kernels import TASK_NAMES, Task

    print(f"{'task':<7} {'items':>5} {'registers':>9} {'inputs':>7}")
    for name in TASK_NAMES:
        task = Task.from_name(name)
        print(f"{name:<7} {task.n:>5} {task.registers:>9} {task.n_inputs:>7}")
    return 0
