"""Predictions through a composed law whose steps were fitted on different data.

The two-step ladder of Bhagia et al. (2024) predicts a task's accuracy from (N, D) by
chaining step 1, ``L(N, D) = E + A/N^alpha + B/D^beta`` (fitted on the ladder's final task
losses), into step 2, ``Acc(L) = a / (1 + exp(-k (L - L0))) + b`` (fitted on all
checkpoints' (loss, accuracy) pairs). Their intervals come from step 2 alone (delta
method); here each step's posterior (or bootstrap) draws are combined, so the interval
of the chained prediction carries both steps' uncertainty.

The steps were fitted on different data, so their posteriors are independent: the
joint draw ``d`` pairs draw ``d`` of each step after an independent random permutation,
and the composed law (`jaxfit.compose`) is evaluated on the merged parameters. The
intermediate quantity is the inner law's mean; the predictive interval adds the noise
of the outermost step (the last posterior).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from jaxfit.checks import nonnegative_seed, prediction_inputs
from jaxfit.data import task_at, task_columns
from jaxfit.inference.bayes import NOISE
from jaxfit.law import Law
from jaxfit.posterior import (Posterior, _check_prob, draw_predictions, interval_frame,
                              warn_undefined)
from jaxfit.predictions import fan_out_index
from jaxfit.warnings import DiagnosticWarning

__all__ = ["predict_chain", "chain_draws"]


def chain_draws(law: Law, posteriors: Sequence[Posterior], df: pd.DataFrame,
                x: Mapping[str, str] | None = None, seed: int = 0):
    """Joint draws of a composed law's mean and of a new observation at each row of ``df``.

    Args:
        law: the composed law, e.g. ``jf.compose(jf.models.sigmoid(), jf.models.chinchilla(),
            into="L")``; its parameters are the union of the steps' parameters.
        posteriors: one `Posterior` per step, innermost first; each parameter of ``law``
            must come from exactly one of them. The last one supplies the observation
            noise of the target. A posterior with several tasks picks each row's task from
            ``df``'s ``by`` column(s) (as `Posterior.predict`).
        df: rows at which to predict (columns: ``law``'s inputs).
        x: ``law`` input -> column mapping (default: each input from the column of its
            name, or where ``df`` has none, from the column the first step taking it was
            fitted on, its ``x=``, which `Posterior.predict` reads).
        seed: seed of the pairing permutations and the noise. Each row's noise comes from
            its own stream, `jaxfit.posterior.row_streams` of its task in the last step and
            its inputs, as in `Posterior.predict`, so it does not depend on the other rows
            of ``df``.
    Returns:
        (index, mean [n, D], predictive [n, D]) with D the smallest number of draws;
        ``index`` is ``df.index``, or (task, row) when ``df`` lacks the ``by`` column(s) of
        a step with several tasks (every task of the first such step for every row).
    """
    return _chain_draws(law, posteriors, df, x, seed)[:3]


def _chain_draws(law: Law, posteriors: Sequence[Posterior], df: pd.DataFrame,
                 x: Mapping[str, str] | None, seed: int):
    """`chain_draws`, with each step's task position of every row (``rows_of``: a list,
    one [n] array per step) after them: ``(index, mean, pred, rows_of)``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"predict_chain: give a pandas DataFrame, got {type(df).__name__}.")
    # as Posterior.predict (before: numpy's "expected non-negative integer" for -1, naming
    # no argument, and "SeedSequence expects int ..." for 1.5)
    nonnegative_seed(seed)
    posteriors = list(posteriors)
    if not posteriors or not all(isinstance(p, Posterior) for p in posteriors):
        raise ValueError("predict_chain: give a sequence of Posterior objects (jf.sample or "
                         "jf.bootstrap results), one per step.")
    owner: dict[str, int] = {}
    for i, post in enumerate(posteriors):
        for name in post.law.param_names:
            if name in owner:
                raise ValueError(f"predict_chain: parameter {name!r} is in steps {owner[name]} "
                                 f"and {i}; each parameter must come from one step.")
            owner[name] = i
    _check_fixed(law, posteriors)
    # a parameter the chain fits that a step held fixed (jf.fix): that step's value
    held = {n: float(v) for p in posteriors for n, v in p.law.fixed.items()
            if n in law.params and n not in owner}
    missing = [n for n in law.param_names if n not in owner and n not in held]
    if missing:
        raise ValueError(f"predict_chain: parameters {missing} of law {law.name!r} are in no "
                         f"step; the steps have {sorted(owner)}.")
    first = posteriors[0].law
    outside = [n for n in first.inputs if n not in law.inputs]
    if len(posteriors) > 1 and outside:
        # the innermost step reads only the chain's inputs (jaxfit.compose keeps them all)
        raise ValueError(f"predict_chain: step 0 (law {first.name!r}) reads {outside}, which "
                         f"law {law.name!r} computes (its inputs are {list(law.inputs)}); give "
                         "the posteriors innermost first: the step fitted on the data's "
                         "inputs first, the step that predicts the target (and supplies its "
                         "noise) last.")
    index = df.index
    fan = _fan_out(posteriors, df)
    if fan is not None:                 # every task for every row, as Posterior.predict
        index, df = fan_out_index(fan.tasks, df), _with_tasks(fan, df)
    xs = prediction_inputs(law, df, _fitted_columns(law, posteriors, df) if x is None else x,
                           where="predict_chain")
    D = min(p.n_draws for p in posteriors)
    rng = np.random.default_rng(seed)
    theta: dict[str, np.ndarray] = {}
    rows_of = [_fanned_rows(i, post, df, posteriors, fan) for i, post in enumerate(posteriors)]
    for i, (post, rows) in enumerate(zip(posteriors, rows_of)):
        if rows is None:            # a second many-task step whose by column df lacks
            j = next(k for k, p in enumerate(posteriors) if p is fan)
            raise ValueError(_unnamed_step(i, post, j, fan))
    for i, (post, rows) in enumerate(zip(posteriors, rows_of)):
        perm = rng.permutation(post.n_draws)[:D]
        for name in post.law.param_names:
            if name in law.params:
                theta[name] = post.flat(name)[rows][:, perm]
        if i == len(posteriors) - 1:
            theta[NOISE] = post.flat(NOISE)[rows][:, perm]
            lik = post.likelihood
    for name, v in held.items():
        theta[name] = np.full((len(df), D), v)
    mean, pred = draw_predictions(law, lik, theta, xs, seed=seed, rows=rows_of[-1])
    return index, mean, pred, rows_of


