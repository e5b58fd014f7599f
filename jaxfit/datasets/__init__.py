"""Real scaling-law data shipped inside the package, with attribution.

``load(name)`` returns a fresh DataFrame; ``info(name)`` its source and citation.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

import pandas as pd

__all__ = ["load", "names", "info", "Dataset"]


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    description: str
    citation: str
    source: str
    license: str
    rename: dict = dataclasses.field(default_factory=dict)


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
    ),
    "olmo_ladder": Dataset(
        name="olmo_ladder",
        file="olmo_ladder.csv",
        description=("OLMo 2 model ladder (Bhagia et al. 2024): per checkpoint and task, RC "
                     "5-shot task loss (bits per byte) and accuracy for the 16 ladder runs "
                     "(190M-1.3B x 1,2,5,10 xC, every checkpoint) and the targets 7B-4T (1 row) "
                     "and 13B-5T (last 12 rows); the paper's 8 tasks plus BoolQ and Winogrande. "
                     "Built by datasets/make_olmo_ladder.py."),
        citation=("Bhagia, Liu, Wettig, et al. (2024), 'Establishing Task Scaling Laws via "
                  "Compute-Efficient Model Ladders', arXiv:2412.04403 (COLM 2025)."),
        source=("github.com/allenai/OLMo at commit 9bc064c72b1439640993e7ff28238e7b8f855aee, "
                "scripts/scaling/data/peteish-moreeval/*.csv"),
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
    with resources.files(__package__).joinpath(ds.file).open("r") as fh:
        df = pd.read_csv(fh).rename(columns=ds.rename)
    df.attrs.update(name=ds.name, citation=ds.citation, source=ds.source, license=ds.license)
    return df
