"""The policy/value network: program encoder + machine-state encoder, AlphaDev's shape.

- Program encoder: each instruction of the program so far is embedded by its action id
  (one embedding per (op, dst, src) the game allows) plus a position embedding; a small
  transformer runs over them with a learned summary token in front, whose output is the
  program's embedding.
- State encoder: for each test input, its machine state (every register, memory cell and
  the flags, after the program so far) and its original input ranks are embedded as a sum of
  one-hot slot/value embeddings, then a shared MLP; the results are averaged over inputs.
- Heads: policy logits over the action space (the caller masks illegal actions) and one
  value head predicting the return still to come (the dense correctness reward plus the
  length or latency penalty). AlphaDev used two value heads (correctness, latency); one
  is enough here because the environment already folds both into a single reward.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import NetworkConfig

from .features import PAD, Featurizer  # noqa: F401 (re-exported)


class PolicyValueNet(nn.Module):
    """``forward(tokens, slots) -> (logits: float[K, A], value: float[K])``."""

    def __init__(self, config: NetworkConfig, n_actions: int, max_length: int, table_size: int):
        super().__init__()
        e = config.embed_dim
        self.config = config
        self.n_actions = n_actions
        self.token = nn.Embedding(n_actions + 1, e, padding_idx=PAD)
        self.position = nn.Embedding(max_length + 1, e)
        self.summary = nn.Parameter(torch.zeros(1, 1, e))
        if config.layers > 0:
            layer = nn.TransformerEncoderLayer(e, config.heads, dim_feedforward=2 * e,
                                               dropout=0.0, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        else:
            self.encoder = None
            self.bag = nn.Sequential(nn.Linear(e, e), nn.ReLU())
        # One-hot (slot, value) pairs summed = EmbeddingBag: a linear layer on the one-hot
        # state without materialising it.
        self.slot = nn.EmbeddingBag(table_size, config.state_hidden, mode="sum")
        self.state_mlp = nn.Sequential(nn.ReLU(), nn.Linear(config.state_hidden, config.state_hidden),
                                       nn.ReLU(), nn.Linear(config.state_hidden, e))
        self.trunk = nn.Sequential(nn.Linear(2 * e, config.hidden), nn.ReLU(),
                                   nn.Linear(config.hidden, config.hidden), nn.ReLU())
        self.policy = nn.Linear(config.hidden, n_actions)
        self.value = nn.Linear(config.hidden, 1)
        nn.init.zeros_(self.policy.weight)  # start uniform over legal actions
        nn.init.zeros_(self.policy.bias)

    def forward(self, tokens: torch.Tensor, slots: torch.Tensor):
        k, t = tokens.shape
        positions = torch.arange(1, t + 1, device=tokens.device)
        x = self.token(tokens) + self.position(positions)[None]  # [K, T, E]
        if self.encoder is not None:
            x = torch.cat([self.summary.expand(k, 1, -1) + self.position.weight[0], x], dim=1)
            pad = torch.cat([torch.zeros(k, 1, dtype=torch.bool, device=tokens.device),
                             tokens == PAD], dim=1)
            program = self.encoder(x, src_key_padding_mask=pad)[:, 0]  # [K, E]
        else:
            # No attention: the sum of position-tagged instruction embeddings (the state
            # encoder already sees everything the program computed).
            live = (tokens != PAD).unsqueeze(2).to(x.dtype)
            program = self.bag((x * live).sum(1) + self.summary[0])  # [K, E]
        b = slots.shape[1]
        state = self.slot(slots.reshape(k * b, -1)).reshape(k, b, -1)  # [K, B, H]
        state = self.state_mlp(state).mean(1)  # [K, E]
        h = self.trunk(torch.cat([program, state], dim=1))
        return self.policy(h), self.value(h).squeeze(1)


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-probabilities with illegal actions at a large negative (never sampled)."""
    return torch.log_softmax(logits.masked_fill(~mask, -1e9), dim=-1)
