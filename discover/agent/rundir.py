"""The run directory: hall of fame, metrics.csv, curve.png, TensorBoard and checkpoints.

Hall of fame: every correct program a learner offers is kept if it is a new best (of
least ``Run.key``: the length, or under ``cost='measured'`` the measured latency): it is
verified exhaustively and written to ``DIR/best.asm`` and ``DIR/best.json`` at once
(atomic writes), and listed in ``DIR/hall_of_fame.json``.

Checkpoints (``DIR/checkpoint.pt``, format ``CHECKPOINT_FORMAT``) hold the network, the
optimizer, the learner's entries (replay buffer, PPO's games in progress), every random
generator's state and the run's counters, rows and hall of fame: written between
iterations, so resuming one continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from discover.kernels import Program, ProgramError, Task, verify
from discover.runs import read_json, write_atomic, write_json
from discover.search.base import Monitor

from .config import RESUMABLE_FIELDS, TrainConfig
from .layout import Layout

if TYPE_CHECKING:
    from .model import Agent

__all__ = ["CHECKPOINT", "CHECKPOINT_FORMAT", "METRICS", "CheckpointError", "Run",
           "load_checkpoint", "resumed_config", "save_checkpoint"]

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1  # bump when the checkpoint layout changes
METRICS = ("iteration", "episodes", "positions", "elapsed", "best_length", "mean_return",
           "solved_rate", "mean_length", "policy_loss", "value_loss", "eval_return",
           "eval_length", "expansions")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed (corrupt, another format or an incompatible run)."""


