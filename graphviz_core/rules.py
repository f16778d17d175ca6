"""The decisions the server and the page both make, each written once.

A page with no server behind it (the static site) steps, runs gradient descent, says when a
run stops, fills a .grad buffer, checks a gradient and chooses a note, as the server does. Each such rule is written here
once, in the subset of Python that :func:`graphviz_core.jsgen.rules_module` translates to
JavaScript: the server calls these functions, and the page calls their translation under the
same names (the module ``rules.generated.mjs``, made in memory by ``components/bundle.py``).
``tests/test_rules.py`` runs both on the same cases.

Examples
--------
>>> descent_step(1.0, 0.1, 2.0)
0.8
>>> first_below([3.0, 2.0, 0.5, 0.1], 1.0), first_below([3.0, 2.0], 1.0)
(2, None)
>>> descent_note(2, [1.0, 2.0, 3.0, 4.0])
'descent_explodes'
"""

from __future__ import annotations

from .ieee import abs_, ceil_, div_, isfinite_

RISING = 3  # the loss rose this many steps in a row: the step is too large


def descent_step(x, lr, grad):
    """One step of gradient descent, θ ← θ − η·∂L/∂θ, on one coordinate (numpy arrays
    coordinate by coordinate): :func:`graphviz_core.training.gradient_descent`, "Take a step"."""
    return x - lr * grad


def rising(losses, steps):
    """Whether each of the last ``steps`` steps raised the loss."""
    return len(losses) > steps and all(losses[i] > losses[i - 1]
                                       for i in range(len(losses) - steps, len(losses)))


def same_number(a, b):
    """Whether ``a`` and ``b`` are the same float, as JavaScript's ``Object.is`` decides:
    ``0.0`` and ``-0.0`` differ (their reciprocals do), ``nan`` is itself.

    >>> same_number(0.0, -0.0), same_number(float("nan"), float("nan")), same_number(2, 2.0)
    (False, True, True)
    """
    return (a != a and b != b) or (a == b and (a != 0.0 or div_(1.0, a) == div_(1.0, b)))


def stays(values, moved, names):
    """Whether a step from ``values`` to ``moved`` left every one of ``names`` where it was
    (a zero gradient, or one too small to change the float): "Take a step" then moves
    nothing and records the loss again."""
    return all(same_number(moved[name], values[name]) for name in names)


def descent_note(parameters, history):
    """The key of the words under "Take a step", with ``parameters`` parameters to move and
    the loss ``history`` (the loss before the first step, then after each)."""
    return ("descent_no_parameters" if parameters == 0 else
            "descent_hint" if len(history) == 0 else
            "descent_overflow" if not isfinite_(history[len(history) - 1]) else
            "descent_explodes" if rising(history, RISING) else
            "descent_loss")


def below(loss, threshold):
    """The early-stopping rule: stop once the loss is below ``threshold``
    (:class:`graphviz_core.training.ThresholdStopper`; the page's runs).

    >>> below(0.05, 0.1), below(100.05, 0.1)
    (True, False)
    """
    return loss < threshold


def first_below(losses, threshold):
    """The first index where ``losses`` is below ``threshold`` (:func:`below`), or None."""
    return next((i for i in range(len(losses)) if below(losses[i], threshold)), None)


def plateau_step(best, bad, loss, patience, threshold):
    """One loss read by a plateau scheduler, as PyTorch's ReduceLROnPlateau (``mode="min"``,
    ``threshold_mode="rel"``): ``(best, bad, cut)`` after reading ``loss``, from the best loss
    so far (None before the first) and the number of ``bad`` reads since it.

    A loss improves when it is below ``best - |best| * threshold`` (a bar relative to the best
    value, so a constant added to the loss moves it); more than ``patience`` reads without an
    improvement ``cut`` the learning rate (by the scheduler's factor) and start the count
    again (:class:`graphviz_core.training.PlateauScheduler`; the page's runs).

    >>> plateau_step(None, 0, 10.0, 1, 0.01), plateau_step(10.0, 0, 9.99, 1, 0.01)
    ((10.0, 0, False), (10.0, 1, False))
    >>> plateau_step(10.0, 1, 9.99, 1, 0.01), plateau_step(10.0, 1, 9.0, 1, 0.01)
    ((10.0, 0, True), (9.0, 0, False))
    """
    # an infinite best has no relative bar (inf - inf is nan): any lower loss improves on it
    better = (best is None or loss < best - abs_(best) * threshold or
              (not isfinite_(best) and loss < best))
    waited = 0 if better else bad + 1
    cut = waited > patience
    return (loss if better else best, 0 if cut else waited, cut)


