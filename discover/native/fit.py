"""Fit the latency model to native measurements, and check it on held-out programs.

``python -m discover.native.fit [--programs N] [--out FILE.json] [--data FILE.json]``
collects correct programs of sort3..sort5 (the distinct correct programs the stochastic
search's chains visit, over several seeds, length caps and temperatures: programs near
the model's optimum, the ones a ranking has to order), times each task's programs in one
batch in latency mode (``measure_together``; ``batch_cycles`` normalises the rounds),
splits them in halves by a seeded draw, fits the parameters of ``kernels/cost.py``'s
``latency_model`` on one half and reports the rank correlation (Spearman) of model and
measurement on the other, per task, for the current model (``latency_estimate``), the
fitted one and llvm-mca where it is installed. ``--data`` refits the programs and
figures of an earlier ``--out`` file instead of measuring again.

What is fitted: a grid (``GRID``, every point scored; the best mean training Spearman
wins, ties to the earlier point) of the schedule, shared by the tasks: the cycles of a
register ``mov`` (0: move elimination), a load, a store, a ``cmov``; how many cmovs and
cmps may start per cycle (0: no limit); the extra cycles of a load from a cell the program
stored (store-to-load forwarding). ``cmp`` stays at 1 cycle (the unit). For each point and
task, least squares then gives the cycles each instruction of a unit adds beyond the
schedule (``extra``, none negative). Spearman is invariant to scale, so no TSC-to-core-cycle
factor is needed.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass

import numpy as np

from discover.kernels import Program, Task, baseline_program
from discover.kernels.cost import N_UNITS, UNITS

from .model import UNIT_NAMES, model_cycles, packed_model  # noqa: F401 (re-exported)

__all__ = ["GRID", "Fit", "batch_cycles", "collect", "fit", "fit_extra", "model_cycles",
           "packed_model", "spearman", "unit_counts"]

TASKS = ("sort3", "sort4", "sort5")
GRID = {
    "mov": (0.0, 1.0),
    "load": (4.0,),
    "store": (0.0, 1.0),
    "cmov": (1.0, 2.0, 3.0),
    "cmov_ports": (0.0, 1.0, 2.0),
    "cmp_ports": (0.0, 1.0),
    "forward": (0.0, 2.0),
}
# The schedule ends when the last store completes (what the next sort waits for).
"""The schedule's parameter values the fit tries (every combination); ``extra`` (cycles
per instruction of each unit) is then fitted by least squares for each point."""
def spearman(x, y) -> float:
    """Spearman's rank correlation (ties get their average rank); nan if either is constant."""
    rx, ry = _ranks(np.asarray(x, float)), _ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=float)
    for v in np.unique(values):  # average rank within each tie
        tied = values == v
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def unit_counts(programs) -> np.ndarray:
    """``float64[len(programs), N_UNITS]``: instructions of each unit per program."""
    return np.array([np.bincount(UNITS[p.code[:, 0]], minlength=N_UNITS) for p in programs],
                    dtype=float)


def fit_extra(schedule: list, counts: list, measured: list) -> tuple[dict, float]:
    """Least squares of measured cycles on (schedule cycles, unit counts, one intercept
    per task), over the given tasks' rows; the per-unit cycles relative to one schedule
    cycle, none negative (a negative one is fixed at 0 and the rest refitted), and the
    schedule's weight (where that is not positive: no extra, and that weight)."""
    free = list(range(N_UNITS))
    while True:
        rows, ys = [], []
        for t, (s, c, y) in enumerate(zip(schedule, counts, measured)):
            intercepts = np.zeros((len(s), len(schedule)))
            intercepts[:, t] = 1.0
            rows.append(np.column_stack([s, c[:, free], intercepts]))
            ys.append(y)
        w = np.linalg.lstsq(np.vstack(rows), np.concatenate(ys), rcond=None)[0]
        scale, per_unit = w[0], w[1:1 + len(free)]
        if scale <= 0:
            return {}, float(scale)
        bad = [u for u, x in zip(free, per_unit) if x < 0]
        if not bad:
            # Rounded: round-off (1e-16) would otherwise split the model's ties.
            extra = {UNIT_NAMES[u]: round(float(x / scale), 6) for u, x in zip(free, per_unit)}
            return {k: v for k, v in extra.items() if v != 0.0}, float(scale)
        free = [u for u in free if u not in bad]


