"""The discovery agent: search, training loop, resume, checkpoints, PPO, command line."""

from __future__ import annotations

import csv

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from discover.runs import RunDirError  # noqa: E402
from discover.agent import MCTSConfig, NetworkConfig, PPOConfig, TrainConfig, train  # noqa: E402
from discover.agent.game import GameSpec  # noqa: E402
from discover.agent.mcts import Search, Tree, choose, uniform_evaluator  # noqa: E402
from discover.agent.rundir import CHECKPOINT  # noqa: E402
from discover.agent.selfplay import SelfPlay  # noqa: E402
from discover.cli import main  # noqa: E402
from discover.kernels import Program, Task, verify  # noqa: E402

TINY_NET = NetworkConfig(embed_dim=16, layers=1, heads=2, state_hidden=32, hidden=32)


def tiny(tmp_path, name="run", **kwargs) -> TrainConfig:
    base = dict(task="sort2", out=str(tmp_path / name), progress=False, network=TINY_NET,
                mcts=MCTSConfig(simulations=16), games=4, train_steps=2, batch_size=32,
                max_iterations=2, budget_minutes=2.0, target_length=None, checkpoint_every=1e9,
                eval_every=1, ppo=PPOConfig(envs=4, epochs=1, minibatch=32))
    base.update(kwargs)
    return TrainConfig(**base)


class CheckedGame:
    """A game proxy that fails the test if anyone steps a masked action."""

    def __init__(self, game):
        self.game = game
        self.steps = 0

    def __getattr__(self, name):
        return getattr(self.game, name)

    def step(self, action):
        assert self.game.action_masks()[action], f"masked action {action} was played"
        self.steps += 1
        return self.game.step(action)


def checked_factory(made):
    def factory(task, max_length, cost, **options):
        from discover.envs import AssemblyGame

        game = CheckedGame(AssemblyGame(task=task.name, registers=task.registers,
                                        max_length=max_length, cost=cost, **options))
        made.append(game)
        return game

    return factory


def test_tiny_run_finds_a_correct_sort2_program(tmp_path):
    result = train(tiny(tmp_path))
    assert result.program is not None
    task = Task.from_name("sort2")
    assert verify(result.program, task).correct
    saved = Program.read(tmp_path / "run" / "best.asm")
    assert saved == result.program and verify(saved, task).correct
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [int(r["iteration"]) for r in rows] == [1, 2]
    assert (tmp_path / "run" / "curve.png").stat().st_size > 0
    assert result.hall_of_fame and result.hall_of_fame[-1]["length"] == len(result.program)


def test_resume_continues_the_run_exactly(tmp_path):
    """Same seed, same run; and a run resumed from its checkpoint ends where it would have."""
    straight = train(tiny(tmp_path, "straight", eval_every=0))
    train(tiny(tmp_path, "split", eval_every=0, max_iterations=1))
    resumed = train(tiny(tmp_path, "split", eval_every=0, resume=True))
    assert resumed.iterations == 2 and resumed.episodes == straight.episodes
    assert resumed.program == straight.program
    strip = lambda path: [{k: v for k, v in r.items() if k != "elapsed"}  # noqa: E731
                          for r in csv.DictReader(open(path / "metrics.csv"))]
    assert strip(tmp_path / "straight") == strip(tmp_path / "split")
    a = torch.load(tmp_path / "straight" / CHECKPOINT, weights_only=False)
    b = torch.load(tmp_path / "split" / CHECKPOINT, weights_only=False)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert np.array_equal(a["replay"]["returns"], b["replay"]["returns"])


def test_a_run_directory_is_not_overwritten(tmp_path):
    train(tiny(tmp_path, max_iterations=1, eval_every=0, games=1))
    with pytest.raises(RunDirError, match="already holds a run"):
        train(tiny(tmp_path, max_iterations=1))


def test_uniform_search_finds_the_sort2_optimum():
    spec = GameSpec.from_config(TrainConfig(task="sort2"))
    game = spec.make()
    obs, _ = game.reset(seed=0)
    found = []
    search = Search(game, spec.state_of, spec.max_length, uniform_evaluator(spec.n_actions),
                    MCTSConfig(simulations=3000, noise_fraction=0.0), np.random.default_rng(0),
                    found.append, spec.potential, 1.0)
    search.run([Tree(search.root(obs))], noise=False)
    assert found and min(len(p) for p in found) == 8
    assert all(verify(p, Task.from_name("sort2")).correct for p in found)


@pytest.mark.parametrize("name", ["sort2", "sort3", "sort4"])
def test_state_bound_is_admissible_and_zero_when_solved(name):
    """Along the network program the bound never exceeds the instructions that follow."""
    from discover.kernels import baseline_program
    from discover.kernels import initial_state, step
    from discover.search.bound import StateBound

    task = Task.from_name(name)
    bound = StateBound(task)
    code = baseline_program(task).code
    state = initial_state(task.inputs, task.registers)
    values = [bound(state)]
    for op, dst, src in code:
        step(state, op, dst, src, task.registers)
        values.append(bound(state))
    assert all(v <= len(code) - i for i, v in enumerate(values))
    assert values[-1] == 0 and values[0] > 0


