"""A user-defined task built from a lambda, through verify, search, train and export, as a
user would script it (issue 14)."""

import random

import pytest

from discover import Task, TaskError, verify
from discover.agent import MCTSConfig, NetworkConfig, TrainConfig, train
from discover.export import to_python_source
from discover.kernels import baseline_program
from discover.search import StochasticConfig, search

TINY_NET = NetworkConfig(embed_dim=16, state_hidden=32, hidden=32)


@pytest.fixture(scope="module")
def second():
    """The second smallest of 4 items, in m0: a selection that no built-in names."""
    return Task.from_function("second-smallest", 4, lambda a: sorted(a)[1:2])


def exported(program, task):
    scope = {}
    exec(to_python_source(program, task), scope)
    return scope["second_smallest"]


def test_a_lambda_task_through_verify_search_train_and_export(second, tmp_path):
    baseline = baseline_program(second)
    assert verify(baseline, second).correct

    found = search(second, "stochastic", StochasticConfig(seed=0), time_limit=5)
    assert found.program is not None and verify(found.program, second).correct
    assert len(found.program) <= len(baseline)
    again = search(second, "stochastic", StochasticConfig(seed=0), time_limit=5)
    assert again.program.text() == found.program.text()  # same seed, same result

    result = train(TrainConfig(task=second, out=str(tmp_path / "run"), progress=False,
                               network=TINY_NET, mcts=MCTSConfig(simulations=48), games=8,
                               train_steps=2, batch_size=32, max_iterations=3,
                               budget_minutes=3.0, checkpoint_every=1e9, eval_every=0,
                               seed=2))
    if result.program is not None:  # a tiny budget may find nothing; what it finds is right
        assert verify(result.program, second).correct

    function = exported(found.program, second)
    rng = random.Random(0)
    for values in ([rng.randint(-5, 5) for _ in range(4)] for _ in range(200)):
        assert function(values) == [sorted(values)[1]]
    assert function([2.5, -1.0, 7.25, 0.5]) == [0.5]
    assert function(["pear", "apple", "fig", "kiwi"]) == ["fig"]


def test_a_non_comparison_lambda_is_refused_in_one_line():
    with pytest.raises(TaskError) as error:
        Task.from_function("sum", 2, lambda a: [a[0] + a[1]])
    message = str(error.value)
    assert "\n" not in message and "not one of its input items" in message
