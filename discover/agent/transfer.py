"""Start a network from one trained on another task size (``discover train --init-from DIR``).

The network's trunk, state MLP, program encoder and value head have the same shape for
every task; four tables depend on the task's sizes and are mapped by meaning:

- ``token`` (one row per action, plus PAD) and the ``policy`` head (one output per action):
  an action is the instruction ``(op, dst, src)``, whose operands are indices of their own
  kind (``mov r2, r1`` is register 2 from register 1, ``load r0, m3`` register 0 from memory
  cell 3: ``kernels.isa.operand_range``), so the same triple means the same instruction in
  every size. A destination action with no source triple (a register or a cell the source
  had not) keeps its fresh initialisation (the policy head's is zero: uniform prior), or
  with ``fill`` (``--init-fill``) copies the row of its nearest source action: each
  operand clamped to the source's last register or cell of its kind.
- ``slot`` (the state's one-hot table, ``Featurizer``): rows are registers r0..r{R-1},
  memory cells m0..m{N-1}, the flags, any extra row of the game (the VarSort game's input
  status), then the N input ranks; each row has ``values`` classes. Register i maps to
  register i, cell j to cell j, flags to flags, input rank j to input rank j, and the
  classes both tables have (``max(N + 1, 8) + 1``: 9 up to N = 7) are copied. With
  ``fill``, a register, cell or rank row the source had not copies its last one.
- ``position`` (one row per move): the common prefix.

The source's layout (action table and sizes) is stored in new checkpoints (``"layout"``);
for older ones it is rebuilt from the checkpoint's config. Only the network's weights
travel: not the optimizer, the replay buffer or the counters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import TrainConfig
from .layout import Layout
from .rundir import CHECKPOINT, CHECKPOINT_FORMAT, CheckpointError

if TYPE_CHECKING:
    from .model import Agent

__all__ = ["Layout", "Source", "TransferError", "load_source", "transfer_weights"]

# Tensors of the network whose rows depend on the task (mapped); every other tensor is
# copied as it is and must have the same shape in both networks.
TOKEN, POSITION, SLOT = "token.weight", "position.weight", "slot.weight"
POLICY_WEIGHT, POLICY_BIAS = "policy.weight", "policy.bias"


class TransferError(CheckpointError):
    """A source run whose network cannot start this run (one line, names what is wrong)."""


@dataclass
class Source:
    """A trained network read from a run directory, ready to start another run."""

    path: Path
    state_dict: dict
    layout: Layout

    def apply(self, agent: Agent, fill: bool = False) -> str:
        """Copy the weights into ``agent.net``; a one-line note of what was mapped."""
        return transfer_weights(self.state_dict, self.layout, agent.net,
                                Layout.of_spec(agent.spec), name=str(self.path), fill=fill)


def load_source(directory: str, config: TrainConfig) -> Source:
    """The network of the run in ``directory``, checked against ``config`` (TransferError)."""
    import torch

    option = f"--init-from {directory}"
    path = Path(directory)
    if not path.exists():
        raise TransferError(f"{option}: no such directory")
    if not path.is_dir():
        raise TransferError(f"{option}: not a directory (give a discover train run directory)")
    checkpoint = path / CHECKPOINT
    if not checkpoint.is_file():
        raise TransferError(f"{option}: no {CHECKPOINT} (not a discover train run directory, "
                            "or the run wrote no checkpoint)")
    try:
        payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means corrupt
        raise TransferError(f"{option}: corrupt checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT \
            or not isinstance(payload.get("model"), dict) \
            or not isinstance(payload.get("config"), dict):
        raise TransferError(f"{option}: not a discover train checkpoint of format "
                            f"{CHECKPOINT_FORMAT}")
    saved = payload["config"]
    theirs = saved.get("network") if isinstance(saved.get("network"), dict) else {}
    mine = dataclasses.asdict(config.network)
    defaults = dataclasses.asdict(type(config.network)())  # a field added since: its default
    for key, value in mine.items():
        if theirs.get(key, defaults[key]) != value:
            flag = "--" + key.replace("_", "-")
            raise TransferError(f"{option}: network {flag} was {theirs.get(key)!r} there, "
                                f"{value!r} here (the networks must have the same sizes)")
    layout = _layout_of(payload, option)
    check_kinds(layout, _kind_of(config), config.task_spec.name, option)
    return Source(path, payload["model"], layout)


def check_kinds(source: Layout, kind: str, task: str, option: str) -> None:
    """TransferError unless ``source`` may start a run of this kind of task."""
    if source.kind == kind:
        return
    raise TransferError(f"{option}: a {source.task} network cannot start a {task} run "
                        "(weights move between sortN tasks, between varsortN tasks, or "
                        "into the same kernel)")


def _kind_of(config: TrainConfig) -> str:
    if config.variable:
        return "varsort"
    return "sort" if config.is_sort else f"kernel:{config.task_spec.name}"  # Layout.of_spec's


def _layout_of(payload: dict, option: str) -> Layout:
    """The stored layout, or one rebuilt from the checkpoint's config (older checkpoints)."""
    stored = payload.get("layout")
    if stored is not None:
        try:
            return Layout.from_json(stored)
        except (TypeError, ValueError, KeyError):
            raise TransferError(f"{option}: corrupt checkpoint (its layout)") from None
    from .game import GameSpec

    try:
        config = TrainConfig.from_json(payload["config"])
        return Layout.of_spec(GameSpec.from_config(config))
    except (TypeError, ValueError, KeyError) as error:
        raise TransferError(f"{option}: cannot rebuild the run's game from its checkpoint "
                            f"({str(error).splitlines()[0] if str(error) else type(error).__name__})"
                            ) from None


