"""Starting points for multi-start fits, in the unconstrained space of a law's Params."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jaxfit.law import Law, fixed_note

__all__ = ["grid_starts", "random_starts", "sobol_starts", "user_starts", "init_box"]


def _to_unconstrained(law: Law, name: str, values) -> np.ndarray:
    t = law.params[name].transform
    with jax.enable_x64(True):
        # device_put, not jnp.asarray: the same values without a conversion program (each
        # program, even cached, costs a new process ~5 ms to lower and load)
        values = jax.device_put(np.asarray(values, dtype=np.float64))
        return np.asarray(t.inv(values), dtype=np.float64)


@functools.partial(jax.jit, static_argnums=1)
def _uniform(seed, shape: tuple[int, ...]):
    """``jax.random.uniform(jax.random.key(seed), shape)`` in float64 as one program (the
    same bits as the two eager calls, which load three)."""
    return jax.random.uniform(jax.random.key(seed), shape, dtype=jnp.float64)


def init_box(law: Law) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners of the Params' init ranges in the unconstrained space."""
    lo = np.array([_to_unconstrained(law, n, law.params[n].init[0]) for n in law.param_names])
    hi = np.array([_to_unconstrained(law, n, law.params[n].init[1]) for n in law.param_names])
    return np.minimum(lo, hi), np.maximum(lo, hi)


def grid_starts(law: Law) -> np.ndarray:
    """The Cartesian product of ``law.grid`` ([S, k], unconstrained), e.g. Hoffmann's 4,500."""
    if law.grid is None:
        raise ValueError(f"init='grid': law {law.name!r} has no grid; use init='random' or "
                         "'sobol', or pass starts as an array or dict of arrays.")
    axes = [_to_unconstrained(law, n, law.grid[n]) for n in law.param_names]
    return np.array(list(itertools.product(*axes)), dtype=np.float64)


def random_starts(law: Law, n: int, seed: int = 0) -> np.ndarray:
    """``n`` starts uniform in the unconstrained init box (log-uniform for positive params)."""
    lo, hi = init_box(law)
    with jax.enable_x64(True):
        u = np.asarray(_uniform(seed, (n, lo.size)))
    return lo + u * (hi - lo)


def sobol_starts(law: Law, n: int, seed: int = 0) -> np.ndarray:
    """``n`` scrambled Sobol starts in the unconstrained init box (``scipy.stats.qmc``)."""
    from scipy.stats import qmc

    lo, hi = init_box(law)
    return qmc.scale(qmc.Sobol(lo.size, scramble=True, seed=seed).random(n), lo, hi)


def _numbers(values, what: str) -> np.ndarray:
    """``values`` as float64, or a ValueError naming ``what`` (before: numpy's "could not
    convert string to float: np.str_('a')")."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"init: {what} must be numbers, got {values!r} ({e}).") from None


def user_starts(law: Law, starts) -> np.ndarray:
    """Starts given by the user, as [S, k] constrained values or a dict (or DataFrame)
    name -> [S] (or a Series name -> value, one start).

    A DataFrame's columns and a Series' labels are read by name, as a dict's keys (before: by position, so a
    frame with its columns in another order than the law's parameters started each
    parameter from another one's values, without a word).
    """
    import pandas as pd

    if isinstance(starts, pd.DataFrame):
        starts = {c: starts[c].to_numpy() for c in starts.columns}
    elif isinstance(starts, pd.Series):          # one start, e.g. res.params.iloc[0]
        starts = dict(starts.items())
    if isinstance(starts, dict):
        missing = set(law.param_names) - set(starts)
        unknown = sorted(set(starts) - set(law.param_names), key=str)
        if missing or unknown:
            parts = ([f"are missing parameters {sorted(missing)}"] if missing else []) + \
                ([f"name {unknown}, which are not parameters"] if unknown else [])
            # (init= of jf.fix(law, E=...) still naming E: now says E is held fixed)
            raise ValueError(f"init: starts {' and '.join(parts)} of law {law.name!r}"
                             f"{fixed_note(law, unknown)}; give "
                             f"one value (or array) for each of {list(law.param_names)}.")
        cols = [np.atleast_1d(_numbers(starts[n], f"starts of {n!r}"))
                for n in law.param_names]
        try:
            arr = np.stack(np.broadcast_arrays(*cols), axis=-1)
        except ValueError:
            sizes = ", ".join(f"{n}: {c.shape[0] if c.ndim == 1 else c.shape}"
                              for n, c in zip(law.param_names, cols))
            raise ValueError(f"init: the parameters' starts have different lengths ({sizes}); "
                             "give each parameter one value, or the same number of values "
                             "(one per start).") from None
    else:
        arr = np.atleast_2d(_numbers(starts, "starts"))
    if arr.shape[-1] != len(law.param_names):
        raise ValueError(f"init: starts have {arr.shape[-1]} columns; the law has "
                         f"{len(law.param_names)} parameters {list(law.param_names)}.")
    if arr.size == 0:
        # (before: ZeroDivisionError inside the solver)
        raise ValueError(f"init: no starts (shape {arr.shape}); give at least one row of "
                         f"values for {list(law.param_names)}, or init='random'.")
    out = np.stack([_to_unconstrained(law, n, arr[..., i])
                    for i, n in enumerate(law.param_names)], axis=-1)
    if not np.all(np.isfinite(out)):
        bad = [n for i, n in enumerate(law.param_names) if not np.all(np.isfinite(out[..., i]))]
        detail = ", ".join(
            f"{n}={arr[..., i][~np.isfinite(out[..., i])].ravel()[0]:g} "
            f"({law.params[n].constraint})"
            for i, n in enumerate(law.param_names) if n in bad)
        raise ValueError(f"init: starts outside their parameter's constraint: {detail}; give "
                         "values strictly inside each constraint.")
    return out
