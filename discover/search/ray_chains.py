"""The stochastic search's chains as Ray actors (``discover search --backend ray``).

``RayChains`` stands in for the local chains (``stochastic._Chains``, or
``stochastic_flow.FlowChains`` for a varsort task) in the same driver loop
(``stochastic._run``): chain k is a ``ChainActor`` on whichever node of the cluster has a
CPU for it, holding its own prefix-state caches, and every ``run(steps)`` advances all of
them side by side and brings back what the driver reads: each chain's program, cost,
generator state, best program and counters. The driver then does what it does locally:
keeps the best (verified by the monitor before it is written), restarts the chains worse
than it every ``restart_every`` steps.

Chain k of C is the local search's chain k exactly: its generator is stream k of the seed
and its inverse temperature beta x beta_ratio**k, and the restarts happen at the same
steps, so the same seed and ``--steps`` give the same program as the local backend.
A lost chain actor (a killed process, a lost node) is replaced by one put back on the
state it last reported, which redoes the lost steps the same way: a loss changes nothing
but the time taken. The measured costs ('measured', 'mca': a pool of candidates sampled
from every chain) stay on the local backend.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np

from discover.cluster import count_loss, kill_quietly

from discover.kernels import Program, Task, mcmc

from .chains import ChainView

__all__ = ["ChainActor", "RayChains", "ray_chains"]



class ChainActor:
    """One chain of the stochastic search (a Ray actor once ``ray.remote`` wraps it)."""

    def __init__(self, chains: type, task: Task, config, start: Program, capacity: int,
                 k: int):
        one = replace(config, chains=1, beta=config.beta * config.beta_ratio ** k,
                      beta_ratio=1.0, backend="local", address=None)
        self.chains = chains(task, one, start, capacity)
        self.chains.rngs[0, 0] = mcmc.seed_state(config.seed, k)
        self.chains._run_one(0, 0)  # compile (or load) before the first call counts

    def state(self) -> dict:
        """What the driver mirrors of the chain (and a replacement restarts from)."""
        c = self.chains
        length, best_length = int(c.lengths[0]), int(c.best_lengths[0])
        return {"code": c.codes[0, :length].copy(), "cost": float(c.costs[0]),
                "rng": c.rngs[0].copy(), "best_code": c.best_codes[0, :best_length].copy(),
                "best_key": float(c.best_keys[0]), "counters": c.counters[0].copy()}

    def run(self, steps: int) -> dict:
        self.chains._run_one(0, steps)
        return self.state()

    def reset(self, code: np.ndarray) -> dict:
        self.chains.reset(0, Program(code))
        return self.state()

    def restore(self, state: dict) -> dict:
        """Put the chain back on a state ``state()`` reported (a replaced actor's)."""
        c = self.chains
        c.reset(0, Program(state["code"]))
        c.costs[0] = state["cost"]
        c.rngs[0] = state["rng"]
        best = state["best_code"]
        c.best_keys[0] = state["best_key"]
        c.best_lengths[0] = len(best)
        c.best_codes[0, :len(best)] = best
        c.counters[0] = state["counters"]
        return self.state()


def ray_chains(config, chains: type):
    """The chains factory of the Ray backend, connected to the cluster now (on the
    calling thread: the driver builds the chains on a watched thread); ``chains``: the
    local chains class each actor holds one chain of."""
    from discover.cluster import connect

    ray = connect(config.address)
    return lambda task, config, start, capacity: RayChains(ray, chains, task, config, start,
                                                           capacity)


class RayChains(ChainView):
    """C chain actors behind the local chains' interface (what ``stochastic._run`` and
    ``stochastic._result`` read)."""

    def __init__(self, ray, chains: type, task: Task, config, start: Program, capacity: int):
        from discover.cluster import cpu_share, ray_errors

        self.ray, self.task, self.config, self.capacity = ray, task, config, capacity
        self.lost_errors = ray_errors(ray)
        c = config.chains
        self.remote = ray.remote(ChainActor).options(num_cpus=cpu_share(ray, c),
                                                     max_restarts=0, max_task_retries=0)
        self.codes = np.zeros((c, capacity, 3), dtype=np.int32)  # int32[C, P, 3]
        self.lengths = np.zeros(c, dtype=np.int64)
        self.costs = np.zeros(c, dtype=np.float64)
        self.best_codes = np.zeros((c, capacity, 3), dtype=np.int32)
        self.best_lengths = np.zeros(c, dtype=np.int64)
        self.best_keys = np.full(c, mcmc.NO_BEST, dtype=np.float64)
        self.counters = np.zeros((c, mcmc.N_COUNTERS), dtype=np.int64)
        self.states: list[dict | None] = [None] * c
        self.losses = [0] * c
        self.lost = 0  # chain actors replaced over the search
        self._args = (chains, task, config, start, capacity)
        self.actors = [self.remote.remote(*self._args, k) for k in range(c)]
        self._call({k: ("state", ()) for k in range(c)})

    def _call(self, calls: dict) -> None:
        """``calls[k]`` (method name, args) on chain actor k, side by side; mirror the
        states they return. A lost actor is replaced and its call made again."""
        ray = self.ray
        todo = dict(calls)
        while todo:
            refs = {getattr(self.actors[k], name).remote(*args): k
                    for k, (name, args) in todo.items()}
            for ref, k in refs.items():
                try:
                    state = ray.get(ref)
                except self.lost_errors as error:
                    self._replace(k, error)
                    continue
                self.losses[k] = 0
                self._mirror(k, state)
                del todo[k]

    def _replace(self, k: int, error) -> None:
        self.lost += 1
        count_loss(self.losses, k, f"chain actor {k}", error)
        print(f"discover search: chain {k}'s actor lost ({type(error).__name__}); a new one "
              "goes on from its last state", file=sys.stderr)
        kill_quietly(self.ray, [self.actors[k]])
        self.actors[k] = self.remote.remote(*self._args, k)
        if self.states[k] is not None:
            self.ray.get(self.actors[k].restore.remote(self.states[k]))

    def _mirror(self, k: int, state: dict) -> None:
        self.states[k] = state
        code, best = state["code"], state["best_code"]
        self.codes[k, :len(code)] = code
        self.lengths[k] = len(code)
        self.costs[k] = state["cost"]
        self.best_codes[k, :len(best)] = best
        self.best_lengths[k] = len(best)
        self.best_keys[k] = state["best_key"]
        self.counters[k] = state["counters"]

    # What the driver loop calls (ChainsBase's interface).
    def run(self, steps: int) -> None:
        self._call({k: ("run", (steps,)) for k in range(self.config.chains)})

    def _run_one(self, k: int, steps: int) -> None:
        self._call({k: ("run", (steps,))})

    def reset(self, k: int, program: Program) -> None:
        self._call({k: ("reset", (program.code,))})

    def collect(self, pool: dict) -> None:
        raise ValueError("the measured costs keep the local backend")

    def close(self) -> None:
        from discover.cluster import disconnect

        kill_quietly(self.ray, self.actors)
        disconnect()
