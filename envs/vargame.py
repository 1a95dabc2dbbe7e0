"""The VarSort game: write a branchy program that sorts 0..N items (Gymnasium, ISA v2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from .base import BufferGame, evenly_spaced

from discover.kernels.isa import (CMPN, CONTROL, FLAG_GT, JUMP_NAMES, MAX_ITEMS,
                                  N_ALL_OPCODES, Program, format_instruction,
                                  parse_instruction)
from discover.kernels.networks import varsort_program
from discover.kernels.tasks import VARSORT_NAMES, Task, TaskError
from discover.kernels.vargame import (BRANCH_CONDS, LAND, M_ACTIVE, M_COST, M_DEPTH,
                                      M_ILLEGAL, M_LENGTH, M_MOVES, M_PLACED, M_SOLVED,
                                      M_TERMINATED, M_TRUNCATED, N_PARAMS, N_WEIGHTS,
                                      P_A, P_A0, P_B, P_DEAD_ENDS, P_L, P_N, P_PRUNE, P_R,
                                      P_READ_ONCE, P_STRICT, PENDING, W_BONUS, W_CORRECT,
                                      W_COST, W_ILLEGAL, W_PAIRS, W_SCALE, action_table,
                                      buffer_layout, game_reset, game_step, program_code)

MAX_OBSERVED_INPUTS = 4683  # as the fixed game: a fixed subset past it (varsort6..8)
HUMAN_LENGTH = {task.n: len(varsort_program(task.n))
                for task in map(Task.from_name, VARSORT_NAMES)}
"""The human routine's length (``kernels.networks.varsort_program``): 10, 30, 61, ... by N."""
MAX_STATUS = 7  # the observed status row: 0 active, d: suspended on pending label d (at most 7)
ELSE = "else"
LAND_TEXT = "land"


@dataclass(frozen=True)
class VarSortConfig:
    """Configuration of one VarSortGame (every field is a keyword of VarSortGame)."""

    task: str = "varsort3"
    """Task name, varsort2 .. varsort8."""
    registers: int | None = None
    """Register count R (None: N + 1)."""
    max_length: int | None = None
    """Length budget in instructions (labels don't count): the episode is truncated when
    the program reaches it (None: the human routine's length, 30 for varsort3)."""
    cost: str = "length"
    """Cost charged when the program is correct: "length" only (the latency of a branchy
    program depends on its inputs: ``discover verify`` reports it per path)."""
    correct_weight: float = 2.0
    """Weight of the change in the fraction of (input, item) pairs in place, over the
    items of every input of every length."""
    solved_bonus: float = 1.0
    cost_weight: float = 0.5
    cost_scale: float | None = None
    """Length is divided by this (None: the human routine's length)."""
    illegal_penalty: float = 1.0
    pruning: bool = True
    """Mask pruned and provably useless moves (False: only ill-formed, faulting and
    empty-split branches)."""
    strict_stores: bool = True
    dead_ends: bool = True
    read_once: bool = True
    observed_inputs: int | None = None
    """Inputs shown in the observation (None: all, up to MAX_OBSERVED_INPUTS)."""
    render_mode: str | None = None

    @property
    def task_spec(self) -> Task:
        task = Task.from_name(self.task, self.registers)
        if not task.variable:
            raise TaskError(f"the VarSort game plays varsort2..varsort{MAX_ITEMS}, got "
                            f"{self.task!r} (use AssemblyGame, discover/Sort{task.n}-v0)")
        return task

    def __post_init__(self):
        self.task_spec  # raises TaskError for a bad name, a fixed sort or a register count
        if self.cost != "length":
            raise ValueError(f"cost must be 'length' for a varsort task, got {self.cost!r}")
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
        return self.max_length if self.max_length is not None else HUMAN_LENGTH[self.task_spec.n]

    @property
    def scale(self) -> float:
        if self.cost_scale is not None:
            return float(self.cost_scale)
        return float(HUMAN_LENGTH[self.task_spec.n])


