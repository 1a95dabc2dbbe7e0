"""The latency model's parameters and their fit (kernels/cost.py, discover/native/fit.py).

Checked on synthetic data only: the model's port limit and per-instruction cost, the rank
correlation, the normalisation of a batch's rounds, and that the fit recovers parameters
that generated the data. No timing.
"""

import numpy as np
import pytest

from discover.kernels import CMOVS, N_OPCODES, Program, Task, latency_estimate, latency_model
from discover.kernels.cost import N_UNITS, UNITS
from discover.native import fit as fitting

SORT3 = Task.from_name("sort3")
ONES = np.ones(N_OPCODES)
NO_PORTS = np.zeros(N_UNITS)
NO_EXTRA = np.zeros(N_OPCODES)
# Two cmovs that depend on nothing but the one cmp: in parallel unless the port says not.
TWO_CMOVS = Program.parse("mov r0, m0\nmov r1, m1\ncmp r0, r1\ncmovg r2, r0\ncmovg r3, r1\n")


def cycles(program, ports=NO_PORTS, extra=NO_EXTRA, latency=ONES):
    return latency_model(program.code, SORT3.n, SORT3.registers, latency, 1e9, 0.0, ports,
                         extra, False)


def test_cmov_port_limit_serialises_independent_cmovs():
    free = cycles(TWO_CMOVS)
    assert free == 3.0  # load, cmp, then both cmovs in the same cycle
    one = NO_PORTS.copy()
    one[UNITS[CMOVS[0]]] = 1.0
    assert cycles(TWO_CMOVS, one) == 4.0
    two = NO_PORTS.copy()
    two[UNITS[CMOVS[0]]] = 2.0
    assert cycles(TWO_CMOVS, two) == 3.0


def test_every_cmov_shares_one_unit_and_the_rest_differ():
    assert len({int(UNITS[op]) for op in CMOVS}) == 1
    assert len(set(map(int, UNITS))) == N_UNITS


def test_extra_adds_per_instruction():
    extra = NO_EXTRA.copy()
    extra[CMOVS[1]] = 0.5  # cmovg
    assert cycles(TWO_CMOVS, extra=extra) == 3.0 + 2 * 0.5


def test_to_stores_ends_at_the_last_store():
    program = Program.parse("mov r0, m0\nmov m1, r0\nmov r1, m2\ncmp r1, r0\ncmovg r1, r0\n")
    assert cycles(program) == 3.0  # load, cmp, cmov
    assert latency_model(program.code, SORT3.n, SORT3.registers, ONES, 1e9, 0.0, NO_PORTS,
                         NO_EXTRA, True) == 2.0  # load, store
    registers_only = Program.parse("mov r0, m0\nmov r1, r0\n")
    assert latency_model(registers_only.code, SORT3.n, SORT3.registers, ONES, 1e9, 0.0,
                         NO_PORTS, NO_EXTRA, True) == 2.0


def test_defaults_are_latency_estimate():
    network = fitting.baseline_program(SORT3)
    assert fitting.model_cycles([network], SORT3)[0] == latency_estimate(
        network.code, SORT3.n, SORT3.registers)


def test_spearman():
    assert fitting.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert fitting.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert fitting.spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)  # ranks only
    assert np.isnan(fitting.spearman([1, 1, 1], [1, 2, 3]))
    # Ties take their average rank: [1, 1, 2] ranks as [0.5, 0.5, 2].
    expected = np.corrcoef([0.5, 0.5, 2.0], [0.0, 1.0, 2.0])[0, 1]
    assert fitting.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(expected)


class Samples:
    def __init__(self, ticks):
        self.ticks = np.asarray(ticks, dtype=float)


def test_batch_cycles_cancels_slow_rounds():
    rng = np.random.default_rng(0)
    true = np.array([10.0, 11.0, 12.0, 13.0])
    slowdown = np.where(rng.random(51) < 0.5, 1.6, 1.0)  # half the rounds 60% slower
    noise = 1 + 0.01 * rng.standard_normal((4, 51))
    figures = fitting.batch_cycles([Samples(t * slowdown * n) for t, n in zip(true, noise)])
    assert list(np.argsort(figures)) == [0, 1, 2, 3]
    assert figures / figures[0] == pytest.approx(true / true[0], rel=0.02)


def test_fit_extra_recovers_the_weights_and_refuses_negative_ones():
    rng = np.random.default_rng(1)
    schedule = [rng.integers(10, 20, 200).astype(float) for _ in range(2)]
    counts = [rng.integers(0, 8, (200, N_UNITS)).astype(float) for _ in range(2)]
    truth = np.array([0.0, 0.25, 0.5, 0.0, 1.0])
    measured = [2.0 * (s + c @ truth) + offset for s, c, offset in
                zip(schedule, counts, (3.0, 7.0))]
    extra, scale = fitting.fit_extra(schedule, counts, measured)
    assert scale == pytest.approx(2.0)
    assert [extra.get(name, 0.0) for name in fitting.UNIT_NAMES] == pytest.approx(list(truth),
                                                                                 abs=1e-9)
    # A unit that makes programs faster gets no negative weight.
    falling = [y - 0.5 * c[:, 0] for y, c in zip(measured, counts)]
    extra, _ = fitting.fit_extra(schedule, counts, falling)
    assert "mov" not in extra and all(v >= 0 for v in extra.values())


def test_fit_recovers_generating_parameters(monkeypatch):
    point = {"mov": 0.0, "load": 4.0, "store": 1.0, "cmov": 2.0, "cmov_ports": 1.0,
             "cmp_ports": 0.0, "forward": 0.0}
    monkeypatch.setattr(fitting, "GRID", {k: ((v,) if k not in ("cmov", "cmov_ports")
                                              else (1.0, 2.0) if k == "cmov" else (0.0, 1.0))
                                          for k, v in point.items()})
    programs = fitting.collect(SORT3, 60, seed=3, steps=1000)
    assert len(programs) == 60 and len({p.text() for p in programs}) == 60
    measured = 1.7 * fitting.model_cycles(programs, SORT3,
                                          {**point, "extra": {"sort3": {"cmp": 0.5}}})
    result = fitting.fit({"sort3": (programs, measured)}, seed=0)
    assert {k: result.params[k] for k in point} == point
    assert result.held_out["sort3"]["fitted"] == pytest.approx(1.0)
    assert result.held_out["sort3"]["programs"] == 30


def test_packed_model_is_latency_model():
    from discover.kernels import modelled_latency, pack_model

    ports = NO_PORTS.copy()
    ports[UNITS[CMOVS[0]]] = 1.0
    extra = NO_EXTRA.copy()
    extra[CMOVS[1]] = 0.25
    latency = ONES * 2
    network = fitting.baseline_program(SORT3)
    for program in (TWO_CMOVS, network):
        for to_stores in (False, True):
            model = pack_model(latency, 3.0, 1.5, ports, extra, to_stores)
            assert modelled_latency(program.code, SORT3.n, SORT3.registers, model) == \
                latency_model(program.code, SORT3.n, SORT3.registers, latency, 3.0, 1.5,
                              ports, extra, to_stores)


def test_shipped_model_packs_for_every_task():
    from discover.kernels import MODEL_SIZE, TASK_NAMES
    from discover.known import fitted_model

    params = fitted_model()
    assert set(fitting.GRID) <= set(params) and params["extra"]
    for name in TASK_NAMES:
        model = fitting.packed_model(params, Task.from_name(name))
        assert model.shape == (MODEL_SIZE,) and np.isfinite(model).all()
