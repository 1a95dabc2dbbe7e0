"""What the task-dependent tables of a network mean (``transfer``; stored in checkpoints).

A network's token and policy rows follow its game's action table, its slot-table rows the
game's state rows and input ranks; ``Layout`` holds both, so a network trained on one task
size can be mapped onto another by meaning.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .game import GameSpec

__all__ = ["Layout"]


@dataclass(frozen=True)
class Layout:
    """What the task-dependent tables of a network mean: its game's actions and rows."""

    kind: str
    """'sort', 'varsort' or 'kernel:NAME': weights move only between layouts of one kind."""
    task: str
    registers: int
    n: int
    """Memory cells (a sort's items, a kernel's input cells)."""
    slots: int
    """Rows of the observed state: R + N + 1 (+ 1 for the VarSort game)."""
    max_moves: int
    values: int
    """Classes per row of the slot table (``Featurizer.values``)."""
    actions: np.ndarray
    """``int32[A, 3]`` (op, dst, src), in the network's action order."""

    @classmethod
    def of_spec(cls, spec: GameSpec) -> "Layout":
        from .features import Featurizer

        task = spec.task
        kind = ("varsort" if task.variable else "sort") if task.is_sort else f"kernel:{task.name}"
        featurizer = Featurizer(spec.actions, spec.inputs, spec.slots, spec.max_moves)
        return cls(kind, task.name, int(task.registers), int(task.n), int(spec.slots),
                   int(spec.max_moves), int(featurizer.values),
                   np.asarray(spec.actions, dtype=np.int32))

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["actions"] = self.actions.tolist()
        return out

    @classmethod
    def from_json(cls, payload: dict) -> "Layout":
        payload = dict(payload)
        actions = np.asarray(payload.pop("actions"), dtype=np.int32).reshape(-1, 3)
        return cls(**payload, actions=actions)

    def rows(self) -> list[tuple]:
        """The meaning of each slot-table row, in order."""
        r, n = self.registers, self.n
        extra = self.slots - r - n - 1
        return ([("r", i) for i in range(r)] + [("m", j) for j in range(n)] + [("flags",)]
                + [("extra", k) for k in range(extra)] + [("rank", j) for j in range(n)])
