"""``discover train --cost measured``: the search's reward of a solved program from its
measured native latency (discover/agent/measured.py).

The reward's logic, the cache and the run's best are checked with a fake measurement (a
figure chosen per program), so no test depends on timing; one small real run is skipped
where native code cannot run.
"""

from __future__ import annotations

import json

import pytest
from conftest import FakeMeasurement

torch = pytest.importorskip("torch")

import discover.native as native  # noqa: E402
from discover.agent import MCTSConfig, NetworkConfig, TrainConfig, train  # noqa: E402
from discover.agent.measured import MEASURED_FILE, MeasuredReward  # noqa: E402
from discover.candidates import CANDIDATES_FILE, read_candidates  # noqa: E402
from discover.cli import main  # noqa: E402
from discover.envs import NETWORK_LATENCY  # noqa: E402
from discover.kernels import Program, Task, baseline_program, latency_estimate, verify  # noqa: E402
from discover.validation import ConfigError  # noqa: E402

SORT3 = Task.from_name("sort3")
NETWORK = baseline_program(SORT3)
# A correct sort3 program of 18 instructions other than the network's.
OTHER = Program.parse("mov r0, m0\nmov r1, m1\nmov r2, m2\nmov r3, r1\ncmp r2, r3\n"
                      "cmovge r3, r2\ncmovg r2, r1\ncmp r0, r2\ncmovge r1, r0\ncmovg r0, r2\n"
                      "cmovg r2, r3\nmov m0, r0\ncmp r1, r3\ncmovl r2, r1\nmov m1, r2\n"
                      "cmovl r1, r3\nmov r0, r2\nmov m2, r1\n")
TINY_NET = NetworkConfig(embed_dim=16, state_hidden=32, hidden=32)


def model(program: Program) -> int:
    return int(latency_estimate(program.code, 3, 4))


@pytest.fixture
def fake_timing(monkeypatch):
    """Time = 10 ns for the network program, 10 ns x (1 - 0.01 x its cmovs) otherwise;
    the calls are listed: (texts timed, the network's aside; whether with the network)."""
    timed = []

    def measure_together(programs, task, config=None):
        out = []
        timed.append(([p.text() for p in programs if p != NETWORK], NETWORK in programs))
        for p in programs:
            cmovs = int(((p.code[:, 0] >= 4)).sum())
            out.append(FakeMeasurement(10.0 if p == NETWORK else 10.0 * (1 - 0.01 * cmovs)))
        return out

    monkeypatch.setattr(native, "measure_together", measure_together)
    monkeypatch.setattr(native, "native_unavailable", lambda: None)
    return timed


@pytest.mark.parametrize("fields, word", [
    (dict(task="varsort3"), "varsort"),
    (dict(task="median3"), "sortN"),
    (dict(agent="ppo"), "alphazero"),
    (dict(actors=2, games=4), "actors 1"),
    (dict(task="sort3", registers=3), "registers"),
])
def test_measured_cost_is_refused_where_it_cannot_apply(fields, word):
    with pytest.raises(ConfigError, match=word) as error:
        TrainConfig(cost="measured", **fields)
    assert "\n" not in str(error.value) and "cost" in str(error.value)


