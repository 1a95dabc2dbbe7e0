"""The agent on comparison kernels: config, game spec, the kernel bound, training runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from discover.agent import MCTSConfig, NetworkConfig, TrainConfig, train  # noqa: E402
from discover.agent.game import GameSpec, default_max_length  # noqa: E402
from discover.agent.mcts import Search, Tree, choose, uniform_evaluator  # noqa: E402
from discover.agent.selfplay import KernelBound, SelfPlay  # noqa: E402
from discover.cli import main  # noqa: E402
from discover.kernels import Program, Task, baseline_program, verify  # noqa: E402
from discover.validation import ConfigError  # noqa: E402

TINY_NET = NetworkConfig(embed_dim=16, state_hidden=32, hidden=32)


def second4() -> Task:
    return Task.from_function("second4", 4, lambda a: sorted(a)[1:2])


def tiny(tmp_path, task="median3", name="run", **kwargs) -> TrainConfig:
    base = dict(task=task, out=str(tmp_path / name), progress=False, network=TINY_NET,
                mcts=MCTSConfig(simulations=48), games=8, train_steps=2, batch_size=32,
                max_iterations=3, budget_minutes=3.0, checkpoint_every=1e9, eval_every=0)
    base.update(kwargs)
    return TrainConfig(**base)


def test_config_of_a_kernel_task():
    config = TrainConfig(task="median5")
    assert config.n == 5 and not config.variable and not config.is_sort
    assert config.target is None  # no known optimum: the whole budget
    assert TrainConfig(task="sort3").target == 17 and TrainConfig(task="sort3").is_sort
    assert TrainConfig(task="top2-of-5").run_dir == "runs/train-top2-of-5-seed0"
    with pytest.raises(ConfigError, match="median4"):
        TrainConfig(task="median4")


def test_config_takes_a_task_object_by_its_name():
    task = second4()
    config = TrainConfig(task=task)
    assert config.task == "second4" and config.task_spec == task
    assert TrainConfig(task=Task.from_name("median3")).task == "median3"
    assert TrainConfig(task=Task(3, registers=6)).registers == 6
    assert TrainConfig.from_json(config.to_json()) == config


def test_game_spec_of_a_kernel():
    spec = GameSpec.from_config(TrainConfig(task="min2max4"))
    task = Task.from_name("min2max4")
    assert spec.task == task
    assert spec.max_length == default_max_length(task) == len(baseline_program(task)) + 4
    assert spec._expected.shape == (2, task.n_inputs)  # K rows, not N
    env = spec.make()
    obs, _ = env.reset()
    assert spec.potential(spec.state_of(env, obs)) < 1.0
    for row in baseline_program(task):
        obs, *_ = env.step(env.action_of(tuple(row)))
    assert env.solved and spec.potential(spec.state_of(env, obs)) == 1.0


@pytest.mark.parametrize("name", ["median3", "median5", "min2max4", "top2-of-4", "merge2+2",
                                  "stablesort2", "second4"])
def test_kernel_bound_is_admissible_along_the_baseline_and_zero_when_solved(name):
    task = second4() if name == "second4" else Task.from_name(name)
    spec = GameSpec.from_config(TrainConfig(task=name))
    bound = SelfPlay(spec, TrainConfig(task=name)).bound
    assert isinstance(bound._bound, KernelBound)
    program = baseline_program(task)
    env = spec.make()
    remaining = np.arange(len(program), -1, -1)
    for attached in (False, True):
        bound.attach(env if attached else None)
        obs, _ = env.reset()
        bounds = [bound(spec.state_of(env, obs))]
        for row in program:
            obs, *_ = env.step(env.action_of(tuple(row)))
            bounds.append(bound(spec.state_of(env, obs)))
        assert np.all(np.array(bounds) <= remaining), bounds
        assert bounds[-1] == 0 and bounds[0] >= 4  # stores, loads, cmovs, cmps: one each
        if attached:  # every input cell still to be loaded
            assert bounds[0] >= task.n_outputs + task.n


def test_kernel_bound_counts_what_is_missing():
    task = Task.from_name("min2max2")  # m0 = min, m1 = max of two: 8 instructions
    bound = KernelBound(task)
    game = GameSpec.from_config(TrainConfig(task="min2max2")).make()
    obs, _ = game.reset()
    # two stores, two loads (each input needs both values, no register holds any), two
    # cmovs (neither the min row nor the max row exists: a cmov makes one), one cmp; the
    # baseline (8) adds the mov that saves a copy
    assert bound(obs["state"]) == 7
    bound.attach(game)  # the loads' progress: still two loads (both cells unread)
    assert bound(obs["state"]) == 7
    median5 = KernelBound(Task.from_name("median5"))
    game5 = GameSpec.from_config(TrainConfig(task="median5")).make()
    obs5, _ = game5.reset()
    assert median5(obs5["state"]) == 1 + 1 + 3 + 3  # a store, a value, log2(5) twice
    median5.attach(game5)
    assert median5(obs5["state"]) == 1 + 5 + 3 + 3  # five cells to load
    lost = obs["state"].copy()
    lost[task.registers:task.registers + 2] = 0  # both inputs gone: a value held nowhere
    assert bound(lost) > 100


def test_uniform_search_finds_a_median3_program():
    config = TrainConfig(task="median3")
    spec = GameSpec.from_config(config)
    selfplay = SelfPlay(spec, config)
    game = selfplay.game()
    obs, _ = game.reset()
    found = []
    search = Search(game, spec.state_of, spec.max_moves, uniform_evaluator(spec.n_actions),
                    MCTSConfig(simulations=3000, noise_fraction=0.0), np.random.default_rng(0),
                    found.append, selfplay.shaping_potential(1.0), 1.0, selfplay.bound)
    tree = Tree(search.root(obs))
    while not tree.root.terminal and not found:
        search.run([tree], noise=False)
        tree.advance(choose(tree.root, 0.0, np.random.default_rng(0)))
    assert found and all(verify(p, spec.task).correct for p in found)


def test_short_train_on_median3_returns_a_verified_program(tmp_path):
    result = train(tiny(tmp_path, seed=2))
    assert result.program is not None
    check = verify(result.program, Task.from_name("median3"))
    assert check.correct and len(result.program) <= 15
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["correct"] and summary["task"] == "median3"
    assert summary["length"] == len(result.program)
    again = train(tiny(tmp_path, name="again", seed=2))  # same seed, same result
    assert again.program.text() == result.program.text()
    assert again.iterations == result.iterations


def test_user_task_trains_in_process_and_in_a_spawned_actor(tmp_path):
    task = second4()
    for actors, name in ((1, "one"), (2, "two")):
        result = train(tiny(tmp_path, task=task, name=name, actors=actors, games=4,
                            max_iterations=1))
        assert result.config.task == "second4"
        if result.program is not None:
            assert verify(result.program, task).correct
        for entry in result.hall_of_fame:
            assert verify(Program.parse(entry["program"]), task).correct


def test_cli_train_on_a_kernel(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["train", "--task", "median3", "--seed", "2", "--max-iterations", "3",
                 "--games", "8",
                 "--simulations", "48", "--embed-dim", "16", "--state-hidden", "32",
                 "--hidden", "32", "--train-steps", "2", "--batch-size", "32", "--eval-every",
                 "0", "--checkpoint-every", "1e9", "--out", str(out), "--no-progress"])
    text = capsys.readouterr()
    assert code == 0, text.err
    program = Program.parse((out / "best.asm").read_text())
    assert verify(program, Task.from_name("median3")).correct


def test_cli_train_refuses_an_unknown_kernel(tmp_path, capsys):
    code = main(["train", "--task", "median4", "--out", str(tmp_path / "x"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "median4" in err and len(err.strip().splitlines()) == 1
