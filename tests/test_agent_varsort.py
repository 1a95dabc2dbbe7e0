"""The discovery agent on the VarSort game: a few-second training run, resume, PPO, CLI."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from discover.agent import MCTSConfig, NetworkConfig, PPOConfig, TrainConfig, train  # noqa: E402
from discover.agent.game import GameSpec  # noqa: E402
from discover.agent.selfplay import LengthBound  # noqa: E402
from discover.cli import main  # noqa: E402
from discover.envs import VarSortGame  # noqa: E402
from discover.kernels import Program, Task, verify  # noqa: E402
from discover.validation import ConfigError  # noqa: E402

from test_envs_varsort import ALPHADEV_VARSORT3  # noqa: E402

TINY_NET = NetworkConfig(embed_dim=16, layers=0, state_hidden=32, hidden=32)


def tiny(tmp_path, name="run", **kwargs) -> TrainConfig:
    base = dict(task="varsort2", out=str(tmp_path / name), progress=False, network=TINY_NET,
                mcts=MCTSConfig(simulations=32), games=4, train_steps=2, batch_size=32,
                max_iterations=3, budget_minutes=2.0, checkpoint_every=1e9, eval_every=1,
                ppo=PPOConfig(envs=4, epochs=1, minibatch=32))
    base.update(kwargs)
    return TrainConfig(**base)


def test_smoke_training_finds_a_verified_varsort2_program(tmp_path):
    result = train(tiny(tmp_path))
    task = Task.from_name("varsort2")
    assert result.program is not None and verify(result.program, task).correct
    saved = Program.read(tmp_path / "run" / "best.asm")
    assert saved == result.program and saved.branches
    assert result.to_json()["correct"]


def test_resume_continues_a_varsort_run_exactly(tmp_path):
    straight = train(tiny(tmp_path, "straight", eval_every=0))
    train(tiny(tmp_path, "split", eval_every=0, max_iterations=1))
    resumed = train(tiny(tmp_path, "split", eval_every=0, resume=True))
    assert resumed.iterations == 3 and resumed.episodes == straight.episodes
    assert resumed.program == straight.program


def test_ppo_plays_the_varsort_game_and_resumes(tmp_path):
    config = tiny(tmp_path, "ppo", agent="ppo", max_iterations=1)
    train(config)
    resumed = train(tiny(tmp_path, "ppo", agent="ppo", max_iterations=2, resume=True))
    assert resumed.iterations == 2


def test_spec_sizes_follow_the_game():
    spec = GameSpec.from_config(TrainConfig(task="varsort3"))
    env = spec.make()
    assert spec.slots == Task.from_name("varsort3").slots + 1
    assert spec.max_moves == 2 * spec.max_length == env.max_moves
    assert spec.n_actions == len(env.actions) and spec.has_bound


def test_length_bound_is_admissible_on_the_alphadev_program():
    env = VarSortGame("varsort3", max_length=21)
    bound = LengthBound(env.task)
    obs, _ = env.reset()
    for move in ALPHADEV_VARSORT3:
        assert env.length + bound(obs["state"]) <= 21
        obs, *_ = env.step(env.action_of(move))
    assert bound(obs["state"]) == 0 and env.solved


def test_varsort_config_checks():
    with pytest.raises(ConfigError, match="cost"):
        TrainConfig(task="varsort3", cost="latency")
    assert TrainConfig(task="varsort3").target is None
    assert TrainConfig(task="varsort3").n == 3


def test_cli_trains_varsort2_and_prints_isa_v2_text(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["train", "--task", "varsort2", "--out", str(out), "--max-iterations", "3",
                 "--simulations", "32", "--games", "4", "--embed-dim", "16", "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0
    assert "cmp n, " in text and "no fault" in text
    assert verify(Program.read(out / "best.asm"), Task.from_name("varsort2")).correct


def test_cli_bad_task_exits_2(tmp_path, capsys):
    assert main(["train", "--task", "varsort9", "--out", str(tmp_path / "x")]) == 2
    assert "varsort9" in capsys.readouterr().err
    assert main(["train", "--task", "varsort3", "--cost", "latency",
                 "--out", str(tmp_path / "y")]) == 2


def test_moves_give_the_tokens_of_a_fixed_game_as_before():
    """The fixed game's moves() are its program's actions: the network sees the same tokens."""
    from discover.agent.features import Featurizer

    spec = GameSpec.from_config(TrainConfig(task="sort3"))
    env = spec.make()
    env.reset()
    for _ in range(6):
        env.step(int(np.flatnonzero(env.action_masks())[0]))
    f = Featurizer(spec.actions, spec.inputs, spec.slots, spec.max_moves)
    assert np.array_equal(f.tokens_of(env.program().code), f.tokens_of_moves(env.moves()))
