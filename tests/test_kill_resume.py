"""Runs killed with SIGKILL at random moments resume with their best program intact.

Each case starts a real ``discover search`` process, kills it (kill -9) at a moment drawn
from a seeded generator, checks what the run directory holds, resumes it and checks again:
``best.asm`` is a correct program, ``result.json`` describes that same program, and the
best length never goes up across the kill. Also: a second run into a directory that a
running search holds is refused at once with exit code 2.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import wait_until
from discover.kernels import Program, Task, verify

SORT5 = Task.from_name("sort5")
KILLS = 8
CLI = [sys.executable, "-m", "discover.cli"]


def _start(*args):
    return subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _best_length(out):
    """Length of the correct program in best.asm (None if none), and result.json's view."""
    best = out / "best.asm"
    program = Program.read(best) if best.exists() else None
    if program is not None:
        assert verify(program, SORT5).correct
    manifest = json.loads((out / "result.json").read_text()) \
        if (out / "result.json").exists() else None
    return program, manifest


def _consistent(program, manifest):
    if manifest is None or manifest["program"] is None:
        return
    recorded = Program.parse(manifest["program"])
    assert verify(recorded, SORT5).correct
    assert manifest["length"] == len(recorded)
    # best.asm is written first: it equals the manifest's program or is one step ahead.
    assert program is not None and len(program) <= len(recorded)


@pytest.mark.parametrize("case", range(KILLS))
def test_search_killed_at_a_random_moment_resumes_intact(tmp_path, case):
    out = tmp_path / "run"
    delay = np.random.default_rng(case).uniform(0.5, 6.0)
    proc = _start("search", "--task", "sort5", "--seed", case, "--time-limit", 30,
                  "--out", out)
    # The delay counts from the run directory's creation: start-up (imports, 1-2 s here)
    # writes nothing, and a kill before the directory exists leaves nothing to resume.
    wait_until(out.exists, proc, poll=0.01)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before, manifest = _best_length(out)
    _consistent(before, manifest)

    resumed = subprocess.run([*CLI, "search", "--task", "sort5", "--resume", str(out),
                              "--time-limit", "1"], capture_output=True, text=True)
    assert resumed.returncode in (0, 1), resumed.stderr
    assert "Traceback" not in resumed.stderr
    after, manifest = _best_length(out)
    _consistent(after, manifest)
    assert manifest["stopped"] == "time limit"
    assert manifest["seed"] == case  # the saved seed, not the default
    if before is not None:
        assert after is not None and len(after) <= len(before)
        assert resumed.returncode == 0


def test_second_search_into_a_held_directory_is_refused_at_once(tmp_path):
    out = tmp_path / "run"
    first = _start("search", "--task", "sort5", "--time-limit", 30, "--out", out)
    try:
        wait_until((out / "best.asm").exists, first)  # the first run holds the lock by now
        second = subprocess.run([*CLI, "search", "--task", "sort5", "--time-limit", "5",
                                 "--resume", str(out)], capture_output=True, text=True)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and "in use by another run" in second.stderr
        fresh = subprocess.run([*CLI, "search", "--task", "sort5", "--out", str(out)],
                               capture_output=True, text=True)
        assert fresh.returncode == 2 and "in use by another run" in fresh.stderr
    finally:
        first.kill()
        first.wait()
    # Once the first run is gone, a fresh run is refused (the directory holds a run) and a
    # resume is taken.
    fresh = subprocess.run([*CLI, "search", "--task", "sort5", "--out", str(out)],
                           capture_output=True, text=True)
    assert fresh.returncode == 2 and "already holds a run (best.asm)" in fresh.stderr


# --- training ---------------------------------------------------------------------------

SORT3 = Task.from_name("sort3")
TRAIN = ["train", "--task", "sort3", "--target-length", "0", "--checkpoint-every", "1",
         "--no-progress"]


def _train_files_agree(out):
    """best.asm, best.json, hall_of_fame.json and the checkpoint name one correct program."""
    import torch

    program = Program.read(out / "best.asm")
    assert verify(program, SORT3).correct
    best = json.loads((out / "best.json").read_text())
    hall = json.loads((out / "hall_of_fame.json").read_text())["programs"]
    assert best["program"] == program.text() == hall[-1]["program"]
    assert best["length"] == len(program)
    checkpoint = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert checkpoint["best"] == program.text()
    return program


@pytest.mark.parametrize("case", range(KILLS))
def test_training_killed_at_a_random_moment_resumes_intact(tmp_path, case):
    out = tmp_path / "run"
    delay = np.random.default_rng(100 + case).uniform(1.0, 9.0)
    proc = _start(*TRAIN, "--seed", case, "--budget-minutes", 0.5, "--out", out)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = Program.read(out / "best.asm") if (out / "best.asm").exists() else None
    if not (out / "config.json").exists():  # killed before the run began: nothing to resume
        assert before is None
        return
    import torch

    done = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)["iteration"] \
        if (out / "checkpoint.pt").exists() else 0
    resumed = subprocess.run([*CLI, "train", "--resume", str(out), "--max-iterations",
                              str(done + 2), "--no-progress"], capture_output=True, text=True)
    # 1: no correct program yet (killed before the first, and two iterations found none)
    assert resumed.returncode == (0 if before is not None else resumed.returncode), \
        resumed.stderr
    assert resumed.returncode in (0, 1) and "Traceback" not in resumed.stderr
    assert "target reached" not in resumed.stdout  # --target-length 0 kept across resume
    if resumed.returncode == 1:
        assert before is None and not (out / "best.asm").exists()
        return
    after = _train_files_agree(out)
    if before is not None:
        assert len(after) <= len(before)
    assert json.loads((out / "config.json").read_text())["seed"] == case


@pytest.mark.parametrize("damage", ["delete", "corrupt", "incorrect"])
def test_training_resume_restores_damaged_best_files(tmp_path, damage):
    out = tmp_path / "run"
    first = subprocess.run([*CLI, *TRAIN, "--max-iterations", "2", "--out", str(out)],
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    program = _train_files_agree(out)
    for name in ("best.asm", "best.json", "hall_of_fame.json"):
        path = out / name
        if damage == "delete":
            path.unlink()
        elif damage == "corrupt":
            path.write_text("{ not json; movx r0\n")
        elif name == "best.asm":  # a well-formed program that does not sort
            path.write_text("mov r0, m0\nmov m0, r0\n")
    resumed = subprocess.run([*CLI, "train", "--resume", str(out), "--max-iterations", "3",
                              "--no-progress"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "restored best.asm, best.json and hall_of_fame.json" in resumed.stderr
    assert len(_train_files_agree(out)) <= len(program)


def test_second_training_into_a_held_directory_is_refused_at_once(tmp_path):
    out = tmp_path / "run"
    first = _start(*TRAIN, "--budget-minutes", 1, "--out", out)
    try:
        wait_until((out / "checkpoint.pt").exists, first)
        start = time.monotonic()
        second = subprocess.run([*CLI, "train", "--resume", str(out), "--no-progress"],
                                capture_output=True, text=True)
        assert second.returncode == 2 and "in use by another run" in second.stderr
        assert second.stderr.count("\n") == 1
        assert time.monotonic() - start < 30  # refused before any training
    finally:
        first.kill()
        first.wait()
