"""Corrupt run files on ``--resume``: exit code 2, one line naming the file (and field).

A search run directory and a training run directory are made once per module; each case
copies one, damages one file, and resumes it in-process. Cases that are in fact valid
(a missing best.asm the manifest can restore) are checked to work instead.
"""

import json
import shutil

import pytest

from discover.cli import main

SEARCH = ["search", "--task", "sort3", "--method", "stochastic", "--steps", "2000"]
TRAIN = ["train", "--task", "sort2", "--max-iterations", "1", "--games", "2",
         "--simulations", "16", "--no-progress"]


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "run"
    assert main([*SEARCH, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def train_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "run"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return out


def _edit_json(path, change):
    payload = json.loads(path.read_text())
    change(payload)
    path.write_text(json.dumps(payload))


def _damage(out, name, damage):
    """Damage ``out/name``: new text or bytes, or a function of its JSON payload."""
    path = out / name
    if callable(damage):
        _edit_json(path, damage)
    elif isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        path.write_text(damage)


def _set(key, value):
    return lambda payload: payload.__setitem__(key, value)


def _drop(key):
    return lambda payload: payload.pop(key)


RESULT = "result.json"
SEARCH_CASES = [
    # (file, damage: text or a function of the JSON payload, what the message names)
    (RESULT, "", "corrupt JSON"),
    (RESULT, "{", "corrupt JSON"),
    (RESULT, "[" * 200_000 + "]" * 200_000, "nested too deeply"),
    (RESULT, "[1, 2]", "expected a JSON object"),
    (RESULT, "\xff\xfe", "corrupt JSON"),
    (RESULT, _set("length", "abc"), "'length' must be an integer"),
    (RESULT, _set("length", 0), "'length' must be >= 1"),
    (RESULT, _set("explored", -5), "'explored' must be >= 0"),
    (RESULT, _set("explored", 1.5), "'explored' must be an integer"),
    (RESULT, _set("explored", True), "'explored' must be an integer"),
    (RESULT, _drop("explored"), "'explored' must be an integer, not missing"),
    (RESULT, _set("task", 3), "'task' must be a string"),
    (RESULT, _set("task", "sort4"), "is a run of 'sort4'"),
    (RESULT, _set("registers", 9), "with 9 registers"),
    (RESULT, _set("registers", "4"), "'registers' must be an integer"),
    (RESULT, _set("seed", -1), "'seed' must be >= 0"),
    (RESULT, _set("method", None), "'method' must be a string"),
    (RESULT, _set("search_time", "fast"), "'search_time' must be a number"),
    (RESULT, _set("config", [1]), "'config' must be an object"),
    (RESULT, _set("config", {"alpha": -1.0}), "field 'config'"),
    (RESULT, _set("config", {"chains": 10 ** 9}), "field 'config'"),
    (RESULT, _set("program", 17), "'program' must be a string"),
    (RESULT, _set("program", "movx r0, m0\n"), "field 'program': line 1"),
    (RESULT, _set("program", "mov r0, m0\nmov m0, r0\n"), "not a correct program"),
    (RESULT, _drop("program"), "records a program of 18 instructions but not its text"),
    ("best.asm", "movv r0, m0\n", "line 1"),
    ("best.asm", "mov r0, m0\nmov m0, r0\n", "not a correct sort3 program"),
    ("best.asm", "mov r99, m0\n", "r99 out of range"),
    ("best.asm", b"\xff\xfe\x00", "cannot read"),
]


@pytest.mark.parametrize("name, damage, message", SEARCH_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(SEARCH_CASES)])
def test_search_resume_of_a_corrupt_run_exits_2(capsys, tmp_path, search_run, name, damage,
                                                message):
    out = tmp_path / "run"
    shutil.copytree(search_run, out)
    _damage(out, name, damage)
    code, _, err = run(capsys, ["search", "--task", "sort3", "--resume", out, "--steps", 10])
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_search_resume_restores_a_deleted_best_asm(capsys, tmp_path, search_run):
    out = tmp_path / "run"
    shutil.copytree(search_run, out)
    (out / "best.asm").unlink()
    code, _, err = run(capsys, ["search", "--task", "sort3", "--resume", out, "--steps", 10])
    assert code == 0 and "restored" in err
    manifest = json.loads((out / RESULT).read_text())
    assert (out / "best.asm").read_text().endswith(manifest["program"])


CONFIG, CHECKPOINT = "config.json", "checkpoint.pt"
TRAIN_CASES = [
    (CONFIG, "", "corrupt JSON"),
    (CONFIG, "[" * 200_000 + "]" * 200_000, "nested too deeply"),
    (CONFIG, "7", "expected a JSON object"),
    (CONFIG, _set("surprise", 1), "incompatible config"),
    (CONFIG, _set("games", "many"), "incompatible config"),
    (CONFIG, _set("games", -3), "incompatible config"),
    (CONFIG, _set("network", 5), "incompatible config"),
    (CONFIG, _set("task", "sort9"), "incompatible config"),
    (CHECKPOINT, "", "corrupt checkpoint"),
    (CHECKPOINT, "not a checkpoint", "corrupt checkpoint"),
    (CHECKPOINT, b"\x80\x04K\x07.", "corrupt checkpoint"),
]


@pytest.mark.parametrize("name, damage, message", TRAIN_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TRAIN_CASES)])
def test_train_resume_of_a_corrupt_run_exits_2(capsys, tmp_path, train_run, name, damage,
                                               message):
    out = tmp_path / "run"
    shutil.copytree(train_run, out)
    _damage(out, name, damage)
    code, _, err = run(capsys, ["train", "--resume", out, "--max-iterations", 2,
                                "--no-progress"])
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_train_resume_with_a_truncated_checkpoint_exits_2(capsys, tmp_path, train_run):
    out = tmp_path / "run"
    shutil.copytree(train_run, out)
    data = (out / CHECKPOINT).read_bytes()
    (out / CHECKPOINT).write_bytes(data[: len(data) // 2])
    code, _, err = run(capsys, ["train", "--resume", out, "--no-progress"])
    assert code == 2 and "corrupt checkpoint" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("payload", [7, {"format": 99}, {"config": {}}])
def test_train_resume_of_another_checkpoint_format_exits_2(capsys, tmp_path, train_run,
                                                           payload):
    import torch

    out = tmp_path / "run"
    shutil.copytree(train_run, out)
    torch.save(payload, out / CHECKPOINT)
    code, _, err = run(capsys, ["train", "--resume", out, "--no-progress"])
    assert code == 2 and "not a discover train checkpoint" in err
    assert len(err.strip().splitlines()) == 1