def transfer_weights(src: dict, src_layout: Layout, net, dst_layout: Layout,
                     name: str = "the source", fill: bool = False) -> str:
    """Load ``src`` (a state dict of ``src_layout``'s network) into ``net`` (of
    ``dst_layout``), mapping the task-dependent rows by meaning (module docstring).

    Rows with no source keep ``net``'s own values (``fill``: copy the nearest source row,
    operands clamped to the source's ranges). Returns a one-line note of what was
    mapped; TransferError if the networks differ elsewhere."""
    import torch

    check_kinds(src_layout, dst_layout.kind, dst_layout.task, f"--init-from {name}")
    dst = net.state_dict()
    out = {key: value.clone() for key, value in dst.items()}
    missing = sorted(set(dst) - set(src))
    if missing:
        raise TransferError(f"--init-from {name}: the network has no {missing[0]!r} (another "
                            "network layout)")
    index = {tuple(int(v) for v in row): i for i, row in enumerate(src_layout.actions)}
    pairs = [(a, index[tuple(int(v) for v in row)])
             for a, row in enumerate(dst_layout.actions) if tuple(int(v) for v in row) in index]
    exact = len(pairs)
    if fill:
        matched = {a for a, _ in pairs}
        for a, row in enumerate(dst_layout.actions):
            near = _nearest(row, src_layout)
            if a not in matched and near in index:
                pairs.append((a, index[near]))
    d_actions = torch.tensor([a for a, _ in pairs], dtype=torch.long)
    s_actions = torch.tensor([s for _, s in pairs], dtype=torch.long)
    s_rows = {meaning: i for i, meaning in enumerate(src_layout.rows())}
    rows = [(i, s_rows[m]) for i, m in enumerate(dst_layout.rows()) if m in s_rows]
    exact_rows = len(rows)
    if fill:
        last = {kind: max(j for k, j in (m for m in s_rows if len(m) == 2) if k == kind)
                for kind in ("r", "m", "rank")}
        rows += [(i, s_rows[(m[0], last[m[0]])]) for i, m in enumerate(dst_layout.rows())
                 if m not in s_rows and m[0] in last]
    classes = min(src_layout.values, dst_layout.values)
    with torch.no_grad():
        for key, value in dst.items():
            theirs = src[key].to(value.dtype)
            if key == TOKEN:
                _same_width(key, theirs, value, name)
                out[key][0] = theirs[0]  # PAD
                out[key][d_actions + 1] = theirs[s_actions + 1]
            elif key in (POLICY_WEIGHT, POLICY_BIAS):
                _same_width(key, theirs, value, name)
                out[key][d_actions] = theirs[s_actions]
            elif key == POSITION:
                _same_width(key, theirs, value, name)
                common = min(len(theirs), len(value))
                out[key][:common] = theirs[:common]
            elif key == SLOT:
                _same_width(key, theirs, value, name)
                for d, s in rows:
                    out[key][d * dst_layout.values:d * dst_layout.values + classes] = \
                        theirs[s * src_layout.values:s * src_layout.values + classes]
            else:
                if theirs.shape != value.shape:
                    raise TransferError(f"--init-from {name}: {key} has shape "
                                        f"{tuple(theirs.shape)} there, {tuple(value.shape)} "
                                        "here (another network layout)")
                out[key] = theirs.clone()
    net.load_state_dict(out)
    filled = (f" ({len(pairs) - exact} actions and {len(rows) - exact_rows} rows from their "
              "nearest)") if fill else ""
    return (f"started from the network of {name} ({src_layout.task}): {len(pairs)} of "
            f"{len(dst_layout.actions)} actions, {len(rows)} of {len(dst_layout.rows())} "
            f"state rows mapped{filled}")


def _nearest(row, layout: Layout) -> tuple[int, int, int]:
    """The action ``row`` (op, dst, src) with each operand clamped to ``layout``'s range of
    its kind (the last register or cell); control-flow operands are left as they are."""
    from discover.kernels.isa import MEM, N_OPCODES, OPCODES, REG

    op, dst, src = (int(v) for v in row)
    if op >= N_OPCODES:
        return op, dst, src
    spec = OPCODES[op]
    top = {REG: layout.registers - 1, MEM: layout.n - 1}
    return (op, min(dst, top.get(spec.dst, dst)), min(src, top.get(spec.src, src)))


def _same_width(key: str, theirs, mine, name: str) -> None:
    if theirs.shape[1:] != mine.shape[1:]:
        raise TransferError(f"--init-from {name}: {key} has shape {tuple(theirs.shape)} "
                            f"there, {tuple(mine.shape)} here (another network layout)")
