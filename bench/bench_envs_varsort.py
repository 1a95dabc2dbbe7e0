"""VarSort game speed (ISA v2 branches): masked random-rollout steps/s and clone+step/s.

    pytest bench/bench_envs_varsort.py --benchmark-columns=mean,ops --benchmark-group-by=group

As ``bench_envs.py`` for the fixed-size AssemblyGame; each test records
``extra_info["steps_per_s"]``. A masked random step picks a uniformly random allowed move
(an instruction, a branch, else or land) and calls ``env.step``.
"""

import numpy as np
import pytest

from discover.envs import VarSortGame

STEPS = 2000  # moves per timed round


def record(benchmark, work):
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["steps_per_s"] = work / stats.stats.mean


def masked_random_steps(env, rng, steps):
    _, info = env.reset()
    mask = info["action_mask"]
    solved = 0
    for _ in range(steps):
        allowed = np.flatnonzero(mask)
        action = allowed[rng.integers(len(allowed))]
        _, _, terminated, truncated, info = env.step(action)
        mask = info["action_mask"]
        if terminated or truncated:
            solved += info["solved"]
            _, info = env.reset()
            mask = info["action_mask"]
    return solved


@pytest.fixture(params=["varsort3", "varsort5"])
def env(request):
    env = VarSortGame(task=request.param)
    masked_random_steps(env, np.random.default_rng(0), 200)  # warms the JIT
    return env


def test_masked_random_rollout(benchmark, env):
    benchmark.group = f"env {env.task.name}"
    rng = np.random.default_rng(1)
    benchmark(masked_random_steps, env, rng, STEPS)
    record(benchmark, STEPS)


def test_clone_step(benchmark, env):
    """Restore a snapshot from mid-game and play one allowed move, as tree search does."""
    benchmark.group = f"env {env.task.name}"
    rng = np.random.default_rng(2)
    snapshots = []
    for _ in range(64):
        env.reset()
        for _ in range(int(rng.integers(1, env.max_length // 2))):
            allowed = env.legal_actions()
            if not len(allowed):
                break
            _, _, terminated, truncated, _ = env.step(int(rng.choice(allowed)))
            if terminated or truncated:
                break
        if len(env.legal_actions()) and not env.solved:
            snapshots.append((env.clone(), int(rng.choice(env.legal_actions()))))
    assert snapshots

    def clone_steps():
        for k in range(STEPS):
            snapshot, action = snapshots[k % len(snapshots)]
            env.restore(snapshot)
            env.step(action)

    benchmark(clone_steps)
    record(benchmark, STEPS)
