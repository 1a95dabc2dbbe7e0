"""Speed of the agent's parts: tree search expansions, network batches, one self-play round.

Run: ``python -m pytest bench/bench_agent.py --benchmark-only`` (CI runs it once with
``--benchmark-disable``, so each case stays quick). The JIT is warmed before timing.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from discover.agent import MCTSConfig, NetworkConfig, TrainConfig  # noqa: E402
from discover.agent.game import GameSpec  # noqa: E402
from discover.agent.mcts import Search, Tree, uniform_evaluator  # noqa: E402
from discover.agent.model import Agent  # noqa: E402
from discover.agent.selfplay import SelfPlay  # noqa: E402
from discover.search.bound import StateBound  # noqa: E402


@pytest.fixture(scope="module", params=["sort3", "sort4"])
def selfplay(request):
    torch.set_num_threads(1)
    config = TrainConfig(task=request.param)
    selfplay = SelfPlay(GameSpec.from_config(config), config)
    selfplay.warm_up()
    return selfplay


@pytest.fixture(scope="module")
def spec(selfplay):
    return selfplay.spec


def _search(selfplay, evaluate, simulations, games, prune=False):
    spec = selfplay.spec
    game = spec.make()
    obs, _ = game.reset(seed=0)
    potential = selfplay.shaping_potential(1.0) if prune else spec.potential
    search = Search(game, spec.state_of, spec.max_length, evaluate,
                    MCTSConfig(simulations=simulations), np.random.default_rng(0),
                    None, potential, 1.0, selfplay.bound if prune else None)
    search.run([Tree(search.root(obs)) for _ in range(games)], noise=True)
    return search.expansions


@pytest.mark.parametrize("prune", [False, True], ids=["plain", "pruned"])
@pytest.mark.parametrize("evaluator", ["uniform", "network"])
def test_search_expansions(benchmark, selfplay, spec, evaluator, prune):
    """Simulations from the root: 8 trees x 64 simulations (512 expansions at most);
    ``pruned`` adds the lower bound (prune + bound potential, the training defaults)."""
    if evaluator == "uniform":
        evaluate = uniform_evaluator(spec.n_actions)
    else:
        evaluate = Agent(TrainConfig(task=spec.task.name), spec, torch.device("cpu")).evaluate
    _search(selfplay, evaluate, 4, 2, prune)  # warm-up
    benchmark.group = f"agent search {spec.task.name}"
    expansions = benchmark(_search, selfplay, evaluate, 64, 8, prune)
    benchmark.extra_info["expansions"] = expansions
    assert expansions > 0


def test_state_bound(benchmark, spec):
    """The lower bound on one position (interning its rows, then the kernel)."""
    game = spec.make()
    obs, _ = game.reset(seed=0)
    for action in range(6):  # a few legal moves in, so the rows are not all inputs
        game.step(int(np.flatnonzero(game.action_masks())[0]))
    state = spec.state_of(game, game.observation())
    bound = StateBound(spec.task)  # without the search's one-position cache: the real work
    bound(state)
    benchmark.group = f"agent bound {spec.task.name}"
    assert benchmark(lambda: bound(state.copy())) >= 0


@pytest.mark.parametrize("batch", [1, 16, 64])
def test_network_batch(benchmark, spec, batch):
    """One forward pass of the default network on a batch of positions."""
    agent = Agent(TrainConfig(task=spec.task.name, network=NetworkConfig()), spec,
                  torch.device("cpu"))
    tokens = np.zeros((batch, spec.max_length), dtype=np.int16)
    states = np.zeros((batch, spec.slots, spec.n_inputs), dtype=np.int8)
    masks = np.ones((batch, spec.n_actions), dtype=bool)
    agent.evaluate(tokens, states, masks)
    benchmark.group = f"agent network {spec.task.name}"
    priors, values = benchmark(agent.evaluate, tokens, states, masks)
    assert priors.shape == (batch, spec.n_actions)


def test_self_play_round(benchmark, spec):
    """Four games with 16 simulations a move, network evaluator: a small iteration."""
    config = TrainConfig(task=spec.task.name, mcts=MCTSConfig(simulations=16))
    agent = Agent(config, spec, torch.device("cpu"))
    selfplay = SelfPlay(spec, config)
    selfplay.warm_up()  # kernels compiled already: makes the bound before the clock
    benchmark.group = f"agent self-play {spec.task.name}"
    result = benchmark.pedantic(selfplay.play, args=(agent.evaluate, 4, np.random.default_rng(0),
                                                     lambda p: None),
                                rounds=1, iterations=1)
    assert len(result["game_returns"]) == 4


@pytest.mark.parametrize("network_inputs", [None, 120], ids=["all-541", "120"])
@pytest.mark.parametrize("part", ["evaluate16", "learn128"])
def test_network_inputs_sort5(benchmark, part, network_inputs):
    """sort5's network with every input (541) or ``--network-inputs 120``: the search's
    batch of 16 positions, and one learner step (forward, backward, AdamW) on 128."""
    torch.set_num_threads(1)
    config = TrainConfig(task="sort5", network_inputs=network_inputs)
    spec = GameSpec.from_config(config)
    agent = Agent(config, spec, torch.device("cpu"))
    batch = 16 if part == "evaluate16" else 128
    rng = np.random.default_rng(0)
    tokens = np.zeros((batch, spec.max_moves), dtype=np.int16)
    states = rng.integers(-1, 5, size=(batch, spec.slots, spec.n_inputs)).astype(np.int8)
    masks = np.ones((batch, spec.n_actions), dtype=bool)

    def learn():
        t, s = agent.inputs(tokens, states)
        logits, values = agent.net(t, s)
        loss = logits.logsumexp(1).mean() + values.square().mean()
        agent.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        agent.optimizer.step()
        return logits

    call = (lambda: agent.evaluate(tokens, states, masks)[0]) if part == "evaluate16" else learn
    call()
    benchmark.group = f"agent sort5 network inputs, {part}"
    assert benchmark(call).shape == (batch, spec.n_actions)
