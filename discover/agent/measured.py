"""``cost='measured'``: the agent's reward from the native latency of the programs it solves.

Games are played with the game's latency model (``cost='latency'``, kernels/cost.py) on
every move. When a move *solves* the task (the search's ``reward_of``, ``mcts.Search``),
the program's native latency, timed by the measurement service (``discover.native``) in
latency mode together with the sorting-network program in the same rounds, replaces the
model's cost term, in the model's units::

    measured_cycles(p) = ratio(p, network) * model_cycles(network)
    correction(p) = cost_weight * (model_cycles(p) - measured_cycles(p)) / cost_scale

so a solved move's reward is ``solved_bonus - cost_weight * measured_cycles / cost_scale``
(the game's weights; ``cost_scale`` defaults to the network's model cycles, so the cost
term is ``cost_weight * ratio``). The ratio is paired by round, which shrugs off the
drift of a busy machine better than a time in ns would.

Each program is timed once (a contender for the best twice): the figures are kept by
program text (``MeasuredReward``'s cache). Programs are timed in batches, one library per
self-play round (``flush``, called by the training loop after each iteration): a program
first met in a round gets the model's reward in that round's games and its measured one
from the next round on, and is offered to the hall of fame once timed. The run's best
program (``rundir.Run.key``) is the one of least measured cycles, ties broken by length.
Programs reach this module only when the game says solved, i.e. correct on every input
(the run verifies them again before keeping any).

The cache survives ``--resume``: it is written to ``DIR/measured.json`` (atomically) with
every checkpoint and read back on resume; a program found after the last checkpoint of a
killed run is timed again. At the end of the run the fastest programs are re-timed
together (``discover.candidates.rank``, default sampling) and written to
``DIR/candidates.json``, which ``discover bench --rank DIR`` reads.

Determinism: the timings are noisy, so the same seed gives the same games only until
the first solved program's measurement differs from one run to the next (it steers the
search through the rewards): runs with ``cost='measured'`` do not repeat exactly.
"""

from __future__ import annotations

from pathlib import Path

from discover.kernels import Program, Task, baseline_program, latency_estimate
from discover.runs import read_json, write_json

__all__ = ["MEASURED_FILE", "TOP", "MeasuredReward", "native_check"]

MEASURED_FILE = "measured.json"
FORMAT = 1
TOP = 16
"""Programs re-timed together for ``DIR/candidates.json`` at the end of a run."""


def native_check() -> None:
    """ValueError (one line) where native timing cannot run here."""
    from discover.native import native_unavailable

    reason = native_unavailable()
    if reason:
        raise ValueError(f"--cost measured needs native timing: {reason}")


