"""Differential tests: the compiled interpreter against the plain-Python reference."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import random_program
from discover.kernels import Task
from discover.kernels import (UNSET, initial_state, placed_counts, run, run_batch,
                              run_reference, step, step_batch)

SAMPLE = 64  # input columns per program compared against the (slow) reference


def reference_memory(code, inputs):
    return np.array([run_reference(code.tolist(), column) for column in inputs.T.tolist()],
                    dtype=np.int8).T.reshape(inputs.shape)


@pytest.mark.parametrize("n", range(2, 9))
def test_compiled_equals_reference_on_random_programs(n, rng):
    task = Task(n)
    for _ in range(1000):
        code = random_program(rng, n, task.registers, int(rng.integers(1, 40)))
        columns = rng.choice(task.n_inputs, size=min(SAMPLE, task.n_inputs), replace=False)
        inputs = np.ascontiguousarray(task.inputs[:, columns])
        assert np.array_equal(run(code, inputs, task.registers), reference_memory(code, inputs))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 5), length=st.integers(1, 30), seed=st.integers(0, 2**32 - 1),
       spare=st.integers(0, 4))
def test_compiled_equals_reference_hypothesis(n, length, seed, spare):
    task = Task(n, registers=n + spare)
    code = random_program(np.random.default_rng(seed), n, task.registers, length)
    assert np.array_equal(run(code, task.inputs, task.registers),
                          reference_memory(code, task.inputs))


def test_reference_accepts_any_comparable_values(rng):
    code = random_program(rng, 4, 5, 30)
    ranks = [2, 0, 1, 0]
    words = ["pear", "apple", "fig", "apple"]  # same order as the ranks
    out_ranks = run_reference(code.tolist(), ranks)
    out_words = run_reference(code.tolist(), words)
    assert [sorted(set(words))[r] for r in out_ranks] == out_words


def test_step_by_step_equals_whole_run(rng):
    task = Task(5)
    for _ in range(50):
        code = random_program(rng, 5, task.registers, 40)
        state = initial_state(task.inputs, task.registers)
        assert (state[:task.registers] == UNSET).all()
        for op, dst, src in code:
            step(state, op, dst, src, task.registers)
        memory = state[task.registers:task.registers + task.n]
        assert np.array_equal(memory, run(code, task.inputs, task.registers))


def test_step_batch_applies_one_instruction_per_state(rng):
    task = Task(4)
    codes = [random_program(rng, 4, task.registers, 25) for _ in range(8)]
    states = np.stack([initial_state(task.inputs, task.registers)] * len(codes))
    for k in range(25):
        step_batch(states, np.stack([code[k] for code in codes]), task.registers)
    for code, state in zip(codes, states):
        assert np.array_equal(state[task.registers:-1], run(code, task.inputs, task.registers))


def test_run_batch_counts_solved_and_placed(rng):
    task = Task(4)
    codes = np.stack([random_program(rng, 4, task.registers, 30) for _ in range(16)])
    lengths = rng.integers(1, 31, size=16).astype(np.int32)
    solved, placed = run_batch(codes, lengths, task.inputs, task.expected, task.registers)
    for k in range(16):
        counts = placed_counts(run(codes[k, :lengths[k]], task.inputs, task.registers),
                               task.expected)
        assert placed[k] == counts.sum()
        assert solved[k] == (counts == task.n).sum()


def test_run_crosses_block_boundaries():
    """sort7 has 47,293 inputs: many blocks, and a partial last one."""
    from discover.kernels import baseline_program

    task = Task(7)
    memory = run(baseline_program(task).code, task.inputs, task.registers)
    assert np.array_equal(memory, task.expected)
