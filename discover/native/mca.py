"""llvm-mca's estimate of a program's cycles (``--cost mca``): a model, not a measurement.

Each program becomes its exact instruction sequence in AT&T syntax (the C export's,
``discover.export._asm_lines``), on 64-bit registers (``int64_t`` cells, 8 bytes
apart): program register rK is ``REGISTERS[K]`` (r0 %rax, r1 %rcx, r2 %rdx, r3 %rsi,
r4 %r8, ...) and the array pointer is %rdi. Every program of a call is one code region
(``# LLVM-MCA-BEGIN pK`` / ``# LLVM-MCA-END pK``) of one llvm-mca input, so one process
(per ``CHUNK`` programs) estimates them all.

The figure: llvm-mca simulates the block repeated ``ITERATIONS`` times back to back on its
model of the CPU (``-mcpu``: ``mca_cpu()``) and reports the cycles from the first
dispatch to the last retirement ("Total Cycles"); ``mca_cycles`` gives Total Cycles /
Iterations, the steady-state cycles per repetition. llvm-mca does not model memory
dependencies: a store followed by a load of the same address (the next sort reading the
cells the last one wrote) is not a dependency for it, and every program starts with loads
that overwrite the registers it uses, so the repetitions are independent and the figure is
closer to a reciprocal throughput than to the latency that ``--cost measured`` times
(where each sort's input depends on the last one's output). It still ranks by dispatch
width, ports and the dependency chains within one pass, which is what distinguishes
programs of the same length.

Results are cached in the process, by program text and CPU.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from functools import cache

from discover.kernels import Program, Task

from .toolchain import NativeError

__all__ = ["ITERATIONS", "REGISTERS", "mca_cpu", "mca_cycles", "mca_path", "mca_text",
           "mca_unavailable", "parse_regions"]

ITERATIONS = 100
"""Repetitions of each block llvm-mca simulates (``-iterations``)."""
CHUNK = 500
"""Programs (code regions) per llvm-mca process."""
TIMEOUT = 300.0
"""Seconds one llvm-mca process may take."""
REGISTERS = ("%rax", "%rcx", "%rdx", "%rsi", "%r8", "%r9", "%r10", "%r11", "%rbx", "%r12",
             "%r13", "%r14", "%r15", "%rbp")
"""The x86-64 register of program register rK (%rdi holds the array, %rsp is never free)."""
POINTER = "%rdi"
NAMES = ("llvm-mca",) + tuple(f"llvm-mca-{v}" for v in range(18, 13, -1))
"""What ``mca_path`` looks for on PATH, in order (after $LLVM_MCA)."""
TRIPLE = "x86_64-unknown-linux-gnu"
MISSING = "--cost mca needs llvm-mca (Debian package llvm); none found"
# Zen generations by (family, first model) as /proc/cpuinfo gives them, newest first
# within a family: used only when llvm-mca does not name the host itself.
_ZEN = ((25, 0, "znver3"), (23, 0x30, "znver2"), (23, 0, "znver1"))

_cycles: dict[tuple[str, str], float] = {}
_OPERAND = re.compile(r"%\[(r(\d+)|a)\]")
_REGION = re.compile(r"^\[\d+\] Code Region - (\S+)\s*$", re.MULTILINE)


def mca_path() -> str | None:
    """$LLVM_MCA if set (None when it names no executable), else the first of
    llvm-mca, llvm-mca-18 ... llvm-mca-14 on PATH."""
    env = os.environ.get("LLVM_MCA")
    if env:
        return shutil.which(env)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def mca_unavailable() -> str | None:
    """Why ``--cost mca`` cannot run here, in one line; None when it can."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return f"--cost mca needs x86-64 (this machine is {platform.machine() or 'unknown'})"
    if mca_path() is None:
        env = os.environ.get("LLVM_MCA")
        if env:
            return f"--cost mca needs llvm-mca: $LLVM_MCA ({env}) is not an executable"
        return MISSING
    return None


