"""Network inputs from game positions, in numpy (no torch: the search and the CLI use it)."""

from __future__ import annotations

import numpy as np

PAD = 0  # token of an empty program slot; action a is token a + 1


class Featurizer:
    """Turns game positions into network inputs (numpy, batched).

    ``tokens: int64[K, T]`` (action id + 1, PAD after the program's end) and
    ``slots: int64[K, B, S + N]``, for each input column the index into the slot/value
    embedding table of every state row and input rank.
    """

    def __init__(self, actions: np.ndarray, inputs: np.ndarray, slots: int, max_length: int,
                 columns: np.ndarray | None = None):
        # actions: int32[A, 3] (op, dst, src); inputs: int8[N, B] ranks; slots = S = R + N + 1;
        # columns: the state columns the network reads (None: all B).
        self.n_actions = len(actions)
        self.max_length = max_length
        inputs = np.asarray(inputs, dtype=np.int8)
        self.columns = None if columns is None or len(columns) == inputs.shape[1] \
            else np.asarray(columns, dtype=np.int64)
        if self.columns is not None:
            inputs = inputs[:, self.columns]
        self.inputs = np.ascontiguousarray(inputs)  # int8[N, B'']
        self.slots = slots
        n = self.inputs.shape[0]
        # Values: registers and memory hold UNSET (-1) or a rank 0..N-1; flags hold 0..7
        # (bit set of LT/EQ/GT). Shift by one so -1 maps to 0: V = max(N + 1, 8) + 1 classes.
        self.values = max(n + 1, 8) + 1
        rows = slots + n
        self.table_size = rows * self.values
        self.offsets = (np.arange(rows, dtype=np.int64) * self.values)  # int64[S + N]
        # Lookup from (op, dst, src) to action token, for programs given as code rows.
        self._token_of = {tuple(int(v) for v in row): i + 1 for i, row in enumerate(actions)}

    def tokens_of(self, code: np.ndarray) -> np.ndarray:
        """``int16[T]`` tokens of a program given as ``int32[P, 3]`` rows."""
        out = np.zeros(self.max_length, dtype=np.int16)
        for i, row in enumerate(code[: self.max_length]):
            out[i] = self._token_of[(int(row[0]), int(row[1]), int(row[2]))]
        return out

    def tokens_of_moves(self, moves) -> np.ndarray:
        """``int16[T]`` tokens of the actions played (the game's ``moves()``)."""
        out = np.zeros(self.max_length, dtype=np.int16)
        moves = np.asarray(moves, dtype=np.int64)[: self.max_length]
        out[: len(moves)] = moves + 1
        return out

    def slot_indices(self, states: np.ndarray) -> np.ndarray:
        """``int64[K, B'', S + N]`` from ``states: int8[K, S, B]`` (the network's columns)."""
        if self.columns is not None:
            states = states[:, :, self.columns]
        k = states.shape[0]
        inputs = np.broadcast_to(self.inputs, (k,) + self.inputs.shape)
        rows = np.concatenate([states, inputs], axis=1).astype(np.int64) + 1  # [K, S+N, B]
        return np.ascontiguousarray((rows + self.offsets[None, :, None]).transpose(0, 2, 1))
