"""The network wrapper: the policy/value network, its inputs, its optimizer and the device.

``Agent`` is what both learners share: the network (``network.PolicyValueNet``), the
Featurizer that turns positions into its inputs, and the optimizer; ``evaluate`` is the
tree search's evaluator. The learners' losses are their own (``alphazero``, ``ppo``).
Torch is imported on first use: ``discover --help`` must not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import TrainConfig
from .features import Featurizer
from .game import GameSpec

if TYPE_CHECKING:
    import torch

__all__ = ["Agent", "resolve_device"]


def resolve_device(name: str) -> torch.device:
    """The torch device of ``TrainConfig.device`` ('auto': CUDA when present)."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


class Agent:
    """Network, optimizer, the featurizer of its inputs, and its evaluator for the search."""

    def __init__(self, config: TrainConfig, spec: GameSpec, device: torch.device):
        import torch

        from .network import PolicyValueNet

        self.spec = spec
        self.device = device
        self.featurizer = Featurizer(spec.actions, spec.inputs, spec.slots, spec.max_moves,
                                     spec.network_columns)
        self.net = PolicyValueNet(config.network, spec.n_actions, spec.max_moves,
                                  self.featurizer.table_size).to(device)
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.config = config

    def inputs(self, tokens, states):
        """Network inputs on the device from ``tokens: int16[K, T]``, ``states: int8[K, S, B]``."""
        import torch

        t = torch.as_tensor(tokens.astype(np.int64), device=self.device)
        s = torch.as_tensor(self.featurizer.slot_indices(states), device=self.device)
        return t, s

    def features(self, game, obs) -> tuple[np.ndarray, np.ndarray]:
        """``(tokens int16[T], state int8[S, B])`` of the game's position."""
        return self.featurizer.tokens_of_moves(game.moves()), self.spec.state_of(game, obs)

    def evaluate(self, tokens, states, masks):
        """The search's evaluator: masked softmax priors and values, as numpy."""
        import torch

        with torch.inference_mode():
            logits, values = self.net(*self.inputs(tokens, states))
            m = torch.as_tensor(masks, device=self.device)
            priors = torch.softmax(logits.masked_fill(~m, -1e9), dim=-1)
        return priors.cpu().numpy(), values.cpu().numpy()