def stopping(losses, tau, C):
    """When a run with ``losses`` stops on "loss < tau", and why: ``(step, key, steps, low)``,
    ``key`` the words of the ``stopping`` table that say it (``at`` the step; ``never_C``:
    the run's loss carries a constant ``C`` (L + C, L >= 0) of at least tau, so it never
    stops; ``not_within`` the run's ``steps`` steps, its lowest loss ``low``)."""
    step = first_below(losses, tau)
    return (step, "at" if step is not None else "never_C" if C >= tau else "not_within",
            len(losses) - 1, min(losses))


def buffer_note(calls, seen, now, names):
    """The key of the note under the .grad table after ``calls`` backward() calls, made at
    the values ``seen`` (one mapping of ``names`` to values per call), the values being
    ``now``: none yet; one or more, all at these values; or some at other values."""
    return ("zero" if calls == 0 else
            ("many" if calls > 1 else "one")
            if all(values[name] == now[name] for values in seen for name in names) else
            "moved")


def central(up, down, h):
    """The central difference ``(L(x + h) - L(x - h)) / 2h`` from the loss at ``x + h`` and at
    ``x - h`` (:func:`graphviz_core.gradcheck.central_difference`; the page's gradient check).

    >>> central(7.0, 4.0, 0.5)
    3.0
    """
    return (up - down) / (2 * h)


def agrees(gradient, difference, tol=1e-5):
    """Whether a gradient and a central difference agree to ``tol``, relative beyond 1
    (:mod:`graphviz_core.gradcheck`; the page's gradient check).

    >>> agrees(7.5, 7.500000000038), agrees(1.0, 0.5), agrees(float("inf"), float("inf"))
    (True, False, True)
    """
    return (abs_(gradient - difference) <= tol * max(1.0, abs_(gradient))
            if isfinite_(gradient) and isfinite_(difference) else
            gradient == difference or (gradient != gradient and difference != difference))


def accumulated(grad, gradient):
    """A ``.grad`` buffer after ``backward()`` adds ``gradient``: ``.grad += gradient``, or
    the gradient itself in a buffer that was cleared (``grad`` None, as ``zero_grad()`` leaves
    it) (:class:`graphviz_core.accumulation.GradBuffer`; the page's buffer). A leaf whose
    gradient is not computed (``gradient`` None: its requires_grad switched off) keeps its
    buffer, as PyTorch leaves the ``.grad`` of such a leaf alone.

    >>> accumulated(None, 7.5), accumulated(7.5, 7.5), accumulated(7.5, None)
    (7.5, 15.0, 7.5)
    """
    return grad if gradient is None else gradient if grad is None else grad + gradient


def passed_back(selects, grad, local):
    """What an input receives through an op (:func:`graphviz_core.engine.contribution`; the
    page's replay): ``grad * local``, or ``+0.0`` where the op ``selects`` (min, max, relu,
    ...) and did not use the input (``local == 0``), so a nan or inf gradient does not
    reach an input the output never depended on.

    >>> passed_back(False, float("nan"), 0.0), passed_back(True, float("nan"), 0.0)
    (nan, 0.0)
    """
    return 0.0 if selects and local == 0.0 else grad * local


def needs_gradient(requires, inputs, needs):
    """Whether a node needs a gradient (PyTorch's ``requires_grad``): a leaf (no ``inputs``)
    when it ``requires`` one, an op when one of its ``inputs`` (their indices) ``needs`` one
    (``needs``: the answers so far, inputs before the nodes they feed). What prunes the
    backward pass (:func:`graphviz_core.engine.active_nodes`) and the page's requires_grad
    switches (``static/explorer/replay.mjs`` ``activeFlags``).

    >>> needs_gradient(False, [], {}), needs_gradient(True, [0, 1], {0: False, 1: True})
    (False, True)
    """
    return any(needs[j] for j in inputs) if len(inputs) > 0 else requires


def slider_reach(value, span):
    """How far a slider reaches each way from 0 to hold ``value``: at least ``span``,
    widened to the next whole number above ``|value|`` (not widened for inf or nan). What
    bounds a variable's slider on the server (``ExplorerModel.slider_ranges``) and in the
    page (a descent step's ``setValues`` in ``static/explorer/view.mjs``, a link's values in
    ``static/golive-load.js``).

    >>> slider_reach(0.5, 3.0), slider_reach(-7.2, 3.0), slider_reach(float("inf"), 3.0)
    (3.0, 8.0, 3.0)
    """
    return max(span, ceil_(abs_(value))) if isfinite_(value) else span
