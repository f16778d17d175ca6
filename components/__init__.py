"""Panel views of the backprop explorer; ``from components import explore`` for notebooks.

``explore`` is imported on first use, so importing one view module (or the lifecycle
hooks as a ``--setup`` script) does not build the others.
"""


def __getattr__(name):
    if name == "explore":
        from .notebook import explore
        return explore
    raise AttributeError(f"module 'components' has no attribute {name!r}")


__all__ = ["explore"]
