"""The baseline executor the issue measures against: one numpy operation per instruction
across all inputs (what a careful pure-numpy implementation of this ISA does)."""

import numpy as np

from discover.kernels import OPCODES, UNSET
from discover.kernels.isa import COMPARE, COPY, FLAG_EQ, FLAG_GT, FLAG_LT, MEM, SELECT

# Per opcode, from the table: (effect, dst is a memory cell, src is one, cmov condition).
_DECODE = [(spec.effect, spec.dst == MEM, spec.src == MEM, spec.cond) for spec in OPCODES]


def run_numpy(code, inputs, registers):
    n, b = inputs.shape
    state = np.empty((registers + n + 1, b), dtype=np.int8)  # int8[S, B] as the kernel's
    state[:registers] = UNSET
    state[registers:-1] = inputs
    state[-1] = 0
    flags = state[-1]
    for op, dst, src in code.tolist():
        effect, dst_mem, src_mem, cond = _DECODE[op]
        d = dst + registers * dst_mem  # state rows of the operands
        s = src + registers * src_mem
        if effect == COPY:
            state[d] = state[s]
        elif effect == COMPARE:
            a, c = state[d], state[s]
            flags[:] = np.where(a < c, FLAG_LT, np.where(a == c, FLAG_EQ, FLAG_GT))
        elif effect == SELECT:
            np.copyto(state[d], state[s], where=(flags & cond) != 0)
        else:
            raise ValueError(f"run_numpy has no rule for the effect of opcode {op}")
    return state[registers:-1].copy()
