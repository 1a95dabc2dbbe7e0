"""Bad input to every command: exit code 2, one line on stderr naming the option, no traceback.

Each case fails validation before any work (no JIT compilation, no training), so the
table runs in-process in a few seconds. Also: program files that are not regular files,
the ConfigError of the Python API, and Ctrl-C while the command is still importing.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import default_sigint, wait_until
from discover.cli import main

KNOWN_SORT3 = "discover/known/sort3.asm"


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def paths(tmp_path):
    """A file, a directory, and a directory no one can write (root included)."""
    file = tmp_path / "file.txt"
    file.write_text("x")
    directory = tmp_path / "dir"
    directory.mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        (locked / "probe").write_text("")
    except OSError:
        unwritable = locked
    else:  # root writes anywhere on a normal file system: use a virtual one
        (locked / "probe").unlink()
        unwritable = "/sys/kernel"
        try:
            os.mkdir("/sys/kernel/discover-probe")
        except OSError:
            pass
        else:
            os.rmdir("/sys/kernel/discover-probe")
            unwritable = None
    yield {"FILE": str(file), "DIR": str(directory), "UNWRITABLE": unwritable,
           "TMP": str(tmp_path)}
    locked.chmod(0o700)


def expand(argv, paths):
    out = []
    for word in argv:
        for key, value in paths.items():
            if isinstance(word, str) and key in word:
                if value is None:
                    pytest.skip("no unwritable directory here")
                word = word.replace(key, str(value))
        out.append(word)
    return out


SEARCH = ["search", "--task", "sort3", "--out", "TMP/run"]
TRAIN = ["train", "--task", "sort2", "--out", "TMP/run", "--no-progress"]
BENCH = ["bench", "--task", "sort3"]

CASES = [
    # --- search: run directory, checked up front --------------------------------------
    (["search", "--task", "sort3", "--out", "FILE"], "--out"),
    (["search", "--task", "sort3", "--out", "FILE/run"], "--out"),
    (["search", "--task", "sort3", "--out", "UNWRITABLE/run"], "--out"),
    (["search", "--task", "sort3", "--out", ""], "--out"),
    (["search", "--task", "sort3", "--resume", ""], "--resume"),
    (["search", "--task", "sort3", "--resume", "TMP/missing"], "--resume"),
    # --- search: values ---------------------------------------------------------------
    (SEARCH + ["--chains", 1_000_000], "--chains"),
    (SEARCH + ["--chains", 0], "--chains"),
    (SEARCH + ["--time-limit", "inf"], "--time-limit"),
    (SEARCH + ["--time-limit", "1e309"], "--time-limit"),
    (SEARCH + ["--time-limit", "nan"], "--time-limit"),
    (SEARCH + ["--time-limit", "-1"], "--time-limit"),
    (SEARCH + ["--time-limit", "ten"], "--time-limit"),
    (SEARCH + ["--steps", 10**30], "--steps"),
    (SEARCH + ["--steps", -1], "--steps"),
    (SEARCH + ["--method", "random", "--steps", 10**30], "--steps"),
    (SEARCH + ["--memory-limit", "1e-12"], "--memory-limit"),
    (SEARCH + ["--memory-limit", "nan"], "--memory-limit"),
    (SEARCH + ["--method", "enum", "--memory-limit", "-1"], "--memory-limit"),
    (SEARCH + ["--method", "enum", "--max-length", 3], "--max-length"),
    (SEARCH + ["--method", "enum", "--max-length", 0], "--max-length"),
    (SEARCH + ["--max-length", 10**6], "--max-length"),
    (SEARCH + ["--seed", -1], "--seed"),
    (SEARCH + ["--seed", 2**70], "--seed"),
    (SEARCH + ["--method", "enum", "--seed", 2**63], "--seed"),
    (SEARCH + ["--alpha", "nan"], "--alpha"),
    (SEARCH + ["--beta", "inf"], "--beta"),
    (SEARCH + ["--beta-ratio", 0], "--beta-ratio"),
    (SEARCH + ["--restart-every", -1], "--restart-every"),
    (SEARCH + ["--cost", "speed"], "--cost"),
    (SEARCH + ["--method", "enum", "--cost", "speed"], "--cost"),
    (SEARCH + ["--method", "random", "--min-length", 30], "--min-length"),
    (SEARCH + ["--method", "random", "--min-length", 5, "--max-length", 3], "--min-length"),
    (SEARCH + ["--method", "random", "--min-length", 0], "--min-length"),
    (SEARCH + ["--method", "random", "--memory-limit", 1], "--memory-limit"),
    (SEARCH + ["--method", "enum", "--chains", 2], "--chains"),
    (SEARCH + ["--method", "anneal"], "--method"),
    (SEARCH + ["--registers", 0], "--registers"),
    (SEARCH + ["--registers", 17], "--registers"),
    (["search", "--task", "sort9", "--out", "TMP/run"], "--task"),
    (["search", "--task", "", "--out", "TMP/run"], "--task"),
    (["search", "--out", "TMP/run"], "--task"),
    # --- train: run directory -----------------------------------------------------------
    (["train", "--task", "sort2", "--out", "FILE"], "--out"),
    (["train", "--task", "sort2", "--out", "FILE/run"], "--out"),
    (["train", "--task", "sort2", "--out", "UNWRITABLE/run"], "--out"),
    (["train", "--task", "sort2", "--out", ""], "--out"),
    (["train", "--resume", "TMP/run", "--task", "sort3"], "--task"),
    (["train", "--resume", "TMP/run", "--simulations", 4], "--simulations"),
    (["train", "--resume", "TMP/run", "--out", "TMP/other"], "--out"),
    # --- train: values ----------------------------------------------------------------
    (TRAIN + ["--threads", 0], "--threads"),
    (TRAIN + ["--threads", -1], "--threads"),
    (TRAIN + ["--agent", "ppo", "--ppo-envs", 0], "--ppo-envs"),
    (TRAIN + ["--ppo-minibatch", 0], "--ppo-minibatch"),
    (TRAIN + ["--budget-minutes", "nan"], "--budget-minutes"),
    (TRAIN + ["--budget-minutes", -1], "--budget-minutes"),
    (TRAIN + ["--budget-minutes", 0], "--budget-minutes"),
    (TRAIN + ["--budget-minutes", "inf"], "--budget-minutes"),
    (TRAIN + ["--task", ""], "--task"),
    (TRAIN + ["--task", "sort9"], "--task"),
    (TRAIN + ["--registers", 99], "--registers"),
    (TRAIN + ["--max-iterations", -1], "--max-iterations"),
    (TRAIN + ["--checkpoint-every", -1], "--checkpoint-every"),
    (TRAIN + ["--checkpoint-every", "nan"], "--checkpoint-every"),
    (TRAIN + ["--max-length", 0], "--max-length"),
    (TRAIN + ["--train-steps", -1], "--train-steps"),
    (TRAIN + ["--eval-every", -1], "--eval-every"),
    (TRAIN + ["--shaping", "nan"], "--shaping"),
    (TRAIN + ["--bound-shaping=-inf"], "--bound-shaping"),
    (TRAIN + ["--target-length", -5], "--target-length"),
    (TRAIN + ["--discount", "nan"], "--discount"),
    (TRAIN + ["--discount", -1], "--discount"),
    (TRAIN + ["--temperature-moves", -1], "--temperature-moves"),
    (TRAIN + ["--dirichlet-alpha", 0], "--dirichlet-alpha"),
    (TRAIN + ["--greed", 2], "--greed"),
    (TRAIN + ["--noise-fraction", -0.5], "--noise-fraction"),
    (TRAIN + ["--simulations", 0], "--simulations"),
    (TRAIN + ["--simulations", "many"], "--simulations"),
    (TRAIN + ["--ppo-epochs", -1], "--ppo-epochs"),
    (TRAIN + ["--ppo-clip", "nan"], "--ppo-clip"),
    (TRAIN + ["--ppo-gae-lambda", "nan"], "--ppo-gae-lambda"),
    (TRAIN + ["--ppo-entropy", "nan"], "--ppo-entropy"),
    (TRAIN + ["--ppo-max-grad-norm", -1], "--ppo-max-grad-norm"),
    (TRAIN + ["--seed", 2**70], "--seed"),
    (TRAIN + ["--seed", -1], "--seed"),
    (TRAIN + ["--games", 2, "--actors", 3], "--actors"),
    (TRAIN + ["--actors", 10_000, "--games", 10_000], "--actors"),
    (TRAIN + ["--layers", 1, "--heads", 3], "--heads"),
    (TRAIN + ["--embed-dim", 0], "--embed-dim"),
    (TRAIN + ["--hidden", 10**9], "--hidden"),
    (TRAIN + ["--learning-rate", 0], "--learning-rate"),
    (TRAIN + ["--batch-size", 0], "--batch-size"),
    (TRAIN + ["--observed-inputs", 0], "--observed-inputs"),
    (TRAIN + ["--device", "tpu"], "--device"),
    (TRAIN + ["--agent", "dqn"], "--agent"),
    (TRAIN + ["--cost", "speed"], "--cost"),
    # --- bench ------------------------------------------------------------------------
    (BENCH + ["--arrays", 10**12], "--arrays"),
    (BENCH + ["--arrays", 0], "--arrays"),
    (BENCH + ["--repeats", 0], "--repeats"),
    (BENCH + ["--inner", 0], "--inner"),
    (BENCH + ["--seed", -1], "--seed"),
    (BENCH + ["--seed", 2**64], "--seed"),
    (BENCH + ["--plot", "UNWRITABLE/b.png"], "--plot"),
    (BENCH + ["--plot", "FILE/b.png"], "--plot"),
    (BENCH + ["--plot", "TMP/b.xyz"], "--plot"),
    (BENCH + ["--plot", "DIR"], "--plot"),
    (BENCH + ["--plot", ""], "--plot"),
    (BENCH + ["--json", "DIR"], "--json"),
    (BENCH + ["--json", "UNWRITABLE/b.json"], "--json"),
    (BENCH + ["--task", "sort0"], "--task"),
    # --- export, verify, baseline -------------------------------------------------------
    (["export", KNOWN_SORT3, "--task", "sort3", "--out", ""], "--out"),
    (["export", KNOWN_SORT3, "--task", "sort3", "--out", "DIR"], "--out"),
    (["export", KNOWN_SORT3, "--task", "sort3", "--out", "FILE/x.py"], "--out"),
    (["export", KNOWN_SORT3, "--task", "sort3", "--format", "rust"], "--format"),
    (["export", KNOWN_SORT3, "--task", "sort3", "--c-type", "int8"], "--c-type"),
    (["verify", KNOWN_SORT3], "--task"),
    (["verify", KNOWN_SORT3, "--task", "sort3", "--registers", 0], "--registers"),
    (["baseline", "--task", "SORT"], "--task"),
]


@pytest.mark.parametrize("argv, option", CASES, ids=[" ".join(map(str, a[:1] + a[-2:]))
                                                    for a, _ in CASES])
def test_bad_input_exits_2_with_one_line_naming_the_option(capsys, paths, argv, option):
    code, out, err = run(capsys, expand(argv, paths))
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("discover: error: ")
    assert option in lines[0]
    assert "Traceback" not in err


def test_enum_max_length_below_the_minimum_names_the_minimum(capsys, tmp_path):
    code, _, err = run(capsys, ["search", "--task", "sort3", "--method", "enum",
                                "--max-length", 3, "--out", tmp_path / "r"])
    assert code == 2
    assert "--max-length (3) is below the shortest possible sort3 program (8 instructions" in err


def test_method_option_names_the_methods_that_have_it(capsys, tmp_path):
    code, _, err = run(capsys, ["search", "--task", "sort3", "--method", "random",
                                "--memory-limit", 1, "--out", tmp_path / "r"])
    assert code == 2
    assert "--memory-limit 1 applies to --method enum, stochastic or beam only" in err
    code, _, err = run(capsys, ["search", "--task", "sort3", "--method", "random",
                                "--no-cold-start", "--out", tmp_path / "r"])
    assert code == 2 and "--no-cold-start applies to --method stochastic only" in err


def test_validation_leaves_no_directory_behind(capsys, tmp_path):
    target = tmp_path / "a" / "b"
    code, _, _ = run(capsys, ["search", "--task", "sort3", "--chains", 0, "--out", target])
    assert code == 2 and not (tmp_path / "a").exists()


# --- program files ---------------------------------------------------------------------

def test_program_fifo_is_refused_without_blocking(capsys, tmp_path):
    fifo = tmp_path / "p.asm"
    os.mkfifo(fifo)
    code, out, err = run(capsys, ["verify", fifo, "--task", "sort3"])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert str(fifo) in err and "not a regular file (a FIFO)" in err


def test_program_directory_and_huge_file_are_refused(capsys, tmp_path):
    code, _, err = run(capsys, ["verify", tmp_path, "--task", "sort3"])
    assert code == 2 and str(tmp_path) in err and "a directory" in err
    huge = tmp_path / "huge.asm"
    with open(huge, "wb") as handle:
        handle.truncate(2 << 20)  # sparse: 2 MB
    code, _, err = run(capsys, ["verify", huge, "--task", "sort3"])
    assert code == 2 and str(huge) in err and "1 MB" in err
    assert len(err.strip().splitlines()) == 1


# --- the same errors from Python ---------------------------------------------------------

def test_python_api_raises_config_error():
    from discover import ConfigError
    from discover.agent import MCTSConfig, PPOConfig, TrainConfig
    from discover.measure import BenchConfig
    from discover.search import RandomConfig, StochasticConfig
    from discover.search.enum import EnumConfig

    for make, field in [(lambda: TrainConfig(budget_minutes=-1), "budget_minutes"),
                        (lambda: TrainConfig(seed=2**70), "seed"),
                        (lambda: TrainConfig(task=""), "task"),
                        (lambda: MCTSConfig(discount=float("nan")), "discount"),
                        (lambda: PPOConfig(envs=0), "envs"),
                        (lambda: StochasticConfig(chains=10**6), "chains"),
                        (lambda: RandomConfig(programs=10**30), "programs"),
                        (lambda: EnumConfig(memory_limit_gb=1e-12), "memory_limit_gb"),
                        (lambda: BenchConfig(arrays=10**12), "arrays")]:
        with pytest.raises(ConfigError, match=field) as caught:
            make()
        assert caught.value.field == field
        assert isinstance(caught.value, ValueError)


# --- Ctrl-C ----------------------------------------------------------------------------

class _Interrupting:
    """A meta path finder that raises KeyboardInterrupt when one module is imported."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            raise KeyboardInterrupt