def _warn_failed(posteriors: Sequence[Posterior], rows_of: Sequence[np.ndarray]) -> bool:
    """One `DiagnosticWarning` at `predict_chain`'s caller naming, step by step, the tasks
    the rows used that failed their diagnostics (`Posterior.failed_text`, the words of
    `Posterior.predict`'s warning; its message matches
    `jaxfit.warnings.FAILED_DIAGNOSTICS`). Before, the chained intervals of such tasks
    came back without a word. Returns True when it warned."""
    texts = [f"step {i} (law {post.law.name!r}): {text}"
             for i, (post, rows) in enumerate(zip(posteriors, rows_of))
             if (text := post.failed_text(rows)) is not None]
    if texts:
        warnings.warn("predict_chain: " + " ".join(texts), DiagnosticWarning, stacklevel=3)
    return bool(texts)


def _fitted_columns(law: Law, posteriors: Sequence[Posterior],
                    df: pd.DataFrame) -> dict[str, str]:
    """The default input -> column mapping of `chain_draws`: an input of ``law`` that
    ``df`` has no column of its own name for is read from the column the first step
    taking it was fitted on (its ``x=``), where ``df`` has that column. Before, the chain
    read every input from its own name only, so a frame the steps' own
    `Posterior.predict` took (``params``, ``tokens`` for a fit with ``x={"N": "params",
    "D": "tokens"}``) was refused as missing columns; a frame naming the inputs
    themselves reads them as before."""
    out: dict[str, str] = {}
    for post in posteriors:
        fitted = dict(post.options.get("x") or {})
        for name in post.law.inputs:
            col = fitted.get(name, name)
            if (name in law.inputs and name not in out and name not in df.columns
                    and col in df.columns):
                out[name] = col
    return out


