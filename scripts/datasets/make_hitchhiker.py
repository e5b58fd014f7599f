"""Build ``hitchhiker_colpret.csv.gz`` (shipped with jaxfit) from the ColPret tidy table.

Run from anywhere (reads the originals, never modifies them)::

    python scripts/datasets/make_hitchhiker.py \
        [--source /work/shared/data/hitchhiker_colpret/colpret_tidy.csv] \
        [--out jaxfit/datasets/hitchhiker_colpret.csv.gz]

Source: ``colpret_tidy.csv`` (see its README), a tidy copy of the data loaded by
github.com/IBM/ColPret at commit 16f23bbe054277ddc4afd07a972dd7cfbe3f48c3,
``util/read_data.py:get_data`` (MIT, Copyright (c) 2024 International Business
Machines). The data are those of Choshen, Zhang, Andreas (2024), "A Hitchhiker's Guide to
Scaling Law Estimation", arXiv:2410.11840, collected from the original releases.

What is kept, one row per (model, checkpoint):

* families: every ColPret family (``scaled_set``) with at least 3 distinct model sizes
  (gpt3, OPT, t5-pile, lambda, chinchilla, GPT2, the 16 GPT2-{c4,oscar}-<epochs>
  datablations families, overtrain-{C4,RedPajama,RefinedWeb}) plus ``olmo`` (2 sizes; the
  paper's single-model parameter-borrowing example, 7B from 1B).
* ``loss``: ColPret's target "perf" (``get_perf_df`` with loss types PERP and LOSS): the
  mean over the row's loss columns (``in_colpret_loss_cols``) of type ``loss_nats``
  (kept as is) and ``perplexity`` (turned into ``log2(ppl)``, ``normalize_metric``).
  Accuracies and error rates are not loss types and are left out, as upstream.
  Digitised curves (gpt3, revisiting) hold repeated token values; the k-th repeat of
  one metric is aligned with the k-th repeat of the others, so every upstream row stays
  a row.
* ``upstream_suspect``: True where any averaged value was flagged by the data README
  (OLMo-7B-Twin-2T steps 158k-168k, every metric doubled upstream). Kept so that
  `jaxfit.recipes.hitchhiker` drops them visibly.
* columns: ``family``, ``model``, ``N`` (ColPret's parameter count, often nominal),
  ``tokens`` (ColPret's tokens seen; for ``lambda`` these are "seen examples" of the
  Revisiting benchmark, not tokens), ``loss``, ``n_metrics`` (how many loss columns were
  averaged), ``upstream_suspect``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from make_olmo_ladder import extraction_main

SOURCE = Path(__file__).resolve().parents[3] / "shared/data/hitchhiker_colpret/colpret_tidy.csv"
OUT = Path(__file__).resolve().parents[2] / "jaxfit" / "datasets" / "hitchhiker_colpret.csv.gz"
EXTRA_FAMILIES = ("olmo",)
MIN_SIZES = 3


def build(source: Path = SOURCE) -> pd.DataFrame:
    d = pd.read_csv(source, low_memory=False)
    d = d[d["in_colpret_loss_cols"] & d["metric_type"].isin(["loss_nats", "perplexity"])]
    d = d.dropna(subset=["num_params"])
    sizes = d.groupby("family")["num_params"].nunique()
    keep = set(sizes.index[sizes >= MIN_SIZES]) | set(EXTRA_FAMILIES)
    d = d[d["family"].isin(keep)].copy()
    d["value"] = np.where(d["metric_type"] == "perplexity", np.log2(d["value"]), d["value"])
    keys = ["family", "model_name", "num_params", "seed", "tokens_seen"]
    d["_rep"] = d.groupby(keys + ["metric"], dropna=False).cumcount()
    out = (d.groupby(keys + ["_rep"], dropna=False, sort=True)
           .agg(loss=("value", "mean"), n_metrics=("value", "size"),
                upstream_suspect=("upstream_suspect", "any"))
           .reset_index()
           .rename(columns={"model_name": "model", "num_params": "N", "tokens_seen": "tokens"}))
    return out[["family", "model", "N", "tokens", "loss", "n_metrics", "upstream_suspect"]]


def main(argv=None):
    extraction_main(build, SOURCE, OUT, __doc__.splitlines()[0], argv, float_format="%.10g")


if __name__ == "__main__":
    main()
