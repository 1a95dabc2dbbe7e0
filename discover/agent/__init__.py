"""The discovery agent: an AlphaZero-style learner (network + tree search) and masked PPO.

>>> from discover.agent import TrainConfig, train
>>> result = train(TrainConfig(task="sort3", budget_minutes=5))
>>> print(result.program)

Modules, each importing only those listed before it: ``config``; ``features`` (network
inputs, numpy); ``game`` (the AssemblyGame as the agent sees it); ``network`` (torch);
``mcts`` (the tree search); ``model`` (network, optimizer and evaluator: ``Agent``);
``selfplay`` (games with search, the lower bound); ``learner`` (the ``Learner`` protocol,
``RunView``, ``LearnStats``); ``layout`` (what a network's task-dependent rows mean); ``rundir`` (hall of fame,
metrics, checkpoints); ``transfer`` (a network started from another task size's,
``--init-from``); ``curriculum`` (smaller tasks first, ``--curriculum``); ``actors``
(self-play helper processes); ``alphazero`` and ``ppo`` (the learners); ``train`` (the
loop); ``command`` (``discover train``).

Importing this package does not import torch (``discover train``'s parser is built for
every command); torch loads when training starts.
"""

from .config import (
           KNOWN_OPTIMUM,
           RESUMABLE_FIELDS,
           MCTSConfig,
           NetworkConfig,
           PPOConfig,
           TrainConfig,
)
from .rundir import CheckpointError, resumed_config
from .train import TrainResult, train

__all__ = ["KNOWN_OPTIMUM", "RESUMABLE_FIELDS", "CheckpointError", "MCTSConfig", "NetworkConfig",
           "PPOConfig", "TrainConfig", "TrainResult", "resumed_config", "train"]
