"""Real scaling-law data shipped inside the package, with attribution.

``load(name)`` returns a fresh DataFrame; ``info(name)`` its source and citation.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["load", "names", "info", "recorded_unit", "Dataset", "load_olmo_ladder",
           "load_olmo_ladder_val",
           "load_flp_data", "load_hitchhiker", "load_olmo_emergence", "load_obs_emergent"]


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    description: str
    citation: str
    source: str
    license: str
    rename: dict = dataclasses.field(default_factory=dict)
    #: (loss column, its unit) where the source documents it, the column possibly a tuple
    #: of columns in the same unit; `load` records them in ``df.attrs`` (``loss``,
    #: ``loss_unit``) for the plots' axis labels.
    loss_unit: tuple[str | tuple[str, ...], str] | None = None


# The three OLMo ladder tables come from one release of one paper.
_BHAGIA = ("Bhagia, Liu, Wettig, et al. (2024), 'Establishing Task Scaling Laws via "
           "Compute-Efficient Model Ladders', arXiv:2412.04403 (COLM 2025).")
_OLMO_LADDER_SOURCE = ("github.com/allenai/OLMo at commit "
                       "9bc064c72b1439640993e7ff28238e7b8f855aee, "
                       "scripts/scaling/data/peteish-moreeval/*.csv")

_REGISTRY = {
    "chinchilla": Dataset(
        name="chinchilla",
        file="chinchilla_epoch.csv",
        description=("245 Chinchilla training runs (final loss vs model size N and tokens D) "
                     "digitised from Hoffmann et al. (2022), Figure 4, by Epoch AI. "
                     "D = C / (6 N) as in Epoch's notebook. `epoch_excluded_outlier` marks "
                     "the 5 highest-loss runs Epoch drops; its fits use the other 240."),
        citation=("Besiroglu, Erdil, Barnett, You (2024), 'Chinchilla Scaling: A replication "
                  "attempt', arXiv:2404.10102; Hoffmann et al. (2022), 'Training "
                  "Compute-Optimal Large Language Models', arXiv:2203.15556."),
        source=("github.com/epoch-research/analyzing-chinchilla, data/svg_extracted_data.csv "
                "at commit 92258837425e1b5f2851d624287f0120583a3d0e"),
        license="none stated upstream (digitised figure data); cite the papers",
        rename={"N_params": "N", "D_tokens": "D", "C_flops": "C"},
        loss_unit=("loss", "nats"),
    ),
    "olmo_ladder": Dataset(
        name="olmo_ladder",
        file="olmo_ladder.csv",
        description=("OLMo 2 model ladder (Bhagia et al. 2024): per checkpoint and task, RC "
                     "5-shot task loss (bits per byte) and accuracy for the 16 ladder runs "
                     "(190M-1.3B x 1,2,5,10 xC, every checkpoint) and the targets 7B-4T (1 row) "
                     "and 13B-5T (last 12 rows); the paper's 8 tasks plus BoolQ and Winogrande. "
                     "Built by scripts/datasets/make_olmo_ladder.py."),
        citation=_BHAGIA, source=_OLMO_LADDER_SOURCE,
        license="Apache-2.0",
        loss_unit=("task_loss", "bits per byte"),
    ),
    "olmo_ladder_val": Dataset(
        name="olmo_ladder_val",
        file="olmo_ladder_val.csv",
        description=("OLMo 2 model ladder (Bhagia et al. 2024): per checkpoint, validation "
                     "cross-entropy (nats/token) on C4, the Dolma domains (books, common_crawl, "
                     "pes2o, reddit, stack, wiki), ice, m2d2_s2orc, pile and wikitext_103, for "
                     "the same checkpoints as olmo_ladder (join on run, tokens); used by the "
                     "FLP/FLP-M recipes. Built by scripts/datasets/make_olmo_ladder_val.py."),
        citation=_BHAGIA, source=_OLMO_LADDER_SOURCE,
        license="Apache-2.0",
        # eval/<set>-validation/CrossEntropyLoss (../shared/data/olmo_ladder/README.md)
        loss_unit=(("c4", "books", "common_crawl", "pes2o", "reddit", "stack", "wiki", "ice",
                    "m2d2_s2orc", "pile", "wikitext_103"), "nats"),
    ),
    "hitchhiker": Dataset(
        name="hitchhiker",
        file="hitchhiker_colpret.csv.gz",
        description=("ColPret (Choshen et al. 2024): one row per checkpoint of 26 model "
                     "families (loss vs N and tokens seen), with the "
                     "upstream_suspect flag for the 11 corrupt OLMo-7B-Twin-2T rows. Used by "
                     "jf.recipes.hitchhiker. `loss` is ColPret's target: the mean of a "
                     "model's loss columns, cross-entropies in nats kept as they are and "
                     "perplexities turned into log2(ppl) (bits), so it has no one unit and "
                     "none is recorded. Built by scripts/datasets/make_hitchhiker.py."),
        citation=("Choshen, Zhang, Andreas (2024), 'A Hitchhiker's Guide to Scaling Law "
                  "Estimation', arXiv:2410.11840 (ICML 2025)."),
        source=("github.com/IBM/ColPret at commit 16f23bbe054277ddc4afd07a972dd7cfbe3f48c3, "
                "util/read_data.py:get_data"),
        license="MIT (ColPret); the original releases' terms apply too",
    ),
    "olmo_emergence": Dataset(
        name="olmo_emergence", file="olmo_emergence.csv",
        description=("OLMo 2 checkpoints (Bhagia et al. 2024) with C4 validation loss and "
                     "5-shot accuracies: every checkpoint of the 30 ladder runs (190M-3.2B x "
                     "0.5-10 xC; RC format: MMLU, ARC-C, OBQA, Winogrande) and of the 7B and 13B "
                     "full runs (also MC format: MMLU, ARC-C, CSQA, HellaSwag, OBQA, PIQA, SIQA, "
                     "Winogrande, BoolQ). Used by jf.recipes.emergence. Built by "
                     "scripts/datasets/make_emergence.py."),
        citation=_BHAGIA, source=_OLMO_LADDER_SOURCE,
        license="Apache-2.0",
        loss_unit=("c4_loss", "nats"),
    ),
    "obs_emergent": Dataset(
        name="obs_emergent", file="obs_emergent.csv",
        description=("Ruan et al. (2024) emergent-capability table: 84 base models, 2-shot "
                     "BIG-bench scores (parsinlu_qa, word_unscrambling, ipa_transliterate[_bleu], "
                     "arithmetic_*) with params, tokens and training FLOPs (NaN for 11). Used by "
                     "jf.recipes.emergence. Built by scripts/datasets/make_emergence.py."),
        citation=("Ruan, Maddison, Hashimoto (2024), 'Observational Scaling Laws and the "
                  "Predictability of Language Model Performance', arXiv:2405.10938."),
        source=("github.com/ryoungj/ObsScaling at commit 4d6e1e43fd2635d04654aa77d1df9d5266ea0382, "
                "eval_results/base_llm_emergent_capability_eval.csv + "
                "base_llm_benchmark_eval.csv"),
        license="Apache-2.0",
    ),
    "pythia": Dataset(
        name="pythia", file="pythia.csv",
        description=("Pythia (Biderman et al. 2023): zero-shot LM-Evaluation-Harness results "
                     "of the 16 models (70M-12B, Pile and deduplicated Pile) at 27 checkpoints "
                     "each, for LAMBADA (acc, ppl), PIQA, Winogrande, WSC, ARC-Easy, "
                     "ARC-Challenge, SciQ, LogiQA (acc, acc_norm) and the derived MMLU "
                     "macro-average; N = total parameters, tokens = step x 2,097,152, "
                     "C = 6 N tokens. Used by benchmarks/backtest_real.py. Built by "
                     "scripts/datasets/make_pythia.py."),
        citation=("Biderman, Schoelkopf, Anthony, et al. (2023), 'Pythia: A Suite for "
                  "Analyzing Large Language Models Across Training and Scaling', "
                  "arXiv:2304.01373 (ICML 2023)."),
        source=("github.com/EleutherAI/pythia at commit "
                "a19eecb807ec2c79a39ebf18108816e6ffffc1d5, evals/pythia-v1/*/zero-shot/*.json"),
        license="Apache-2.0",
    ),
}


def names() -> list[str]:
    """Names of the embedded datasets."""
    return sorted(_REGISTRY)


def info(name: str) -> Dataset:
    """Description, citation, source and license of an embedded dataset."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; available: {names()}.")
    return _REGISTRY[name]