def test_state_bound_starts_afresh_when_its_tables_fill():
    from discover.kernels import initial_state
    from discover.search.bound import StateBound

    task = Task.from_name("sort3")
    bound = StateBound(task, max_rows=1)  # every call past the first tables is a fresh start
    state = initial_state(task.inputs, task.registers)
    assert len({bound(state) for _ in range(50)}) == 1


def test_pruned_search_closes_positions_that_cannot_finish_in_budget():
    """With the bound, a search whose every leaf is closed stops spending simulations;
    every node it closed early is one no correct program within the budget continues."""
    spec = GameSpec.from_config(TrainConfig(task="sort3"))
    game = spec.make(12)  # shorter than sort3's optimum (17): nothing is solvable
    obs, _ = game.reset(seed=0)
    search = Search(game, spec.state_of, 12, uniform_evaluator(spec.n_actions),
                    MCTSConfig(simulations=400), np.random.default_rng(0), None,
                    spec.potential, 1.0, SelfPlay(spec, TrainConfig(task="sort3")).bound)
    tree = Tree(search.root(obs))
    search.run([tree], noise=False)
    assert tree.root.closed  # every first move leaves a lower bound over the budget
    assert tree.root.visits.sum() == len(tree.root.legal)  # one visit each, then closed


def test_pruning_finds_the_sort3_optimum_with_a_uniform_prior():
    spec = GameSpec.from_config(TrainConfig(task="sort3"))
    game = spec.make(17)
    obs, _ = game.reset(seed=0)
    found = []
    search = Search(game, spec.state_of, 17, uniform_evaluator(spec.n_actions),
                    MCTSConfig(simulations=4000, noise_fraction=0.0), np.random.default_rng(0),
                    found.append, spec.potential, 1.0, SelfPlay(spec, TrainConfig(task="sort3")).bound)
    tree = Tree(search.root(obs))
    for _ in range(17):
        if tree.root.terminal or found:
            break
        search.run([tree], noise=False)
        tree.advance(choose(tree.root, 0.0, np.random.default_rng(0)))
    assert found and all(len(p) == 17 and verify(p, Task.from_name("sort3")).correct
                         for p in found)


def test_sort2_has_no_program_shorter_than_8():
    """Exhaustive over the game's masked moves (which keep an optimal program of every
    length, envs/masks.py): nothing of 7 instructions or fewer sorts two items."""
    from discover.envs import AssemblyGame

    game = AssemblyGame(task="sort2", max_length=7)
    game.reset(seed=0)

    def solvable() -> bool:
        snapshot = game.clone()
        for action in np.flatnonzero(game.action_masks()):
            game.restore(snapshot)
            _, _, terminated, truncated, info = game.step(int(action))
            if info["solved"] or (not (terminated or truncated) and solvable()):
                return True
        game.restore(snapshot)
        return False

    assert not solvable()


def test_masks_are_respected_by_search_and_targets():
    made = []
    config = TrainConfig(task="sort3", mcts=MCTSConfig(simulations=24))
    spec = GameSpec.from_config(config, factory=checked_factory(made))
    result = SelfPlay(spec, config).play(uniform_evaluator(spec.n_actions), 3,
                                         np.random.default_rng(1), lambda p: None)
    assert sum(g.steps for g in made) > 100
    # Policy targets put no mass on masked actions.
    assert not (result["policies"][~result["masks"]] > 0).any()
    assert np.allclose(result["policies"].sum(1), 1.0)


def test_choose_never_picks_an_illegal_move():
    spec = GameSpec.from_config(TrainConfig(task="sort3"))
    game = spec.make()
    obs, _ = game.reset(seed=0)
    search = Search(game, spec.state_of, spec.max_length, uniform_evaluator(spec.n_actions),
                    MCTSConfig(simulations=32), np.random.default_rng(0))
    tree = Tree(search.root(obs))
    rng = np.random.default_rng(0)
    while not tree.root.terminal:
        search.run([tree], noise=True)
        index = choose(tree.root, 1.0, rng)
        assert tree.root.mask[tree.root.legal[index]]
        tree.advance(index)


def test_ppo_respects_masks_and_finds_the_sort2_optimum(tmp_path):
    """32 games of the untrained (uniform) policy: seed 0 plays an 8-instruction sort2."""
    made = []
    config = tiny(tmp_path, agent="ppo", max_iterations=2,
                  ppo=PPOConfig(envs=32, epochs=1, minibatch=32))
    import discover.agent.game as game_module

    original = game_module._default_factory
    game_module._default_factory = checked_factory(made)
    try:
        result = train(config)
    finally:
        game_module._default_factory = original
    assert sum(g.steps for g in made) >= 2 * 32 * 8
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert len(rows) == 2 and result.episodes == 2 * 32
    assert result.program is not None and len(result.program) == 8
    assert verify(result.program, Task.from_name("sort2")).correct
    assert [entry["iteration"] for entry in result.hall_of_fame] == [0]


