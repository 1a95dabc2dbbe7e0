"""``discover tasks``: the tasks and their test-input counts."""

from __future__ import annotations

from discover.cli.options import Options

HELP = "list the tasks and their test-input counts"


def add_arguments(parser) -> None:
    Options(parser)  # no options


def run(args) -> int:
    from discover.kernels import ALL_TASK_NAMES, Task

    print(f"{'task':<9} {'items':>5} {'registers':>9} {'inputs':>7}")
    for name in ALL_TASK_NAMES:
        task = Task.from_name(name)
        items = f"0..{task.n}" if task.variable else str(task.n)
        print(f"{name:<9} {items:>5} {task.registers:>9} {task.n_inputs:>7}")
    return 0