def collect(task: Task, count: int, seed: int = 0, steps: int = 4_000) -> list[Program]:
    """Up to ``count`` distinct correct programs for ``task`` (the same for a seed)."""
    from discover.search.base import CostMonitor
    from discover.search.stochastic import StochasticConfig, search_stochastic

    network = len(baseline_program(task))
    pool: dict[str, Program] = {}
    for k in range(50 * count):
        if len(pool) >= 2 * count:
            break
        config = StochasticConfig(cost="measured", seed=seed + k, chains=2, steps=steps,
                                  max_length=network + 2 + 2 * (k % 4),
                                  beta_ratio=0.5 ** (k % 3), cold_start=k % 2 == 1)
        result = search_stochastic(task, config, CostMonitor(objective="latency"))
        for program in result.candidates:
            pool.setdefault(program.text(), program)
    programs = sorted(pool.values(), key=lambda p: p.text())
    rng = np.random.default_rng(seed)
    keep = sorted(rng.permutation(len(programs))[:count])
    return [programs[i] for i in keep]


@dataclass(frozen=True)
class Fit:
    params: dict
    train: dict
    """Spearman per task on the training half (the fitted model)."""
    held_out: dict
    """Per task: Spearman on the held-out half, of 'current', 'fitted' and 'mca'."""


