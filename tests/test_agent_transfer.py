"""Transfer across task sizes (``--init-from DIR``) and the curriculum (``--curriculum``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from discover.agent import MCTSConfig, NetworkConfig, PPOConfig, TrainConfig, train  # noqa: E402
from discover.agent.game import GameSpec  # noqa: E402
from discover.agent.model import Agent  # noqa: E402
from discover.agent.rundir import CHECKPOINT  # noqa: E402
from discover.agent.transfer import Layout, TransferError, transfer_weights  # noqa: E402
from discover.cli import main  # noqa: E402
from discover.kernels.isa import OPCODES, MEM  # noqa: E402

TINY_NET = NetworkConfig(embed_dim=16, layers=0, heads=2, state_hidden=32, hidden=32)


def tiny(tmp_path, name="run", **kwargs) -> TrainConfig:
    base = dict(task="sort3", out=str(tmp_path / name), progress=False, network=TINY_NET,
                mcts=MCTSConfig(simulations=8), games=2, train_steps=2, batch_size=16,
                max_iterations=1, budget_minutes=5.0, target_length=None, checkpoint_every=1e9,
                eval_every=0, ppo=PPOConfig(envs=2, epochs=1, minibatch=16))
    base.update(kwargs)
    return TrainConfig(**base)


def agent_of(task: str, seed: int = 0) -> Agent:
    torch.manual_seed(seed)
    config = TrainConfig(task=task, network=TINY_NET)
    return Agent(config, GameSpec.from_config(config), torch.device("cpu"))


def randomised(agent: Agent) -> Agent:
    """Non-zero weights everywhere (the policy head starts at zero)."""
    with torch.no_grad():
        for p in agent.net.parameters():
            p.normal_()
    return agent


def test_rows_are_mapped_by_meaning_and_new_rows_keep_their_init():
    src = randomised(agent_of("sort3", seed=1))
    dst = agent_of("sort4", seed=2)
    fresh = {k: v.clone() for k, v in dst.net.state_dict().items()}
    s_layout, d_layout = Layout.of_spec(src.spec), Layout.of_spec(dst.spec)
    note = transfer_weights(src.net.state_dict(), s_layout, dst.net, d_layout)
    assert "152 of 240 actions" in note and "11 of 14 state rows" in note
    s, d = src.net.state_dict(), dst.net.state_dict()
    load = next(op for op, spec in enumerate(OPCODES) if spec.src == MEM and spec.dst != MEM)
    for triple in [(load, 2, 1), (0, 3, 1)]:  # load r2, m1; mov r3, r1 (register 3 of 4)
        a, b = src.spec.action_index(triple), dst.spec.action_index(triple)
        assert torch.equal(d["token.weight"][b + 1], s["token.weight"][a + 1])
        assert torch.equal(d["policy.weight"][b], s["policy.weight"][a])
        assert torch.equal(d["policy.bias"][b], s["policy.bias"][a])
    for triple in [(load, 4, 0), (load, 0, 3), (0, 4, 1)]:  # r4 and m3 are new in sort4
        b = dst.spec.action_index(triple)
        assert torch.equal(d["token.weight"][b + 1], fresh["token.weight"][b + 1])
        assert not d["policy.weight"][b].any()  # the fresh policy head is zero
    v = d_layout.values
    assert v == s_layout.values == 9
    rows3, rows4 = s_layout.rows(), d_layout.rows()
    for meaning in [("r", 3), ("m", 2), ("flags",), ("rank", 2)]:
        i, j = rows3.index(meaning), rows4.index(meaning)
        assert torch.equal(d["slot.weight"][j * v:(j + 1) * v], s["slot.weight"][i * v:(i + 1) * v])
    for meaning in [("r", 4), ("m", 3), ("rank", 3)]:
        j = rows4.index(meaning)
        assert torch.equal(d["slot.weight"][j * v:(j + 1) * v], fresh["slot.weight"][j * v:(j + 1) * v])
    common = min(len(s["position.weight"]), len(d["position.weight"]))
    assert torch.equal(d["position.weight"][:common], s["position.weight"][:common])
    assert torch.equal(d["trunk.0.weight"], s["trunk.0.weight"])


def test_fill_copies_the_nearest_row_into_new_ones():
    """--init-fill: sort4's r4 and m3 rows start as sort3's r3 and m2 rows."""
    src = randomised(agent_of("sort3", seed=1))
    dst = agent_of("sort4", seed=2)
    s_layout, d_layout = Layout.of_spec(src.spec), Layout.of_spec(dst.spec)
    note = transfer_weights(src.net.state_dict(), s_layout, dst.net, d_layout, fill=True)
    assert "240 of 240 actions" in note and "14 of 14 state rows" in note
    s, d = src.net.state_dict(), dst.net.state_dict()
    load = next(op for op, spec in enumerate(OPCODES) if spec.src == MEM and spec.dst != MEM)
    for new, near in [((load, 4, 3), (load, 3, 2)), ((0, 4, 1), (0, 3, 1)), ((0, 0, 4), (0, 0, 3))]:
        a, b = src.spec.action_index(near), dst.spec.action_index(new)
        assert torch.equal(d["token.weight"][b + 1], s["token.weight"][a + 1])
        assert torch.equal(d["policy.weight"][b], s["policy.weight"][a])
    a, b = src.spec.action_index((0, 1, 2)), dst.spec.action_index((0, 1, 2))  # exact stays
    assert torch.equal(d["policy.weight"][b], s["policy.weight"][a])
    v = d_layout.values
    rows3, rows4 = s_layout.rows(), d_layout.rows()
    for new, near in [(("r", 4), ("r", 3)), (("m", 3), ("m", 2)), (("rank", 3), ("rank", 2))]:
        i, j = rows3.index(near), rows4.index(new)
        assert torch.equal(d["slot.weight"][j * v:(j + 1) * v], s["slot.weight"][i * v:(i + 1) * v])
    assert torch.equal(d["value.weight"], s["value.weight"])


def test_same_size_transfer_is_a_copy_and_a_value_mismatch_copies_the_common_classes():
    src = randomised(agent_of("sort3", seed=1))
    dst = agent_of("sort3", seed=2)
    layout = Layout.of_spec(src.spec)
    transfer_weights(src.net.state_dict(), layout, dst.net, layout)
    for key, value in src.net.state_dict().items():
        assert torch.equal(dst.net.state_dict()[key], value), key
    # A source with 10 classes a row (as sort8's): the first 9 of each row are copied.
    wide = Layout(**{**layout.__dict__, "values": 10})
    rows = len(layout.rows())
    state = {k: v.clone() for k, v in src.net.state_dict().items()}
    state["slot.weight"] = torch.randn(rows * 10, state["slot.weight"].shape[1])
    transfer_weights(state, wide, dst.net, layout)
    got = dst.net.state_dict()["slot.weight"]
    for r in range(rows):
        assert torch.equal(got[r * 9:(r + 1) * 9], state["slot.weight"][r * 10:r * 10 + 9])


def test_a_network_of_another_shape_is_refused():
    src = agent_of("sort3")
    other = TrainConfig(task="sort3", network=NetworkConfig(embed_dim=16, layers=0, heads=2,
                                                            state_hidden=32, hidden=48))
    dst = Agent(other, GameSpec.from_config(other), torch.device("cpu"))
    with pytest.raises(TransferError, match="trunk"):
        transfer_weights(src.net.state_dict(), Layout.of_spec(src.spec), dst.net,
                         Layout.of_spec(dst.spec))


def test_a_sort4_run_starts_from_a_sort3_run(tmp_path, capsys):
    train(tiny(tmp_path, "s3", max_iterations=2))
    saved = torch.load(tmp_path / "s3" / CHECKPOINT, weights_only=False)
    assert saved["layout"]["task"] == "sort3"
    result = train(tiny(tmp_path, "s4", task="sort4", init_from=str(tmp_path / "s3")))
    assert result.iterations == 1
    assert "started from the network of" in capsys.readouterr().err
    # An old checkpoint (no layout): the layout is rebuilt from its config.
    del saved["layout"]
    torch.save(saved, tmp_path / "s3" / CHECKPOINT)
    again = train(tiny(tmp_path, "s4b", task="sort4", init_from=str(tmp_path / "s3")))
    a = torch.load(tmp_path / "s4" / CHECKPOINT, weights_only=False)["model"]
    b = torch.load(tmp_path / "s4b" / CHECKPOINT, weights_only=False)["model"]
    assert again.iterations == 1 and all(torch.equal(a[k], b[k]) for k in a)
    # Resuming does not apply the transfer again: the checkpoint holds the weights.
    capsys.readouterr()
    resumed = train(tiny(tmp_path, "s4", task="sort4", init_from=str(tmp_path / "s3"),
                         resume=True, max_iterations=2))
    assert resumed.iterations == 2 and "started from" not in capsys.readouterr().err


@pytest.fixture(scope="module")
def sort2_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("src") / "s2"
    train(TrainConfig(task="sort2", out=str(out), progress=False, max_iterations=1, games=1,
                      mcts=MCTSConfig(simulations=4), eval_every=0, train_steps=1,
                      batch_size=8))
    return out


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case, expected", [
    ("missing", "no such directory"),
    ("file", "not a directory"),
    ("empty", "no checkpoint.pt"),
    ("corrupt", "corrupt checkpoint"),
    ("sizes", "network --embed-dim was 64 there, 32 here"),
    ("varsort", "a sort2 network cannot start a varsort3 run"),
])
def test_bad_init_from_exits_2_with_one_line(tmp_path, capsys, sort2_run, case, expected):
    source = {"missing": tmp_path / "nope", "file": tmp_path / "f", "empty": tmp_path / "e",
              "corrupt": tmp_path / "c"}.get(case, sort2_run)
    (tmp_path / "f").write_text("x")
    (tmp_path / "e").mkdir()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / CHECKPOINT).write_bytes(b"not a checkpoint")
    argv = ["train", "--task", "varsort3" if case == "varsort" else "sort3", "--out",
            tmp_path / "run", "--no-progress", "--init-from", source]
    if case == "sizes":
        argv += ["--embed-dim", 32, "--heads", 2]
    code, out, err = cli(capsys, *argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("discover: error: --init-from"), err
    assert expected in lines[0] and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # refused before the run directory is made


def test_init_from_cannot_change_on_resume(tmp_path, capsys, sort2_run):
    code, _, err = cli(capsys, "train", "--resume", sort2_run, "--init-from", sort2_run)
    assert code == 2 and "--init-from cannot change" in err


@pytest.mark.parametrize("curriculum, expected", [
    ("sort3,median3", "stages must be sortN tasks"),
    ("sort2,sort2", "lists a task twice"),
    ("varsort2", "stages must be sortN tasks"),
])
def test_bad_curriculum_exits_2(tmp_path, capsys, curriculum, expected):
    code, _, err = cli(capsys, "train", "--task", "sort3", "--out", tmp_path / "r",
                       "--curriculum", curriculum)
    assert code == 2 and "--curriculum" in err and expected in err
    assert len(err.strip().splitlines()) == 1


def test_curriculum_runs_its_stages_then_the_task_and_resumes(tmp_path, capsys):
    config = tiny(tmp_path, "cur", task="sort4", curriculum="sort2,sort3", stage_iterations=1,
                  max_iterations=1)
    result = train(config)
    err = capsys.readouterr().err
    assert "curriculum stage sort2" in err and "curriculum stage sort3" in err
    assert result.iterations == 1 and result.config.task == "sort4"
    for stage in ("sort2", "sort3"):
        summary = json.loads((tmp_path / "cur" / f"stage-{stage}" / "summary.json").read_text())
        assert summary["task"] == stage and summary["iterations"] == 1
    assert "stage-sort3 (sort3)" in err  # the main run starts from the last stage
    # Resume: the stages are done (skipped), the main run continues from its checkpoint.
    resumed = train(tiny(tmp_path, "cur", task="sort4", curriculum="sort2,sort3",
                         stage_iterations=1, max_iterations=2, resume=True))
    err = capsys.readouterr().err
    assert resumed.iterations == 2 and "curriculum stage" not in err and "started from" not in err
    # Same seed, same result: a second curriculum run gives the same network.
    train(tiny(tmp_path, "cur2", task="sort4", curriculum="sort2,sort3", stage_iterations=1,
               max_iterations=2))
    a = torch.load(tmp_path / "cur" / CHECKPOINT, weights_only=False)["model"]
    b = torch.load(tmp_path / "cur2" / CHECKPOINT, weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_curriculum_killed_in_a_stage_resumes_that_stage(tmp_path, capsys):
    config = tiny(tmp_path, "cur", task="sort3", curriculum="sort2", stage_iterations=2)
    # As if killed in the stage after its first iteration: the stage has a checkpoint and
    # no summary, the main run nothing yet.
    from dataclasses import replace

    from discover.agent.curriculum import stage_config

    train(replace(stage_config(config, "sort2", False), max_iterations=1))
    (tmp_path / "cur" / "stage-sort2" / "summary.json").unlink()
    (tmp_path / "cur").joinpath("config.json").write_text(json.dumps(config.to_json()))
    code, out, err = cli(capsys, "train", "--resume", tmp_path / "cur")
    assert code in (0, 1), err
    assert "curriculum stage sort2: iteration limit after 2 iterations" in err
    summary = json.loads((tmp_path / "cur" / "stage-sort2" / "summary.json").read_text())
    result = json.loads((tmp_path / "cur" / "summary.json").read_text())
    assert summary["iterations"] == 2 and result["iterations"] == 1
    rows = (tmp_path / "cur" / "stage-sort2" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3  # header + iterations 1 and 2: the stage continued, not restarted
    assert np.isfinite(result["elapsed"])
