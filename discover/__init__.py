"""discover: an algorithm discovery engine after AlphaDev.

>>> from discover import Program, Task, verify
>>> verify(Program.read("sort3.asm"), Task.from_name("sort3")).correct

The names below load on first use (PEP 562), so that importing ``discover.cli`` costs
nothing and the ``discover`` command can catch a Ctrl-C while NumPy and Numba load;
``discover.train`` / ``discover.TrainConfig`` load the agent (and torch, when training).
"""

from ._version import __version__

__all__ = [
    "OPTIMAL_NETWORKS", "ConfigError", "Program", "ProgramError", "Task", "TaskError",
    "TrainConfig", "Verification", "__version__", "baseline_program", "network_program",
    "train", "verify",
]

_FROM = {
    **dict.fromkeys(("Program", "ProgramError", "Task", "TaskError", "Verification", "verify"),
                    "discover.kernels"),
    **dict.fromkeys(("OPTIMAL_NETWORKS", "baseline_program", "network_program"),
                    "discover.kernels"),
    **dict.fromkeys(("train", "TrainConfig"), "discover.agent"),
    "ConfigError": "discover.validation",
}


def __getattr__(name):
    if name in _FROM:
        import importlib

        value = getattr(importlib.import_module(_FROM[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'discover' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