def _run(path: str, args: list[str], source: str = "") -> subprocess.CompletedProcess:
    try:
        return subprocess.run([path, *args], input=source, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise NativeError(f"llvm-mca ({path}) ran over {TIMEOUT:g} s") from None
    except OSError as error:
        raise NativeError(f"llvm-mca ({path}) cannot run: {error}") from None


def _require_path() -> str:
    reason = mca_unavailable()
    if reason:
        raise NativeError(reason)
    return mca_path()


@cache
def _cpu_for(path: str) -> str:
    known = set()
    listing = _run(path, [f"-mtriple={TRIPLE}", "-mcpu=help"])
    for line in (listing.stdout + listing.stderr).splitlines():
        if line.startswith("  ") and " - " in line:
            known.add(line.split()[0])
    version = _run(path, ["--version"])
    host = re.search(r"Host CPU:\s*(\S+)", version.stdout + version.stderr)
    if host and host.group(1) in known and host.group(1) != "generic":
        return host.group(1)  # what -mcpu=native means to this llvm-mca
    guess = _cpuinfo_guess()
    return guess if guess in known else "x86-64"


def _cpuinfo_guess() -> str | None:
    """znver1/2/3 from /proc/cpuinfo's first AMD processor; None for anything else."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            text = file.read(65536)
    except OSError:
        return None
    fields = dict(re.findall(r"^(vendor_id|cpu family|model)\s*:\s*(\S+)", text, re.MULTILINE))
    if fields.get("vendor_id") != "AuthenticAMD":
        return None
    try:
        family, model = int(fields["cpu family"]), int(fields["model"])
    except (KeyError, ValueError):
        return None
    for zen_family, first_model, name in _ZEN:
        if family == zen_family and model >= first_model:
            return name
    return None


def mca_cpu() -> str:
    """The ``-mcpu`` the estimates use: the host CPU as llvm-mca names it (its --version
    "Host CPU", which is what -mcpu=native selects), else znver1/2/3 from /proc/cpuinfo,
    else the generic ``x86-64``. NativeError without llvm-mca."""
    return _cpu_for(_require_path())


def mca_text(program: Program, registers: int | None = None) -> str:
    """The program as llvm-mca input lines: AT&T syntax on concrete registers.

    NativeError for a register beyond ``REGISTERS`` (or beyond ``registers``, a task's).
    """
    from discover.export import _asm_lines

    limit = len(REGISTERS) if registers is None else min(registers, len(REGISTERS))

    def concrete(match):
        if match.group(1) == "a":
            return POINTER
        k = int(match.group(2))
        if k >= limit:
            raise NativeError(f"--cost mca maps at most {limit} registers, the program "
                              f"uses r{k}")
        return REGISTERS[k]

    return "".join(_OPERAND.sub(concrete, att) + "\n" for att, _ in _asm_lines(program, 8))


def parse_regions(output: str) -> dict[str, tuple[int, int]]:
    """``{region name: (Iterations, Total Cycles)}`` of an llvm-mca report with named
    code regions; NativeError for a region without both figures."""
    found = {}
    heads = list(_REGION.finditer(output))
    for k, head in enumerate(heads):
        end = heads[k + 1].start() if k + 1 < len(heads) else len(output)
        body = output[head.end():end]
        iterations = re.search(r"^Iterations:\s+(\d+)", body, re.MULTILINE)
        total = re.search(r"^Total Cycles:\s+(\d+)", body, re.MULTILINE)
        if not iterations or not total:
            raise NativeError(f"llvm-mca's report of region {head.group(1)} has no "
                              "Iterations or Total Cycles")
        found[head.group(1)] = (int(iterations.group(1)), int(total.group(1)))
    return found


def _source(texts: list[str]) -> str:
    return "".join(f"# LLVM-MCA-BEGIN p{k}\n{text}# LLVM-MCA-END p{k}\n"
                   for k, text in enumerate(texts))


def _estimate(path: str, cpu: str, texts: list[str]) -> list[float]:
    """Total Cycles / Iterations of each text, in order (one llvm-mca process)."""
    done = _run(path, [f"-mtriple={TRIPLE}", f"-mcpu={cpu}", f"-iterations={ITERATIONS}",
                       "-instruction-info=false", "-resource-pressure=false"], _source(texts))
    problem = next((line for line in done.stderr.splitlines()
                    if "error" in line or "not a recognized processor" in line), None)
    if done.returncode != 0 or problem:
        lines = done.stderr.strip().splitlines()
        message = problem or (lines[-1] if lines else "no message")
        raise NativeError(f"llvm-mca failed (exit {done.returncode}): {message.strip()}")
    regions = parse_regions(done.stdout)
    out = []
    for k in range(len(texts)):
        if f"p{k}" not in regions:
            raise NativeError(f"llvm-mca reported no region p{k} (of {len(texts)})")
        iterations, total = regions[f"p{k}"]
        if iterations <= 0 or total <= 0:
            raise NativeError(f"llvm-mca region p{k}: {iterations} iterations, {total} cycles")
        out.append(total / iterations)
    return out


def mca_cycles(programs, task: Task, mcpu: str | None = None) -> list[float]:
    """llvm-mca's cycles per repetition of each program (Total Cycles / Iterations; see
    the module doc), in input order. ``mcpu``: None for ``mca_cpu()``.

    NativeError (one line) where llvm-mca is missing or fails.
    """
    programs = list(programs)
    path = _require_path()
    cpu = mca_cpu() if mcpu is None else mcpu
    texts = [mca_text(p, task.registers) for p in programs]
    todo = list(dict.fromkeys(t for t in texts if t and (t, cpu) not in _cycles))
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        for text, figure in zip(chunk, _estimate(path, cpu, chunk)):
            _cycles[text, cpu] = figure
    return [_cycles[t, cpu] if t else 0.0 for t in texts]
