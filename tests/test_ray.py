"""The Ray backend (``--backend ray``) on a simulated three-node cluster (conftest's
session fixture ``ray_cluster``): self-play actors and search chains on two nodes, an actor
killed mid-run (the run goes on, nothing found is lost), the search's result equal to the
local backend's, and the one-line error where Ray is missing. Skipped without Ray, except
that last test, which needs no Ray."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import wait_until
from discover import cluster
from discover.cli import main
from discover.kernels import Program, Task, baseline_program, verify

CLI = [sys.executable, "-m", "discover.cli"]


def test_backend_ray_without_ray_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster, "ray_available", lambda: False)
    assert main(["train", "--backend", "ray", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--backend 'ray' needs Ray" in err and "pip install -e '.[ray]'" in err
    assert main(["search", "--task", "sort3", "--backend", "ray",
                 "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pip install -e '.[ray]'" in err
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()


def test_backend_options_are_checked(tmp_path, capsys):
    out = str(tmp_path / "x")
    assert main(["train", "--backend", "spark", "--out", out]) == 2
    assert "--backend must be one of local, ray" in capsys.readouterr().err
    assert main(["train", "--address", "auto", "--out", out]) == 2
    assert "--address applies to --backend 'ray' only" in capsys.readouterr().err
    assert main(["search", "--task", "sort3", "--method", "random", "--backend", "local",
                 "--out", out]) == 2
    assert "--backend local applies to --method enum or stochastic only" \
        in capsys.readouterr().err
    assert main(["search", "--task", "sort3", "--method", "enum", "--backend", "ray",
                 "--out", out]) == 2
    assert "--workers must be at least 2 with --backend 'ray'" in capsys.readouterr().err


def _tiny_train_config(**overrides):
    from discover.agent import MCTSConfig, NetworkConfig, TrainConfig

    fields = dict(task="sort3", backend="ray", actors=2, games=4, progress=False,
                  mcts=MCTSConfig(simulations=16), network=NetworkConfig(embed_dim=16, heads=2))
    return TrainConfig(**{**fields, **overrides})


def test_selfplay_actors_on_two_nodes_replace_a_killed_actor(ray_cluster):
    torch = pytest.importorskip("torch")
    import ray

    from discover.agent.game import GameSpec
    from discover.agent.learner import RunView
    from discover.agent.model import Agent
    from discover.agent.ray_actors import RayActorPool

    config = _tiny_train_config()
    agent = Agent(config, GameSpec.from_config(config), torch.device("cpu"))
    pool = RayActorPool(config)
    try:
        nodes = set(ray.get([a.node.remote() for a in pool.actors]))
        assert len(nodes) == 2  # one CPU a node: each actor has a node of its own
        offered = []

        def offer(program, played=0):
            offered.append(program)
            return True

        view = RunView(0, None, offer, lambda: False)
        rng = np.random.default_rng(0)
        games = [sum(len(r["game_returns"]) for r in pool.play(agent, view, rng, None))]
        # Every actor is playing its next batch now: kill one in the middle of it.
        victim = pool.actors[0]
        ray.kill(victim)
        for _ in range(3):
            games.append(sum(len(r["game_returns"]) for r in pool.play(agent, view, rng, None)))
        assert all(g >= config.games for g in games)
        assert pool.lost == 1  # the killed batch, dropped
        assert pool.actors[0] is not victim
        task = Task.from_name("sort3")
        assert all(verify(p, task).correct for p in offered)
        # Finds come twice (asked during a batch, then with it): offered once each.
        assert len({p.text() for p in offered}) == len(offered)
    finally:
        pool.close()
    assert ray.is_initialized()  # the session's cluster: joined, not started, by the pool


def test_train_on_the_cluster_survives_a_killed_actor(ray_cluster, tmp_path):
    pytest.importorskip("torch")
    import ray

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [*CLI, "train", "--task", "sort3", "--backend", "ray", "--address",
         ray_cluster.address, "--actors", "2", "--games", "4", "--simulations", "16",
         "--embed-dim", "16", "--heads", "2", "--budget-minutes", "0.3", "--target-length",
         "0", "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def named():
            return [a for a in ray.util.list_named_actors(all_namespaces=True)
                    if a["name"].startswith("discover-selfplay")]

        # The checkpoint is written once the actors are ready, before the first iteration.
        wait_until(lambda: (out / "checkpoint.pt").exists() and len(named()) == 2, proc,
                   timeout=300)
        entry = named()[0]
        ray.kill(ray.get_actor(entry["name"], namespace=entry["namespace"]))
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "lost" in stderr and "a new one replaces it" in stderr
    for name in ("summary.json", "best.asm", "hall_of_fame.json", "metrics.csv",
                 "checkpoint.pt", "config.json"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    hall = json.loads((out / "hall_of_fame.json").read_text())["programs"]
    task = Task.from_name("sort3")
    best = Program.read(out / "best.asm")
    assert verify(best, task).correct and summary["correct"]
    assert summary["length"] == len(best) == min(len(Program.parse(h["program"]))
                                                 for h in hall)
    assert summary["episodes"] > 0


def _stochastic(**fields):
    from discover.search import StochasticConfig

    return StochasticConfig(**{"seed": 1, "chains": 2, "steps": 20_000,
                               "restart_every": 5_000, **fields})


@pytest.mark.parametrize("name", ["sort3", "varsort3"])
def test_search_chains_on_ray_give_the_local_result(ray_cluster, name):
    from discover.search import search

    task = Task.from_name(name)
    local = search(task, "stochastic", _stochastic(), time_limit=600)
    remote = search(task, "stochastic", _stochastic(backend="ray"), time_limit=600)
    assert remote.program is not None and verify(remote.program, task).correct
    assert remote.program.text() == local.program.text()
    assert remote.explored == local.explored
    for key in ("steps_per_chain", "acceptance_rate", "ill_formed_rate"):
        assert remote.notes[key] == local.notes[key]


def test_a_killed_chain_actor_goes_on_from_its_last_state(ray_cluster):
    import ray

    from discover.search.ray_chains import ray_chains
    from discover.search.stochastic import _Chains

    task = Task.from_name("sort3")
    config = _stochastic(backend="ray").resolved(task)
    start = baseline_program(task)
    capacity = len(start) + 2
    remote = ray_chains(config, _Chains)(task, config, start, capacity)
    local = _Chains(task, config, start, capacity)
    try:
        for chains in (remote, local):
            chains.run(3_000)
        victim = remote.actors[1]
        ray.kill(victim)
        for chains in (remote, local):
            chains.run(3_000)
            chains.reset(0, chains.best()[1])
            chains.run(3_000)
        assert remote.lost == 1 and remote.actors[1] is not victim
        for name in ("lengths", "costs", "best_lengths", "best_keys", "counters"):
            assert np.array_equal(getattr(remote, name), getattr(local, name)), name
        for k in range(config.chains):
            assert remote.program(k) == local.program(k)
        assert remote.best()[1] == local.best()[1]
    finally:
        remote.close()
        local.close()


def test_search_cli_with_no_address_starts_a_local_cluster(ray_cluster, tmp_path):
    out = tmp_path / "search"
    done = subprocess.run(
        [*CLI, "search", "--task", "sort3", "--method", "stochastic", "--backend", "ray",
         "--chains", "2", "--steps", "20000", "--time-limit", "300", "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "optimal: not proved" in done.stdout
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["backend"] == "ray" and result["config"]["address"] is None
    assert verify(Program.read(out / "best.asm"), Task.from_name("sort3")).correct


def test_an_address_where_no_cluster_listens_is_a_one_line_error(tmp_path):
    pytest.importorskip("ray")
    for command in ("train", "search"):
        out = tmp_path / command
        done = subprocess.run([*CLI, command, "--task", "sort3", "--backend", "ray",
                               "--address", "127.0.0.1:1", "--out", str(out)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        assert done.stderr.strip() == "discover: error: cannot connect to the Ray cluster at " \
                                      "127.0.0.1:1: Connection refused"
        assert not out.exists()


def test_enum_proof_units_on_ray_workers_survive_a_killed_worker(ray_cluster, monkeypatch):
    import ray

    from discover.search import search
    from discover.search.enum import EnumConfig
    from discover.search.ray_enum import RayPool

    pools, sent = [], []
    original = RayPool.send

    def send(self, w, item):
        original(self, w, item)
        if item is not None and item[0] not in ("tt", "reset"):
            sent.append(item)
            if len(sent) == 1:  # the first unit: its worker dies with it in hand
                pools.append(self)
                ray.kill(self.actors[w])

    monkeypatch.setattr(RayPool, "send", send)
    task = Task.from_name("sort3")
    config = EnumConfig(workers=2, backend="ray", register_phase=False)
    result = search(task, "enum", config)
    local = search(task, "enum", EnumConfig(workers=2, register_phase=False))
    assert result.optimal and local.optimal
    assert len(result.program) == len(local.program) == 17
    assert verify(result.program, task).correct
    assert pools and pools[0].lost >= 1 and len(sent) > 1


def test_a_local_run_resumes_on_the_cluster(ray_cluster, tmp_path, capsys):
    pytest.importorskip("torch")
    out = str(tmp_path / "run")
    tiny = ["--games", "4", "--simulations", "16", "--embed-dim", "16", "--heads", "2",
            "--target-length", "0", "--no-progress"]
    assert main(["train", "--task", "sort3", "--max-iterations", "1", "--out", out,
                 *tiny]) in (0, 1)
    assert main(["train", "--resume", out, "--backend", "ray", "--address",
                 ray_cluster.address, "--max-iterations", "3"]) in (0, 1)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert summary["iterations"] == 3 and config["backend"] == "ray"
    assert summary["episodes"] >= 3 * 4


def test_a_user_task_on_the_cluster(ray_cluster, tmp_path):
    """A Task.from_function task reaches the actors pickled (their processes do not know
    its name): the chains give the local result, a training runs its iterations."""
    pytest.importorskip("torch")
    from discover.agent import MCTSConfig, NetworkConfig, TrainConfig, train
    from discover.search import search

    second = Task.from_function("second-smallest-on-ray", 4, lambda a: sorted(a)[1:2])
    local = search(second, "stochastic", _stochastic(steps=4_000), time_limit=600)
    remote = search(second, "stochastic", _stochastic(steps=4_000, backend="ray"),
                    time_limit=600)
    assert remote.program.text() == local.program.text()
    assert verify(remote.program, second).correct
    result = train(TrainConfig(task=second, backend="ray", actors=2, games=4, seed=2,
                               out=str(tmp_path / "run"), progress=False, max_iterations=2,
                               network=NetworkConfig(embed_dim=16, heads=2),
                               mcts=MCTSConfig(simulations=16), eval_every=0))
    assert result.iterations == 2 and result.episodes >= 8