def test_cli_refusals_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    assert main(["train", "--task", "median3", "--cost", "measured",
                 "--out", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'measured' needs a sortN --task" in err[0]
    monkeypatch.setattr(native, "native_unavailable", lambda: "no C compiler (cc) found")
    assert main(["train", "--task", "sort3", "--cost", "measured", "--no-progress",
                 "--out", str(tmp_path / "n")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "discover: error: --cost measured needs native timing: no C compiler (cc) found"]
    assert not (tmp_path / "n").exists()


def test_the_correction_replaces_the_model_cost_by_the_measured_one(fake_timing):
    measured = MeasuredReward(SORT3, cost_weight=0.5, cost_scale=NETWORK_LATENCY[3])
    assert measured.network_cycles == model(NETWORK) == NETWORK_LATENCY[3]
    # the network program: measured = model, nothing to correct
    assert measured(NETWORK) == pytest.approx(0.0)
    cmovs = int((OTHER.code[:, 0] >= 4).sum())
    ratio = 1 - 0.01 * cmovs
    assert measured.cycles(OTHER) == pytest.approx(ratio * NETWORK_LATENCY[3])
    expected = 0.5 * (model(OTHER) - ratio * NETWORK_LATENCY[3]) / NETWORK_LATENCY[3]
    assert measured(OTHER) == pytest.approx(expected)
    # the game's solved reward minus the model's term, plus the correction: the measured term
    assert -0.5 * model(OTHER) / NETWORK_LATENCY[3] + measured(OTHER) == pytest.approx(-0.5 * ratio)


def test_a_program_is_measured_once(fake_timing, tmp_path):
    measured = MeasuredReward(SORT3, 0.5, NETWORK_LATENCY[3])
    for _ in range(3):
        measured(OTHER), measured.key(OTHER), measured.cycles(OTHER)
    assert fake_timing == [([OTHER.text()], True)] and measured.timed == 1
    # the cache survives through the run directory's file
    measured.save(tmp_path)
    again = MeasuredReward(SORT3, 0.5, NETWORK_LATENCY[3])
    assert again.load(tmp_path) == 1
    assert again(OTHER) == measured(OTHER) and again.timed == 0 and len(fake_timing) == 1
    # a file of another task, or a damaged one, reads as empty
    (tmp_path / MEASURED_FILE).write_text("{not json")
    assert MeasuredReward(SORT3, 0.5, NETWORK_LATENCY[3]).load(tmp_path) == 0


def test_the_search_adds_the_correction_to_solving_moves(fake_timing):
    """Along OTHER's moves, every expansion's reward is the game's own (the latency
    model), but the solving one's, which adds OTHER's correction once it is timed (the
    round after it was met: ``flush``)."""
    import numpy as np

    from discover.agent.game import GameSpec
    from discover.agent.mcts import Search, uniform_evaluator

    spec = GameSpec.from_config(TrainConfig(task="sort3", cost="measured", max_length=18))
    assert spec.cost == "latency"
    measured = MeasuredReward(SORT3, 0.5, NETWORK_LATENCY[3])
    solved = []
    game = spec.make()
    search = Search(game, spec.state_of, spec.max_moves, uniform_evaluator(spec.n_actions),
                    MCTSConfig(), np.random.default_rng(0), solved.append, reward_of=measured)
    plain = spec.make()

    def play() -> list:
        plain.reset(seed=0)
        node, out = search.root(game.reset(seed=0)[0]), []
        for row in OTHER.code:
            action = spec.action_index(row)
            _, reward, *_ = plain.step(action)
            node = search._expand(node, int(np.flatnonzero(node.legal == action)[0]))
            out.append((node.reward, reward, node.solved))
        return out

    first = play()  # met, not timed yet: the model's reward
    assert all(mine == pytest.approx(model) for mine, model, _ in first) and first[-1][2]
    assert measured.pending and not fake_timing
    assert measured.flush() == [OTHER] and fake_timing == [([OTHER.text()], True)]
    second = play()
    for mine, model, done in second:
        assert mine == pytest.approx(model + (measured(OTHER) if done else 0.0))
    assert measured(OTHER) != 0.0 and solved == [OTHER, OTHER] and len(fake_timing) == 1


def test_the_runs_best_is_the_fastest_measured_and_resumes(fake_timing, tmp_path, monkeypatch):
    """A training run with fake timings: the best is the least measured cycles (not the
    shortest), measured.json and candidates.json are written, and a resumed run times
    none of the programs its file holds again."""
    base = dict(task="sort3", cost="measured", out=str(tmp_path / "run"), progress=False,
                network=TINY_NET, mcts=MCTSConfig(simulations=16), games=4, train_steps=2,
                batch_size=32, max_iterations=2, eval_every=0, checkpoint_every=1e9)
    flushed = []  # the programs timed for the first time
    original = MeasuredReward.flush

    def flush(self, best=None):
        flushed.extend(self.pending)
        return original(self, best)

    monkeypatch.setattr(MeasuredReward, "flush", flush)
    result = train(TrainConfig(**base))
    run = tmp_path / "run"
    assert result.program is not None and verify(result.program, SORT3).correct
    figures = json.loads((run / MEASURED_FILE).read_text())["programs"]
    assert len(flushed) == len(set(flushed)) == len(figures)  # each program timed once
    assert set(figures) == set(flushed) and result.program.text() in figures
    fastest = min(figures.values(), key=lambda f: f["measured_cycles"])["measured_cycles"]
    assert figures[result.program.text()]["measured_cycles"] == fastest
    assert result.hall_of_fame[-1]["measured_cycles"] == pytest.approx(fastest, abs=1e-3)
    header, ranked = read_candidates(run / CANDIDATES_FILE)
    assert header["cost"] == "measured" and ranked
    assert all(verify(c.program, SORT3).correct for c in ranked)
    before = len(flushed)
    resumed = train(TrainConfig(**{**base, "max_iterations": 3, "resume": True}))
    assert resumed.iterations == 3 and verify(resumed.program, SORT3).correct
    assert not set(flushed[before:]) & set(figures)  # the file's programs: not timed again


@pytest.mark.skipif(bool(native.native_unavailable()), reason="native timing unavailable")
def test_a_tiny_real_run_ends_with_a_verified_program_and_candidates(tmp_path):
    out = tmp_path / "real"
    result = train(TrainConfig(task="sort3", cost="measured", max_iterations=2, out=str(out),
                               progress=False, network=TINY_NET,
                               mcts=MCTSConfig(simulations=16), games=4, train_steps=2,
                               batch_size=32, eval_every=0))
    assert result.program is not None and verify(result.program, SORT3).correct
    assert Program.read(out / "best.asm") == result.program
    header, ranked = read_candidates(out / CANDIDATES_FILE)
    assert header["task"].name == "sort3" and header["timed"] == len(ranked) >= 1
    assert all(verify(c.program, SORT3).correct for c in ranked)
    hall = json.loads((out / "hall_of_fame.json").read_text())["programs"]
    assert all("vs_network" in entry for entry in hall)


def test_cli_prints_the_measured_ratio(fake_timing, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["train", "--task", "sort3", "--cost", "measured", "--out", str(out),
                 "--max-iterations", "2", "--simulations", "16", "--games", "4",
                 "--batch-size", "32", "--train-steps", "2", "--embed-dim", "16",
                 "--state-hidden", "32", "--hidden", "32", "--eval-every", "0",
                 "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0 and "x the network program's latency" in text
    assert "measured.json" in text and "candidates.json" in text
