"""The baseline executor the issue measures against: one numpy operation per instruction
across all inputs (what a careful pure-numpy implementation of this ISA does)."""

import numpy as np

from discover.kernels import CMP, COND_MASK, FLAG_EQ, FLAG_GT, FLAG_LT, LOAD, MOV, STORE, UNSET


def run_numpy(code, inputs, registers):
    n, b = inputs.shape
    state = np.empty((registers + n + 1, b), dtype=np.int8)  # int8[S, B] as the kernel's
    state[:registers] = UNSET
    state[registers:-1] = inputs
    state[-1] = 0
    flags = state[-1]
    for op, dst, src in code.tolist():
        if op == MOV:
            state[dst] = state[src]
        elif op == LOAD:
            state[dst] = state[registers + src]
        elif op == STORE:
            state[registers + dst] = state[src]
        elif op == CMP:
            a, c = state[dst], state[src]
            flags[:] = np.where(a < c, FLAG_LT, np.where(a == c, FLAG_EQ, FLAG_GT))
        else:
            np.copyto(state[dst], state[src], where=(flags & COND_MASK[op]) != 0)
    return state[registers:-1].copy()
