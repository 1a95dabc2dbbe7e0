"""The latency model on hand-computed cases (kernels/cost.py documents the model)."""

import pytest

from discover.kernels import Program, Task, baseline_program
from discover.kernels import ISSUE_WIDTH, latency_estimate


def estimate(text, n, registers):
    return int(latency_estimate(Program.parse(text).code, n, registers))


def test_load_then_store():
    assert estimate("mov r0, m0\nmov m0, r0\n", 1, 1) == 4 + 1


def test_sort2_network_critical_path():
    # loads end at 4; mov r2,r0 and cmp end at 5; both cmovs wait for the flags: 6; stores 7
    assert int(latency_estimate(baseline_program(Task(2)).code, 2, 3)) == 7


def test_store_to_load_through_memory():
    # load 0-4, store 4-5, load of that cell 5-9, store 9-10
    text = "mov r0, m0\nmov m1, r0\nmov r1, m1\nmov m0, r1\n"
    assert estimate(text, 2, 2) == 10


def test_cmov_waits_for_its_destination_and_flags():
    # loads 0-4; cmp 4-5; mov r2 chain 4-5, 5-6, 6-7; cmov r2 waits for r2 (7): 7-8
    text = ("mov r0, m0\nmov r1, m1\ncmp r0, r1\nmov r2, r0\nmov r2, r2\nmov r2, r2\n"
            "cmovl r2, r1\n")
    assert estimate(text, 2, 3) == 8


def test_issue_width_bounds_long_parallel_programs():
    # 8 loads and 24 independent copies: critical path 5, issue ceil(32 / 4) = 8
    lines = [f"mov r{i}, m{i}" for i in range(8)]
    lines += [f"mov r{8 + k % 8}, r{k % 8}" for k in range(24)]
    assert ISSUE_WIDTH == 4
    assert estimate("\n".join(lines), 8, 16) == 8


@pytest.mark.parametrize("n, cycles", [(3, 11), (4, 11), (5, 17)])
def test_network_estimates(n, cycles):
    assert int(latency_estimate(baseline_program(Task(n)).code, n, n + 1)) == cycles
