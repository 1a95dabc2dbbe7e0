"""AssemblyGame speed on comparison kernels, and the agent's KernelBound (one core).

    pytest bench/bench_envs_kernels.py --benchmark-columns=mean,ops --benchmark-group-by=group

As ``bench_envs.py`` for the sorts: a masked random step is ``env.step`` of a uniformly
random allowed move (observation copies and the new mask included), resetting when an
episode ends; ``extra_info["steps_per_s"]`` records the rate. The bound benchmark times
``KernelBound`` (prune and bound shaping of ``discover train`` on a kernel) on random
mid-game positions: ``extra_info["calls_per_s"]``.
"""

import numpy as np
import pytest

from discover.envs import AssemblyGame

STEPS = 2000  # moves per timed round
TASKS = ["median3", "median5", "min2max4", "top2-of-5", "merge3+3", "stablesort3"]


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


@pytest.fixture(params=TASKS)
def env(request):
    env = AssemblyGame(task=request.param)
    masked_random_steps(env, np.random.default_rng(0), 200)  # warms the JIT
    return env


def test_kernel_masked_random_rollout(benchmark, env):
    benchmark.group = f"kernel env {env.task.name}"
    rng = np.random.default_rng(1)
    benchmark(masked_random_steps, env, rng, STEPS)
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["steps_per_s"] = STEPS / stats.stats.mean


@pytest.mark.parametrize("name", ["median3", "median5", "min2max4", "stablesort3"])
def test_kernel_bound(benchmark, name):
    from discover.agent.selfplay import KernelBound

    env = AssemblyGame(task=name)
    bound = KernelBound(env.task)
    rng = np.random.default_rng(2)
    states = []
    while len(states) < 64:
        env.reset()
        for _ in range(int(rng.integers(1, env.max_length // 2 + 1))):
            allowed = env.legal_actions()
            if not len(allowed) or env._ended():
                break
            env.step(int(rng.choice(allowed)))
        states.append(env.observation()["state"])
    assert all(bound(state) >= 0 for state in states)

    def calls():
        for state in states:
            bound(state)

    benchmark.group = f"kernel bound {name}"
    benchmark(calls)
    stats = getattr(benchmark, "stats", None)
    if stats:
        benchmark.extra_info["calls_per_s"] = len(states) / stats.stats.mean
