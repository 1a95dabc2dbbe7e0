"""Rank candidate programs by a cost, and the run directory's table of them.

A search or a training run that optimises a measured figure first collects candidates
(correct programs: every program of the best length for the enumeration, the distinct
correct programs its chains visit for the stochastic search, the solved episodes for the
agent), then ranks them here:

- ``length``: instruction count; ``latency``: the model of ``kernels/cost.py``;
- ``measured``: native latency from the measurement service (``discover.native``), every
  candidate timed in the same rounds (``measure_together``) so that the ratios to the
  best are paired; the cache still saves the compiles of programs timed before;
- ``mca``: llvm-mca's estimate (``discover.native.mca``).

Ties (and the model-ranked costs) break by length, then by model cycles, then by text,
so the same candidates always rank the same.

``candidates.json`` in the run directory is the table (``write_candidates``); ``discover
bench --rank DIR`` reads it back (``read_candidates``) and re-times its programs on the
machine at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from discover.kernels import Program, Task, latency_estimate
from discover.runs import read_json, require, write_json

__all__ = ["CANDIDATES_FILE", "COSTS", "FORMAT", "MEASURED_COSTS", "Candidate", "rank",
           "read_candidates", "table_payload", "write_candidates"]

COSTS = ("length", "latency", "measured", "mca")
MEASURED_COSTS = ("measured", "mca")
"""Costs that need the machine (a C compiler, llvm-mca): ranked after the search."""
CANDIDATES_FILE = "candidates.json"
FORMAT = 1


@dataclass(frozen=True)
class Candidate:
    """One ranked program and its figures (None: not computed for this cost)."""

    program: Program
    length: int
    model_cycles: int
    """The latency estimate of kernels/cost.py."""
    median_ns: float | None = None
    p5_ns: float | None = None
    ci_lo: float | None = None
    """Lower end of the median's 95% interval (ns)."""
    ci_hi: float | None = None
    median_cycles: float | None = None
    """Median TSC cycles per sort (None without a TSC)."""
    vs_best: float | None = None
    """Paired time ratio to the best candidate (rank 1), with its interval."""
    vs_best_lo: float | None = None
    vs_best_hi: float | None = None
    mca_cycles: float | None = None
    measurement: object = field(default=None, repr=False, compare=False)
    """The ``discover.native.Measurement`` behind the figures (not written to the file)."""

    def cost(self, cost: str) -> float:
        """The figure that ranks it under ``cost``."""
        if cost == "length":
            return float(self.length)
        if cost == "latency":
            return float(self.model_cycles)
        if cost == "measured":
            return self.median_ns
        return self.mca_cycles

    def row(self, rank: int) -> dict:
        return {"rank": rank, "program": self.program.text(), "length": self.length,
                "model_cycles": self.model_cycles, "median_ns": self.median_ns,
                "p5_ns": self.p5_ns, "ci_lo": self.ci_lo, "ci_hi": self.ci_hi,
                "median_cycles": self.median_cycles, "vs_best": self.vs_best,
                "vs_best_lo": self.vs_best_lo, "vs_best_hi": self.vs_best_hi,
                "mca_cycles": self.mca_cycles}


def _order(candidates: list[Candidate], cost: str) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (c.cost(cost), c.length, c.model_cycles,
                                             c.program.text()))


def rank(programs, task: Task, cost: str = "measured", sampling=None) -> list[Candidate]:
    """The distinct programs as Candidates, best first under ``cost``.

    ``sampling``: the ``discover.native.SamplingConfig`` of a measured ranking (default:
    latency mode). NativeError where the cost cannot be computed here (no C compiler,
    not x86-64, no llvm-mca).
    """
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    unique = list({p.text(): p for p in programs}.values())
    candidates = [Candidate(p, len(p), int(latency_estimate(p.code, task.n, task.registers)))
                  for p in unique]
    if not candidates:
        return []
    if cost == "measured":
        candidates = _measured(candidates, task, sampling)
    elif cost == "mca":
        from discover.native.mca import mca_cycles

        candidates = [replace(c, mca_cycles=float(m))
                      for c, m in zip(candidates, mca_cycles([c.program for c in candidates],
                                                             task))]
    return _order(candidates, cost)


def _measured(candidates: list[Candidate], task: Task, sampling) -> list[Candidate]:
    from discover.native import SamplingConfig, measure_together, ratio

    sampling = SamplingConfig() if sampling is None else sampling
    timed = measure_together([c.program for c in candidates], task, sampling)
    out = []
    for c, m in zip(candidates, timed):
        s, cycles = m.summary_ns, m.summary_cycles
        out.append(replace(c, median_ns=s.median, p5_ns=s.p5, ci_lo=s.lo, ci_hi=s.hi,
                           median_cycles=None if cycles is None else cycles.median,
                           measurement=m))
    out = _order(out, "measured")
    best = out[0].measurement
    return [replace(c, vs_best=r.ratio, vs_best_lo=r.lo, vs_best_hi=r.hi)
            for c in out for r in [ratio(c.measurement, best)]]


def table_payload(candidates: list[Candidate], task: Task, cost: str,
                  mode: str = "latency", timed: int | None = None) -> dict:
    """What ``candidates.json`` holds (see the module doc)."""
    from discover.native.cache import machine_context

    machine = {k: v for k, v in machine_context().items()
               if k in ("cpu", "arch", "compiler", "compiler_version")}
    medians = [c.median_ns for c in candidates if c.median_ns is not None]
    return {"format": FORMAT, "task": task.name, "registers": task.registers,
            "cost": cost, "mode": mode,
            "machine": machine, "timed": len(medians) if timed is None else timed,
            "spread_ns": [min(medians), max(medians)] if medians else None,
            "candidates": [c.row(k + 1) for k, c in enumerate(candidates)]}


def write_candidates(path, candidates: list[Candidate], task: Task, cost: str,
                     mode: str = "latency", timed: int | None = None) -> None:
    """Write the table atomically."""
    write_json(path, table_payload(candidates, task, cost, mode, timed))


def read_candidates(path) -> tuple[dict, list[Candidate]]:
    """The table's header fields and its candidates; ValueError (one line, naming the file
    and the field) for anything that is not such a table, or a program that is malformed."""
    payload = read_json(path)
    if require(payload, "format", int, path) != FORMAT:
        raise ValueError(f"{path}: format {payload['format']} is not {FORMAT}")
    task_name = require(payload, "task", str, path)
    registers = require(payload, "registers", int, path, minimum=1)
    try:
        task = Task.from_name(task_name, registers)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    require(payload, "cost", str, path)
    rows = require(payload, "candidates", list, path)
    candidates = []
    for k, row in enumerate(rows):
        where = f"{path}: candidates[{k}]"
        if not isinstance(row, dict):
            raise ValueError(f"{where} must be an object")
        text = require(row, "program", str, where)
        try:
            program = Program.parse(text)
            program.check(task.n, task.registers)
        except ValueError as error:
            raise ValueError(f"{where}: program: {error}") from None
        figures = {name: require(row, name, float, where, optional=True)
                   for name in ("median_ns", "p5_ns", "ci_lo", "ci_hi", "median_cycles",
                                "vs_best", "vs_best_lo", "vs_best_hi", "mca_cycles")}
        candidates.append(Candidate(program, len(program),
                                    int(latency_estimate(program.code, task.n,
                                                         task.registers)), **figures))
    header = {k: v for k, v in payload.items() if k != "candidates"}
    header["task"] = task
    return header, candidates
