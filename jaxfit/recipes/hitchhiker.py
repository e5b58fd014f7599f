"""The Hitchhiker's estimation protocol (Choshen et al. 2024) as one call: `hitchhiker`.

Choshen, Zhang, Andreas (2024), "A Hitchhiker's Guide to Scaling Law Estimation",
arXiv:2410.11840 (ICML 2025); code github.com/IBM/ColPret. For each model family the
law

    L(N, D) = E + A / N^alpha + B / D^beta

is fitted on the family's smaller models and scored on the largest: the target is every
checkpoint of the largest model in the last 30% of its training, the score the absolute
relative error averaged over those checkpoints,

    ARE = mean_t |L_t - L_hat_t| / L_t.

Each fit's training data is one *configuration* of four axes (the paper's Figure 1 and
its sections 4-5): the fraction of each model's training used, the number of models
(the smallest k), a token cut (checkpoints before it are dropped; the paper drops the
first 10B tokens) and whether intermediate checkpoints are used or only each model's
final one. Every configuration of every family is one task of a batched `jaxfit.fit`
call (``by="task"``): all families and configurations at once, grouped only by their
number of points (``size_groups``; ``size_groups=None`` makes it a single call).

Readings of the protocol (where the paper and ColPret's code differ or are silent; each
is an argument, and the default is named here with the reason):

* Target models: the paper's F_max, *every* model with the family's largest N (ColPret's
  ``hist_fit`` takes one of them, whichever sorts last). Training pool: the others,
  ordered by (N, name); "k models" are the smallest k of the pool (``hist_fit``), or
  only the k-th smallest with ``models="single"`` (``hist_one_model_fit``).
* Numbers of models: ColPret's ``get_model_nums`` (2..n; every n/5-th above 20 models;
  every 10th above 60), from 1 with ``models="single"``.
* Fraction f: a checkpoint is kept if its tokens <= f x *its own model's* final tokens
  (the paper: "percentage of each model's training"). ``hist_fit`` instead compares with
  f x the largest final token count over the chosen models and uses ``<``, so at f = 1 it
  drops the longest run's final checkpoint; we keep it, so that f = 1 is the whole run.
* Cut: checkpoints with tokens <= cut are dropped from the training data (``get_model_data``
  keeps ``tokens > min_tokens``); the targets are not cut (``hist_fit``).
* Target window: tokens >= (1 - 0.3) x the target model's final tokens (code and paper).
* Final-only: each training model contributes its last checkpoint left after the fraction
  and the cut. Configurations with fewer points than free parameters (e.g. final-only
  with 2-4 models and 5 parameters) are not fitted (status ``too_few_points``, ARE NaN)
  rather than fitted to an underdetermined least-squares problem.
* Loss: ColPret's "perf" (see `load_hitchhiker`): the mean of a checkpoint's losses, a
  perplexity entering as log2(ppl). ColPret's loader names OPT's perplexity ``loss``, so
  upstream OPT entered as raw perplexity; here it is log2(ppl) as the paper states.
* Units: the fit runs on N / 1e9 and D / 1e11 (`UNITS`), the same least-squares problem
  with the same optimum and the same start mapped exactly; in raw units log A and alpha
  (log B and beta) are nearly collinear and the Newton solver crawls. Reported
  parameters are in raw units.
* Families: at least 3 distinct sizes (the paper: at least 3 models) and a largest
  model whose lowest loss is <= 10 (``fit.py``'s ``at_least_loss=10``).

The default fit is the paper's: least squares in loss space (``curve_fit``) from
Muennighoff et al.'s starting point `P0`, with A, B, E = exp(a, b, e) and alpha,
beta >= 0 (`hitchhiker_law`); jaxfit solves it with its damped Newton method instead of
scipy's trust-region reflective, which ``tests/test_hitchhiker.py`` checks against
``curve_fit``. ``fit="robust"`` swaps in jaxfit's default: Huber (delta = 1e-3) on log
residuals from 64 random starts, the best of 8 refined (Hoffmann et al. 2022;
Besiroglu et al. 2024; close to ColPret's ``ChinchillaTorchFit``).

Borrowing parameters (section 5 of the paper): ``borrow={"A": ..., "alpha": ...}`` fixes
those parameters in every fit (`jaxfit.fix`); ``borrow="muennighoff"`` uses the values of
``hist_one_model_fit`` (`MUENNIGHOFF`); `borrowed` takes them from another family's fit.

Example (about 10-60 s on a laptop CPU, mostly the gpt3 family's 6,500 checkpoints):
    >>> from jaxfit.recipes import hitchhiker
    >>> res = hitchhiker(families=["gpt3", "OPT"])                      # doctest: +SKIP
    >>> res.are.head()            # one row per family x configuration  # doctest: +SKIP
    >>> res.findings()            # the paper's three claims, per family  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpyro.distributions import constraints

from jaxfit.checks import whole
from jaxfit.datasets.loaders import load_hitchhiker  # noqa: F401 (re-exported)
from jaxfit.fit import fit as jf_fit
from jaxfit.inference.status import Status
from jaxfit.law import Law, Param, fix
from jaxfit.models.chinchilla import chinchilla
from jaxfit.recipes.points import select
from jaxfit.recipes.protocol import RecipeResult
from jaxfit.result import FitResult

__all__ = ["hitchhiker", "run_hitchhiker", "HitchhikerResult", "hitchhiker_law",
           "load_hitchhiker", "borrowed", "P0", "MUENNIGHOFF", "FRACTIONS", "CUTS",
           "CHECKPOINTS", "PAPER_FIT", "ROBUST_FIT", "SIZE_GROUPS", "UNITS"]

#: ColPret's ``ChinchillaFit.guess`` (Muennighoff et al. 2023's data-constrained fit):
#: (a, b, e, alpha, beta) = (6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596) with
#: A, B, E = exp(a, b, e).
P0 = {"A": math.exp(6.255414), "B": math.exp(7.3049974), "E": math.exp(0.6254804),
      "alpha": 0.3526596, "beta": 0.3526596}
#: The values ``hist_one_model_fit`` borrows: ``bound_params(ChinchillaFit, [6.255414,
#: None, None, 0.3526596])`` fixes a = log A and alpha.
MUENNIGHOFF = {"A": P0["A"], "alpha": P0["alpha"]}
#: ``hist_fit``'s ``train_percentages``.
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: No cut, and the paper's 10B tokens (``cut_beginning = 10**10``).
CUTS = (0.0, 1e10)
#: Intermediate checkpoints (the paper's setting) and final checkpoints only (Figure 4).
CHECKPOINTS = ("all", "final")
#: The paper's fit: ``curve_fit`` least squares in loss space from `P0` (one start).
PAPER_FIT = {"loss": "squared", "space": "linear", "reduction": "sum", "init": "p0",
             "refine": None, "max_steps": 1000}
#: jaxfit's robust alternative: Huber(1e-3) on log residuals, multi-start.
ROBUST_FIT = {"loss": "huber", "delta": 1e-3, "space": "log", "reduction": "sum",
              "init": "random", "restarts": 64, "refine": 8, "seed": 0, "max_steps": 1000}

#: Boundaries (number of training points) of the batched fits (see `hitchhiker`).
SIZE_GROUPS = (64, 512, 4096)

_REQUIRED = ("family", "model", "N", "tokens", "loss")


@functools.cache
def hitchhiker_law(**fixed: float) -> Law:
    """``E + A/N^alpha + B/D^beta`` as ColPret's ``chinchilla_power_law_fit``.

    A, B, E > 0 are optimised as exp(a, b, e) (the positive constraint's bijection is
    exp, exactly ColPret's parametrisation); alpha, beta >= 0 (ColPret's bounds) through
    the same exp bijection, so a bound of 0 is approached but never reached. Keyword
    arguments fix parameters (`jaxfit.fix`); laws are cached so repeated calls reuse
    the compiled fit.
    """
    base = chinchilla()
    params = dict(base.params)
    for name, doc in (("alpha", "model-size exponent (>= 0)"), ("beta", "data exponent (>= 0)")):
        params[name] = Param(constraints.nonnegative, init=(0.05, 1.0), doc=doc)
    law = base.replace(params=params, grid=None, name="hitchhiker")
    return fix(law, **fixed) if fixed else law


# ----------------------------------------------------------------------------- results

@dataclasses.dataclass(frozen=True, eq=False, repr=False)    # RecipeResult.__repr__
class HitchhikerResult(RecipeResult):
    """What `hitchhiker` returns (the recipe protocol, `jaxfit.recipes.protocol`: `table`
    is ``are``, ARE as a fraction; `summary` one row per family).

    Attributes:
        are: one row per family x configuration: ``family``, ``n_models``,
            ``fraction``, ``cut``, ``checkpoints``, ``largest_train_model``,
            ``scale_up`` (target N / largest training N), ``n_points``, ``n_targets``,
            ``are``, ``status`` (converged, max_steps, ..., or too_few_points), the
            objective and the fitted parameters.
        train: the training points of every fitted configuration (column ``task``).
        targets: the target checkpoints of each family (``family``, ``model``, ``N``,
            ``tokens``, ``loss``).
        filters: every row, family or configuration left out, and why; and, as
            ``what="repeated_rows"``, the rows kept that repeat another row exactly.
        fits: the batched `FitResult` of each size group (see ``size_groups``); their
            tasks are the ``task`` column of ``are``.
        options: the protocol settings used.
    """

    are: pd.DataFrame
    train: pd.DataFrame | None
    targets: pd.DataFrame
    filters: pd.DataFrame
    fits: list[FitResult]
    options: dict[str, Any]

    recipe: ClassVar[str] = "hitchhiker"
    plot_function: ClassVar[str] = "jaxfit.recipes.hitchhiker_plot:plot_hitchhiker"

    def table(self) -> pd.DataFrame:
        """``are``: one row per family x configuration (ARE a fraction)."""
        return self.are

    def summary(self) -> pd.DataFrame:
        """Per family: ``configurations``, ``fitted``, ``not_converged`` (fitted but not
        converged), ``median_are`` over the fitted ones, ``are_full`` (the whole pool,
        fraction 1, the default cut, all checkpoints), ARE as fractions, and
        ``repeated_rows``: the family's rows that repeat another row exactly, kept as
        given (each copy is a point; ``filters``' ``repeated_rows``; e.g. ``lambda``'s
        687 copies of 229 rows in the embedded data)."""
        a = self.are
        fitted = a["status"] != "too_few_points"
        cut = self.options["default_cut"]
        flt = self.filters          # a hand-built result's may have no columns
        repeated = (flt[flt["what"] == "repeated_rows"].groupby("family")["count"].sum()
                    if {"what", "family", "count"} <= set(flt.columns)
                    else pd.Series(dtype=np.int64))
        rows = []
        for fam, g in a.groupby("family", sort=True):
            f = g[fitted.loc[g.index]]
            full = g[(g["fraction"] == g["fraction"].max()) & (g["cut"] == cut)
                     & (g["checkpoints"] == "all")].dropna(subset=["are"])
            rows.append({"family": fam, "configurations": len(g), "fitted": len(f),
                         "not_converged": int((f["status"] != "converged").sum()),
                         "median_are": f["are"].median(),
                         "are_full": (full.sort_values("n_models")["are"].iloc[-1]
                                      if len(full) else math.nan),
                         "repeated_rows": int(repeated.get(fam, 0))})
        return pd.DataFrame(rows).set_index("family")

    def unconverged(self) -> list[str]:
        """A label per fitted configuration whose fit did not converge (``are``'s
        ``status``; not the ones left unfitted, ``too_few_points``), e.g. ``"gpt3 k=3
        fraction=0.5 cut=1e+10 final (max_steps)"``. Their ARE enters ``summary``'s
        ``median_are`` and ``findings`` (as the paper's curve_fit results would), so
        ``jaxfit hitchhiker`` exits 1 when there is any."""
        if "status" not in self.are:
            return []
        a = self.are[~self.are["status"].isin(["converged", "too_few_points"])]
        return [f"{r.family} k={r.n_models} fraction={r.fraction:g} cut={r.cut:g} "
                f"{r.checkpoints} ({r.status})" for r in a.itertuples()]

    def _tables(self) -> dict[str, pd.DataFrame | None]:
        return {"findings": self.findings(), "filters": self.filters, "targets": self.targets}

    def heatmap(self, family: str, cut: float | None = None,
                checkpoints: str = "all") -> pd.DataFrame:
        """ARE as a table: rows = number of models, columns = fraction (Figure 1)."""
        cut = self.options["default_cut"] if cut is None else cut
        sub = self.are[(self.are["family"] == family) & (self.are["cut"] == cut)
                       & (self.are["checkpoints"] == checkpoints)]
        if sub.empty:
            raise ValueError(f"heatmap: no configurations for family={family!r}, cut={cut}, "
                             f"checkpoints={checkpoints!r}.")
        return sub.pivot(index="n_models", columns="fraction", values="are")

    def findings(self) -> pd.DataFrame:
        """The paper's three claims, per family, measured on this grid.

        * ``cut_helps``: over configurations fitted both with and without the default
          cut (same models, fraction, checkpoints), the median ARE without and with it
          and the share of pairs where the cut lowers ARE.
        * ``intermediate_helps``: the same pairing, final-only vs all checkpoints.
        * ``five_models``: at the full fraction, the default cut and all checkpoints,
          ARE with 5 training models (the largest k <= 5 if the pool is smaller) and
          with the whole pool, and the k with the lowest ARE.
        """
        a = self.are[self.are["status"] != "too_few_points"]
        axes = ["family", "n_models", "fraction", "cut", "checkpoints"]
        rows = []
        cut0, cut1 = 0.0, self.options["default_cut"]
        for fam, g in a.groupby("family", sort=False):
            row: dict[str, Any] = {"family": fam}
            for name, col, base, alt in (("cut", "cut", cut0, cut1),
                                         ("intermediate", "checkpoints", "final", "all")):
                keys = [c for c in axes if c != col]
                p = g[g[col] == base].merge(g[g[col] == alt], on=keys, suffixes=("_b", "_a"))
                if base == alt:         # default cut 0: nothing to compare it with
                    p = p.iloc[:0]
                p = p.dropna(subset=["are_b", "are_a"])
                row[f"{name}_pairs"] = len(p)
                row[f"{name}_are_without"] = p["are_b"].median() if len(p) else math.nan
                row[f"{name}_are_with"] = p["are_a"].median() if len(p) else math.nan
                tie = np.abs(p["are_a"] - p["are_b"]) <= 1e-9
                row[f"{name}_share_better"] = (~tie & (p["are_a"] < p["are_b"])).mean() \
                    if len(p) else math.nan
                row[f"{name}_share_tied"] = tie.mean() if len(p) else math.nan
            full = g[(g["fraction"] == g["fraction"].max()) & (g["cut"] == cut1)
                     & (g["checkpoints"] == "all")].dropna(subset=["are"])
            full = full.set_index("n_models")["are"].sort_index()
            if len(full):
                k5 = full.index[full.index <= 5].max() if (full.index <= 5).any() else math.nan
                row.update(pool=int(full.index.max()), k5=k5,
                           are_k5=full.get(k5, math.nan), are_all_models=full.iloc[-1],
                           best_k=int(full.idxmin()), are_best_k=full.min())
            rows.append(row)
        return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- data

def _check_data(data: pd.DataFrame) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    missing = [c for c in _REQUIRED if c not in data.columns]
    if missing:
        from jaxfit.data import did_you_mean

        raise ValueError(f"hitchhiker: data is missing column(s) {missing}"
                         f"{did_you_mean(missing, data.columns)}; it needs one row "
                         f"per checkpoint with columns {list(_REQUIRED)} (see "
                         "jaxfit.datasets.load_hitchhiker()). Rename yours, e.g. "
                         "df.rename(columns={'num_params': 'N', 'tokens_seen': 'tokens'}).")
    if not len(data):
        # before: "no family is left after the filters ()." with no reason
        raise ValueError(f"hitchhiker: data has no rows; it needs one row per checkpoint "
                         f"with columns {list(_REQUIRED)}.")


def _clean(data: pd.DataFrame, families, min_sizes: int, max_target_loss: float):
    """Drop flagged and unusable rows and families; every drop is listed in ``filters``."""
    filters = []
    d = data[list(_REQUIRED) + (["upstream_suspect"] if "upstream_suspect" in data else [])]
    if families is not None:
        d = d[d["family"].isin(select(d, families, "family", "hitchhiker", "families"))]
    drops = []
    if "upstream_suspect" in d:
        drops.append(("upstream_suspect", _suspect_flags(d["upstream_suspect"]),
                      "flagged corrupt upstream (data README); dropped"))
    num = d[["N", "tokens", "loss"]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(num).all(axis=1) | (num[:, 0] <= 0) | (num[:, 1] <= 0) | (num[:, 2] <= 0)
    drops.append(("invalid", pd.Series(bad, index=d.index),
                  "missing, non-finite or non-positive N, tokens or loss; dropped"))
    if bad.any():
        # the example both messages name: the first bad row and its first bad column
        i = int(np.flatnonzero(bad)[0])
        col = ("N", "tokens", "loss")[int(np.argmin(np.isfinite(num[i]) & (num[i] > 0)))]
        # as Python values: nan and 12, not np.float64(nan) and np.int64(12)
        value, row = d[col].iloc[[i]].tolist()[0], d.index[[i]].tolist()[0]
        if bad.all():
            # every row is unusable: name the column and a value, not the family filters
            raise ValueError(f"hitchhiker: no row has numeric, finite, positive N, tokens and "
                             f"loss; column {col!r} holds e.g. {value!r} (row {row!r}). Give "
                             "positive numbers (convert strings such as '125M' to 125e6 "
                             "first).")
        warnings.warn(_invalid_rows(d, bad, col, value, row), stacklevel=3)
    keep = pd.Series(True, index=d.index)
    for what, mask, why in drops:
        mask = mask & keep
        for fam, n in d[mask].groupby("family").size().items():
            filters.append(dict(level="rows", family=fam, what=what, count=int(n), reason=why))
        keep &= ~mask
    d = d[keep].astype({"N": np.float64, "tokens": np.float64, "loss": np.float64})
    sizes = d.groupby("family")["N"].nunique()
    for fam in sizes.index[sizes < min_sizes]:
        filters.append(dict(level="family", family=fam, what="min_sizes", count=int(sizes[fam]),
                            reason=f"{sizes[fam]} distinct sizes < min_sizes={min_sizes}"))
    d = d[d["family"].isin(sizes.index[sizes >= min_sizes])]
    top = d[d["N"] == d.groupby("family")["N"].transform("max")]
    low = top.groupby("family")["loss"].min()
    for fam in low.index[low > max_target_loss]:
        filters.append(dict(level="family", family=fam, what="max_target_loss",
                            count=0, reason=f"largest model's lowest loss {low[fam]:.3g} > "
                            f"max_target_loss={max_target_loss}"))
    d = d[d["family"].isin(low.index[low <= max_target_loss])]
    if d.empty:
        raise ValueError(_no_family(filters, min_sizes))
    filters += _repeated(d)
    return d, filters


def _repeated(d: pd.DataFrame) -> list[dict[str, Any]]:
    """A ``filters`` record per family with rows that repeat an earlier row exactly
    (model, N, tokens, loss), which the recipe keeps as given (ColPret's loader returns
    each of ``lambda``'s 229 rows 4 times): each copy is a training point and a target,
    so a reader of the ARE table should know. Before, only the docs said so."""
    rep = d.duplicated(subset=list(_REQUIRED)).groupby(d["family"]).sum()
    return [dict(level="rows", family=fam, what="repeated_rows", count=int(n),
                 reason="rows that repeat another row exactly (model, N, tokens, loss); "
                        "kept as given, not dropped: each copy counts as a training point "
                        "and a target (drop them first, e.g. df.drop_duplicates(), if they "
                        "are not real repeated measurements)")
            for fam, n in rep.items() if n]


def _invalid_rows(d: pd.DataFrame, bad: np.ndarray, col: str, value, row) -> str:
    """The warning for rows dropped as invalid (some, not all; ``bad``): how many, the
    families, the first bad value (``value`` of column ``col`` at index label ``row``,
    found by `_clean`) and the fix. Before, a typo such as '125M' in one row dropped it
    without a word: only ``filters`` listed it, a table the command line writes only with
    --out or --json."""
    fams = list(dict.fromkeys(d["family"].to_numpy()[bad]))
    return (f"hitchhiker: {int(bad.sum())} row(s) of famil{'y' if len(fams) == 1 else 'ies'} "
            f"{fams[:5]}{' ...' if len(fams) > 5 else ''} have a missing, non-numeric, "
            f"non-finite or non-positive N, tokens or loss and are dropped (listed in the "
            f"filters table); e.g. column {col!r} holds {value!r} at row {row!r}. Give "
            "positive numbers (write '125M' as 125e6), or drop those rows first.")


def _flag(v: Any) -> bool | None:
    """One ``upstream_suspect`` value as a bool: a bool, 0/1, the strings 'True'/'False'
    (any case); missing is not flagged; None for anything else."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, str):
        return {"true": True, "false": False}.get(v.strip().lower())
    if pd.api.types.is_scalar(v) and pd.isna(v):
        return False
    if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
        return bool(v)
    return None


def _suspect_flags(col: pd.Series) -> pd.Series:
    """The ``upstream_suspect`` column as a bool mask of the rows to drop.

    Before, ``fillna(False).astype(bool)`` read any non-empty text as True: a column of
    "no"/"yes" dropped every row, silently.

    Raises:
        ValueError: a value is not a bool, 0/1 or 'True'/'False', naming the values and
            the fix.
    """
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).astype(bool)
    flags = col.map(_flag)
    bad = col[flags.isna()]
    if len(bad):
        shown = list(dict.fromkeys(map(repr, bad)))
        raise ValueError(
            f"hitchhiker: column 'upstream_suspect' must hold True/False (bool, 0/1, or the "
            f"strings 'True'/'False'); it holds {', '.join(shown[:5])}"
            f"{' ...' if len(shown) > 5 else ''} ({len(bad)} row(s), e.g. row {bad.index[0]!r}). "
            "Non-empty text would read as True and drop those rows. Convert it first, e.g. "
            "df['upstream_suspect'] = df['upstream_suspect'].map({'yes': True, 'no': False}).")
    return flags.astype(bool)


def _no_family(filters: Sequence[Mapping[str, Any]], min_sizes: int) -> str:
    """The error when every family was filtered out: each family's reason and its fix.

    Before, the filters' records were printed as dicts with "(lower min_sizes or raise
    max_target_loss)" whatever the reason; a loss in another unit (perplexity, percent)
    read as "max_target_loss" without saying that the loss looked wrong.
    """
    # every row dropped at row level leaves no family-level record: show those instead
    fam = [f for f in filters if f["level"] == "family"] or list(filters)
    why = "; ".join(f"{f['family']!r}: {f['reason']}" for f in fam[:5])
    more = f"; ... ({len(fam)} families)" if len(fam) > 5 else ""
    fixes = []
    if any(f["what"] == "min_sizes" for f in fam):
        fixes.append(f"A family needs at least {min_sizes} model sizes (N; "
                     f"min_sizes={min_sizes}): its largest is the target, the smaller ones "
                     "are fitted.")
    if any(f["what"] == "max_target_loss" for f in fam):
        fixes.append("The loss column must be a cross-entropy (nats, or bits per token as "
                     "ColPret's log2 perplexities), not a perplexity or a percentage; if it "
                     "is one, raise max_target_loss.")
    return f"hitchhiker: no family is left after the filters ({why}{more}). " + " ".join(fixes)


def _model_nums(n: int, start: int) -> list[int]:
    """ColPret ``get_model_nums``: 2..n, sparser for large pools."""
    step = 10 if n > 60 else (n // 5 if n > 20 else 1)
    return list(range(start, n + 1, step))


def _plan(d: pd.DataFrame, fractions, num_models, cuts, checkpoints, models: str,
          target_frac: float, n_free: int):
    """Training rows of every configuration (with a ``task`` id), targets, config table."""
    train_parts, target_parts, configs, filters = [], [], [], []
    tol = 1 + 1e-12
    for fam, g in d.groupby("family", sort=True):
        order = (g.groupby("model")["N"].first().reset_index()
                 .sort_values(["N", "model"], kind="stable"))
        top = order["N"].max()
        targets = order.loc[order["N"] == top, "model"].tolist()
        pool = order.loc[order["N"] < top, ["model", "N"]].reset_index(drop=True)
        ks = _model_nums(len(pool), 1 if models == "single" else 2) if num_models is None \
            else sorted({int(k) for k in num_models if 1 <= int(k) <= len(pool)})
        if not ks:
            # before: left out without a word, and with no family left a KeyError
            why = (f"fewer than every k of num_models={list(num_models)}"
                   if num_models is not None else
                   "models='smallest' needs 2 (models='single' fits on one)")
            filters.append(dict(level="family", family=fam, what="num_models",
                                count=len(pool), reason=f"{len(pool)} smaller model(s) to "
                                f"fit on; {why}"))
            continue
        rank = {m: i for i, m in enumerate(pool["model"])}
        t = g[g["model"].isin(targets)]
        tmax = t.groupby("model")["tokens"].transform("max")
        target_parts.append(t[t["tokens"] >= (1 - target_frac) * tmax / tol])
        p = g[g["model"].isin(rank)].assign(_rank=lambda x: x["model"].map(rank))
        p = p.sort_values(["_rank", "tokens"], kind="stable")
        r = p["_rank"].to_numpy()
        tok = p["tokens"].to_numpy()
        mmax = p.groupby("model")["tokens"].transform("max").to_numpy()
        for k, f, cut, ck in itertools.product(ks, fractions, cuts, checkpoints):
            sel = (r == k - 1) if models == "single" else (r < k)
            sel &= (tok <= f * mmax * tol) & (tok > cut)
            idx = np.flatnonzero(sel)
            if ck == "final" and len(idx):
                idx = idx[np.r_[r[idx][1:] != r[idx][:-1], True]]
            largest = pool["model"].iloc[k - 1]
            cfg = dict(family=fam, n_models=k, fraction=float(f), cut=float(cut),
                       checkpoints=ck, largest_train_model=largest,
                       scale_up=top / pool["N"].iloc[k - 1], n_points=len(idx),
                       n_targets=len(target_parts[-1]))
            if len(idx) < n_free:
                cfg["status"] = "too_few_points"
            else:
                cfg["task"] = len(configs)
                train_parts.append(p.iloc[idx][["family", "model", "N", "tokens", "loss"]]
                                   .assign(task=cfg["task"]))
            configs.append(cfg)
    if not configs:
        why = "; ".join(f"{f['family']!r}: {f['reason']}" for f in filters[:5])
        raise ValueError(f"hitchhiker: no configuration to fit ({why}"
                         f"{'; ...' if len(filters) > 5 else ''}). Give num_models= within "
                         "the families' pools of smaller models, or data with more models "
                         "below each family's largest.")
    cfg = pd.DataFrame(configs)
    n_skip = int((cfg.get("status") == "too_few_points").sum()) if "status" in cfg else 0
    if n_skip:
        for fam, n in cfg[cfg["status"] == "too_few_points"].groupby("family").size().items():
            filters.append(dict(level="configuration", family=fam, what="too_few_points",
                                count=int(n), reason=f"fewer training points than the "
                                f"{n_free} free parameters; not fitted (ARE NaN)"))
    train = pd.concat(train_parts, ignore_index=True) if train_parts else None
    return train, pd.concat(target_parts, ignore_index=True), cfg, filters


# ----------------------------------------------------------------------------- recipe

#: Units of the fit: N in billions, D in 100B tokens (see `_units`).
UNITS = {"N": 1e9, "D": 1e11}


def _units(borrow: Mapping[str, float]) -> dict[str, float]:
    """Units N0, D0 in which the law is fitted, ``A/N^alpha = A_s (N/N0)^-alpha``.

    In raw units log A and alpha are nearly collinear (log N is 18-26 over every family),
    and so are log B and beta; the damped Newton solver then crawls along the valley for
    hundreds of steps. In units near the data the same objective, with the same optimum,
    is well conditioned. ``A_s = A N0^-alpha`` is a bijection only when alpha is free or
    fixed together with A, so a term whose scale alone is borrowed keeps raw units.
    """
    return {"N": 1.0 if ("A" in borrow) != ("alpha" in borrow) else UNITS["N"],
            "D": 1.0 if ("B" in borrow) != ("beta" in borrow) else UNITS["D"]}


def _to_units(values: Mapping[str, Any], units: Mapping[str, float], inverse: bool = False):
    """Convert A, B (with their exponents) between raw and scaled units."""
    out = dict(values)
    for scale, expo, u in (("A", "alpha", units["N"]), ("B", "beta", units["D"])):
        if scale in out and expo in out:
            out[scale] = out[scale] * np.power(u, out[expo] if inverse else -out[expo])
    return out


def _scaled(df: pd.DataFrame, units: Mapping[str, float]) -> pd.DataFrame:
    """The law's inputs in fitting units: ``N / N0`` and ``D = tokens / D0``."""
    return df.assign(N=df["N"] / units["N"], D=df["tokens"] / units["D"])


def _fit_options(fit_kind: str, law: Law, options: Mapping[str, Any] | None,
                 borrow: Mapping[str, float], units: Mapping[str, float]) -> dict:
    if fit_kind not in ("paper", "robust"):
        raise ValueError(f"hitchhiker: fit={fit_kind!r} is not 'paper' or 'robust'.")
    o = {**(PAPER_FIT if fit_kind == "paper" else ROBUST_FIT), **dict(options or {})}
    if isinstance(o.get("init"), str) and o["init"] == "p0":
        start = _to_units({**P0, **borrow}, units)
        o["init"] = {n: start[n] for n in law.param_names}
    return o


def hitchhiker(data: pd.DataFrame | None = None, *, families: Sequence[str] | None = None,
               fractions: Sequence[float] = FRACTIONS,
               num_models: Sequence[int] | None = None, cuts: Sequence[float] = CUTS,
               checkpoints: Sequence[str] = CHECKPOINTS, models: str = "smallest",
               target_frac: float = 0.3, default_cut: float | None = None,
               min_sizes: int = 3,
               max_target_loss: float = 10.0, fit: str = "paper",
               borrow: Mapping[str, float] | str | None = None,
               fit_options: Mapping[str, Any] | None = None,
               size_groups: Sequence[int] | None = SIZE_GROUPS) -> HitchhikerResult:
    """Score scaling-law fits by extrapolation to each family's largest model.

    The protocol of Choshen et al. (2024, section 3.2; ColPret ``hist_fit``); the readings
    chosen where paper and code differ are listed in the module docstring.

    Args:
        data: one row per checkpoint with columns ``family``, ``model``, ``N``,
            ``tokens``, ``loss`` (and optionally ``upstream_suspect``, whose True rows
            are dropped). Default: the embedded ColPret data (`load_hitchhiker`).
            Never modified.
        families: families to use (default: all that pass the filters).
        fractions: fractions of each model's training used (``hist_fit``: 0.1 ... 1).
        num_models: numbers of training models k (default: ColPret ``get_model_nums``
            per family; values above a family's pool are skipped).
        cuts: token cuts; checkpoints with tokens <= cut are not trained on (default:
            none and the paper's 10B).
        checkpoints: "all" (intermediate checkpoints, the paper) and/or "final" (each
            training model's last checkpoint within the fraction).
        models: "smallest" (the smallest k of the pool, ``hist_fit``) or "single" (only
            the k-th smallest, ``hist_one_model_fit``).
        target_frac: the last part of the target models' training that is scored (0.3).
        default_cut: the cut `HitchhikerResult.findings`, ``summary`` and the heatmaps
            treat as the paper's; one of ``cuts``. Default: the paper's 10B tokens when
            ``cuts`` has it, else the largest of ``cuts`` (so that a grid fitted at other
            cuts still has its summary, findings and heatmaps).
        min_sizes: families need at least this many distinct N (3).
        max_target_loss: families whose largest model never gets below this loss are
            left out (ColPret ``at_least_loss=10``).
        fit: "paper" (`PAPER_FIT`: least squares in loss space from `P0`) or "robust"
            (`ROBUST_FIT`: Huber 1e-3 on log residuals, 64 random starts).
        borrow: parameters fixed in every fit: a dict (e.g. ``{"A": 406.4, "alpha":
            0.34}``, or `borrowed` from another family's result), or "muennighoff"
            (`MUENNIGHOFF`, A and alpha as in ``hist_one_model_fit``).
        fit_options: `jaxfit.fit` options merged over the chosen fit's defaults.
        size_groups: boundaries on the number of training points; configurations are
            fitted in one batched `jaxfit.fit` call per group (default `SIZE_GROUPS`:
            4 calls). None fits every configuration of every family in a single call;
            the results are the same (tasks are independent), but every task is then
            padded to the largest one (gpt3's 5,400 points against a median of ~100):
            on the full grid 8.3 times the padded points (9.4M against 1.1M; session
            28: ``jaxfit.data.task_bucket(1098) * jaxfit.data.bucket(5395)`` against the
            sum over the default groups' ``result.fits`` of ``task_bucket(T) * P``, with
            ``T, P = fit.data["w"].shape``).

    Returns:
        A `HitchhikerResult`; ``result.are`` is the tidy table (family, configuration,
        ARE), ``result.findings()`` the paper's claims per family.

    Raises:
        ValueError: missing columns, unknown families or options, or no usable family.
    """
    for name, vals, ok in (("fractions", fractions, lambda v: 0 < v <= 1),
                           ("cuts", cuts, lambda v: v >= 0)):
        if not len(vals) or not all(ok(float(v)) for v in vals):
            raise ValueError(f"hitchhiker: {name}={list(vals)} must be a non-empty list of "
                             "values in (0, 1]" if name == "fractions" else
                             f"hitchhiker: {name}={list(vals)} must be values >= 0.")
    fitted_cuts = sorted({float(c) for c in cuts})
    if default_cut is None:
        default_cut = CUTS[1] if CUTS[1] in fitted_cuts else fitted_cuts[-1]
    elif float(default_cut) not in fitted_cuts:
        raise ValueError(f"hitchhiker: default_cut={default_cut:g} is not one of the fitted "
                         f"cuts {fitted_cuts}; add it to cuts= or leave default_cut unset.")
    bad_ck = set(checkpoints) - set(CHECKPOINTS)
    if bad_ck or not len(checkpoints):
        raise ValueError(f"hitchhiker: checkpoints={list(checkpoints)}; use a subset of "
                         f"{CHECKPOINTS}.")
    if models not in ("smallest", "single"):
        raise ValueError(f"hitchhiker: models={models!r} is not 'smallest' or 'single'.")
    if not whole(min_sizes, 2):
        # before: min_sizes=1 let a one-size family through, with no model to fit on it
        raise ValueError(f"hitchhiker: min_sizes={min_sizes!r} must be an integer >= 2: a "
                         "family's largest size is the target, the smaller ones are fitted.")
    if not float(max_target_loss) > 0:
        # before: nan left every family out with no reason given
        raise ValueError(f"hitchhiker: max_target_loss={max_target_loss!r} must be a "
                         "positive number (inf: no limit).")
    if not 0 < target_frac <= 1:
        raise ValueError(f"hitchhiker: target_frac={target_frac} must be in (0, 1].")
    if isinstance(borrow, str):
        if borrow != "muennighoff":
            raise ValueError(f"hitchhiker: borrow={borrow!r}; use 'muennighoff', a dict of "
                             "values, or jaxfit.recipes.hitchhiker.borrowed(result, family).")
        borrow = MUENNIGHOFF
    borrow = {k: float(v) for k, v in dict(borrow or {}).items()}
    unknown = set(borrow) - set(P0)
    if unknown:
        raise ValueError(f"hitchhiker: borrow names {sorted(unknown)}; the law's parameters "
                         f"are {list(P0)}.")
    units = _units(borrow)
    law = hitchhiker_law(**_to_units(borrow, units))
    opts = _fit_options(fit, law, fit_options, borrow, units)

    data = load_hitchhiker() if data is None else data
    _check_data(data)
    d, filters = _clean(data, families, min_sizes, max_target_loss)
    train, targets, cfg, more = _plan(d, fractions, num_models, cuts, checkpoints, models,
                                      target_frac, len(law.param_names))
    filters += more
    fits: list[FitResult] = []
    cols = list(law.param_names)
    if train is not None:
        fitted = cfg.dropna(subset=["task"]).astype({"task": np.int64})
        group = np.searchsorted(np.asarray(size_groups or [], dtype=np.float64),
                                fitted["n_points"].to_numpy(), side="left")
        outs, preds = [], []
        pairs = fitted[["task", "family"]].merge(targets, on="family")
        for gid in np.unique(group):
            tasks = fitted["task"].to_numpy()[group == gid]
            rows = _scaled(train[train["task"].isin(tasks)], units)
            res = jf_fit(law, rows, y="loss", by="task", warn=False, **opts)
            fits.append(res)
            outs.append(res.to_frame()[["objective", "status"] + cols])
            sub = pairs[pairs["task"].isin(tasks)]
            preds.append(res.predict(_scaled(sub, units), warn=False)["prediction"])
        # Every task is scored on its family's targets.
        pred = pd.concat(preds).reindex(pairs.index)
        pairs = pairs.assign(rel=np.abs(pairs["loss"] - pred.to_numpy()) / pairs["loss"])
        are = pairs.groupby("task")["rel"].mean()
        out = pd.concat(outs)
        out = out.assign(**_to_units({**borrow, **out}, units, inverse=True))[out.columns]
        out.index.name = "task"
        cfg = cfg.join(out.rename(columns={"status": "fit_status"}), on="task")
        cfg["are"] = cfg["task"].map(are)
        cfg["status"] = cfg["status"].fillna(cfg["fit_status"]) if "status" in cfg \
            else cfg["fit_status"]
        cfg = cfg.drop(columns=["fit_status"])
        bad = cfg["status"].isin([s.name.lower() for s in Status if s != Status.CONVERGED])
        if bad.any():
            warnings.warn(f"hitchhiker: {int(bad.sum())} of {int(cfg['task'].notna().sum())} "
                          "fits did not converge (see result.are['status']); their ARE is "
                          "still reported, as the paper's curve_fit would.", stacklevel=2)
    else:
        cfg["are"] = math.nan
    for k, v in borrow.items():
        cfg[k] = v
    front = ["family", "n_models", "fraction", "cut", "checkpoints", "are", "status",
             "n_points", "n_targets", "largest_train_model", "scale_up"]
    cfg = cfg[front + [c for c in cfg.columns if c not in front]]
    filters = pd.DataFrame(filters, columns=["level", "family", "what", "count", "reason"])
    options = dict(families=sorted(cfg["family"].unique()), fractions=list(fractions),
                   num_models=None if num_models is None else list(num_models),
                   cuts=list(cuts), checkpoints=list(checkpoints), models=models,
                   target_frac=target_frac, default_cut=float(default_cut),
                   min_sizes=min_sizes, max_target_loss=max_target_loss, fit=fit,
                   borrow=borrow, fit_options=opts,
                   size_groups=None if size_groups is None else list(size_groups))
    return HitchhikerResult(are=cfg, train=train, targets=targets, filters=filters, fits=fits,
                            options=options)


def borrowed(result: HitchhikerResult, family: str, names: Sequence[str] = ("A", "alpha"),
             n_models: int | None = None, fraction: float = 1.0, cut: float | None = None,
             checkpoints: str = "all") -> dict[str, float]:
    """Parameters of one family's fit, to pass as ``borrow=`` to another run.

    Default configuration: the whole pool (largest k), the full fraction, the default cut
    and all checkpoints: the family's best-informed fit.
    """
    a = result.are
    cut = result.options["default_cut"] if cut is None else cut
    sub = a[(a["family"] == family) & (a["fraction"] == fraction) & (a["cut"] == cut)
            & (a["checkpoints"] == checkpoints)].dropna(subset=["are"])
    if n_models is not None:
        sub = sub[sub["n_models"] == n_models]
    if sub.empty:
        raise ValueError(f"borrowed: no fitted configuration of family {family!r} with "
                         f"fraction={fraction}, cut={cut}, checkpoints={checkpoints!r}"
                         + (f", n_models={n_models}" if n_models else "") + ".")
    row = sub.sort_values("n_models").iloc[-1]
    missing = [n for n in names if n not in row or pd.isna(row[n])]
    if missing:
        raise ValueError(f"borrowed: parameters {missing} are not in the result.")
    return {n: float(row[n]) for n in names}


def run_hitchhiker(data: pd.DataFrame | None = None, **kwargs) -> dict[str, pd.DataFrame]:
    """Entry point for the command line: `hitchhiker` as a dict of DataFrames.

    Keys: ``are`` (one row per family x configuration), ``findings`` (the paper's three
    claims per family), ``filters`` (what was left out and why), ``targets``.
    Keyword arguments are those of `hitchhiker`.
    """
    res = hitchhiker(data, **kwargs)
    return {"are": res.are, "findings": res.findings(), "filters": res.filters,
            "targets": res.targets}
