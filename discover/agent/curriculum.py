"""A curriculum in one run (``discover train --curriculum sort3,sort4 --task sort5``).

Each stage is an ordinary run of its own, in ``DIR/stage-TASK``: the main run's settings
with the stage's task (its default registers and length budget, every input observed),
stopped at the task's known optimum (``KNOWN_OPTIMUM``), after ``stage_iterations``
iterations, or after ``budget_minutes / (stages + 1)`` minutes, whichever comes first. The
first stage starts from ``init_from`` (if given), each later stage from the network of the
one before (``transfer``); the main run then starts from the last stage's network, with
the rest of the budget (the stages' time is taken from it).

Resuming (``--resume DIR``): a stage whose ``summary.json`` exists (and which was not
interrupted) is done and skipped; one that started is resumed; the main run continues
from its own checkpoint. The stages stop at iteration counts or targets, not the clock
(unless their budget runs out first), so the same seed gives the same stages.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from discover.runs import read_json

from .config import TrainConfig
from .rundir import CheckpointError

__all__ = ["run_stages", "stage_config", "stage_dir"]


def stage_dir(config: TrainConfig, task: str) -> Path:
    return Path(config.run_dir) / f"stage-{task}"


def stage_config(config: TrainConfig, task: str, resume: bool) -> TrainConfig:
    """The run of one stage: the main run's settings for ``task``."""
    return replace(config, task=task, registers=None, max_length=None, observed_inputs=None,
                   target_length=-1, max_iterations=config.stage_iterations,
                   budget_minutes=config.budget_minutes / (len(config.curriculum_tasks) + 1),
                   out=str(stage_dir(config, task)), resume=resume, init_from=None,
                   curriculum=None)


def run_stages(config: TrainConfig, init_from: str | None, run_training):
    """Train the stages not done yet with ``run_training(config, init_from)`` (``train``'s);
    ``(last stage's directory, seconds the stages took, None)``, or ``(None, seconds, the
    stage's TrainResult)`` if a stage was interrupted."""
    previous, spent = init_from, 0.0
    for task in config.curriculum_tasks:
        directory = stage_dir(config, task)
        summary = _finished(directory)
        if summary is not None:
            spent += summary
        else:
            resume = config.resume and (directory / "config.json").exists()
            result = run_training(stage_config(config, task, resume), previous)
            spent += result.elapsed
            best = len(result.program) if result.program is not None else "none"
            print(f"discover train: curriculum stage {task}: {result.stopped} after "
                  f"{result.iterations} iterations, best {best} ({directory})", file=sys.stderr)
            if result.stopped == "interrupted":
                return None, spent, result
        previous = str(directory)
    return previous, spent, None


def _finished(directory: Path) -> float | None:
    """The seconds a finished stage took, or None if it has not finished."""
    path = directory / "summary.json"
    if not path.exists():
        return None
    try:
        summary = read_json(path)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    elapsed = summary.get("elapsed")
    if not isinstance(elapsed, (int, float)) or isinstance(elapsed, bool) or elapsed < 0:
        raise CheckpointError(f"{path}: corrupt summary (elapsed {elapsed!r})")
    if summary.get("stopped") == "interrupted":
        return None
    return float(elapsed)
