"""Run directories: locks, refusal of a second run, checked reads of run files."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from discover.runs import RunDir, RunDirError, check_out_dir, read_json, require, write_json

HOLD = """
import sys, time
from discover.runs import RunDir
RunDir(sys.argv[1]).lock()
print("locked", flush=True)
time.sleep(60)
"""


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_run_is_refused_while_the_first_holds_the_lock(tmp_path):
    proc = _holder(tmp_path / "run")
    try:
        with pytest.raises(RunDirError, match="in use by another run"):
            RunDir(tmp_path / "run").lock()
    finally:
        proc.kill()
        proc.wait()


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    proc = _holder(tmp_path / "run")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with RunDir(tmp_path / "run") as run:  # no stale lock after SIGKILL
        assert (run / ".lock").exists()


def test_lock_is_released_on_exit_and_can_be_taken_again(tmp_path):
    with RunDir(tmp_path / "a"):
        with pytest.raises(RunDirError):
            RunDir(tmp_path / "a").lock()  # a second handle in the same process is refused too
    with RunDir(tmp_path / "a"):
        pass


def test_fresh_refuses_a_directory_that_holds_a_run(tmp_path):
    run = RunDir(tmp_path)
    run.fresh(["best.asm", "result.json"])  # empty: fine
    (tmp_path / "best.asm").write_text("mov r0, m0\n")
    with pytest.raises(RunDirError, match=r"already holds a run \(best.asm\).*--resume"):
        run.fresh(["best.asm", "result.json"])


@pytest.mark.parametrize("case", ["empty", "file", "under-file"])
def test_check_out_dir_names_the_option(tmp_path, case):
    (tmp_path / "f").write_text("x")
    path = {"empty": "", "file": tmp_path / "f", "under-file": tmp_path / "f" / "run"}[case]
    with pytest.raises(RunDirError, match="--out"):
        check_out_dir(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_out_dir_unwritable(tmp_path):
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    with pytest.raises(RunDirError, match="not writable"):
        check_out_dir(locked / "run")


def test_check_out_dir_accepts_new_nested_and_existing(tmp_path):
    assert check_out_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert check_out_dir(tmp_path) == tmp_path


def test_read_json_rejects_deep_nesting_fifo_and_non_objects(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match="deep.json: corrupt JSON"):
        read_json(deep)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(ValueError, match="not a regular file"):
        read_json(fifo)  # must not block
    assert time.monotonic() - start < 30
    write_json(tmp_path / "list.json", {"a": 1})
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="expected a JSON object"):
        read_json(tmp_path / "list.json")


@pytest.mark.parametrize("payload, kind, minimum, message", [
    ({"length": "abc"}, int, None, "'length' must be an integer, not \"abc\""),
    ({"length": True}, int, None, "must be an integer, not true"),
    ({"explored": -5}, int, 0, "'explored' must be >= 0, not -5"),
    ({}, int, None, "not missing"),
    ({"t": "nan"}, float, None, "must be a number"),
    ({"t": 1e400}, float, None, "must be a number"),
])
def test_require_names_the_field(payload, kind, minimum, message):
    key = next(iter(payload), "length")
    with pytest.raises(ValueError, match="result.json: field") as error:
        require(payload, key, kind, "result.json", minimum=minimum)
    assert message in str(error.value)


def test_require_accepts_good_values():
    assert require({"n": 3}, "n", int, "f", minimum=0) == 3
    assert require({"t": 2}, "t", float, "f") == 2.0
    assert require({"t": None}, "t", float, "f", optional=True) is None
