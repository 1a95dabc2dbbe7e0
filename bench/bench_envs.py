"""AssemblyGame speed: masked random-rollout steps/s and clone+step/s (one core).

    pytest bench/bench_envs.py --benchmark-columns=mean,ops --benchmark-group-by=group

Each test records ``extra_info["steps_per_s"]``. A masked random step is the whole
agent-side loop: pick a uniformly random allowed move from ``info["action_mask"]``, then
``env.step`` (observation copies and the new mask included). Clone+step is what tree
search does per simulation step: ``restore(snapshot)`` then ``step``.
"""

import numpy as np
import pytest

from discover.envs import AssemblyGame

STEPS = 2000  # moves per timed round


def record(benchmark, work):
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["steps_per_s"] = work / stats.stats.mean


def masked_random_steps(env, rng, steps):
    """Play ``steps`` uniformly random allowed moves, resetting whenever an episode ends."""
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


@pytest.fixture(params=["sort3", "sort5"])
def env(request):
    env = AssemblyGame(task=request.param)
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
    for _ in range(64):  # snapshots of random mid-game positions, each with a legal move
        env.reset()
        for _ in range(int(rng.integers(env.task.n, env.max_length // 2))):
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


def test_clone_advance(benchmark, env):
    """As test_clone_step with advance() (no observation built), for tree search."""
    benchmark.group = f"env {env.task.name}"
    rng = np.random.default_rng(2)
    env.reset()
    for _ in range(env.task.n + 1):
        env.step(int(rng.choice(env.legal_actions())))
    snapshot, action = env.clone(), int(env.legal_actions()[0])

    def clone_advances():
        for _ in range(STEPS):
            env.restore(snapshot)
            env.advance(action)

    benchmark(clone_advances)
    record(benchmark, STEPS)


def test_clone(benchmark, env):
    benchmark.group = f"env {env.task.name}"
    env.reset()
    benchmark(env.clone)