def test_cli_train_runs_and_prints_a_verified_program(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["train", "--task", "sort2", "--out", str(out), "--max-iterations", "2",
                 "--simulations", "16", "--games", "4", "--embed-dim", "16", "--heads", "2",
                 "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0
    assert "correct: sorts all 3 weak orderings" in text
    assert Program.read(out / "best.asm")


def test_cli_train_that_finds_nothing_exits_1(tmp_path, capsys):
    # 5 instructions cannot sort 2 items (2 loads, 2 stores, a cmp and a cmov at least).
    code = main(["train", "--task", "sort2", "--out", str(tmp_path / "none"), "--max-length", "5",
                 "--max-iterations", "1", "--simulations", "8", "--games", "2", "--no-progress"])
    assert code == 1
    assert "no correct program found" in capsys.readouterr().out


def test_cli_refuses_a_corrupt_checkpoint(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["train", "--task", "sort2", "--out", str(out), "--max-iterations", "1",
                 "--simulations", "16", "--games", "2", "--no-progress"]) == 0  # finds 8
    (out / CHECKPOINT).write_bytes(b"not a checkpoint")
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--max-iterations", "2"]) == 2
    err = capsys.readouterr().err
    assert "corrupt checkpoint" in err and len(err.strip().splitlines()) == 1


def test_cli_refuses_an_incompatible_checkpoint(tmp_path, capsys):
    out = tmp_path / "other"
    assert main(["train", "--task", "sort2", "--out", str(out), "--max-iterations", "1",
                 "--simulations", "16", "--games", "2", "--no-progress"]) == 0  # finds 8
    config = TrainConfig.from_json(__import__("json").load(open(out / "config.json")))
    from discover.runs import write_json

    write_json(out / "config.json", {**config.to_json(), "task": "sort3"})
    assert main(["train", "--resume", str(out)]) == 2
    assert "incompatible" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "missing")]) == 2


def test_bad_options_exit_2(tmp_path, capsys):
    assert main(["train", "--task", "sort9", "--out", str(tmp_path / "x")]) == 2
    assert main(["train", "--device", "tpu", "--out", str(tmp_path / "y")]) == 2
    assert main(["train", "--simulations", "many"]) == 2


def test_two_actors_share_the_games(tmp_path):
    """Self-play on both cores: a helper process plays half of each iteration's games."""
    result = train(tiny(tmp_path, actors=2, max_iterations=1, eval_every=0))
    assert result.episodes == 4
    assert result.program is not None and verify(result.program, Task.from_name("sort2")).correct


def test_the_known_optimum_comes_from_discover_known():
    """One place for the shortest known lengths: the .asm files, else the network program."""
    from discover.agent import KNOWN_OPTIMUM
    from discover.kernels import baseline_program
    from discover.known import known_length, known_program
    from discover.measure import known_program as measured

    assert {n: known_length(n) for n in (2, 3, 4, 5)} == KNOWN_OPTIMUM == {2: 8, 3: 17, 4: 28, 5: 42}
    for n in (3, 5):
        assert len(known_program(Task(n))) == known_length(n)
        assert verify(known_program(Task(n)), Task(n)).correct
        assert measured(Task(n)) == known_program(Task(n))
    for n in (2, 4):  # no file: the network program is the shortest known
        assert known_program(Task(n)) is None
        assert known_length(n) == len(baseline_program(Task(n)))
    assert TrainConfig(task="sort3").target == 17
    assert TrainConfig(task="sort6").target is None  # the network only: no early stop


def test_network_inputs_shrink_the_network_view_but_not_the_game(tmp_path):
    """--network-inputs: the network reads an evenly spaced subset of the inputs, while the
    game, the bound and the replay keep every one; the run still verifies what it finds."""
    from discover.envs.base import evenly_spaced
    from discover.agent.model import Agent

    config = tiny(tmp_path, task="sort3", network_inputs=5)
    spec = GameSpec.from_config(config)
    assert spec.n_inputs == 13 and spec.has_bound
    assert list(spec.network_columns) == list(evenly_spaced(13, 5)) == [0, 3, 6, 9, 12]
    agent = Agent(config, spec, torch.device("cpu"))
    game = spec.make()
    obs, _ = game.reset(seed=0)
    state = spec.state_of(game, obs)
    slots = agent.featurizer.slot_indices(state[None])
    assert slots.shape == (1, 5, spec.slots + 3)
    whole = tiny(tmp_path, task="sort3")
    full = Agent(whole, GameSpec.from_config(whole), torch.device("cpu")).featurizer
    full = full.slot_indices(state[None])
    assert np.array_equal(slots[0], full[0, spec.network_columns])
    result = train(config)
    assert result.iterations == 2
    if result.program is not None:
        assert verify(result.program, Task(3)).correct


def test_network_inputs_must_be_positive(tmp_path):
    from discover.validation import ConfigError

    with pytest.raises(ConfigError, match="network_inputs"):
        tiny(tmp_path, network_inputs=0)
