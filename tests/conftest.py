"""Shared test helpers: random well-formed programs, waiting on a running command."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest

from discover.kernels import CMOVS, CMP, LOAD, MOV, STORE


def random_program(rng: np.random.Generator, n: int, registers: int, length: int) -> np.ndarray:
    """``int32[length, 3]``: a random well-formed program (every read follows a write)."""
    rows = []
    written: list[int] = []
    seen_cmp = False
    while len(rows) < length:
        choice = rng.integers(5)
        if choice == 0 or not written:
            rows.append((LOAD, int(rng.integers(registers)), int(rng.integers(n))))
            written = sorted(set(written) | {rows[-1][1]})
        elif choice == 1:
            rows.append((STORE, int(rng.integers(n)), int(rng.choice(written))))
        elif choice == 2:
            rows.append((MOV, int(rng.integers(registers)), int(rng.choice(written))))
            written = sorted(set(written) | {rows[-1][1]})
        elif choice == 3:
            rows.append((CMP, int(rng.choice(written)), int(rng.choice(written))))
            seen_cmp = True
        elif seen_cmp:
            op = int(rng.choice(CMOVS))
            rows.append((op, int(rng.choice(written)), int(rng.choice(written))))
    return np.array(rows, dtype=np.int32).reshape(-1, 3)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def wait_until(ready, process, timeout: float = 60.0, poll: float = 0.05) -> None:
    """Wait until ``ready()`` holds, failing if ``process`` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, "the command ended before it was ready"
        assert time.monotonic() < deadline, f"not ready after {timeout} s"
        time.sleep(poll)


def default_sigint() -> None:
    """``preexec_fn`` of a command a test interrupts: Ctrl-C gets its default action back.

    A test runner started as a background job (``cmd &`` without job control) ignores
    SIGINT, and its children would inherit that: Python would then never raise
    KeyboardInterrupt, and the test would check nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class FakeMeasurement:
    """What rank() and ratio() read of a Measurement: the samples, the batch, summaries
    (a figure chosen per program, so that no test depends on timing)."""

    def __init__(self, ns):
        self.ticks = np.full(7, float(ns))
        self.ns = self.ticks
        self.batch, self.confidence = "fake", 0.95

    @property
    def summary_ns(self):
        from discover.native import summarize_samples
        return summarize_samples(self.ns)

    summary_cycles = None


@pytest.fixture(scope="session")
def ray_cluster():
    """A simulated three-node Ray cluster on this machine, one for the whole test session
    (a start costs seconds), joined by the test process and shut down at the end: a head
    node without CPUs and two nodes of one CPU each, so the Ray backend's actors run on
    two nodes other than the driver's (2 CPUs in all). Skipped where Ray is not installed."""
    ray = pytest.importorskip("ray")
    import logging

    from ray.cluster_utils import Cluster

    small = {"object_store_memory": 100 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "_system_config": {"worker_niceness": 0}, **small})
    for _ in range(2):
        cluster.add_node(num_cpus=1, **small)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