def load(name: str) -> pd.DataFrame:
    """Load an embedded dataset as a new DataFrame (``df.attrs`` holds its citation).

    Example:
        >>> import jaxfit as jf
        >>> df = jf.datasets.load("chinchilla")
        >>> len(df), int((~df.epoch_excluded_outlier).sum())
        (245, 240)
    """
    ds = info(name)
    with resources.files(__package__).joinpath(ds.file).open("rb") as fh:
        df = pd.read_csv(fh, compression="gzip" if ds.file.endswith(".gz") else None)
    df = df.rename(columns=ds.rename)
    df.attrs.update(name=ds.name, citation=ds.citation, source=ds.source, license=ds.license)
    if ds.loss_unit is not None:
        column, unit = ds.loss_unit
        columns = [column] if isinstance(column, str) else list(column)
        df.attrs.update(loss=column if isinstance(column, str) else columns, loss_unit=unit,
                        loss_range=_value_ranges(df, columns))
    return df


def _value_ranges(df: pd.DataFrame, columns) -> dict:
    """{column: [smallest, largest]} of the finite values, as recorded with a unit: a
    column whose values later leave that range was changed (`recorded_unit`)."""
    out = {}
    for c in columns:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype="float64", na_value=float("nan"))
        v = v[np.isfinite(v)]
        out[c] = [float(v.min()), float(v.max())] if v.size else None
    return out


