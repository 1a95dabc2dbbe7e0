"""The VarSort game (ISA v2 branches): masks forbid faults, the AlphaDev-shaped VarSort3 is
playable and correct, Gymnasium's checker, determinism, snapshots and bad input."""

import pickle
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from discover.envs import (VARSORT_ENV_IDS, AssemblyGame, VarSortGame, make_game)
from discover.envs.vargame import HUMAN_LENGTH
from discover.kernels.flow import run_flow
from discover.kernels.isa import Program
from discover.kernels.tasks import Task, TaskError
from discover.kernels.verify import verify

# AlphaDev's VarSort3 shape, 21 instructions: nothing for n < 2, a compare-exchange of
# m0, m1, nothing more for n = 2, else m2 inserted (7 register instructions) and stored;
# both paths store m0, m1.
ALPHADEV_VARSORT3 = [
    "branch jle, 1",  # cmp n, 1; jle end
    "mov r0, m0", "mov r1, m1",
    "mov r2, r0", "cmp r0, r1", "cmovg r0, r1", "cmovg r1, r2",
    "branch je, 2",  # cmp n, 2; je join
    "mov r3, m2",
    "mov r2, r3", "cmp r0, r3", "cmovg r2, r0", "cmovg r0, r3",
    "cmp r1, r2", "cmovge r3, r1", "cmovg r1, r2",
    "mov m2, r3",
    "land",  # join:
    "mov m0, r0", "mov m1, r1",
]


def rollout(env, rng):
    obs, info = env.reset()
    steps = []
    while True:
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append((action, reward, obs))
        if terminated or truncated:
            return steps, terminated, info


def test_alphadev_varsort3_is_playable_and_verified():
    env = VarSortGame("varsort3")
    env.reset()
    total, terminated = 0.0, False
    for move in ALPHADEV_VARSORT3:
        assert not terminated
        action = env.action_of(move)
        assert env.action_masks()[action], f"{move} is masked"
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        assert not truncated
    assert terminated and info["solved"] and env.solved
    program = env.program()
    assert len(program) == 21 and env.cost == 21
    text = program.text()
    assert text.splitlines()[:2] == ["cmp n, 1", "jle L21"]
    assert "cmp n, 2" in text and "je L19" in text and text.endswith("L21:\n")
    v = verify(Program.parse(text), env.task)
    assert v.correct and v.length == 21
    # the reward: every item placed (from the initial fraction) + bonus - length cost
    task = env.task
    pairs = int(task.lengths.sum())
    initial = sum(int(np.sum(task.inputs[:m, b] == task.expected[:m, b]))
                  for b, m in enumerate(task.lengths))
    expected = 2.0 * (pairs - initial) / pairs + 1.0 - 0.5 * 21 / HUMAN_LENGTH[3]
    assert total == pytest.approx(expected)
    # replaying the recorded moves gives the same program
    again = VarSortGame("varsort3")
    again.reset(options={"moves": env.moves()})
    assert again.program() == program and again.solved


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("pruning", [True, False])
def test_masks_forbid_faults_and_keep_paths_well_formed(n, pruning):
    """Random masked play: every program (pending labels at the end) is well-formed on
    every path, never faults, and leaves memory as the game says; solved means verified."""
    env = VarSortGame(f"varsort{n}", pruning=pruning, max_length=HUMAN_LENGTH[n] if n < 5 else 40)
    task = env.task
    rng = np.random.default_rng(n)
    branched = solved = 0
    for _ in range(60 if n < 5 else 15):
        steps, terminated, info = rollout(env, rng)
        program = env.program()
        program.check(task.n, task.registers, variable=True)
        memory, fault, _, _ = run_flow(program.code, task.inputs, task.lengths,
                                       task.registers)
        assert not fault.any()
        registers = task.registers
        assert np.array_equal(memory, env._state[registers:registers + task.n])
        branched += program.branches
        if info["solved"]:
            solved += 1
            assert verify(program, task).correct
        for action, _, obs in steps:
            assert 0 <= obs["state"][-1].min() and obs["state"][-1].max() <= 7
    assert branched > 0


def test_loads_and_stores_past_a_length_are_masked():
    env = VarSortGame("varsort3")
    _, info = env.reset()
    mask = info["action_mask"]
    # length-0 inputs are active: no cell may be touched before a branch
    for r in range(4):
        for i in range(3):
            assert not mask[env.action_of(f"mov r{r}, m{i}")]
    env.step(env.action_of("branch jle, 1"))  # n >= 2 active
    mask = env.action_masks()
    assert mask[env.action_of("mov r0, m0")]
    assert not mask[env.action_of("mov r0, m2")]  # n = 2 has no m2
    env.step(env.action_of("mov r0, m0"))
    env.step(env.action_of("mov r1, m1"))
    env.step(env.action_of("branch je, 2"))  # n = 3 active
    assert env.action_masks()[env.action_of("mov r2, m2")]
    env.step(env.action_of("land"))  # n = 2 back
    assert not env.action_masks()[env.action_of("mov r2, m2")]