class Run:
    """The run directory and the run's counters: hall of fame, metrics, summary and curve."""

    def __init__(self, config: TrainConfig, task: Task):
        self.config = config
        self.task = task
        self.dir = Path(config.run_dir)
        self.rows: list[dict] = []
        self.hall: list[dict] = []
        self.best: Program | None = None
        self.elapsed_before = 0.0  # time spent by earlier sessions of a resumed run
        self.monitor: Monitor | None = None
        self.episodes = 0
        self.iteration = 0
        self.tensorboard = None
        self.measured = None
        """The run's ``measured.MeasuredReward`` (``cost='measured'``; None otherwise)."""
        self.key = len
        """``key(program)``: what ranks correct programs, lower is better (length; the
        measured cost's ``MeasuredReward.key``)."""

    def restore(self, payload: dict) -> None:
        """The counters, rows and hall of fame of a checkpoint payload."""
        self.iteration, self.episodes = payload["iteration"], payload["episodes"]
        self.elapsed_before, self.rows, self.hall = payload["elapsed"], payload["rows"], payload["hall"]
        self.best = Program.parse(payload["best"]) if payload["best"] else None

    def open_tensorboard(self) -> None:
        """Log metrics to DIR/tensorboard too, when TensorBoard is installed."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self.tensorboard = SummaryWriter(str(self.dir / "tensorboard"))

    def log(self, row: dict) -> None:
        self.rows.append(row)
        if self.tensorboard is not None:
            for key, value in row.items():
                if key not in ("iteration", "elapsed") and value != "":
                    self.tensorboard.add_scalar(key, float(value), row["iteration"])

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + (self.monitor.elapsed if self.monitor else 0.0)

    def offer(self, program: Program, episodes: int | None = None) -> bool:
        """Keep a solved program if it is a new best: verify, save at once, record.

        ``episodes``: the run's episode count to record with it (None: ``self.episodes``).
        """
        key = self.key(program)
        if key is None:  # not judged yet (a measured cost times programs in batches)
            return False
        if self.best is not None and key >= self.key(self.best):
            return False
        check = verify(program, self.task)
        if not check.correct:  # the environment said solved: a bug somewhere, never saved
            raise AssertionError(f"the game reported an incorrect program as solved:\n{program}")
        self.best = program
        entry = {"length": check.length, "register_only_length": check.register_only_length,
                 "latency_estimate": check.latency, "elapsed": round(self.elapsed, 3),
                 "iteration": self.iteration,
                 "episodes": self.episodes if episodes is None else episodes,
                 "program": program.text()}
        if self.measured is not None:
            f = self.measured.figure(program)
            entry.update(measured_cycles=round(f["measured_cycles"], 3),
                         vs_network=round(f["ratio"], 4))
        self.hall.append(entry)
        self.write_best_files()
        if self.monitor is not None:
            if self.key is not len:
                self.monitor.best = None  # the run's key decides, not the monitor's length
            self.monitor.found(program, self.task)
        return True

    def write_best_files(self) -> None:
        """best.asm, best.json and hall_of_fame.json from the run's state (the best last)."""
        if self.best is None:
            return
        entry = self.hall[-1]
        write_atomic(self.dir / "best.asm",
                     f"; {self.task.name}: {entry['length']} instructions, verified correct on "
                     f"all {self.task.n_inputs} weak orderings (discover train, "
                     f"{self.config.agent}, seed {self.config.seed})\n" + self.best.text())
        write_json(self.dir / "best.json", {"task": self.task.name, "registers": self.task.registers,
                                            "correct": True, **entry})
        write_json(self.dir / "hall_of_fame.json", {"task": self.task.name, "programs": self.hall})

    def reconcile(self) -> list[str]:
        """After ``restore``: make the derived files agree with the checkpoint; what it did.

        The checkpoint holds the truth up to its moment. A run killed after it may have
        found better programs since, saved at once in best.asm and hall_of_fame.json
        (every write is atomic): those that verify are kept, as new bests of this run.
        Files that are missing, unreadable or describe another program are rewritten from
        the run's state; damaged files with no program in the checkpoint to restore them
        from are refused (CheckpointError).
        """
        notes = []
        on_disk = self._programs_on_disk()
        if self.measured is not None:  # those found after the checkpoint: timed now
            self.measured.measure(on_disk)
        for program in sorted(on_disk, key=self.key, reverse=True):
            if self.best is None or self.key(program) < self.key(self.best):
                self.offer(program)
                notes.append(f"kept the {len(program)}-instruction program found after the "
                             "last checkpoint")
        if self.best is None:
            damaged = [name for name in ("best.asm", "best.json", "hall_of_fame.json")
                       if (self.dir / name).exists()]
            if damaged:
                raise CheckpointError(f"{self.dir / damaged[0]}: holds no correct program and "
                                      "the checkpoint none to restore it from (delete it to "
                                      "resume)")
            return notes
        if self._files_agree():
            return notes
        self.write_best_files()
        notes.append("restored best.asm, best.json and hall_of_fame.json from the checkpoint")
        return notes

    def _programs_on_disk(self) -> list[Program]:
        """The correct programs that best.asm and hall_of_fame.json hold (unreadable: none)."""
        texts = []
        try:
            texts.append((self.dir / "best.asm").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            pass
        try:
            entries = read_json(self.dir / "hall_of_fame.json").get("programs")
            texts += [e["program"] for e in entries if isinstance(e, dict)
                      and isinstance(e.get("program"), str)] if isinstance(entries, list) else []
        except ValueError:
            pass
        programs = []
        for text in texts:
            try:
                program = Program.parse(text)
                if verify(program, self.task).correct:
                    programs.append(program)
            except (ProgramError, ValueError):
                continue
        return programs

    def _files_agree(self) -> bool:
        """Whether the three best files describe the run's best program and hall of fame."""
        try:
            on_disk = Program.parse((self.dir / "best.asm").read_text(encoding="utf-8"))
            best = read_json(self.dir / "best.json")
            hall = read_json(self.dir / "hall_of_fame.json")
        except (OSError, UnicodeDecodeError, ProgramError, ValueError):
            return False
        return (on_disk == self.best and best.get("program") == self.best.text()
                and hall.get("programs") == self.hall)

    def write_metrics(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRICS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_atomic(self.dir / "metrics.csv", buffer.getvalue())

    def write_curve(self) -> Path | None:
        if not self.rows:
            return None
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            return None
        t = [r["elapsed"] / 60 for r in self.rows]
        best = [r["best_length"] if r["best_length"] != "" else math.nan for r in self.rows]
        ret = [r["mean_return"] if r["mean_return"] != "" else math.nan for r in self.rows]
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.step(t, best, where="post", color="tab:blue", label="best length")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("minutes")
        ax.set_ylabel("best correct length (instructions)", color="tab:blue")
        twin = ax.twinx()
        twin.plot(t, ret, color="tab:orange", alpha=0.7, label="mean return")
        twin.set_ylabel("mean self-play return", color="tab:orange")
        ax.set_title(f"discover train --task {self.task.name} ({self.config.agent}, seed {self.config.seed})")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        write_atomic(self.dir / "curve.png", buffer.getvalue())
        return self.dir / "curve.png"


def save_checkpoint(run: Run, agent: Agent, learner_state: dict, rng: np.random.Generator) -> None:
    """Write DIR/checkpoint.pt; ``learner_state`` is the learner's ``state_dict()``."""
    import torch

    payload = {
        "format": CHECKPOINT_FORMAT,
        "layout": Layout.of_spec(agent.spec).to_json(),  # what --init-from maps by
        "config": run.config.to_json(),
        "model": agent.net.state_dict(),
        "optimizer": agent.optimizer.state_dict(),
        "replay": learner_state.get("replay"),
        "rng": {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state(),
                "python": random.getstate()},
        "iteration": run.iteration, "episodes": run.episodes, "elapsed": run.elapsed,
        "rows": run.rows, "hall": run.hall,
        "best": run.best.text() if run.best is not None else None,
        "extra": learner_state.get("extra") or {},
    }
    if run.measured is not None:  # its measurements, before the checkpoint that needs them
        run.measured.save(run.dir)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomic(run.dir / CHECKPOINT, buffer.getvalue())


def load_checkpoint(path: Path, config: TrainConfig) -> dict:
    """Read and check a checkpoint; CheckpointError (one line) when it cannot be resumed."""
    import torch

    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint to resume")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means corrupt
        raise CheckpointError(f"{path}: corrupt checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a discover train checkpoint of format {CHECKPOINT_FORMAT}")
    saved = payload["config"]
    mine = config.to_json()
    different = sorted(k for k in mine if k not in RESUMABLE_FIELDS and saved.get(k) != mine[k])
    if different:
        k = different[0]
        raise CheckpointError(f"{path}: incompatible run: {k} was {saved.get(k)!r}, now {mine[k]!r}"
                              " (resume with the run's own settings)")
    return payload


def resumed_config(config: TrainConfig, given=None) -> TrainConfig:
    """The saved run's config with this invocation's budgets (for ``--resume DIR``).

    ``given``: the names of the fields this invocation sets (the command line's options);
    a resumable field it does not set keeps the run's own value (a run started with
    ``--target-length 0`` keeps it). None: every resumable field is taken from ``config``.
    """
    path = Path(config.run_dir) / "config.json"
    try:
        payload = read_json(path)
    except ValueError as error:  # missing or corrupt: the message names the file
        raise CheckpointError(str(error)) from None
    try:
        saved = TrainConfig.from_json(payload)
    except (ValueError, TypeError) as error:  # unknown keys, wrong types, values out of range
        raise CheckpointError(f"{path}: incompatible config ({error})") from None
    taken = [k for k in RESUMABLE_FIELDS
             if given is None or k in given or k in ("resume", "out", "progress")]
    return replace(saved, **{k: getattr(config, k) for k in taken})
