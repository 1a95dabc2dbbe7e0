"""The core commands, in-process (`main([...])`), as a user would call them."""

import pytest
from discover.kernels import ALL_TASK_NAMES, TASK_NAMES

from discover import Program, Task, verify
from discover.cli import main

KNOWN_SORT3 = "discover/known/sort3.asm"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_tasks_lists_input_counts(capsys):
    code, out, _ = run(capsys, "tasks")
    assert code == 0
    assert "sort3" in out and "545835" in out and "598445" in out
    assert len(out.strip().splitlines()) == 1 + len(ALL_TASK_NAMES)  # a line per task


@pytest.mark.parametrize("name", TASK_NAMES)
def test_baseline_prints_a_verified_network(capsys, tmp_path, name):
    code, out, _ = run(capsys, "baseline", "--task", name)
    assert code == 0
    path = tmp_path / f"{name}.asm"
    path.write_text(out)
    assert verify(Program.read(path), Task.from_name(name)).correct
    code, out, _ = run(capsys, "verify", str(path), "--task", name)
    assert code == 0 and out.startswith("correct")


def test_verify_known_sort3(capsys):
    code, out, _ = run(capsys, "verify", KNOWN_SORT3, "--task", "sort3")
    assert code == 0
    assert "length: 17" in out and "register-only length: 11" in out
    assert "latency estimate:" in out


def test_verify_incorrect_exits_1_with_counterexample(capsys, tmp_path):
    path = tmp_path / "bad.asm"
    path.write_text(Program.read(KNOWN_SORT3).text().replace("cmovg r0, r3", "cmovl r0, r3"))
    code, out, _ = run(capsys, "verify", str(path), "--task", "sort3")
    assert code == 1
    assert out.startswith("incorrect:") and "counterexample input [" in out


@pytest.mark.parametrize("content, argv, message", [
    (None, ["--task", "sort3"], "cannot read"),
    ("mov r0, m0\ncmovx r0, r0\n", ["--task", "sort3"], "line 2: 'cmovx r0, r0': unknown instruction"),
    ("mov r0, m0\ncmp r0, r1\n", ["--task", "sort3"], "line 2: 'cmp r0, r1': r1 is read before"),
    ("mov r0, m0\ncmovl r0, r0\n", ["--task", "sort3"], "cmovl before any cmp"),
    ("mov r0, m5\n", ["--task", "sort3"], "m5 out of range"),
    ("mov r3, m0\n", ["--task", "sort3", "--registers", "3"], "r3 out of range"),
    ("mov r0, m0\n", ["--task", "sort9"], "unknown task 'sort9'"),
    ("mov r0, m0\n", ["--task", "sort3", "--registers", "x"], "invalid int value"),
    ("mov r0, m0\n", ["--task", "sort3", "--registers", "40"], "--registers must be"),
    (b"\xff\xfe\x00", ["--task", "sort3"], "cannot read"),
])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, content, argv, message):
    path = tmp_path / "p.asm"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "verify", str(path), *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err


def test_unknown_command_and_missing_arguments_exit_2(capsys):
    for argv in (["frobnicate"], ["verify"], [], ["baseline", "--task"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1


def test_baseline_needs_a_spare_register(capsys):
    code, _, err = run(capsys, "baseline", "--task", "sort4", "--registers", "4")
    assert code == 2 and "needs 5 registers" in err


# --- the options are generated from the config dataclasses ----------------------------------

def _parsed(*argv):
    from discover.cli.app import build_parser

    return build_parser(list(argv)).parse_args(list(argv))


def test_every_scalar_config_field_is_an_option_with_its_docstring():
    import dataclasses

    from discover.agent import MCTSConfig, NetworkConfig, PPOConfig, TrainConfig
    from discover.cli.options import field_docs
    from discover.search import RandomConfig, StochasticConfig
    from discover.search.enum import EnumConfig

    args = _parsed("train")
    for cls, prefix in ((TrainConfig, ""), (NetworkConfig, ""), (MCTSConfig, ""),
                        (PPOConfig, "ppo_")):
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            if f.name in ("resume", "network", "mcts", "ppo"):
                continue
            option = args.options.by_field[(cls, f.name)]
            assert option.flag == "--" + (prefix + f.name).replace("_", "-")
            assert docs[f.name] and docs[f.name] in option.action.help.replace("%%", "%")
    args = _parsed("search", "--task", "sort3")
    for cls in (EnumConfig, StochasticConfig, RandomConfig):
        skipped = {"start", "move_weights"}
        assert {name for c, name in args.options.by_field if c is cls} \
            == {f.name for f in dataclasses.fields(cls)} - skipped


def test_field_docs_reads_the_string_under_each_field():
    from discover.cli.options import field_docs
    from discover.measure import BenchConfig

    docs = field_docs(BenchConfig)
    assert docs["repeats"] == "K: repetitions over the arrays (native: per array)."
    assert set(docs) == {"arrays", "repeats", "inner", "seed", "native", "numba"}


def test_options_build_the_configs():
    from discover.cli.train import config_from_args

    config = config_from_args(_parsed("train", "--task", "sort4", "--no-prune", "--simulations",
                                      "7", "--ppo-clip", "0.1", "--embed-dim", "32",
                                      "--no-progress"))
    assert config.task == "sort4" and config.prune is False and config.progress is False
    assert config.mcts.simulations == 7 and config.ppo.clip == 0.1
    assert config.network.embed_dim == 32 and config.shrink_budget is True  # a default


def test_help_and_version_exit_0(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--ppo-clip" in out and "Policy ratio clipping." in out and "--no-prune" in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("discover ")


def test_verify_does_not_load_the_agent_or_torch():
    import subprocess
    import sys

    code = ("import sys; from discover.cli import main; "
            "assert main(['verify', 'discover/known/sort3.asm', '--task', 'sort3']) == 0; "
            "print(sorted(m for m in ('torch', 'discover.agent', 'matplotlib', 'tqdm') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
