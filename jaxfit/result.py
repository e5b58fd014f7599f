"""`FitResult`: what `jaxfit.fit` returns, with tidy DataFrames and predictions."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxfit.data import task_columns
from jaxfit.inference.status import Status
from jaxfit.law import Law

__all__ = ["FitResult"]


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """Per-task best fit of a law, from `jaxfit.fit`.

    Attributes:
        law: the fitted `Law`.
        tasks: task labels (pandas Index; one unnamed task is labelled 0).
        values: [T, k] best constrained parameters, columns in ``law.param_names``.
        objective: [T] best objective value.
        status: [T] `Status` codes (0 = converged).
        steps: [T] solver iterations of the winning restart.
        grad_norm: [T] largest |gradient| component (unconstrained space) at the winner.
        at_bound: [T, k] True where a parameter ended within 1e-6 of a constraint bound.
        identified: [T] False when near-best restarts disagree or the design check
            found a problem (see `jaxfit.fit`, ``design``).
        restarts: optional dict with every refined restart's ``values`` [T, R, k],
            ``objective`` [T, R] and ``status`` [T, R].
        options: the fit's settings (y, by, x mapping, loss, delta, space, ...).
        dof: [T] residual degrees of freedom: points with weight > 0 minus free
            parameters (shared parameters not counted; None for results saved without).
        design: per task a tuple of `jaxfit.inference.design.Issue` (empty: the design
            identifies the law), or None.
    """

    law: Law
    tasks: pd.Index
    values: np.ndarray
    objective: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    grad_norm: np.ndarray
    at_bound: np.ndarray
    identified: np.ndarray
    restarts: dict | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    dof: np.ndarray | None = None
    design: tuple | None = None

    @property
    def params(self) -> pd.DataFrame:
        """Best parameters, one row per task."""
        return pd.DataFrame(self.values, index=self.tasks, columns=list(self.law.param_names))

    @property
    def converged(self) -> np.ndarray:
        return self.status == Status.CONVERGED

    def to_frame(self) -> pd.DataFrame:
        """Parameters plus objective, status, steps, gradient norm and diagnostics
        (``identified``, ``at_bound``, ``dof``, and ``design``: the design problems found,
        e.g. ``"dof=0"``, ``"D: 1 level(s) for B,beta,E"``, ``"singular: A,alpha"``)."""
        out = self.params
        out["objective"] = self.objective
        out["status"] = [Status(int(s)).name.lower() for s in self.status]
        out["steps"] = self.steps
        out["grad_norm"] = self.grad_norm
        out["identified"] = self.identified
        names = np.array(self.law.param_names)
        out["at_bound"] = [",".join(names[row]) for row in self.at_bound]
        if self.dof is not None:
            out["dof"] = self.dof
        if self.design is not None:
            out["design"] = ["; ".join(map(str, issues)) for issues in self.design]
        return out

    def param_dict(self, task=None) -> dict[str, float]:
        """One task's parameters as a dict (the only task when ``task`` is None)."""
        i = 0 if task is None else self.tasks.get_loc(task)
        if task is None and len(self.tasks) != 1:
            raise ValueError(f"this fit has {len(self.tasks)} tasks; name one with task=.")
        return dict(zip(self.law.param_names, map(float, self.values[i])))

    def predict(self, df: pd.DataFrame) -> pd.Series | pd.DataFrame:
        """Predict the law at the rows of ``df`` (inputs mapped as in the fit).

        Returns:
            A Series aligned with ``df.index`` when the fit had one task or when ``df``
            holds the ``by`` column(s) (each row uses its own task's parameters);
            otherwise a DataFrame with one column per task.
        """
        from jaxfit.checks import prediction_inputs

        inputs = prediction_inputs(self.law, df, self.options.get("x"))
        with jax.enable_x64(True):
            x = {n: jnp.asarray(v) for n, v in inputs.items()}
            p = {n: jnp.asarray(self.values[:, i]) for i, n in enumerate(self.law.param_names)}
            by_cols = task_columns(self.options.get("by"))
            name = self.options.get("y", "prediction")
            if len(self.tasks) == 1 or (by_cols and all(c in df.columns for c in by_cols)):
                if len(self.tasks) == 1:
                    idx = np.zeros(len(df), dtype=np.int64)
                else:
                    keys = df[by_cols[0]] if len(by_cols) == 1 else \
                        pd.MultiIndex.from_frame(df[by_cols])
                    idx = self.tasks.get_indexer(keys)
                    if np.any(idx < 0):
                        raise ValueError(f"predict: {int((idx < 0).sum())} rows name tasks "
                                         "that were not fitted.")
                pt = {n: v[idx] for n, v in p.items()}
                yhat = self.law(pt, x)
                return pd.Series(np.asarray(yhat), index=df.index, name=name)
            yhat = jax.vmap(lambda pp: self.law(pp, x))(p)        # [T, n]
            return pd.DataFrame(np.asarray(yhat).T, index=df.index, columns=self.tasks)