def _step_rows(i: int, post: Posterior, df: pd.DataFrame):
    """Each row's task position in step ``i`` (None: the step has several tasks and ``df``
    lacks its ``by`` column(s)); a row naming no fitted task is refused with the step named."""
    try:
        return post._rows(df)
    except ValueError as e:
        msg = str(e).removeprefix("predict: ")
        raise ValueError(f"predict_chain: step {i} (law {post.law.name!r}): {msg}") from None


def _fanned_rows(i: int, post: Posterior, df: pd.DataFrame,
                 posteriors: Sequence[Posterior], fan: Posterior | None):
    """`_step_rows` of step ``i`` in ``df``, whose ``by`` column(s) may hold the labels of
    ``fan``'s tasks (`_with_tasks`) rather than the user's. A task of ``fan`` that step
    ``i`` did not fit is refused naming where the label came from and the fix. Before:
    "step 1: 1 rows name tasks that were not fitted ('task' = ['c'])", of rows that named
    no task, and "3 rows name tasks" of a 1-row frame."""
    cols = task_columns(post.options.get("by"))
    filled = task_columns(fan.options.get("by")) if fan is not None else []
    if post is fan or not cols or not set(cols) & set(filled):
        return _step_rows(i, post, df)
    from jaxfit.predictions import match_tasks

    lacking = match_tasks(post.tasks, df, post.options.get("by"), "predict_chain") < 0
    if not lacking.any():
        return _step_rows(i, post, df)
    j = next(k for k, p in enumerate(posteriors) if p is fan)
    keys = (df[cols[0]].tolist() if len(cols) == 1
            else list(zip(*(df[c].tolist() for c in cols))))
    labels = list(dict.fromkeys(keys))
    missing = list(dict.fromkeys(k for k, bad in zip(keys, lacking) if bad))
    common = [t for t in labels if t not in set(missing)]
    where = (f"predict_chain: df has no column {filled} naming each row's task, so every "
             f"task of step {j} (law {fan.law.name!r}) is predicted at every row, but step "
             f"{i} (law {post.law.name!r}) did not fit task(s) {missing[:10]} (its tasks: "
             f"{list(post.tasks[:10])}). Fix: ")
    if not common:
        raise ValueError(where + f"the steps share no task label: fit both steps with the "
                         f"same labels in {cols[0] if len(cols) == 1 else cols!r}.")
    example = (f"df.assign({cols[0]}={common[0]!r})" if len(cols) == 1
               else f"df.assign(**{dict(zip(cols, common[0]))!r})")
    raise ValueError(where + f"name each row's task in a column "
                     f"{cols[0] if len(cols) == 1 else cols!r} with tasks every step fitted, "
                     f"e.g. {example}.")


def _unnamed_step(i: int, post: Posterior, j: int, fan: Posterior) -> str:
    """The error for step ``i``, with several tasks, whose ``by`` column(s) ``df`` lacks
    after step ``j``'s (``fan``'s) tasks were fanned out. Before: an IndexError from its
    draws indexed with None."""
    def name(p):
        cols = task_columns(p.options.get("by"))
        return cols[0] if len(cols) == 1 else cols

    cols = task_columns(post.options.get("by"))
    return (f"predict_chain: step {i} (law {post.law.name!r}) has {len(post.tasks)} tasks "
            f"(by {name(post)!r}) and df has no column {cols} naming each row's task; every "
            f"task is given for every row of one step only (step {j}'s, by {name(fan)!r}). "
            f"Fix: add the column, e.g. df.assign({cols[0]}={task_at(post.tasks, 0)!r}).")


def _fan_out(posteriors: Sequence[Posterior], df: pd.DataFrame) -> Posterior | None:
    """The first step with several tasks whose ``by`` column(s) ``df`` lacks (its rows then
    take every task of that step), or None when every row names its task in every step."""
    for i, post in enumerate(posteriors):
        rows = _step_rows(i, post, df)
        if rows is None:
            return post
    return None


