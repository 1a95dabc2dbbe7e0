"""The shortest known programs, the one place that holds them.

``sortN.asm`` (package data) is the shortest program this project knows for sortN with the
default R = N + 1 registers, where it beats the sorting-network program of
``discover.kernels``; where no file exists the network program is the shortest known
(sort2: 8 instructions, optimal, tests/test_agent.py proves no 7-instruction program
exists; sort4: 28, AlphaDev's figure). sort3.asm (17) was written by hand after AlphaDev's
sort3; sort5.asm (42) matches AlphaDev's figure and was found by the stochastic search;
sort6.asm (56), sort7.asm (74) and sort8.asm (90) were found by the network beam search
(``discover search --task sortN``), each shorter than AlphaDev's published 57, 76 and 91.
Shortest known, not proved optimal (sort2 aside). ``varsortN.asm`` (ISA v2, branches on
the length): varsort3 (21), varsort4 (33) and varsort5 (52), found by the skeleton search
(``discover search --task varsortN``; AlphaDev's VarSort: 21, 37, 63).

Kernel tasks (``<task>.asm``, the task's name): the shortest program found where it beats
the task's baseline (``discover baseline --task X``): min2max3 (13, proved optimal by
``--method enum``), top2-of-4 (20), median5 (26, as short as the baseline since that
became Devillard's network), top2-of-5 (27) and stablesort3 (32), each file's header
naming the command that found it (the README's "Beyond sorting" has the table).

``sortN.fastest.asm`` is the fastest program this project has measured for sortN on the
reference machine (the README's: a 2-core AMD EPYC VM), in latency mode, beside the
network and the shortest known program (``bench/ratios.py`` gives the ratios); where no
file exists, nothing found was measurably faster than the network program.

``varsortN.fastest.asm``: the program ``discover search --task varsortN --cost latency``
returns (the branch model's fastest on random lengths: the lengths peeled N, N-1 ... 3
first); ``discover bench`` measured varsort3 (25 instructions), varsort4 (62) and
varsort5 (111) 15-25% faster than the human routine on random lengths (README).

``model.json`` is the latency model fitted to the reference machine
(``python -m discover.native.fit --model``): what ``search --cost fitted`` minimises and
what the chains of ``search --cost measured`` run on.
"""

from __future__ import annotations

from importlib import resources

from discover.kernels import baseline_program
from discover.kernels import Program, Task

__all__ = ["fastest_program", "fitted_model", "known_length", "known_program"]


def _shipped(name: str) -> Program | None:
    try:
        text = resources.files(__name__).joinpath(name).read_text()
    except (FileNotFoundError, OSError):
        return None
    return Program.parse(text)


def known_program(task: Task) -> Program | None:
    """The shortest known program shipped as ``discover/known/sortN.asm``, if there is one."""
    return _shipped(f"{task.name}.asm")


def fastest_program(task: Task) -> Program | None:
    """The fastest measured program, ``discover/known/sortN.fastest.asm``, if there is one
    (measured on the reference machine; ``discover bench`` re-times it on yours)."""
    return _shipped(f"{task.name}.fastest.asm")


def known_length(n: int) -> int:
    """Instructions (loads and stores counted) of the shortest known sortN program with
    N + 1 registers: its .asm file's, else the sorting-network program's."""
    task = Task(n)
    known = known_program(task)
    return len(known) if known is not None else len(baseline_program(task))


def fitted_model() -> dict:
    """The reference machine's fitted latency model: ``discover/known/model.json``'s
    ``params`` (``discover.native.fit.packed_model`` packs it for a task)."""
    import json

    text = resources.files(__name__).joinpath("model.json").read_text()
    return json.loads(text)["params"]
