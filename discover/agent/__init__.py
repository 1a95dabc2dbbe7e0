"""The discovery agent: an AlphaZero-style learner (network + tree search) and masked PPO.

>>> from discover.agent import TrainConfig, train
>>> result = train(TrainConfig(task="sort3", budget_minutes=5))
>>> print(result.program)

Importing this package does not import torch (``discover train``'s parser is built for
every command); torch loads when training starts.
"""

from .config import KNOWN_OPTIMUM, MCTSConfig, NetworkConfig, PPOConfig, TrainConfig
from .train import CheckpointError, TrainResult, train

__all__ = ["KNOWN_OPTIMUM", "CheckpointError", "MCTSConfig", "NetworkConfig", "PPOConfig",
           "TrainConfig", "TrainResult", "train"]
