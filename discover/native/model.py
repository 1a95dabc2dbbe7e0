"""The fitted latency model's parameters: from a fit's ``params`` to ``kernels/cost.py``.

A fit's ``params`` (``discover/known/model.json``, ``python -m discover.native.fit``):
``mov``, ``load``, ``store``, ``cmov`` (cycles), ``cmov_ports``, ``cmp_ports`` (starts per
cycle, 0: no limit), ``forward`` (cycles), and ``extra``: task name -> unit name -> cycles
each instruction of the unit adds. The schedule ends at the last store.
"""

from __future__ import annotations

import numpy as np

from discover.kernels import (CMOVS, CMP, LOAD, MOV, N_OPCODES, STORE, Task, latency_estimate,
                              modelled_latency, pack_model)
from discover.kernels.cost import N_UNITS, UNITS

__all__ = ["UNIT_NAMES", "model_cycles", "packed_model"]

UNIT_NAMES = ("mov", "cmp", "cmov", "load", "store")
"""kernels/cost.py's UNITS, by index."""


def _latency_table(params: dict) -> np.ndarray:
    table = np.ones(N_OPCODES, dtype=np.float64)
    table[MOV], table[LOAD], table[STORE], table[CMP] = (params["mov"], params["load"],
                                                         params["store"], 1.0)
    for op in CMOVS:
        table[op] = params["cmov"]
    return table


def _ports(params: dict) -> np.ndarray:
    ports = np.zeros(N_UNITS, dtype=np.float64)
    ports[UNITS[CMOVS[0]]] = params["cmov_ports"]
    ports[UNITS[CMP]] = params["cmp_ports"]
    return ports


def _extra(params: dict, task: Task) -> np.ndarray:
    per_unit = params.get("extra", {}).get(task.name, {})
    return np.array([per_unit.get(UNIT_NAMES[u], 0.0) for u in UNITS], dtype=np.float64)


def model_cycles(programs, task: Task, params: dict | None = None) -> np.ndarray:
    """The model's cycles for each program: ``params`` (GRID's keys, and ``extra``: task
    name -> unit name -> cycles per instruction) or, for None, the current model
    (``latency_estimate``); the schedule as ``packed_model`` packs it."""
    if params is None:
        return np.array([latency_estimate(p.code, task.n, task.registers) for p in programs],
                        dtype=float)
    model = packed_model(params, task)
    return np.array([modelled_latency(p.code, task.n, task.registers, model)
                     for p in programs])


def packed_model(params: dict, task: Task) -> np.ndarray:
    """``params`` (a fit's) as ``kernels/cost.py``'s packed model for ``task``: the task's
    own extras, else those of the fitted task nearest in size."""
    extra = params.get("extra", {})
    if task.name not in extra and extra:
        nearest = min(extra, key=lambda name: (abs(Task.from_name(name).n - task.n), name))
        params = {**params, "extra": {task.name: extra[nearest]}}
    return pack_model(_latency_table(params), 1e9, params["forward"], _ports(params),
                      _extra(params, task), True)


