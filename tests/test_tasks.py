import numpy as np
import pytest

from discover import Task, TaskError
from discover.kernels import TASK_NAMES, weak_orderings

FUBINI = {2: 3, 3: 13, 4: 75, 5: 541, 6: 4683, 7: 47293, 8: 545835}


@pytest.mark.parametrize("n", sorted(FUBINI))
def test_one_input_per_weak_ordering(n):
    inputs = weak_orderings(n)
    assert inputs.shape == (n, FUBINI[n]) and inputs.dtype == np.int8
    # every column is a weak ordering written as ranks: the ranks used are exactly 0..k-1
    top = inputs.max(axis=0)
    for rank in range(n):
        used = (inputs == rank).any(axis=0)
        assert np.array_equal(used, rank <= top)
    # no two columns alike, so B = Fubini(n) columns are all the weak orderings
    assert len(np.unique(inputs, axis=1).T) == FUBINI[n]


def test_sort8_inputs_are_compact():
    assert weak_orderings(8).nbytes < 50 * 2**20


@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_from_name(name):
    task = Task.from_name(name)
    assert task.name == name
    assert task.registers == task.n + 1
    assert task.slots == task.registers + task.n + 1
    assert task.n_inputs == FUBINI[task.n]
    assert np.array_equal(task.expected, np.sort(task.inputs, axis=0))


def test_registers_override_and_limits():
    assert Task.from_name("SORT3", registers=6).registers == 6
    with pytest.raises(TaskError, match="registers"):
        Task(3, registers=17)
    with pytest.raises(TaskError, match="registers"):
        Task(3, registers=0)


@pytest.mark.parametrize("name", ["sort1", "sort9", "sort", "merge3", ""])
def test_unknown_task(name):
    with pytest.raises(TaskError, match="unknown task"):
        Task.from_name(name)


def test_inputs_are_shared_and_read_only():
    assert Task(4).inputs is Task(4, registers=7).inputs
    with pytest.raises(ValueError):
        Task(4).inputs[0, 0] = 1
