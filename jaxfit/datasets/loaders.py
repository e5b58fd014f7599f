"""Named loaders of the embedded datasets the recipes use (each a new DataFrame).

Each is ``jaxfit.datasets.load(name)`` with the recipe's own view of the data; the recipe
modules re-export them under their old names (``jaxfit.recipes.ladder.load_olmo_ladder``
and so on). The extraction scripts that build the files are in ``scripts/datasets/`` of
the source repository, not in the installed package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["load_olmo_ladder", "load_olmo_ladder_val", "load_flp_data", "load_hitchhiker",
           "load_olmo_emergence", "load_obs_emergent"]


def _load(name: str) -> pd.DataFrame:
    from jaxfit.datasets import load

    return load(name)


def load_olmo_ladder() -> pd.DataFrame:
    """The OLMo ladder (dataset ``olmo_ladder``): one row per checkpoint and task.

    Columns: ``run`` (e.g. ``"760M-5xC"``, ``"7B-4T"``), ``role`` ("ladder" or
    "target"), ``N``, ``step``, ``tokens``, ``flops_per_token``, ``task``,
    ``task_loss`` (RC 5-shot bits per byte of the correct answer), ``accuracy`` (RC
    5-shot length-normalised, a fraction). The 16 ladder runs of the paper with every
    checkpoint, the 7B-4T target (1 row) and the 13B-5T target (its last 12 checkpoints),
    10 tasks. Built by ``scripts/datasets/make_olmo_ladder.py``.

    Example:
        >>> from jaxfit.datasets import load_olmo_ladder
        >>> df = load_olmo_ladder()
        >>> df.groupby("role")["run"].nunique().to_dict()
        {'ladder': 16, 'target': 2}
    """
    return _load("olmo_ladder")


def load_olmo_ladder_val() -> pd.DataFrame:
    """The OLMo ladder's validation losses (dataset ``olmo_ladder_val``): one row per
    checkpoint.

    Columns ``run, role, N, step, tokens, flops_per_token`` and the cross-entropy (nats per
    token) on 11 validation sets: ``c4``, the Dolma domains ``books, common_crawl, pes2o,
    reddit, stack, wiki``, and ``ice, m2d2_s2orc, pile, wikitext_103``. Same checkpoints
    as `load_olmo_ladder`; built by ``scripts/datasets/make_olmo_ladder_val.py``.
    """
    return _load("olmo_ladder_val")


def load_flp_data() -> pd.DataFrame:
    """The OLMo ladder for FLP: one row per checkpoint and task with its validation losses.

    `load_olmo_ladder` joined with `load_olmo_ladder_val` on (``run``, ``tokens``), plus
    ``C = tokens x flops_per_token`` (float; the product overflows int64).

    Example:
        >>> from jaxfit.datasets import load_flp_data
        >>> df = load_flp_data()
        >>> round(float(df.loc[df.run == "7B-4T", "c4"].iloc[0]), 3)
        2.483
    """
    val = load_olmo_ladder_val()
    df = load_olmo_ladder().merge(val.drop(columns=["role", "N", "step", "flops_per_token"]),
                                  on=["run", "tokens"], how="left", validate="m:1")
    df["C"] = df["tokens"].to_numpy(np.float64) * df["flops_per_token"].to_numpy(np.float64)
    # the validation losses' unit (nats), as `load_olmo_ladder_val` records it; the merge
    # keeps no attrs. task_loss (bits per byte) is not among them: its unit is not claimed
    df.attrs.update(loss=val.attrs["loss"], loss_unit=val.attrs["loss_unit"],
                    loss_range=val.attrs["loss_range"])
    return df


def load_hitchhiker() -> pd.DataFrame:
    """The ColPret data (dataset ``hitchhiker``): one row per model checkpoint.

    Columns: ``family`` (ColPret's scaled set), ``model``, ``N`` (parameters, ColPret's
    often nominal value), ``tokens`` (tokens seen; for ``lambda`` "seen examples"),
    ``loss`` (ColPret's "perf": mean of the checkpoint's losses, perplexity as log2),
    ``n_metrics``, ``upstream_suspect`` (values the data README flags as corrupt
    upstream: OLMo-7B-Twin-2T, 11 checkpoints). The 25 families with at least 3 sizes
    plus ``olmo``. Built by ``scripts/datasets/make_hitchhiker.py``.

    Example:
        >>> from jaxfit.datasets import load_hitchhiker
        >>> df = load_hitchhiker()
        >>> df.groupby("family")["model"].nunique()[["gpt3", "OPT", "t5-pile"]].to_dict()
        {'gpt3': 8, 'OPT': 6, 't5-pile': 4}
    """
    return _load("hitchhiker")


def load_olmo_emergence() -> pd.DataFrame:
    """OLMo 2 checkpoints with C4 loss and 5-shot accuracies (dataset ``olmo_emergence``).

    One row per checkpoint of the 30 ladder runs (190M-3.2B) and of the 7B and 13B
    targets' full runs: ``run``, ``role``, ``N``, ``step``, ``tokens``, ``c4_loss``,
    ``<task>_rc`` and ``<task>_mc`` accuracies. Built by
    ``scripts/datasets/make_emergence.py`` from Bhagia et al. (2024)'s released data.
    """
    return _load("olmo_emergence")


def load_obs_emergent() -> pd.DataFrame:
    """The emergent-capability table of Ruan et al. (2024) with size, data and FLOPs.

    84 models, 2-shot BIG-bench scores (dataset ``obs_emergent``, built by
    ``scripts/datasets/make_emergence.py`` from github.com/ryoungj/ObsScaling).
    """
    return _load("obs_emergent")
