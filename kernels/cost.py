"""Cost model: length, register-only length, and a latency estimate in cycles.

The latency estimate is a model, not a measurement. The machine it models issues up to
ISSUE_WIDTH instructions per cycle, renames registers (so only true dependencies count),
and gives each opcode a fixed latency (LATENCY, roughly a modern x86-64 core with L1
hits). An instruction starts once every value it reads is ready: the registers it reads
(a cmov reads its destination too), the memory cell it loads, and the flags of the last
cmp for a cmov. The estimate is ``max(critical path, ceil(P / ISSUE_WIDTH))``: the
longest dependency chain, or the issue bottleneck when the program is long and parallel.
Real cores differ (ports, store forwarding, move elimination); ``discover bench``
measures real latency.
"""

from __future__ import annotations

import numba
import numpy as np

from .interp import JIT
from .isa import CMOVS, CMP, LOAD, MOV, N_OPCODES, STORE

LATENCY = np.ones(N_OPCODES, dtype=np.int64)  # cycles per opcode
LATENCY[LOAD] = 4  # L1 hit
LATENCY[STORE] = 1  # into the store buffer; a later load of that cell waits for it
LATENCY[MOV] = 1
LATENCY[CMP] = 1
for _op in CMOVS:
    LATENCY[_op] = 1
ISSUE_WIDTH = 4


@numba.njit(**JIT)
def latency_estimate(code, n, registers):
    """Estimated cycles of ``code: int32[P, 3]`` on the model above (well-formed code)."""
    reg_ready = np.zeros(registers, dtype=np.int64)
    mem_ready = np.zeros(n, dtype=np.int64)
    flags_ready = 0
    finish = 0
    for k in range(code.shape[0]):
        op, dst, src = code[k, 0], code[k, 1], code[k, 2]
        if op == LOAD:
            start = mem_ready[src]
        elif op == MOV or op == STORE:
            start = reg_ready[src]
        else:  # cmp reads both; a cmov reads both and the flags
            start = max(reg_ready[dst], reg_ready[src])
            if op != CMP:
                start = max(start, flags_ready)
        end = start + LATENCY[op]
        if op == STORE:
            mem_ready[dst] = end
        elif op == CMP:
            flags_ready = end
        else:
            reg_ready[dst] = end
        finish = max(finish, end)
    issue = (code.shape[0] + ISSUE_WIDTH - 1) // ISSUE_WIDTH
    return max(finish, issue)