def _with_tasks(post: Posterior, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` repeated once per task of ``post`` (tasks outermost, as `fan_out_index`), its
    ``by`` column(s) holding each task's label (a new frame: ``df`` is not modified)."""
    cols = task_columns(post.options.get("by"))
    T, n = len(post.tasks), len(df)
    out = df.iloc[np.tile(np.arange(n), T)].reset_index(drop=True)
    labels = list(post.tasks)
    for j, c in enumerate(cols):
        values = np.empty(T, dtype=object)
        values[:] = [t[j] if len(cols) > 1 else t for t in labels]
        out[c] = np.repeat(values, n)
    return out


def _check_fixed(law: Law, posteriors: Sequence[Posterior]) -> None:
    """ValueError where the chain and a step disagree on a parameter held by `jaxfit.fix`:
    a step fitted a parameter that ``law`` holds fixed (its draws were silently replaced
    by ``law``'s value), a step's parameter ``law`` does not have at all, or both hold it
    fixed at different values."""
    for i, post in enumerate(posteriors):
        for name in post.law.param_names:
            if name in law.params:
                continue
            if name in law.fixed:
                raise ValueError(
                    f"predict_chain: step {i} (law {post.law.name!r}) fitted {name!r}, but law "
                    f"{law.name!r} holds it fixed at {float(law.fixed[name]):g}, so its draws "
                    f"would be replaced by that value. Fix: compose the laws the steps were "
                    f"fitted with (jf.compose(step laws ...)), or fit step {i} with "
                    f"jf.fix(..., {name}={float(law.fixed[name]):g}).")
            raise ValueError(f"predict_chain: step {i} (law {post.law.name!r}) has parameter "
                             f"{name!r}, which law {law.name!r} does not have (its parameters "
                             f"are {list(law.param_names)}); give the law composed of the "
                             f"steps' laws.")
        for name, v in post.law.fixed.items():
            if name in law.fixed and not math.isclose(float(v), float(law.fixed[name]),
                                                      rel_tol=1e-12, abs_tol=0.0):
                raise ValueError(
                    f"predict_chain: step {i} (law {post.law.name!r}) was fitted with {name} "
                    f"fixed at {float(v):g}, but law {law.name!r} holds it at "
                    f"{float(law.fixed[name]):g}; compose the laws the steps were fitted "
                    f"with.")


def predict_chain(law: Law, posteriors: Sequence[Posterior], df: pd.DataFrame,
                  prob: float = 0.9, x: Mapping[str, str] | None = None,
                  seed: int = 0) -> pd.DataFrame:
    """Chained predictions with intervals carrying every step's uncertainty.

    Same shape as `Posterior.predict` (`jaxfit.predictions`): ``df``'s columns, then
    ``mean``, ``median``, ``sd``, ``credible_lower/upper`` (the composed law's mean) and
    ``predictive_lower/upper`` (with the last step's noise), rows aligned with ``df.index``
    when each row names its task (or every step has one task); without the ``by``
    column(s) of a step with several tasks, every task of that step for every row,
    indexed by (task, row). One `DiagnosticWarning` names, step by step, the tasks the
    rows used that failed their diagnostics (`Posterior.warn_failed`'s words).

    Example:
        >>> import jaxfit as jf
        >>> law = jf.compose(jf.models.sigmoid(), jf.models.chinchilla(), into="L")
        >>> # step1 = jf.sample(jf.models.chinchilla(), ladder, y="task_loss")
        >>> # step2 = jf.sample(jf.models.sigmoid(), checkpoints, y="acc", space="linear")
        >>> # jf.predict_chain(law, [step1, step2], pd.DataFrame({"N": [7e9], "D": [4e12]}))
    """
    from jaxfit.predictions import prediction_frame

    _check_prob(prob)
    posteriors = list(posteriors)
    index, mean, pred, rows_of = _chain_draws(law, posteriors, df, x, seed)
    last = posteriors[-1]                           # the noise is the last step's
    iv = interval_frame(index, mean, pred, prob)
    warn_undefined(index, mean, pred, last.likelihood.space, last.method,
                   where="predict_chain", prob=prob,
                   bounds=iv[["predictive_lower", "predictive_upper"]].to_numpy())
    _warn_failed(posteriors, rows_of)
    out = prediction_frame(df, index, {c: iv[c].to_numpy() for c in iv.columns})
    out.attrs["prob"] = prob
    return out
