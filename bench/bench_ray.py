"""One self-play iteration of each backend's actor pool: the local helper processes
(``agent/actors.py``: the learner plays its share, one helper the rest) and the Ray actors
(``agent/ray_actors.py``: two actors play, the learner none), same games, same weights.

Run: ``python -m pytest bench/bench_ray.py --benchmark-only --benchmark-group-by=group``
(CI runs it once with ``--benchmark-disable``). A round is one ``play`` call: the Ray
pool's batches overlap the next call, as they do in training. The whole-run figure of the
README (games per second over minutes of training) is ``bench/ray_throughput.py``'s.
Skipped without Ray. Joins the Ray instance this process already has (the tests' session
cluster when tests and benchmarks run together), else starts a local one of 2 CPUs.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")

from discover.agent import MCTSConfig, NetworkConfig, TrainConfig  # noqa: E402
from discover.agent.game import GameSpec  # noqa: E402
from discover.agent.learner import RunView  # noqa: E402
from discover.agent.model import Agent  # noqa: E402
from discover.agent.selfplay import SelfPlay  # noqa: E402

GAMES = 8


@pytest.fixture(scope="module")
def ray_instance():
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, log_to_driver=False,
                 include_dashboard=False, logging_level=logging.WARNING)
    yield
    if started:
        ray.shutdown()


def _config(backend: str) -> TrainConfig:
    return TrainConfig(task="sort3", backend=backend, actors=2, games=GAMES, progress=False,
                       mcts=MCTSConfig(simulations=16),
                       network=NetworkConfig(embed_dim=16, heads=2))


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_selfplay_round(benchmark, ray_instance, backend):
    torch.set_num_threads(1)
    config = _config(backend)
    spec = GameSpec.from_config(config)
    selfplay = SelfPlay(spec, config)
    selfplay.warm_up()
    agent = Agent(config, spec, torch.device("cpu"))
    if backend == "ray":
        from discover.agent.ray_actors import RayActorPool

        pool = RayActorPool(config, selfplay)
    else:
        from discover.agent.actors import ActorPool

        pool = ActorPool(config, selfplay)
    view = RunView(0, None, lambda program, played=0: False, lambda: False)
    rng = np.random.default_rng(0)
    try:
        pool.play(agent, view, rng, None)  # warm: the first weights reach every actor
        benchmark.group = "self-play round, sort3, 2 actors"
        results = benchmark(pool.play, agent, view, rng, None)
        games = sum(len(r["game_returns"]) for r in results)
        assert games >= GAMES
        benchmark.extra_info["games"] = games
    finally:
        pool.close()
