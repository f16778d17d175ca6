"""How big a graph the explorer traces and draws (figures behind them: bench/README.md).

Examples
--------
>>> GROUP_ABOVE <= MLP_MAX_DRAWN < MLP_MAX_NODES
True
"""

from __future__ import annotations

from .expression import LIMITS

__all__ = ["GROUP_ABOVE", "MLP_MAX_NODES", "MLP_MAX_DRAWN", "MLP_MAX_INPUTS"]

# A traced MLP above this many nodes is drawn grouped, a neuron as one node: laid out and
# sent node by node it would take seconds and megabytes per change.
GROUP_ABOVE = 1500
# The most nodes one scene traces: the build, trace, grouping and layout of a scene must
# stay well under a second of server time.
MLP_MAX_NODES = 20_000
# The most nodes drawn, grouped (every input and the loss's nodes stay single).
MLP_MAX_DRAWN = 1500
# The most inputs: a slider each, as many as a typed expression may have variables.
MLP_MAX_INPUTS = LIMITS["variables"]