class MeasuredReward:
    """The measured cost of solved programs, each timed once, and the reward correction.

    ``cost_weight`` and ``cost_scale``: the game's (``GameConfig.cost_weight``,
    ``GameConfig.scale``). ``sampling``: the ``discover.native.SamplingConfig`` of the
    timings (default: latency mode, 51 rounds, no disk cache: ``DIR/measured.json`` is
    this cache).

    Programs are timed in batches (one compile for many: the compile, not the sampling,
    is what a timing costs): the search's ``__call__`` and the run's ``key`` meet a
    program not timed yet, remember it and answer for now (no correction: the latency
    model's reward; ``key``: None, not judged yet), and ``flush`` times every program
    met since, in one library with the network program, once per self-play round.
    """

    def __init__(self, task: Task, cost_weight: float, cost_scale: float, sampling=None):
        self.task = task
        self.cost_weight = float(cost_weight)
        self.cost_scale = float(cost_scale)
        self.network = baseline_program(task)
        self.network_cycles = self.model_cycles(self.network)
        self.sampling = sampling
        self.figures: dict[str, dict] = {}
        """Program text -> its figures: ratio to the network (the mean over its timings,
        with the last timing's interval), the medians in ns, the measured cycles
        (``ratio * network_cycles``) and the model's, and how often it was timed."""
        self.pending: dict[str, Program] = {}
        """Programs met but not timed yet (``flush`` times them)."""
        self.timed = 0
        """Programs timed by this process (the cache's misses; second opinions aside)."""
        self.batches = 0
        """Libraries timed by this process."""

    def model_cycles(self, program: Program) -> int:
        """The latency model's figure (kernels/cost.py), the game's cost."""
        return int(latency_estimate(program.code, self.task.n, self.task.registers))

    def known(self, program: Program) -> bool:
        return program.text() in self.figures

    def figure(self, program: Program) -> dict:
        """The program's figures, timed now (with whatever is pending) unless timed before."""
        if not self.known(program):
            self.pending[program.text()] = program
            self.flush()
        return self.figures[program.text()]

    def measure(self, programs) -> None:
        """Time the programs not timed yet, now (one batch)."""
        for program in programs:
            if not self.known(program):
                self.pending[program.text()] = program
        self.flush()

    def flush(self, best: Program | None = None) -> list[Program]:
        """Time every pending program in one batch; those programs, fastest first.

        ``best``: the run's best program. A pending program that seems faster is timed
        once more, with it, in a second library (a second opinion: the time of a routine
        moves with where the compiler puts it, by more than the rounds' noise, and the
        fastest of many single timings is mostly a lucky one); both programs' figures are
        then the mean of their timings.
        """
        todo = list(self.pending.values())
        self.pending.clear()
        if not todo:
            return []
        self._time(todo)
        self.timed += len(todo)
        if best is not None and self.known(best):
            bar = self.cycles(best)
            contenders = [p for p in todo if self.cycles(p) < bar]
            if contenders:
                self._time([*contenders, best])
        return sorted(todo, key=self.key)

    def _time(self, programs: list[Program]) -> None:
        """Time the programs with the network program in one library; add to their figures."""
        from discover.native import SamplingConfig, measure_together, ratio

        sampling = SamplingConfig(cache=False) if self.sampling is None else self.sampling
        *mine, network = measure_together([*programs, self.network], self.task, sampling)
        self.batches += 1
        network_ns = float(network.summary_ns.median)
        for program, m in zip(programs, mine):
            r = ratio(m, network)
            old = self.figures.get(program.text())
            times = 1 if old is None else old["times"] + 1
            mean = float(r.ratio) if old is None else \
                old["ratio"] + (float(r.ratio) - old["ratio"]) / times
            self.figures[program.text()] = {
                "ratio": mean, "lo": float(r.lo), "hi": float(r.hi),
                "median_ns": float(m.summary_ns.median), "network_ns": network_ns,
                "measured_cycles": mean * self.network_cycles,
                "model_cycles": self.model_cycles(program), "times": times}

    def cycles(self, program: Program) -> float:
        """Measured cycles, in the model's units: ratio to the network x its model cycles."""
        return self.figure(program)["measured_cycles"]

    def __call__(self, program: Program) -> float:
        """The reward correction of a solved program: the model's cost term out, the
        measured one in (see the module doc); 0 (the model's) until it is timed."""
        f = self.figures.get(program.text())
        if f is None:
            self.pending[program.text()] = program
            return 0.0
        return self.cost_weight * (f["model_cycles"] - f["measured_cycles"]) / self.cost_scale

    def key(self, program: Program) -> tuple | None:
        """Sort key of a solved program (lower is better): measured cycles, then length;
        None until it is timed (``flush``)."""
        f = self.figures.get(program.text())
        if f is None:
            self.pending[program.text()] = program
            return None
        return (f["measured_cycles"], len(program), program.text())

    def fastest(self, k: int = TOP) -> list[Program]:
        """The ``k`` programs of least measured cycles so far, fastest first."""
        texts = sorted(self.figures, key=lambda t: (self.figures[t]["measured_cycles"],
                                                    t.count("\n"), t))
        return [Program.parse(t) for t in texts[:k]]

    # --- the run directory ---------------------------------------------------------------

    def save(self, folder) -> None:
        """Write the figures to ``folder/measured.json`` (atomically)."""
        write_json(Path(folder) / MEASURED_FILE,
                   {"format": FORMAT, "task": self.task.name, "registers": self.task.registers,
                    "network_cycles": self.network_cycles, "programs": self.figures})

    def load(self, folder) -> int:
        """Read the figures of ``folder/measured.json`` (one written by ``save`` for this
        task); the programs read. A missing, unreadable or foreign file reads as empty:
        its programs are timed again when met."""
        path = Path(folder) / MEASURED_FILE
        if not path.exists():
            return 0
        try:
            payload = read_json(path)
        except ValueError:
            return 0
        if not isinstance(payload, dict) or payload.get("format") != FORMAT \
                or payload.get("task") != self.task.name \
                or payload.get("registers") != self.task.registers \
                or not isinstance(payload.get("programs"), dict):
            return 0
        keys = ("ratio", "lo", "hi", "median_ns", "network_ns", "measured_cycles",
                "model_cycles", "times")
        for text, f in payload["programs"].items():
            if isinstance(text, str) and isinstance(f, dict) and all(
                    isinstance(f.get(k), (int, float)) for k in keys):
                self.figures[text] = {k: f[k] for k in keys}
        return len(self.figures)

    def write_candidates(self, folder, sampling=None) -> int:
        """Re-time the ``TOP`` fastest programs together and write ``folder/candidates.json``
        (``discover.candidates``); the candidates written (0: none measured, no file)."""
        from discover.candidates import CANDIDATES_FILE, rank, write_candidates

        programs = self.fastest()
        if not programs:
            return 0
        ranked = rank(programs, self.task, "measured", sampling)
        write_candidates(Path(folder) / CANDIDATES_FILE, ranked, self.task, "measured")
        return len(ranked)
