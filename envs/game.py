"""The AssemblyGame: write a sorting routine (or any comparison kernel: a median, the
minimum and maximum, the k smallest, a merge, a stable sort, a ``Task.from_function``
task) one instruction at a time (Gymnasium)."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from .base import BufferGame, evenly_spaced
from .masks import optional_cells

from discover.kernels import (FLAG_GT, N_OPCODES, TASK_NAMES, Program, Task,
                              baseline_program, format_instruction, latency_estimate,
                              parse_instruction)
from discover.kernels.game import (COST_LATENCY, COST_LENGTH, EMPTY, M_COST, M_ILLEGAL,
                                   M_LENGTH, M_PLACED, M_SOLVED, M_TERMINATED, M_TRUNCATED,
                                   N_PARAMS, N_WEIGHTS, P_A, P_AT_MASK, P_AT_META,
                                   P_AT_OBS, P_AT_PAIRDIFF, P_AT_PLACED, P_AT_PROGRAM,
                                   P_AT_STATE, P_B, P_COST, P_DEAD_ENDS, P_K, P_L, P_N,
                                   P_OPTIONAL, P_OUT, P_PRUNE, P_R, P_READ_ONCE,
                                   P_SEPARATE, P_STRICT,
                                   W_BONUS, W_CORRECT, W_COST, W_ILLEGAL, W_SCALE,
                                   action_table, buffer_layout, game_reset, game_step)

# The default cost scales: the length and the latency estimate of the size-optimal
# network's program (kernels/networks.py), by N (8, 18, 28, ... and 7, 11, 11, ...).
_NETWORKS = {task.n: (task, baseline_program(task))
             for task in map(Task.from_name, TASK_NAMES)}
NETWORK_LENGTH = {n: len(program) for n, (_, program) in _NETWORKS.items()}
NETWORK_LATENCY = {n: int(latency_estimate(program.code, n, task.registers))
                   for n, (task, program) in _NETWORKS.items()}
MAX_OBSERVED_INPUTS = 4683  # every input of sort2..sort6; a fixed subset for sort7, sort8
COSTS = ("length", "latency")


@functools.lru_cache(maxsize=None)
def kernel_baseline(task: Task) -> tuple[int, int] | None:
    """(length, latency estimate) of a kernel task's baseline program
    (``kernels.networks.baseline_program``), or None when it has none (a task whose
    outputs are not order statistics, or fewer than N + 1 registers)."""
    if task.registers < task.n + 1:  # the baseline uses a spare register
        return None
    try:
        program = baseline_program(task)
    except ValueError:
        return None
    return len(program), int(latency_estimate(program.code, task.n, task.registers))


def _kernel_fallback(task: Task) -> int:
    """A kernel without a baseline: the sorting network's length for its N plus N (room
    for the stores; at least 2 N + 2)."""
    return max(NETWORK_LENGTH.get(task.n, 0) + task.n, 2 * task.n + 2)


_OFFSET_PARAM = {"meta": P_AT_META, "program": P_AT_PROGRAM, "pairdiff": P_AT_PAIRDIFF,
                 "mask": P_AT_MASK, "placed": P_AT_PLACED, "state": P_AT_STATE,
                 "obs_state": P_AT_OBS}


@dataclass(frozen=True)
class GameConfig:
    """Configuration of one AssemblyGame (every field is a keyword of AssemblyGame)."""

    task: str | Task = "sort3"
    """Task name (sort2 .. sort8, a kernel: median5, min2max4, top2-of-5, merge2+2,
    stablesort3, a ``Task.from_function`` name, ...) or a ``Task`` object."""
    registers: int | None = None
    """Register count R (None: N + 1)."""
    max_length: int | None = None
    """Length budget: the episode is truncated when the program reaches it
    (None: the network baseline's length + N, e.g. 21 for sort3; a kernel: its baseline
    program's length + N, e.g. 15 for median3)."""
    cost: str = "length"
    """Cost charged when the program is correct: "length" (instructions) or "latency"
    (kernels/cost.py's estimate in cycles)."""
    correct_weight: float = 2.0
    """Weight of the change in the fraction of (input, item) pairs in place."""
    solved_bonus: float = 1.0
    """Bonus when every input is sorted."""
    cost_weight: float = 0.5
    """Weight of the cost term, charged once when every input is sorted."""
    cost_scale: float | None = None
    """Cost is divided by this (None: the network baseline's cost for the task)."""
    illegal_penalty: float = 1.0
    """Penalty for a masked (illegal) move, which ends the episode."""
    pruning: bool = True
    """Mask AlphaDev's pruned and provably useless moves (False: only ill-formed ones)."""
    strict_stores: bool = True
    """With pruning, allow a store only when it puts the sorted value in place for every
    input (a cell is written once, so any other store makes the program unsolvable)."""
    dead_ends: bool = True
    """With pruning, also mask moves after which no correct program exists: overwriting
    the only copy of a value that an unstored cell still needs, on some input."""
    read_once: bool = True
    """With pruning, each cell is loaded once (AlphaDev). False also allows re-loading a
    cell not yet stored (some shortest programs re-load instead of keeping a copy)."""
    observed_inputs: int | None = None
    """Inputs shown in the observation (None: all, up to MAX_OBSERVED_INPUTS); a fixed,
    evenly spaced subset when smaller than the task's input count."""
    render_mode: str | None = None
    """None or "ansi" (render() returns the program text)."""

    @property
    def task_spec(self) -> Task:
        """The Task (N items, R registers) this game is played on."""
        if isinstance(self.task, Task):
            if self.registers is None or self.registers == self.task.registers:
                return self.task
            return dataclasses.replace(self.task, registers=self.registers)
        return Task.from_name(self.task, self.registers)

    def __post_init__(self):
        if self.task_spec.variable:  # also raises TaskError for a bad name or register count
            raise ValueError(f"{self.task_spec.name} has a run-time length: its game is "
                             f"VarSortGame (discover/VarSort{self.task_spec.n}-v0)")
        if self.cost not in COSTS:
            raise ValueError(f"cost must be one of {COSTS}, got {self.cost!r}")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {self.max_length}")
        if self.observed_inputs is not None and self.observed_inputs < 1:
            raise ValueError(f"observed_inputs must be >= 1, got {self.observed_inputs}")
        if self.cost_scale is not None and not self.cost_scale > 0:
            raise ValueError(f"cost_scale must be > 0, got {self.cost_scale}")
        if self.render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {self.render_mode!r}")

    @property
    def length_budget(self) -> int:
        """max_length, or its default for the task."""
        if self.max_length is not None:
            return self.max_length
        task = self.task_spec
        if task.is_sort:
            return NETWORK_LENGTH[task.n] + task.n
        baseline = kernel_baseline(task)
        return baseline[0] + task.n if baseline else _kernel_fallback(task)

    @property
    def scale(self) -> float:
        """cost_scale, or its default: the network baseline's length or latency."""
        if self.cost_scale is not None:
            return float(self.cost_scale)
        task = self.task_spec
        if not task.is_sort:  # a kernel: its baseline's cost (a fallback length without)
            baseline = kernel_baseline(task)
            if baseline is None:
                return float(_kernel_fallback(task))
            return float(baseline[1] if self.cost == "latency" else baseline[0])
        table = NETWORK_LATENCY if self.cost == "latency" else NETWORK_LENGTH
        return float(table[task.n])


class AssemblyGame(BufferGame):
    """Write a straight-line program that sorts N items (or computes a comparison kernel's
    K outputs), one instruction per move.

    ## Description
    AlphaDev's AssemblyGame over this project's ISA (``docs/ISA.md``). The game
    starts with an empty program; every move appends one instruction, which is applied at
    once to the machine states of every test input (one per weak ordering of N items:
    13 for sort3, 541 for sort5, 545,835 for sort8). The goal is a correct program (every
    input sorted in m0..m{N-1}) at the least cost (length or latency estimate).

    A kernel task (``task="median5"``, ``"min2max4"``, ``"top2-of-5"``, ``"merge2+2"``,
    ``"stablesort3"``, or a ``Task`` such as ``Task.from_function(...)``'s) has N input
    cells and K output cells m0..m{K-1}: the goal is every test input's expected output
    there; cells past K are scratch (never required, and with pruning never stored to).
    Rewards count the K output cells (normalised by K x B); the default length budget
    and cost scale come from the kernel's baseline program
    (``kernels.networks.baseline_program``: 12 instructions for median3, budget 15).

    ## Action Space
    ``Discrete(A)``, A = 8 R^2 + 2 R N (152 for sort3, 348 for sort5): every instruction
    of the ISA over R registers and N memory cells, listed in ``self.actions``
    (``int32[A, 3]``, rows ``(op, dst, src)``, ordered by opcode, destination, source).
    ``action_of("mov r0, m1")`` and ``instruction_of(a)`` translate. ``action_masks()``
    (also ``info["action_mask"]``) gives ``bool[A]``, True = allowed, as sb3-contrib's
    MaskablePPO expects (``Discrete.sample(mask=...)`` takes it as ``.astype(np.int8)``). A masked move ends the episode
    (terminated, reward ``-illegal_penalty``, ``info["illegal"] = True``).

    Masks always exclude ill-formed moves (reading a register never written, a cmov before
    any cmp). With ``pruning`` (default) they also apply AlphaDev's rules and exclude moves
    that provably change nothing, each rule keeping at least one optimal program in the
    canonical form of ``discover.envs.canonicalize`` (see ``envs/masks.py``):
    loads read m0, m1, ... in order, each once (``read_once=False``: a cell not yet
    stored may be loaded again); a cell is stored once, after its load
    (with ``strict_stores``, only with its sorted value for every input); the first write
    to a register goes to the lowest register not yet written; no cmp right after a cmp;
    ``cmp rA, rB`` only with A < B; no mov/cmov/cmp that changes nothing on any input;
    no cmov that fires wherever its registers differ (it is a mov); with ``dead_ends``
    (default), no write that destroys, on some input, the only copy of a value an unstored
    cell still needs (no correct program can follow it).

    ## Observation Space
    ``Dict`` of fixed-shape arrays (fresh copies on every call):

    - ``"program"``: ``int32[L, 3]``, rows ``(op, dst, src)`` of the program so far,
      rows past its length filled with -1 (L = ``max_length``).
    - ``"length"``: ``int32[1]``, the program's length (0..L).
    - ``"state"``: ``int8[S, K]``, the machine state over K observed inputs, S = R + N + 1
      rows: registers r0..r{R-1} (rank 0..N-1, or -1 before the first write), memory
      m0..m{N-1} (ranks), then the flags of the last cmp (0 none, 1 less, 2 equal,
      4 greater). K is the task's input count up to ``MAX_OBSERVED_INPUTS`` (4683,
      or ``observed_inputs``): sort7 and sort8 show a fixed, evenly spaced subset of
      their inputs, listed in ``self.observed_columns`` (``int64[K]``, columns of
      ``task.inputs``). Rewards and termination always use every input.

    ## Rewards
    As AlphaDev, weights configurable: after each move,
    ``correct_weight * (change in the fraction of (input, output cell) pairs holding
    their expected value)`` (a sort's N cells, a kernel's K); when every input is right, ``+ solved_bonus - cost_weight * cost / cost_scale`` with cost
    the length or the latency estimate (cost_scale defaults to the network baseline's
    cost, so with the default weights a correct program scores above any incorrect one
    while its cost is under twice the baseline's). With ``strict_stores`` items get placed
    only by stores, so the correctness term moves only at stores. A masked move gives
    ``-illegal_penalty``.

    ## Episode End
    Terminated when every input is sorted (``info["solved"]``) or after a masked move.
    Truncated when the program reaches ``max_length`` or no move is allowed.

    ## Arguments
    ``gymnasium.make("discover/Sort3-v0", **kwargs)`` or ``AssemblyGame(**kwargs)``, with
    the fields of ``GameConfig``: ``task``, ``registers``, ``max_length``, ``cost``,
    ``correct_weight``, ``solved_bonus``, ``cost_weight``, ``cost_scale``,
    ``illegal_penalty``, ``pruning``, ``strict_stores``, ``dead_ends``, ``read_once``,
    ``observed_inputs``, ``render_mode``; or ``config=GameConfig(...)``.

    For tree search, ``clone()`` returns a snapshot (one ``uint8`` array copy) and
    ``restore(s)`` puts the game back exactly there; ``advance(a)`` is ``step(a)`` without
    building the observation and info (``observation()`` builds it on demand).
    ``info`` holds ``action_mask`` (bool[A]), ``solved`` (every input sorted),
    ``solved_inputs`` (int), ``length`` (int), ``illegal`` (the move was masked).
    ``program()`` / ``program_text()`` give the program so far, ``moves()`` its actions. Gymnasium's own sampler
    takes int8 masks: ``env.action_space.sample(mask=env.action_masks().astype(np.int8))``.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    _M_TERMINATED, _M_TRUNCATED, _M_LENGTH, _M_SOLVED, _M_COST = (
        M_TERMINATED, M_TRUNCATED, M_LENGTH, M_SOLVED, M_COST)

    def __init__(self, task: str = "sort3", registers: int | None = None,
                 max_length: int | None = None, cost: str = "length",
                 config: GameConfig | None = None, **kwargs):
        if config is None:
            config = GameConfig(task=task, registers=registers, max_length=max_length,
                                cost=cost, **kwargs)
        elif kwargs:
            raise TypeError("give either config or keyword arguments, not both")
        self.config = config
        self.render_mode = config.render_mode
        self.task = config.task_spec
        n, r = self.task.n, self.task.registers
        self.max_length = config.length_budget
        self.max_moves = self.max_length  # one instruction a move
        self.actions = action_table(n, r)  # int32[A, 3]  # (op, dst, src)
        self.actions.setflags(write=False)
        self._index = {tuple(int(v) for v in row): k for k, row in enumerate(self.actions)}
        n_inputs = self.task.n_inputs
        self._n_inputs = n_inputs
        limit = config.observed_inputs or MAX_OBSERVED_INPUTS
        separate = n_inputs > limit
        columns = evenly_spaced(n_inputs, limit)
        self.observed_columns = columns  # int64[K]: inputs shown in the observation
        self.observed_columns.setflags(write=False)
        self._inputs = self.task.inputs  # int8[N, B]
        self._expected = self.task.expected  # int8[K, B]: the output cells' expected ranks
        slots = self.task.slots
        length = self.max_length
        n_actions = len(self.actions)

        self._params = np.zeros(N_PARAMS, dtype=np.int64)
        self._params[[P_R, P_N, P_B, P_L]] = r, n, n_inputs, length
        self._params[P_PRUNE] = config.pruning
        self._params[P_STRICT] = config.strict_stores
        self._params[P_DEAD_ENDS] = config.dead_ends
        self._params[P_READ_ONCE] = config.read_once
        self._params[P_COST] = COST_LATENCY if config.cost == "latency" else COST_LENGTH
        self._params[P_SEPARATE] = separate
        self._params[P_OUT] = self.task.n_outputs
        self._params[P_OPTIONAL] = optional_cells(self.task)
        self._weights = np.zeros(N_WEIGHTS, dtype=np.float64)
        self._weights[W_CORRECT] = config.correct_weight
        self._weights[W_BONUS] = config.solved_bonus
        self._weights[W_COST] = config.cost_weight
        self._weights[W_SCALE] = config.scale
        self._weights[W_ILLEGAL] = config.illegal_penalty

        # Every mutable array is a view of one byte buffer: clone() is one copy, and the
        # kernels take the buffer alone and carve the same views out of it.
        layout, size = buffer_layout(n, r, n_inputs, length, len(columns), separate)
        self._layout = tuple(layout)
        self._params[P_K] = len(columns)
        self._params[P_A] = n_actions
        for name, _, _, offset in layout:
            self._params[_OFFSET_PARAM[name]] = offset
        self._buffer = np.zeros(size, dtype=np.uint8)
        self._carve()

        high = max(N_OPCODES - 1, r - 1, n - 1)
        self.action_space = spaces.Discrete(n_actions)
        self.observation_space = spaces.Dict({
            "program": spaces.Box(EMPTY, high, shape=(length, 3), dtype=np.int32),
            "length": spaces.Box(0, length, shape=(1,), dtype=np.int32),
            "state": spaces.Box(-1, max(n - 1, FLAG_GT), shape=(slots, len(columns)),
                                dtype=np.int8),
        })
        self._reset_game()

    # --- Gymnasium API -----------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new program. ``options={"program": Program or text}`` plays a prefix."""
        super().reset(seed=seed)
        self._reset_game()
        if options and options.get("program") is not None:
            prefix = options["program"]
            if isinstance(prefix, str):
                prefix = Program.parse(prefix)
            for row in prefix:
                self._play(self._index_of(row))
        return self._observation(), self._info()

    def step(self, action):
        if self._ended():
            raise RuntimeError("step() after the episode ended; call reset()")
        reward, terminated, truncated, solved, length, illegal = self._game_step(int(action))
        observation = {"program": self._program.copy(),
                       "length": np.array([length], dtype=np.int32),
                       "state": self._obs_state.copy()}
        info = {"action_mask": self._mask.copy(), "solved": solved == self._n_inputs,
                "solved_inputs": solved, "length": length, "illegal": illegal}
        return observation, reward, terminated, truncated, info

    # --- programs and actions -------------------------------------------------------------

    def program(self) -> Program:
        """The program so far."""
        return Program(self._program[:self.length].copy())

    def moves(self) -> list[int]:
        """The actions played so far, in order (one per instruction)."""
        return [self._index_of(row) for row in self._program[:self.length]]

    def action_of(self, instruction) -> int:
        """Action index of an instruction (text such as ``"mov r0, m1"`` or (op, dst, src))."""
        row = parse_instruction(instruction) if isinstance(instruction, str) else instruction
        return self._index_of(row)

    def instruction_of(self, action: int) -> str:
        """Text of an action, e.g. ``"mov r0, m1"``."""
        return format_instruction(*(int(v) for v in self.actions[int(action)]))

    @property
    def solved(self) -> bool:
        return bool(self._meta[M_SOLVED] == self.task.n_inputs)

    @property
    def placed_fraction(self) -> float:
        """Fraction of (input, output cell) pairs holding their expected value."""
        return float(self._meta[M_PLACED]) / (self.task.n_outputs * self.task.n_inputs)

    # --- internals ----------------------------------------------------------------------

    def _carve(self):
        """Make the state arrays views of ``self._buffer`` (after init and unpickling)."""
        self._carve_views()
        if not self._params[P_SEPARATE]:
            self._obs_state = self._state

    def __getstate__(self):
        # Pickle would store each view as its own array; keep the buffer, re-carve on load.
        # The task's shared read-only inputs are looked up again (same numba signature).
        views = {"_" + name for name, _, _, _ in self._layout} | {"_obs_state"}
        skip = views | {"_inputs", "_expected"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._inputs = self.task.inputs
        self._expected = self.task.expected
        self._carve()

    def _index_of(self, row) -> int:
        key = tuple(int(v) for v in row)
        if key not in self._index:
            raise ValueError(f"{format_instruction(*key)!r} is not an action of "
                             f"{self.task.name} with {self.task.registers} registers")
        return self._index[key]

    def _reset_game(self):
        game_reset(self._buffer, self._inputs, self.observed_columns, self._expected,
                   self._params)

    def _game_step(self, action: int):
        return game_step(action, self._buffer, self._expected, self._params, self._weights)

    def _play(self, action: int) -> float:
        if self._ended():
            raise ValueError("the prefix is longer than the episode")
        if not self._mask[action]:
            raise ValueError(f"move {self.length + 1} ({self.instruction_of(action)}) is "
                             "masked; canonicalize the program first")
        return self._game_step(int(action))[0]

    def _observation(self) -> dict:
        return {"program": self._program.copy(),
                "length": np.array([self._meta[M_LENGTH]], dtype=np.int32),
                "state": self._obs_state.copy()}

    def _info(self) -> dict:
        meta = self._meta
        return {"action_mask": self._mask.copy(),
                "solved": bool(meta[M_SOLVED] == self._params[P_B]),
                "solved_inputs": int(meta[M_SOLVED]),
                "length": int(meta[M_LENGTH]),
                "illegal": bool(meta[M_ILLEGAL])}

    def __repr__(self) -> str:
        return f"AssemblyGame({self.task.name}, registers={self.task.registers})"


__all__ = ["AssemblyGame", "GameConfig", "MAX_OBSERVED_INPUTS", "NETWORK_LATENCY",
           "NETWORK_LENGTH", "action_table"]
