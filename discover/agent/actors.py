"""Self-play on more than one core: helper processes that play part of each iteration.

The learner process plays its share of the games itself while ``actors - 1`` helper
processes (started once, with ``spawn`` so no torch or Numba thread state is forked) play
the rest with the same weights, sent at the start of every iteration. Each helper's search
is seeded from the learner's generator, so runs repeat. A helper's correct programs reach
the hall of fame when its share of the iteration returns (within seconds); the learner's
own are saved the moment they are found.
"""

from __future__ import annotations

import io
import multiprocessing as mp

import numpy as np
import torch


def _worker(conn, config_json: dict, task) -> None:
    import signal

    from discover.kernels import Program
    from discover.kernels import tasks as task_table

    # Ctrl-C reaches the whole process group: the learner decides when to stop, and
    # tells the actors by closing their pipes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from .config import TrainConfig
    from .game import GameSpec
    from .model import Agent
    from .selfplay import SelfPlay

    if task.kernel is not None:
        # A Task.from_function task is known by name only in the process that defined it:
        # its tables came pickled with the Task; make the name known here too.
        task_table.make_known(task)
    config = TrainConfig.from_json(config_json)
    torch.set_num_threads(config.threads)
    spec = GameSpec.from_config(config, task=task)
    selfplay = SelfPlay(spec, config)
    selfplay.warm_up()
    agent = Agent(config, spec, torch.device("cpu"))
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the learner is gone
            return
        if message is None:
            return
        weights, seed, games, best, budget = message
        agent.net.load_state_dict(torch.load(io.BytesIO(weights), map_location="cpu"))
        found: list[Program] = []

        def on_solved(program, found=found):
            # Only improvements travel back; the learner verifies and saves them.
            lengths = [len(p) for p in found] + ([best] if best is not None else [])
            if not lengths or len(program) < min(lengths):
                found.append(program)

        result = selfplay.play(agent.evaluate, games, np.random.default_rng(seed), on_solved, budget)
        result["found"] = [p.text() for p in found]
        conn.send(result)


class ActorPool:
    """``actors - 1`` helper processes; ``play`` shares one iteration's games with them."""

    def __init__(self, config, selfplay):
        context = mp.get_context("spawn")
        self.config = config
        self.selfplay = selfplay  # the learner's own share is played here
        self.connections, self.processes = [], []
        for _ in range(config.actors - 1):
            parent, child = context.Pipe()
            process = context.Process(target=_worker, daemon=True,
                                      args=(child, config.to_json(), selfplay.spec.task))
            process.start()
            self.connections.append(parent)
            self.processes.append(process)
        for conn in self.connections:
            if conn.recv() != "ready":
                raise RuntimeError("a self-play actor failed to start")

    def play(self, agent, run, rng: np.random.Generator, budget: int | None) -> list[dict]:
        """Every process's self-play results of one iteration (``run``: a RunView)."""
        from discover.kernels import Program

        c = self.config
        share = c.games // c.actors
        buffer = io.BytesIO()
        torch.save({k: v.cpu() for k, v in agent.net.state_dict().items()}, buffer)
        weights = buffer.getvalue()
        best = len(run.best) if run.best is not None else None
        for conn in self.connections:
            conn.send((weights, int(rng.integers(2**63)), share, best, budget))
        mine = c.games - share * len(self.connections)
        results = [self.selfplay.play(agent.evaluate, mine, rng, run.offer, budget)]
        for conn in self.connections:
            result = conn.recv()
            for text in result.pop("found"):
                run.offer(Program.parse(text))
            results.append(result)
        return results

    def close(self) -> None:
        for conn in self.connections:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
