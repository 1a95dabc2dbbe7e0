"""Kept for discover/agent and the CLI, which import from here: the networks now live in
``discover.kernels`` (kernels/networks.py), the layer that needs them."""

from discover.kernels import OPTIMAL_NETWORKS, baseline_program, network_program

__all__ = ["OPTIMAL_NETWORKS", "baseline_program", "network_program"]
