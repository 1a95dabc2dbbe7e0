"""Cost model: length, register-only length, and a latency estimate in cycles.

The latency estimate is a model, not a measurement. The machine it models issues up to
ISSUE_WIDTH instructions per cycle, renames registers (so only true dependencies count),
and gives each opcode the fixed latency of its class in the opcode table (CYCLES, roughly
a modern x86-64 core with L1 hits). An instruction starts once every value it reads is
ready: the registers it reads (a cmov reads its destination too), the memory cell it
loads, and the flags of the last cmp for a cmov. The estimate is
``max(critical path, ceil(P / ISSUE_WIDTH))``: the longest dependency chain, or the issue
bottleneck when the program is long and parallel.
Real cores differ (ports, store forwarding, move elimination); ``discover bench``
measures real latency. ``latency_model`` is the same schedule with its parameters given
(per-opcode latencies, issue width, a store-to-load forwarding penalty, how many
instructions of each unit may start per cycle, and cycles each instruction adds on top):
``python -m discover.native.fit`` fits them to measurements of this machine.
"""

from __future__ import annotations

import numba
import numpy as np

from .jit import JIT
from .isa import (ALU, COMPARE, COPY, SELECT, DST_MEM, LOAD_LATENCY, OPCODES, READS_DST, READS_FLAGS,
                  READS_SRC, SRC_MEM, STORE_LATENCY, WRITES_DST, WRITES_FLAGS)

CYCLES = {ALU: 1, LOAD_LATENCY: 4, STORE_LATENCY: 1}  # per latency class of kernels/isa.py
# L1 hit for a load; a store goes into the store buffer, and a later load of that cell
# waits for it.
LATENCY = np.array([CYCLES[spec.latency] for spec in OPCODES],
                   dtype=np.int64)  # int64[N_OPCODES]: cycles per opcode
ISSUE_WIDTH = 4


N_UNITS = 5


def _unit(spec) -> int:
    if spec.latency == LOAD_LATENCY:
        return 3
    if spec.latency == STORE_LATENCY:
        return 4
    return {COPY: 0, COMPARE: 1, SELECT: 2}[spec.effect]


UNITS = np.array([_unit(spec) for spec in OPCODES], dtype=np.int64)
_HORIZON = 4096  # cycles a schedule may span in the port table (far past any program)


@numba.njit(**JIT)
def latency_model(code, n, registers, latency, issue_width, forward, ports, extra, to_stores):
    """The model's cycles for ``code: int32[P, 3]`` under given parameters (float64).

    ``latency``: float64[N_OPCODES], cycles per opcode; ``issue_width``: instructions
    issued per cycle (the estimate is at least ``ceil(P / issue_width)``); ``forward``:
    extra cycles of a load from a cell the program itself stored before (store-to-load
    forwarding); ``ports``: float64[N_UNITS], instructions of each unit (``UNITS``) that
    may start in one cycle (0: no limit), granted in program order; ``extra``:
    float64[N_OPCODES], cycles each instruction of an opcode adds to the schedule's length
    (what its issue costs beyond the dependency chain); ``to_stores``: the schedule ends
    when the last store completes (what the next sort waits for; a program without stores:
    its last instruction), else when the last instruction does. ``latency_estimate`` is
    this model
    with the module's parameters; ``discover.native.fit`` fits them to measurements.

    Operands are resources: registers are rows 0..R-1, memory cells rows R..R+N-1 (as in
    the interpreter's state), plus the flags; the opcode table's columns say which an
    instruction reads and writes.
    """
    ready = np.zeros(registers + n, dtype=np.float64)  # float64[R + N]: cycle each is ready
    stored = np.zeros(registers + n, dtype=np.bool_)  # bool[R + N]: a cell the code stored
    used = np.zeros((_HORIZON, N_UNITS), dtype=np.float64)  # starts per cycle and unit
    limited = False
    for u in range(N_UNITS):
        limited = limited or ports[u] > 0.0
    flags_ready = 0.0
    finish = 0.0
    stores_done = -1.0
    added = 0.0
    for k in range(code.shape[0]):
        op = code[k, 0]
        d = code[k, 1] + DST_MEM[op] * registers
        s = code[k, 2] + SRC_MEM[op] * registers
        start = 0.0
        if READS_DST[op]:
            start = max(start, ready[d])
        if READS_SRC[op]:
            start = max(start, ready[s])
            if SRC_MEM[op] and stored[s]:
                start += forward
        if READS_FLAGS[op]:
            start = max(start, flags_ready)
        unit = UNITS[op]
        if limited and ports[unit] > 0.0:
            cycle = min(int(np.ceil(start)), _HORIZON - 1)
            while cycle < _HORIZON - 1 and used[cycle, unit] + 1.0 > ports[unit]:
                cycle += 1
            used[cycle, unit] += 1.0
            start = max(start, float(cycle))
        end = start + latency[op]
        if WRITES_DST[op]:
            ready[d] = end
            if DST_MEM[op]:
                stored[d] = True
        if WRITES_FLAGS[op]:
            flags_ready = end
        finish = max(finish, end)
        if DST_MEM[op]:
            stores_done = max(stores_done, end)
        added += extra[op]
    if to_stores and stores_done >= 0.0:
        finish = stores_done
    issue = np.ceil(code.shape[0] / issue_width)
    return max(finish, issue) + added


_LATENCY = LATENCY.astype(np.float64)
_NO_PORTS = np.zeros(N_UNITS, dtype=np.float64)
_NO_EXTRA = np.zeros(len(OPCODES), dtype=np.float64)
_OPS = len(OPCODES)
MODEL_SIZE = 2 * _OPS + N_UNITS + 3
"""Length of a packed model (``pack_model``): latency, extra, ports, issue width,
forward, to_stores."""


def pack_model(latency, issue_width, forward, ports, extra, to_stores) -> np.ndarray:
    """``latency_model``'s parameters in one ``float64[MODEL_SIZE]`` array (what the
    compiled search kernels take; ``modelled_latency`` unpacks it)."""
    model = np.zeros(MODEL_SIZE, dtype=np.float64)
    model[:_OPS] = latency
    model[_OPS:2 * _OPS] = extra
    model[2 * _OPS:2 * _OPS + N_UNITS] = ports
    model[2 * _OPS + N_UNITS:] = (issue_width, forward, 1.0 if to_stores else 0.0)
    return model


@numba.njit(**JIT)
def modelled_latency(code, n, registers, model):
    """``latency_model`` of ``code`` under a packed model (``pack_model``)."""
    k = 2 * _OPS + N_UNITS
    return latency_model(code, n, registers, model[:_OPS], model[k], model[k + 1],
                         model[2 * _OPS:k], model[_OPS:2 * _OPS], model[k + 2] > 0.5)


@numba.njit(**JIT)
def latency_estimate(code, n, registers):
    """Estimated cycles of ``code: int32[P, 3]`` on the model above (well-formed code):
    ``latency_model`` with the module's parameters (no forwarding penalty)."""
    return np.int64(latency_model(code, n, registers, _LATENCY, ISSUE_WIDTH, 0.0, _NO_PORTS,
                                  _NO_EXTRA, False))
