"""The AssemblyGame on comparison kernels: K output cells, the rest scratch."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

import discover.envs as envs
from discover.envs import (KERNEL_ENV_IDS, KERNEL_ENV_TASKS, AssemblyGame, canonicalize,
                           make_game, reference_mask)
from discover.envs.masks import optional_cells
from discover.kernels import Program, Task, TaskError, baseline_program, verify

def second4() -> Task:
    return Task.from_function("second4", 4, lambda a: sorted(a)[1:2])


def play(game: AssemblyGame, program: Program) -> float:
    """Play a program move by move (each move must be allowed); the summed reward."""
    game.reset()
    total = 0.0
    for k, row in enumerate(program):
        action = game.action_of(tuple(row))
        assert game.action_masks()[action], (
            f"{game.task.name}: move {k + 1} ({game.instruction_of(action)}) is masked")
        _, reward, terminated, truncated, info = game.step(action)
        total += reward
        assert not info["illegal"]
        if k < len(program) - 1:
            assert not terminated and not truncated, f"ended after move {k + 1}"
    return total


def test_every_kernel_id_is_registered_with_its_task():
    assert len(KERNEL_ENV_IDS) == 20
    expected = {"discover/Median3-v0": "median3", "discover/Min2Max8-v0": "min2max8",
                "discover/Top2of5-v0": "top2-of-5", "discover/Top4of8-v0": "top4-of-8",
                "discover/Merge3x3-v0": "merge3+3", "discover/StableSort4-v0": "stablesort4"}
    for env_id, task in expected.items():
        assert KERNEL_ENV_TASKS[env_id] == task
    for env_id in KERNEL_ENV_IDS + ("discover/Assembly-v0",):
        assert env_id in gym.registry


@pytest.mark.parametrize("env_id", KERNEL_ENV_IDS)
def test_gym_make_reset_step(env_id):
    name = KERNEL_ENV_TASKS[env_id]
    env = gym.make(env_id)
    obs, info = env.reset(seed=0)
    game = env.unwrapped
    task = Task.from_name(name)
    assert game.task == task
    observed = min(task.n_inputs, envs.MAX_OBSERVED_INPUTS)
    assert obs["state"].shape[0] == task.slots and obs["state"].shape[1] <= observed
    assert env.observation_space.contains(obs)
    mask = info["action_mask"]
    assert mask.any()
    obs, reward, terminated, truncated, info = env.step(int(np.flatnonzero(mask)[0]))
    assert env.observation_space.contains(obs)
    assert not terminated and not truncated and not info["illegal"]


@pytest.mark.parametrize("name", list(KERNEL_ENV_TASKS.values()))
def test_the_baseline_is_playable_and_ends_correct_with_the_full_reward(name):
    task = Task.from_name(name)
    game = AssemblyGame(task=name)
    program = canonicalize(baseline_program(task), task)
    assert len(program) == len(baseline_program(task))  # already canonical
    assert game.max_length == len(program) + task.n  # the default budget
    total = play(game, program)
    assert game.solved and game._ended() and game.placed_fraction == 1.0
    assert verify(game.program(), task).correct
    # correct_weight (2) x (1 - placed at the start) + bonus (1) - cost_weight (0.5) x
    # length / the baseline's length: the reward counts the K output cells only.
    placed0 = np.count_nonzero(task.inputs[:task.n_outputs] == task.expected) / task.expected.size
    assert total == pytest.approx(2.0 * (1 - placed0) + 1.0 - 0.5)


def test_reward_counts_the_k_outputs_normalised_by_k_times_b():
    task = Task.from_name("median3")  # K = 1, B = 13
    game = AssemblyGame(task="median3")
    program = baseline_program(task)
    rewards = []
    game.reset()
    for row in program:
        rewards.append(game.step(game.action_of(tuple(row)))[1])
    placed0 = int(np.count_nonzero(task.inputs[0] == task.expected[0]))
    assert all(r == 0.0 for r in rewards[:-1])  # only the store places anything
    # the store: correct_weight x (13 - placed0) / (1 x 13), + bonus - cost term
    assert rewards[-1] == pytest.approx(2.0 * (13 - placed0) / 13 + 1.0 - 0.5)
    assert game.placed_fraction == 1.0  # out of K x B = 13, not N x B = 39


def test_scratch_cells_are_neither_required_nor_storable():
    game = AssemblyGame(task="median3")
    for text in ("mov r0, m0", "mov r1, m1", "mov r2, m2"):
        game.step(game.action_of(text))
    mask = game.action_masks()
    for cell in (1, 2):  # m1, m2 are scratch: no store there under pruning
        for r in range(3):
            assert not mask[game.action_of(f"mov m{cell}, r{r}")]
    # without pruning a scratch store is allowed and places nothing
    free = AssemblyGame(task="median3", pruning=False)
    for text in ("mov r0, m0", "mov m1, r0"):
        _, reward, terminated, _, _ = free.step(free.action_of(text))
    assert reward == 0.0 and not terminated and free.placed_fraction < 1


def test_user_task_object_plays_without_a_name_lookup():
    task = second4()
    for game in (AssemblyGame(task=task),
                 gym.make("discover/Assembly-v0", task=task).unwrapped,
                 make_game(task)):
        assert game.task == task and game.task.n_outputs == 1
        play(game, canonicalize(baseline_program(task), task))
        assert game.solved and verify(game.program(), task).correct
    copy = pickle.loads(pickle.dumps(game))  # the kernel travels with its tables
    assert copy.task == task and copy.solved
    snapshot = game.clone()
    game.reset()
    game.restore(snapshot)
    assert game.solved


def test_registers_override_a_task_object():
    game = AssemblyGame(task=second4(), registers=6)
    assert game.task.registers == 6 and game.task.kernel == second4().kernel


def test_bad_task_names_raise():
    with pytest.raises(TaskError):
        gym.make("discover/Assembly-v0", task="median4")
    with pytest.raises(TaskError):
        AssemblyGame(task="nosuchtask")


def test_optional_cells_let_a_program_skip_an_irrelevant_input():
    # the smaller of m1, m2 into m0: m0's input is never read
    task = Task.from_function("min-of-rest", 3, lambda a: [min(a[1:])])
    assert optional_cells(task) == 0b001
    assert optional_cells(second4()) == 0
    for name in ("median5", "min2max4", "merge2+2", "stablesort2", "sort3"):
        assert optional_cells(Task.from_name(name)) == 0
    program = Program.parse("mov r0, m1\nmov r1, m2\ncmp r0, r1\ncmovg r0, r1\nmov m0, r0")
    game = AssemblyGame(task=task)
    play(game, program)
    assert game.solved and game.length == 5 and verify(program, task).correct


@pytest.mark.parametrize("task", ["median3", "min2max3", "merge2+2", "stablesort2",
                                  "top2-of-4", "min-of-rest"])
def test_compiled_masks_match_the_reference_on_random_games(task):
    if task == "min-of-rest":
        task = Task.from_function("min-of-rest", 3, lambda a: [min(a[1:])])
    task = Task.from_name(task) if isinstance(task, str) else task
    rng = np.random.default_rng(7)
    for options in ({}, {"strict_stores": False}, {"read_once": False},
                    {"dead_ends": False}, {"pruning": False}):
        game = AssemblyGame(task=task, **options)
        for _ in range(6):
            game.reset()
            while not game._ended():
                mask = game.action_masks()
                ref = reference_mask(game.program(), task, game.actions,
                                     max_length=game.max_length, **options)
                assert np.array_equal(mask, ref), (task.name, options, game.program_text())
                game.step(int(rng.choice(np.flatnonzero(mask))))


def test_sort_games_keep_every_output_and_budget():
    game = AssemblyGame(task="sort3")
    assert game.max_length == 21 and game._params[envs.game.P_OUT] == 3
    assert game._params[envs.game.P_OPTIONAL] == 0
    task = Task.from_name("sort3")
    play(game, baseline_program(task))
    assert game.solved