def test_ctrl_c_while_importing_exits_130_in_one_line(capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "discover.cli.app", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Interrupting("discover.cli.app")] + sys.meta_path)
    code, _, err = run(capsys, ["verify", KNOWN_SORT3, "--task", "sort3"])
    assert code == 130
    assert err.strip() == "discover: interrupted"


class _InterruptedImport(_Interrupting):
    """An import that a Ctrl-C breaks and that reports it as an ImportError (NumPy's C
    extension does: PyCapsule_Import could not import module "datetime")."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                raise ImportError("PyCapsule_Import could not import module") from None


def test_ctrl_c_that_an_import_turns_into_another_error_exits_130(capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "discover.cli.app", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_InterruptedImport("discover.cli.app")] + sys.meta_path)
    code, _, err = run(capsys, ["verify", KNOWN_SORT3, "--task", "sort3"])
    assert code == 130
    assert err.strip() == "discover: interrupted"


def test_an_import_error_without_ctrl_c_is_not_an_interruption(monkeypatch):
    monkeypatch.delitem(sys.modules, "discover.cli.app", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Failing("discover.cli.app")] + sys.meta_path)
    with pytest.raises(ImportError, match="broken"):
        main(["verify", KNOWN_SORT3, "--task", "sort3"])


class _Failing(_Interrupting):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            raise ImportError("broken")


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc")
def test_ctrl_c_at_start_of_the_command_exits_130_without_traceback():
    """SIGINT while NumPy and Numba are still loading (the first second of `discover verify`).

    The signal is sent as soon as NumPy's extension is mapped into the process, so it
    lands in our imports whatever the machine's speed (earlier, Python's own start-up
    would get it: no code of ours runs yet).
    """
    process = subprocess.Popen([sys.executable, "-m", "discover.cli", "verify", KNOWN_SORT3,
                                "--task", "sort3"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    try:
        maps = Path(f"/proc/{process.pid}/maps")
        wait_until(lambda: "_multiarray_umath" in maps.read_text(), process, poll=0.002)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert err.strip() == "discover: interrupted"