def recorded_unit(data, column) -> str | None:
    """The unit of ``column`` as recorded in ``data.attrs`` (``loss``: a column or a list of
    columns in one unit, ``loss_unit``: what `load` records for an embedded dataset and the
    recipes for their frames), or None.

    The attributes follow the frame through pandas' filtering, ``assign``, ``melt`` and
    ``concat``; a renamed column no longer matches, so its unit is not claimed, and nor is
    the unit of a column whose values left the range recorded with it (a conversion such
    as ``df.loss / np.log(2)``, nats to bits, kept "nats" before). A user's DataFrame
    records nothing: None (the plots then name the column, not a unit).

    Example:
        >>> import jaxfit as jf
        >>> df = jf.datasets.load("chinchilla")
        >>> recorded_unit(df[df.N > 1e9], "loss"), recorded_unit(df.assign(y=1.0), "y")
        ('nats', None)
        >>> recorded_unit(jf.datasets.load("olmo_ladder_val"), "wiki")
        'nats'
        >>> recorded_unit(df.assign(loss=df.loss / 0.6931471805599453), "loss") is None
        True
    """
    attrs = getattr(data, "attrs", None) or {}
    loss = attrs.get("loss")
    columns = [loss] if isinstance(loss, str) else list(loss or ())
    if column is None or column not in columns:
        return None
    recorded = (attrs.get("loss_range") or {}).get(column)
    if recorded is not None and column in getattr(data, "columns", ()):
        now = _value_ranges(data, [column])[column]
        tol = 1e-9 * max(abs(recorded[0]), abs(recorded[1]), 1e-300)
        if now is not None and (now[0] < recorded[0] - tol or now[1] > recorded[1] + tol):
            return None
    return attrs.get("loss_unit")


from jaxfit.datasets.loaders import (  # noqa: E402  (named loaders; they use load)
    load_flp_data, load_hitchhiker, load_obs_emergent, load_olmo_emergence, load_olmo_ladder,
    load_olmo_ladder_val)
