"""Native routines: the exact instructions as x86-64 inline assembly, built and timed in C."""

from __future__ import annotations

import random

import numpy as np
import pytest

from discover.kernels import Task, baseline_program, run
from discover.measure import known_program
from discover.native import NativeRoutine, TimingConfig, native_unavailable, summarize

from test_export import random_well_formed

REASON = native_unavailable()
needs_native = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def _all_inputs(task: Task, dtype) -> np.ndarray:
    return np.ascontiguousarray(task.inputs.T.astype(dtype))  # T[B, N]: one row per input


CASES = [(baseline_program(Task(n)), Task(n)) for n in (2, 3, 4, 5)]
CASES.append((known_program(Task(3)), Task(3)))


@needs_native
@pytest.mark.parametrize("ctype", ["int64", "int32"])
@pytest.mark.parametrize("program, task", CASES, ids=["net2", "net3", "net4", "net5", "known3"])
def test_asm_round_trip_on_every_weak_ordering(program, task, ctype):
    routine = NativeRoutine(program, task, ctype=ctype)
    assert routine.has_asm
    expected = run(program.code, task.inputs, task.registers).T  # int8[B, N]
    for portable in (False, True):
        got = routine.sort_rows(_all_inputs(task, ctype), portable=portable)
        assert np.array_equal(got, expected)
        assert np.array_equal(got, task.expected.T)


@needs_native
def test_asm_round_trip_on_random_incorrect_programs():
    # Incorrect programs exercise every opcode and operand order: asm, portable C and
    # the interpreter must agree input by input.
    rng = random.Random(5)
    for _ in range(6):
        task = Task(rng.choice((3, 4)))
        program = random_well_formed(task, rng.randrange(6, 20), rng)
        routine = NativeRoutine(program, task, force=True)
        expected = run(program.code, task.inputs, task.registers).T
        assert np.array_equal(routine.sort_rows(_all_inputs(task, "int64")), expected)
        assert np.array_equal(routine.sort_rows(_all_inputs(task, "int64"), portable=True),
                              expected)


@needs_native
def test_asm_sorts_large_random_values():
    task = Task(4)
    routine = NativeRoutine(baseline_program(task), task)
    x = np.random.default_rng(0).integers(-2**62, 2**62, size=(500, 4))
    assert np.array_equal(routine.sort_rows(x.copy()), np.sort(x, axis=1))


@needs_native
def test_bench_gives_one_sample_per_array_and_repeat():
    task = Task(3)
    routine = NativeRoutine(baseline_program(task), task)
    samples = routine.bench(TimingConfig(arrays=20, repeats=3, inner=16))
    assert samples.shape == (60,) and np.isfinite(samples).all()
    stats = summarize(samples)
    assert stats["p5_ns"] <= stats["median_ns"] and stats["samples"] == 60


@needs_native
def test_sort_rows_rejects_wrong_shapes():
    task = Task(3)
    routine = NativeRoutine(baseline_program(task), task)
    with pytest.raises(ValueError):
        routine.sort_rows(np.zeros((4, 4), dtype=np.int64))
    with pytest.raises(ValueError):
        routine.sort_rows(np.zeros((4, 3), dtype=np.int32))


def test_unavailable_is_reported(monkeypatch):
    import discover.native as native

    monkeypatch.setattr(native.toolchain.platform, "machine", lambda: "aarch64")
    assert "x86-64" in native.native_unavailable()
    monkeypatch.setattr(native.toolchain.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(native.toolchain, "compiler", lambda: None)
    assert "C compiler" in native.native_unavailable()
    with pytest.raises(native.NativeError):
        NativeRoutine(baseline_program(Task(3)), Task(3))


def test_bench_command_skips_native_cleanly(monkeypatch, capsys):
    import discover.native as native
    from discover.cli import main

    monkeypatch.setattr(native.toolchain.platform, "machine", lambda: "aarch64")
    assert main(["bench", "--task", "sort3", "--arrays", "20", "--repeats", "1",
                 "--no-numba"]) == 0
    captured = capsys.readouterr()
    assert "native timing skipped" in captured.err and "x86-64" in captured.err
    assert "sorted()" in captured.out and "native asm" not in captured.out



@needs_native
def test_native_latency_and_batched_rows():
    from discover.native import native_latency

    task = Task(3)
    config = TimingConfig(arrays=10, repeats=2, inner=8)
    stats = native_latency(baseline_program(task), task, config)
    assert stats["samples"] == 20 and np.isfinite(stats["median_ns"])
    rows = NativeRoutine(baseline_program(task), task).bench_rows(config, passes=3)
    assert rows.shape == (3,) and (rows > 0).all()


@pytest.mark.skipif(native_unavailable() is not None and "x86-64" not in (REASON or ""),
                    reason="no C compiler")
@pytest.mark.parametrize("defines", [[], ["-DDISCOVER_NO_ASM"]], ids=["asm", "portable"])
def test_exported_c_builds_standalone_without_warnings(tmp_path, defines):
    # The exported file is a header-like unit a user drops into a project: it must build
    # cleanly with warnings as errors, with the asm on x86-64 and the fallback elsewhere.
    import subprocess

    from discover.export import to_c_source
    from discover.native import compiler

    task = Task(5)
    main_c = tmp_path / "main.c"
    main_c.write_text(to_c_source(baseline_program(task), task, ctype="int32") + """
#include <stdio.h>
int main(void)
{
    int32_t a[5] = {5, -1, 4, 4, 3};
    sort5(a);
    printf("%d %d %d %d %d %d\\n", a[0], a[1], a[2], a[3], a[4],
#ifdef DISCOVER_HAVE_ASM
           1
#else
           0
#endif
    );
    return 0;
}
""")
    exe = tmp_path / "main"
    subprocess.run([compiler(), "-O2", "-Wall", "-Wextra", "-Werror", *defines, "-o", str(exe),
                    str(main_c)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    assert out[:5] == ["-1", "3", "4", "4", "5"]
    assert out[5] == ("1" if not defines and REASON is None else "0")
