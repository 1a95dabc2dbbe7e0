"""Core commands: ``discover tasks``, ``discover verify``, ``discover baseline``."""

from __future__ import annotations

from discover.cli import UsageError, make_task, read_program, task_arguments


def register(sub) -> None:
    p = sub.add_parser("tasks", help="list the tasks and their test-input counts")
    p.set_defaults(run=run_tasks)

    p = sub.add_parser("verify", help="verify a .asm program exhaustively and report its cost")
    p.add_argument("program", help="path of the .asm file")
    task_arguments(p)
    p.set_defaults(run=run_verify)

    p = sub.add_parser("baseline", help="print the sorting-network program of a task")
    task_arguments(p)
    p.set_defaults(run=run_baseline)


def run_tasks(args) -> int:
    from discover.kernels import TASK_NAMES, Task

    print(f"{'task':<7} {'items':>5} {'registers':>9} {'inputs':>7}")
    for name in TASK_NAMES:
        task = Task.from_name(name)
        print(f"{name:<7} {task.n:>5} {task.registers:>9} {task.n_inputs:>7}")
    return 0


def run_verify(args) -> int:
    from discover.kernels import ProgramError, verify

    task = make_task(args)
    program = read_program(args.program)
    try:
        result = verify(program, task)
    except ProgramError as error:
        raise UsageError(f"{args.program}: {error}") from None
    print(result.summary(), end="")
    return 0 if result.correct else 1


def run_baseline(args) -> int:
    from discover.baselines import OPTIMAL_NETWORKS, baseline_program

    task = make_task(args)
    if task.registers < task.n + 1:
        raise UsageError(f"the network program needs {task.n + 1} registers, got {task.registers}")
    program = baseline_program(task)
    print(f"; {task.name}: size-optimal network, {len(OPTIMAL_NETWORKS[task.n])} comparators, "
          f"{len(program)} instructions")
    print(program.text(), end="")
    return 0
