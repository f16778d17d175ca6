"""PPO's clipped objective beside REINFORCE with a detached weight: the same gradient.

Built with the engine, so the lesson's gradients come from the backward pass.
"""

from __future__ import annotations

import math

from .engine import Value, clip, minimum, stop_gradient

__all__ = ["ppo_clip_loss", "ppo_case", "reinforce_loss"]


def ppo_clip_loss(lp: float, lpo: float, A: float, eps: float) -> tuple[Value, dict[str, Value]]:
    """The PPO clipped objective as a loss: ``-min(rho*A, clip(rho, 1-eps, 1+eps)*A)``.

    ``rho = exp(lp - lpo)`` is the probability ratio pi_theta / pi_old, ``lp`` the
    log-probability under the current policy (the parameter), ``lpo`` under the
    old one (data), ``A`` the advantage (data).

    Returns
    -------
    root : Value
    leaves : dict of str to Value
        ``lp``, ``lpo``, ``A``, ``eps`` and the intermediates ``rho``, ``clipped``.

    Examples
    --------
    >>> L, leaves = ppo_clip_loss(lp=-0.9, lpo=-1.0, A=2.0, eps=0.2)
    >>> _ = L.backward(); round(leaves["lp"].grad, 6)
    -2.210342
    """
    lp_, lpo_ = Value(lp, "lp"), Value(lpo, "lpo", requires_grad=False, kind="data")
    A_ = Value(A, "A", requires_grad=False, kind="data")
    eps_ = Value(eps, "eps", requires_grad=False, kind="constant")
    rho = (lp_ - lpo_).exp()
    rho.name = "rho"
    clipped = clip(rho, 1 - eps_, 1 + eps_)
    clipped.name = "clip"
    objective = minimum(rho * A_, clipped * A_)
    objective.name = "min"
    loss = -objective
    loss.name = "L_PPO"
    return loss, {"lp": lp_, "lpo": lpo_, "A": A_, "eps": eps_, "rho": rho, "clipped": clipped}


def ppo_case(lp: float, lpo: float, A: float, eps: float) -> dict:
    """Which branch of PPO's min is taken, and the detached REINFORCE weight that matches it.

    Returns
    -------
    dict
        ``rho``, ``clipped`` (True when the clipped term is the smaller one and it
        differs from the unclipped one, so no gradient flows), ``w`` (``rho`` or
        ``0``) and ``reason`` (a short English phrase).

    Examples
    --------
    >>> ppo_case(lp=0.5, lpo=0.0, A=1.0, eps=0.2)["clipped"]
    True
    """
    rho = math.exp(lp - lpo)
    lo, hi = 1 - eps, 1 + eps
    clipped_rho = min(max(rho, lo), hi)
    # min(rho*A, clip(rho)*A) takes the clipped term only when it is strictly smaller
    clipped = clipped_rho != rho and clipped_rho * A < rho * A
    if not clipped:
        reason = ("rho lies inside [1-eps, 1+eps]" if lo <= rho <= hi else
                  "rho is outside [1-eps, 1+eps], but the unclipped term is the smaller one")
    else:
        reason = ("rho > 1+eps with A > 0: the clipped term is smaller" if rho > hi else
                  "rho < 1-eps with A < 0: the clipped term is smaller")
    return {"rho": rho, "clipped": clipped, "w": 0.0 if clipped else rho, "reason": reason}


def reinforce_loss(lp: float, lpo: float, A: float, eps: float) -> tuple[Value, dict[str, Value]]:
    """REINFORCE with a detached weight: ``-sg(w) * A * lp``, the same gradient as PPO.

    ``w = rho * m``, where ``m`` is 1 when PPO's gradient flows and 0 when clipping
    stops it (see :func:`ppo_case`); ``m`` is computed from the forward values,
    as implementations do under ``no_grad``, and enters as a constant.

    Examples
    --------
    >>> L, leaves = reinforce_loss(lp=-0.9, lpo=-1.0, A=2.0, eps=0.2)
    >>> _ = L.backward(); round(leaves["lp"].grad, 6)
    -2.210342
    """
    case = ppo_case(lp, lpo, A, eps)
    lp_, lpo_ = Value(lp, "lp"), Value(lpo, "lpo", requires_grad=False, kind="data")
    A_ = Value(A, "A", requires_grad=False, kind="data")
    mask = Value(0.0 if case["clipped"] else 1.0, "m", requires_grad=False, kind="constant")
    rho = (lp_ - lpo_).exp()
    rho.name = "rho"
    weight = stop_gradient(rho * mask)
    weight.name = "w"
    loss = -(weight * A_ * lp_)
    loss.name = "L_RF"
    return loss, {"lp": lp_, "lpo": lpo_, "A": A_, "m": mask, "rho": rho, "w": weight}
