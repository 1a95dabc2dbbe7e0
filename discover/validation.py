"""Checks for the config dataclasses: one error type, messages naming the field and its range.

Every frozen config (``TrainConfig``, ``NetworkConfig``, ``MCTSConfig``, ``PPOConfig``,
``EnumConfig``, ``StochasticConfig``, ``RandomConfig``, ``BenchConfig``) checks its fields
in ``__post_init__`` with these helpers, so Python callers and the command line refuse the
same values in the same words. A ``ConfigError`` reads ``StochasticConfig.chains must be in
1..256, got 1000000`` from Python; the command line writes the option in place of the
field (``discover: error: --chains must be in 1..256, got 1000000``).
"""

from __future__ import annotations

import math
import numbers

__all__ = ["INT64_MAX", "MAX_PROGRAM_LENGTH", "MIN_MEMORY_GB", "ConfigError", "check_choice",
           "check_float", "check_int", "check_memory_gb", "check_seed", "check_task", "check_text"]

INT64_MAX = 2**63 - 1
"""Largest count or seed: the compiled kernels, NumPy and torch hold them as int64."""
MAX_PROGRAM_LENGTH = 1024
"""Longest program any search or game may be asked for (sort8's network program is 95
instructions; 4N^2 = 256 is the random search's cap without a spare register)."""
MIN_MEMORY_GB = 0.001
"""Smallest memory limit accepted (1 MB: below it no search can hold its first tables)."""


class ConfigError(ValueError):
    """A config field out of its range. ``field`` names it; ``problem`` says what is allowed.

    ``related`` lists other fields the problem mentions by name (``actors`` cannot exceed
    ``games``), so that the command line can write their options too.
    """

    def __init__(self, config, field: str, problem: str, related: tuple[str, ...] = ()):
        self.owner = config if isinstance(config, type) else type(config)
        self.field = field
        self.problem = problem
        self.related = tuple(related)
        super().__init__(f"{self.owner.__name__}.{field} {problem}")


def _bound(value) -> str:
    return "2**63 - 1" if value == INT64_MAX else str(value)


def check_int(config, name: str, lo: int = 0, hi: int = INT64_MAX, *,
              optional: bool = False) -> None:
    """``getattr(config, name)`` is an integer in lo..hi (or None when ``optional``)."""
    value = getattr(config, name)
    if value is None and optional:
        return
    if not isinstance(value, numbers.Integral) or not lo <= value <= hi:
        raise ConfigError(config, name, f"must be an integer in {_bound(lo)}..{_bound(hi)}, "
                          f"got {value!r}")


def check_seed(config, name: str = "seed") -> None:
    """Seeds are 0 <= seed < 2**63 (torch, NumPy and the kernels all take them as int64)."""
    check_int(config, name, 0, INT64_MAX)


def check_float(config, name: str, lo: float | None = None, hi: float | None = None, *,
                lo_open: bool = False, optional: bool = False) -> None:
    """A finite number in [lo, hi] (``lo_open``: lo excluded); None allowed when ``optional``."""
    value = getattr(config, name)
    if value is None and optional:
        return
    ok = isinstance(value, numbers.Real) and math.isfinite(value) \
        and (lo is None or (value > lo if lo_open else value >= lo)) \
        and (hi is None or value <= hi)
    if not ok:
        if lo is not None and hi is not None:
            allowed = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
        elif lo == 0:
            allowed = "positive and finite" if lo_open else "non-negative and finite"
        elif lo is not None:
            allowed = f"{'>' if lo_open else '>='} {lo:g} and finite"
        elif hi is not None:
            allowed = f"<= {hi:g} and finite"
        else:
            allowed = "finite"
        raise ConfigError(config, name, f"must be {allowed}, got {value!r}")


def check_memory_gb(config, name: str) -> None:
    """A memory limit in GB: finite and at least MIN_MEMORY_GB."""
    value = getattr(config, name)
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= MIN_MEMORY_GB):
        raise ConfigError(config, name, f"must be at least {MIN_MEMORY_GB:g} GB (the smallest "
                          f"memory limit accepted), got {value!r}")


def check_choice(config, name: str, choices, *, optional: bool = False) -> None:
    """``getattr(config, name)`` is one of ``choices`` (or None when ``optional``)."""
    value = getattr(config, name)
    if value is None and optional:
        return
    if value not in tuple(choices):
        raise ConfigError(config, name, f"must be one of {', '.join(map(str, choices))}, "
                          f"got {value!r}")


def check_text(config, name: str, *, optional: bool = False) -> None:
    """A non-empty string (a path, a name); None allowed when ``optional``."""
    value = getattr(config, name)
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(config, name, f"must not be empty, got {value!r}")


def check_task(config, name: str = "task") -> None:
    """A task that ``Task.from_name`` knows: sort2..sort8, varsort2..varsort8, a built-in
    kernel (median5, top2-of-5, ...), a task defined in this process, or a task file."""
    from discover.kernels import Task, TaskError

    value = getattr(config, name)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(config, name, f"must be a task name, got {value!r}")
    try:
        Task.from_name(value)
    except TaskError as error:
        raise ConfigError(config, name, str(error)) from None
