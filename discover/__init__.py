"""discover: an algorithm discovery engine after AlphaDev.

>>> from discover import Program, Task, verify
>>> verify(Program.read("sort3.asm"), Task.from_name("sort3")).correct
"""

from discover.kernels import (Program, ProgramError, Task, TaskError, Verification,
                              verify)

from .baselines import OPTIMAL_NETWORKS, baseline_program, network_program

__version__ = "0.1.0"

__all__ = [
    "OPTIMAL_NETWORKS", "TrainConfig", "train", "Program", "ProgramError", "Task", "TaskError", "Verification",
    "__version__", "baseline_program", "network_program", "verify",
]


def __getattr__(name):
    # discover.train / discover.TrainConfig load the agent (and torch) on first use only,
    # so that `import discover` and `discover verify` stay fast.
    if name in ("train", "TrainConfig"):
        from discover import agent

        return getattr(agent, name)
    raise AttributeError(f"module 'discover' has no attribute {name!r}")