def test_well_formed_on_every_path():
    env = VarSortGame("varsort3")
    env.reset()
    for move in ("branch jle, 1", "mov r0, m0", "mov r1, m1", "branch je, 2", "mov r2, m2"):
        env.step(env.action_of(move))
    assert env.action_masks()[env.action_of("cmp r0, r2")]
    env.step(env.action_of("land"))
    mask = env.action_masks()
    # r2 is written on the n = 3 path only: no read of it after the join
    assert not mask[env.action_of("mov r3, r2")] and not mask[env.action_of("cmp r0, r2")]
    assert mask[env.action_of("cmp r0, r1")]
    # the cmp n of a branch makes a cmov well-formed (its flags are those of the length)
    assert env.depth == 1 and env.active_inputs == 16


def test_branch_pruning_keeps_one_branch_per_split():
    env = VarSortGame("varsort3")
    _, info = env.reset()
    mask = info["action_mask"]
    assert mask[env.action_of("branch jle, 1")] and not mask[env.action_of("branch jl, 2")]
    assert not mask[env.action_of("branch jle, 3")]  # every input takes it
    assert not mask[env.action_of("branch jg, 3")]  # no input takes it
    assert not mask[env.action_of("land")] and not mask[env.action_of("else")]
    env.step(env.action_of("branch jle, 1"))
    assert not env.action_masks()[env.action_of("land")]  # empty block
    unpruned = VarSortGame("varsort3", pruning=False)
    _, info = unpruned.reset()
    assert info["action_mask"][unpruned.action_of("branch jl, 2")]


def test_else_makes_an_if_else():
    env = VarSortGame("varsort2")
    env.reset()
    moves = ["branch jne, 2", "mov r0, m0", "mov r1, m1", "mov r2, r0", "cmp r0, r1",
             "cmovg r0, r1", "cmovg r1, r2", "mov m0, r0", "mov m1, r1"]
    for move in moves:
        _, _, terminated, _, info = env.step(env.action_of(move))
    assert terminated and info["solved"]
    env = VarSortGame("varsort2", pruning=False)  # pruning allows only else to the end
    env.reset()
    # if n != 2: (nothing useful) else: ... written with else
    for move in ["branch je, 2", "branch je, 0", "mov r0, m0", "land", "else",
                 "mov r0, m0", "mov r1, m1"]:
        assert env.action_masks()[env.action_of(move)], move
        env.step(env.action_of(move))
    text = env.program_text()
    assert "jmp" in text
    Program.parse(text).check(2, 3, variable=True)


@pytest.mark.parametrize("env_id", VARSORT_ENV_IDS[:4])
def test_registered_env_passes_the_checker(env_id):
    env = gymnasium.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_same_seed_same_episode():
    def episode(seed):
        env = gymnasium.make("discover/VarSort3-v0")
        env.reset(seed=seed)
        env.action_space.seed(seed)
        out = []
        for _ in range(40):
            mask = env.unwrapped.action_masks().astype(np.int8)
            action = int(env.action_space.sample(mask=mask))
            obs, reward, terminated, truncated, _ = env.step(action)
            out.append((action, reward, obs["state"].tobytes()))
            if terminated or truncated:
                break
        return out, env.unwrapped.program_text()

    assert episode(7) == episode(7)


def test_clone_restore_and_pickle():
    env = VarSortGame("varsort3")
    env.reset()
    for move in ALPHADEV_VARSORT3[:9]:
        env.step(env.action_of(move))
    snapshot = env.clone()
    program, mask = env.program(), env.action_masks()
    for move in ALPHADEV_VARSORT3[9:]:
        env.step(env.action_of(move))
    assert env.solved
    env.restore(snapshot)
    assert env.program() == program and np.array_equal(env.action_masks(), mask)
    assert not env.solved
    copy = pickle.loads(pickle.dumps(env))
    for move in ALPHADEV_VARSORT3[9:]:
        copy.step(copy.action_of(move))
    assert copy.solved and len(copy.program()) == 21


def test_illegal_move_ends_the_episode():
    env = VarSortGame("varsort3")
    env.reset()
    _, reward, terminated, truncated, info = env.step(env.action_of("mov r0, m2"))
    assert terminated and info["illegal"] and reward == -1.0


@pytest.mark.parametrize("bad, message", [
    ("varsort9", "unknown task 'varsort9'"), ("sort3", "plays varsort2..varsort8"),
    ("bogus", "unknown task 'bogus'")])
def test_bad_task_names_give_a_clear_error(bad, message):
    with pytest.raises(TaskError, match=message):
        VarSortGame(bad)


def test_make_game_and_fixed_game_refusal():
    assert isinstance(make_game("varsort2"), VarSortGame)
    assert isinstance(make_game("sort2"), AssemblyGame)
    with pytest.raises(ValueError, match="VarSortGame"):
        AssemblyGame(task="varsort3")
    with pytest.raises(ValueError, match="cost must be 'length'"):
        VarSortGame("varsort3", cost="latency")
    with pytest.raises(ValueError, match="bad branch"):
        VarSortGame("varsort3").action_of("branch jxx, 1")


def test_observed_subset_for_varsort6():
    env = VarSortGame("varsort6", max_length=10)
    obs, _ = env.reset()
    assert obs["state"].shape == (env.task.slots + 1, len(env.observed_columns))
    assert len(env.observed_columns) < Task.from_name("varsort6").n_inputs