class VarSortGame(BufferGame):
    """Write a program with forward branches that sorts 0..N items, one move at a time.

    ## Description
    The AssemblyGame (``envs/game.py``) for the variable-length tasks varsortN of ISA v2
    (``docs/ISA.md``): the input has a length n in 0..N known only at run time (the
    operand ``n``), and the program may branch on it with ``cmp n, K`` and forward jumps.
    The test inputs are every weak ordering of n items for every n (18 for varsort3, 93
    for varsort4, 634 for varsort5); cells past an input's length do not exist.

    ## Action Space
    ``Discrete(A)``: the fixed game's instructions (``AssemblyGame``'s actions, same order:
    8 R^2 + 2 R N), then 6 (N + 1) branches, ``else`` and ``land`` (A = 178 for varsort3),
    listed in ``self.actions`` (rows ``(op, dst, src)``; ``(jCC, 0, K)`` for a branch,
    ``(JMP, 0, 0)`` for else, ``(LAND, 0, 0)`` = ``(-1, 0, 0)`` for land):

    - an instruction runs on the *active* inputs only;
    - ``branch jCC, K`` (text ``"branch jle, 1"``) emits ``cmp n, K`` and ``jCC L`` to a
      new *pending* label L: the active inputs for which the jump is taken are suspended
      on L (their machine state frozen);
    - ``land`` places the most recent pending label here: the inputs suspended on it
      resume, and the paths meet and share the code that follows (labels don't count);
    - ``else`` emits ``jmp L'`` to a new pending label and places the most recent pending
      label after it: the inputs that ran so far are suspended on L', the ones suspended
      on L resume (an if/else).

    Pending labels are placed at the end when the episode ends, so the game scores the
    program "as if it ended here" (a suspended input's frozen state is its final state).
    AlphaDev's 21-instruction VarSort3 (``cmp n, 1; jle end``, load m0, m1,
    compare-exchange, ``cmp n, 2; je join``, load m2, insert it, store m2, ``join:``
    store m0, m1, ``end:``) is ``branch jle, 1``, 6 instructions, ``branch je, 2``,
    8 instructions, ``land``, 2 instructions (the tests play it).

    ## Masks
    ``action_masks()`` (and ``info["action_mask"]``), ``bool[A]``. Always masked: a load or
    store of a cell that some active input does not have (no program of the game faults);
    a read of a register not written on every path into here, a cmov with no cmp on every
    path (well-formed as ``Program.check`` sees it); a branch that no active input takes
    or that every one takes; else/land with no pending label. With ``pruning`` (default)
    the fixed game's rules apply to the active inputs (``envs/masks.py``: loads in order
    and once on each input's path, a cell stored once after its load and, with
    ``strict_stores``, only with its sorted value on every active input, first writes to
    the lowest fresh register, ``cmp rA, rB`` with A < B and not right after a cmp, no
    mov/cmov/cmp that changes nothing on the active inputs, no cmov that is a mov, with
    ``dead_ends`` no write that loses the last copy of a needed value), and: of the
    branches that split the active inputs alike only the first (conditions in the order
    je, jne, jle, jge, jl, jg, then K ascending); no branch right after a cmp (its flags
    would be dead); a branch suspends the shortest active lengths (all active lengths up
    to some l: shorter inputs need a subset of the work, so they jump ahead past the code
    only longer ones run, as in AlphaDev's VarSort3 and the human routine); no branch that
    leaves only sorted inputs on the path that falls through; no land or else right after the label's jump (an empty
    block); when every active input is sorted, only land or else (code they run could only
    keep them sorted); else only then (the inputs that ran jump to the end: an if/else
    whose two blocks join again is outside the pruned game) and not when it resumes only
    sorted inputs (land instead).

    ## Observation Space
    ``Dict``: ``"program"`` ``int32[L, 3]`` (rows ``(op, dst, src)``, -1 past the length;
    a pending jump's target is -1), ``"length"`` ``int32[1]``, ``"state"``
    ``int8[S + 1, K]``: registers, memory (-1 past an input's length), flags (as
    AssemblyGame), then one row per input: 0 active, d >= 1 suspended on the d-th pending
    label (counted from the oldest; at most 7: deeper ones show as 7).

    ## Rewards
    As AssemblyGame: ``correct_weight`` x the change in the fraction of (input, item)
    pairs in place (items of every input of every length); when every input is sorted,
    ``+ solved_bonus - cost_weight * length / cost_scale``; ``-illegal_penalty`` for a
    masked move.

    ## Episode End
    Terminated when every input is sorted (the program, pending labels placed at the end,
    is correct: ``verify`` agrees) or after a masked move; truncated at ``max_length``
    instructions, when no move is allowed, or (with pruning) when no correct program fits
    the rest of the budget: on some input, each cell not holding its sorted value still
    needs a store, and a load first if not loaded (``kernels.vargame.instructions_needed``,
    admissible under the store-after-load rule). An episode has at most ``max_moves`` = 2 L
    moves (every land follows at least one instruction).

    ``clone()``/``restore()``/``advance()``/``program()``/``program_text()``/``moves()``
    as AssemblyGame; ``program()`` places pending labels at the end.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    _M_TERMINATED, _M_TRUNCATED, _M_LENGTH, _M_SOLVED, _M_COST = (
        M_TERMINATED, M_TRUNCATED, M_LENGTH, M_SOLVED, M_COST)

    def __init__(self, task: str = "varsort3", registers: int | None = None,
                 max_length: int | None = None, cost: str = "length",
                 config: VarSortConfig | None = None, **kwargs):
        if config is None:
            config = VarSortConfig(task=task, registers=registers, max_length=max_length,
                                   cost=cost, **kwargs)
        elif kwargs:
            raise TypeError("give either config or keyword arguments, not both")
        self.config = config
        self.render_mode = config.render_mode
        self.task = config.task_spec
        n, r = self.task.n, self.task.registers
        self.max_length = length = config.length_budget
        self.max_moves = 2 * length
        self.actions = action_table(n, r)
        self.actions.setflags(write=False)
        self._index = {tuple(int(v) for v in row): k for k, row in enumerate(self.actions)}
        self._n_fixed = int(np.flatnonzero(
            (self.actions[:, 0] >= CMPN) | (self.actions[:, 0] == LAND))[0])
        n_inputs = self.task.n_inputs
        self._n_inputs = n_inputs
        limit = config.observed_inputs or MAX_OBSERVED_INPUTS
        columns = evenly_spaced(n_inputs, limit)
        self.observed_columns = columns
        self.observed_columns.setflags(write=False)
        self._all_observed = len(columns) == n_inputs
        self._inputs = self.task.inputs
        self._lengths = self.task.lengths
        self._expected = self.task.expected
        self._params = np.zeros(N_PARAMS, dtype=np.int64)
        self._params[[P_R, P_N, P_B, P_L]] = r, n, n_inputs, length
        self._params[P_A] = len(self.actions)
        self._params[P_A0] = self._n_fixed
        self._params[P_PRUNE] = config.pruning
        self._params[P_STRICT] = config.strict_stores
        self._params[P_DEAD_ENDS] = config.dead_ends
        self._params[P_READ_ONCE] = config.read_once
        self._weights = np.zeros(N_WEIGHTS, dtype=np.float64)
        self._weights[W_CORRECT] = config.correct_weight
        self._weights[W_BONUS] = config.solved_bonus
        self._weights[W_COST] = config.cost_weight
        self._weights[W_SCALE] = config.scale
        self._weights[W_ILLEGAL] = config.illegal_penalty
        self._weights[W_PAIRS] = max(int(self._lengths.astype(np.int64).sum()), 1)
        layout, size = buffer_layout(n, r, n_inputs, length)
        self._layout = tuple(layout)
        self._buffer = np.zeros(size, dtype=np.uint8)
        self._carve()
        high = max(N_ALL_OPCODES - 1, length, r - 1, n)
        self.action_space = spaces.Discrete(len(self.actions))
        self.observation_space = spaces.Dict({
            "program": spaces.Box(-1, high, shape=(length, 3), dtype=np.int32),
            "length": spaces.Box(0, length, shape=(1,), dtype=np.int32),
            "state": spaces.Box(-1, max(n - 1, FLAG_GT, MAX_STATUS),
                                shape=(self.task.slots + 1,
                                                                 len(columns)),
                                dtype=np.int8),
        })
        self._reset_game()

    # --- Gymnasium API -----------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new program. ``options={"moves": [action or text, ...]}`` plays a prefix."""
        super().reset(seed=seed)
        self._reset_game()
        if options and options.get("moves") is not None:
            for move in options["moves"]:
                self._play(self.action_of(move) if not isinstance(move, (int, np.integer))
                           else int(move))
        return self._observation(), self._info()

    def step(self, action):
        if self._ended():
            raise RuntimeError("step() after the episode ended; call reset()")
        reward, terminated, truncated, solved, length, illegal = self._game_step(int(action))
        info = {"action_mask": self._mask.copy(), "solved": solved == self._n_inputs,
                "solved_inputs": int(solved), "length": int(length), "illegal": bool(illegal)}
        return self._observation(), float(reward), bool(terminated), bool(truncated), info

    # --- programs and actions -------------------------------------------------------------

    def program(self) -> Program:
        """The program so far, its pending labels placed at the end."""
        return Program(program_code(self._program, self.length))

    def moves(self) -> list[int]:
        """The actions played so far, in order (replayable with ``reset(options=...)``)."""
        return [int(a) for a in self._moves[:int(self._meta[M_MOVES])]]

    def action_of(self, move) -> int:
        """Action index of a move: an instruction (text or ``(op, dst, src)``),
        ``"branch jle, 1"``, ``"else"`` or ``"land"``."""
        if isinstance(move, str):
            text = move.strip().lower()
            if text == LAND_TEXT:
                return self._index_of((LAND, 0, 0))
            if text == ELSE:
                return self._index_of((JUMP_NAMES["jmp"], 0, 0))
            if text.startswith("branch"):
                parts = [p.strip() for p in text[len("branch"):].split(",")]
                if len(parts) != 2 or parts[0] not in JUMP_NAMES or not parts[1].isdigit():
                    raise ValueError(f"bad branch {move!r} (expected 'branch jCC, K')")
                return self._index_of((JUMP_NAMES[parts[0]], 0, int(parts[1])))
            return self._index_of(parse_instruction(move))
        return self._index_of(move)

    def instruction_of(self, action: int) -> str:
        """Text of an action: ``mov r0, m1``, ``branch jle, 1``, ``else`` or ``land``."""
        op, d, s = (int(v) for v in self.actions[int(action)])
        if op == LAND:
            return LAND_TEXT
        if op in CONTROL and op != CMPN:
            return ELSE if CONTROL[op].mnemonic == "jmp" else \
                f"branch {CONTROL[op].mnemonic}, {s}"
        return format_instruction(op, d, s)

    @property
    def solved(self) -> bool:
        return bool(self._meta[M_SOLVED] == self._n_inputs)

    @property
    def depth(self) -> int:
        """Pending labels."""
        return int(self._meta[M_DEPTH])

    @property
    def active_inputs(self) -> int:
        return int(self._meta[M_ACTIVE])

    @property
    def placed_fraction(self) -> float:
        return float(self._meta[M_PLACED]) / float(self._weights[W_PAIRS])

    # --- internals ----------------------------------------------------------------------

    def _carve(self):
        self._carve_views()

    def __getstate__(self):
        skip = {"_" + name for name, _, _, _ in self._layout}
        skip |= {"_inputs", "_lengths", "_expected"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._inputs = self.task.inputs
        self._lengths = self.task.lengths
        self._expected = self.task.expected
        self._carve()

    def _index_of(self, row) -> int:
        key = tuple(int(v) for v in row)
        if key not in self._index:
            raise ValueError(f"{key} is not an action of {self.task.name} with "
                             f"{self.task.registers} registers")
        return self._index[key]

    def _game_step(self, action: int):
        moves = int(self._meta[M_MOVES])
        out = game_step(action, self._meta, self._stack, self._program, self._state,
                        self._status, self._loaded, self._stored, self._placed, self._mask,
                        self._lengths, self._expected, self.actions, self._params,
                        self._weights)
        if moves < len(self._moves) and not out[5]:
            self._moves[moves] = action
        return out

    def _reset_game(self):
        game_reset(self._meta, self._stack, self._program, self._state, self._status,
                   self._loaded, self._stored, self._placed, self._mask, self._inputs,
                   self._lengths, self._expected, self.actions, self._params)

    def _play(self, action: int) -> float:
        if self._ended():
            raise ValueError("the prefix is longer than the episode")
        if not 0 <= action < len(self.actions) or not self._mask[action]:
            raise ValueError(f"move {int(self._meta[M_MOVES]) + 1} "
                             f"({self.instruction_of(action)}) is masked")
        return self._game_step(action)[0]

    def _observation(self) -> dict:
        state = np.empty(self.observation_space["state"].shape, dtype=np.int8)
        if self._all_observed:
            state[:-1] = self._state
            np.minimum(self._status, MAX_STATUS, out=state[-1])
        else:
            state[:-1] = self._state[:, self.observed_columns]
            np.minimum(self._status[self.observed_columns], MAX_STATUS, out=state[-1])
        return {"program": self._program.copy(),
                "length": np.array([self._meta[M_LENGTH]], dtype=np.int32),
                "state": state}

    def _info(self) -> dict:
        meta = self._meta
        return {"action_mask": self._mask.copy(),
                "solved": bool(meta[M_SOLVED] == self._n_inputs),
                "solved_inputs": int(meta[M_SOLVED]), "length": int(meta[M_LENGTH]),
                "illegal": bool(meta[M_ILLEGAL])}

    def __repr__(self) -> str:
        return f"VarSortGame({self.task.name}, registers={self.task.registers})"


__all__ = ["HUMAN_LENGTH", "VarSortConfig", "VarSortGame", "BRANCH_CONDS", "PENDING"]