def fit(data: dict, seed: int = 0, mca: dict | None = None) -> Fit:
    """Fit GRID (and ``extra``) to ``data``: task name -> (programs, measured cycles): one
    schedule (latencies, ports, forwarding) for all the tasks, and per task the cycles
    each unit's instructions add (least squares on the training half). ``mca``: task name -> llvm-mca cycles per program
    (optional), reported beside the models."""
    rng = np.random.default_rng(seed)
    split, counts = {}, {}
    for name, (programs, _) in data.items():
        mask = np.zeros(len(programs), dtype=bool)
        mask[rng.permutation(len(programs))[: len(programs) // 2]] = True
        split[name] = mask  # True: training
        counts[name] = unit_counts(programs)
    tasks = {name: Task.from_name(name) for name in data}
    best, best_score = None, -np.inf
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        params = dict(zip(keys, values))
        schedule = {name: model_cycles(programs, tasks[name], params)
                    for name, (programs, _) in data.items()}
        extra = {k: fit_extra([schedule[k][split[k]]], [counts[k][split[k]]],
                              [np.asarray(data[k][1])[split[k]]])[0] for k in data}
        params["extra"] = extra
        score = float(np.nanmean([
            spearman(schedule[k][split[k]] + counts[k][split[k]] @ _unit_vector(extra[k]),
                     np.asarray(data[k][1])[split[k]]) for k in data]))
        if score > best_score + 1e-9:
            best, best_score = params, score
    train, held_out = {}, {}
    for name, (programs, measured) in data.items():
        task, mask = tasks[name], split[name]
        y = np.asarray(measured)
        fitted = model_cycles(programs, task, best)
        current = model_cycles(programs, task)
        train[name] = spearman(fitted[mask], y[mask])
        held_out[name] = {"programs": int((~mask).sum()),
                          "current": spearman(current[~mask], y[~mask]),
                          "fitted": spearman(fitted[~mask], y[~mask])}
        if mca is not None and name in mca:
            held_out[name]["mca"] = spearman(np.asarray(mca[name])[~mask], y[~mask])
    return Fit(best, train, held_out)


def _unit_vector(extra: dict) -> np.ndarray:
    return np.array([extra.get(name, 0.0) for name in UNIT_NAMES])


def batch_cycles(measurements) -> np.ndarray:
    """Each program's figure from one batch's samples: the median over rounds of its
    time over the round's median (all the programs), times the batch's median time.

    Rounds are normalised because conditions move on a shared machine: on the 2-core VM
    of the README, whole batches ran 10-60% slower than others minutes apart, while the
    order of the programs within a batch held (test-retest Spearman 0.95-0.99).
    """
    ticks = np.array([m.ticks for m in measurements])  # float64[P, rounds]
    relative = np.median(ticks / np.median(ticks, axis=0, keepdims=True), axis=1)
    return relative * float(np.median(np.median(ticks, axis=1)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m discover.native.fit",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=600,
                        help="correct programs per task (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the fit, its figures and the data (programs "
                        "and their measured cycles) to this JSON file")
    parser.add_argument("--model", help="write the fitted model alone to this JSON file "
                        "(the form of discover/known/model.json)")
    parser.add_argument("--data", help="refit the programs and figures of an earlier --out "
                        "file (no measuring)")
    args = parser.parse_args(argv)
    from discover.native.cache import machine_context

    if args.data:
        try:
            data, mca, machine = _load(args.data)
        except (OSError, ValueError, KeyError, TypeError) as error:
            print(f"discover: error: --data {args.data}: not a fit file ({error})",
                  file=sys.stderr)
            return 2
    else:
        from discover.native import native_unavailable

        reason = native_unavailable()
        if reason:
            print(f"discover: error: {reason}", file=sys.stderr)
            return 2
        data, mca = _measure(args.programs, args.seed)
        machine = machine_context()
    result = fit(data, args.seed, mca or None)
    _report(result)
    from discover.runs import write_json

    summary = {"params": result.params, "train": result.train, "held_out": result.held_out,
               "machine": machine, "programs_per_task": {k: len(p) for k, (p, _) in
                                                         data.items()},
               "seed": args.seed}
    if args.model:
        write_json(args.model, summary)
    if args.out:
        write_json(args.out, {**summary, "data": {
            name: {"programs": [p.text() for p in programs],
                   "cycles": list(map(float, cycles)),
                   "mca": list(map(float, mca.get(name, [])))}
            for name, (programs, cycles) in data.items()}})
    return 0


def _measure(count: int, seed: int) -> tuple[dict, dict]:
    from discover.native import SamplingConfig, measure_together
    from discover.native.mca import mca_cycles, mca_unavailable

    data, mca = {}, {}
    for name in TASKS:
        task = Task.from_name(name)
        programs = collect(task, count, seed)
        cycles = batch_cycles(measure_together(programs, task, SamplingConfig()))
        data[name] = (programs, cycles)
        if not mca_unavailable():
            mca[name] = mca_cycles(programs, task)
        print(f"{name}: {len(programs)} programs timed, median cycles "
              f"{min(cycles):.1f}-{max(cycles):.1f}", file=sys.stderr)
    return data, mca


def _load(path: str) -> tuple[dict, dict, dict]:
    import json

    with open(path, encoding="utf-8") as file:
        saved = json.load(file)
    data = {name: ([Program.parse(t) for t in row["programs"]],
                   np.asarray(row["cycles"], dtype=float))
            for name, row in saved["data"].items()}
    mca = {name: row["mca"] for name, row in saved["data"].items() if row.get("mca")}
    return data, mca, saved.get("machine", {})


def _report(result: Fit) -> None:
    print(f"fitted parameters: {result.params}")
    print(f"{'task':<6} {'held-out':>8} {'current':>8} {'fitted':>8} {'mca':>8}")
    for name, row in result.held_out.items():
        print(f"{name:<6} {row['programs']:>8} {row['current']:>8.3f} {row['fitted']:>8.3f} "
              + (f"{row['mca']:>8.3f}" if "mca" in row else f"{'-':>8}"))


if __name__ == "__main__":
    raise SystemExit(main())
