"""discover: an algorithm discovery engine after AlphaDev.

>>> from discover import Program, Task, verify
>>> verify(Program.read("sort3.asm"), Task.from_name("sort3")).correct
"""

from discover.kernels import (OPTIMAL_NETWORKS, Program, ProgramError, Task, TaskError,
                              Verification, baseline_program, network_program, verify)

from ._version import __version__

__all__ = [
    "OPTIMAL_NETWORKS", "Program", "ProgramError", "Task", "TaskError", "TrainConfig",
    "Verification", "__version__", "baseline_program", "network_program", "train", "verify",
]


def __getattr__(name):
    # discover.train / discover.TrainConfig load the agent (and torch) on first use only,
    # so that `import discover` and `discover verify` stay fast.
    if name in ("train", "TrainConfig"):
        from discover import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'discover' has no attribute {name!r}")
