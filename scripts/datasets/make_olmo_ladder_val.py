"""Build ``olmo_ladder_val.csv`` (shipped with jaxfit): validation losses of the OLMo ladder.

The companion of ``olmo_ladder.csv`` (`make_olmo_ladder`), for the FLP / FLP-M recipes
(Chen et al. 2024), which need the *pre-training* loss of each checkpoint rather than the
per-task losses. Run from anywhere (reads the originals, never modifies them)::

    python scripts/datasets/make_olmo_ladder_val.py \
        [--source /work/shared/data/olmo_ladder/olmo_ladder_checkpoints_wide.csv] \
        [--out jaxfit/datasets/olmo_ladder_val.csv]

Source: as ``make_olmo_ladder.py`` (github.com/allenai/OLMo at commit
9bc064c72b1439640993e7ff28238e7b8f855aee, ``scripts/scaling/data/peteish-moreeval/*.csv``,
Apache-2.0; Bhagia et al. 2024, arXiv:2412.04403).

Rows: exactly the checkpoints of ``olmo_ladder.csv`` (the 16 ladder runs with every
checkpoint, ``7B-4T`` = the 7B anneal row, ``13B-5T`` = the 13B's last 12 rows), one row
per checkpoint, joinable to it on (``run``, ``tokens``). Columns: ``run``, ``role``,
``N``, ``step``, ``tokens``, ``flops_per_token`` (as in ``olmo_ladder.csv``), then the
validation cross-entropy (nats per token) on the 11 sets the ladder logs, named by
`VAL_SETS`' keys: ``c4`` (C4 en) and the Dolma domains ``books``, ``common_crawl``,
``pes2o`` (academic papers), ``reddit``, ``stack`` (code), ``wiki``, then ``ice``,
``m2d2_s2orc``, ``pile``, ``wikitext_103``. Values are written with 8 significant digits,
as stored in the wide file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from make_olmo_ladder import (
    LADDER,
    SOURCE,
    TARGETS,
    _tokens,
    extraction_main,
)

OUT = Path(__file__).resolve().parents[2] / "jaxfit" / "datasets" / "olmo_ladder_val.csv"

#: Short column name -> validation set in the wide file's ``eval/<set>-validation/...``.
VAL_SETS = {"c4": "c4_en", "books": "dolma_books", "common_crawl": "dolma_common-crawl",
            "pes2o": "dolma_pes2o", "reddit": "dolma_reddit", "stack": "dolma_stack",
            "wiki": "dolma_wiki", "ice": "ice", "m2d2_s2orc": "m2d2_s2orc", "pile": "pile",
            "wikitext_103": "wikitext_103"}


def build(source: Path = SOURCE) -> pd.DataFrame:
    wide = pd.read_csv(source)
    parts = []
    for run in LADDER + list(TARGETS):
        rows = wide[wide["run"] == run]
        if len(rows) == 0:
            raise ValueError(f"run {run!r} not found in {source}")
        name, role = run, "ladder"
        if run in TARGETS:
            (name, last), role = TARGETS[run], "target"
            rows = rows.iloc[-last:]
        step = rows["step"].to_numpy()
        part = pd.DataFrame({
            "run": name, "role": role, "N": rows["N"].to_numpy(dtype=np.int64),
            "step": pd.array(np.where(np.isfinite(step), step, np.nan), dtype="Int64"),
            "tokens": _tokens(rows),
            "flops_per_token": rows["flops_per_token"].to_numpy(dtype=np.int64)})
        for short, full in VAL_SETS.items():
            part[short] = rows[f"eval/{full}-validation/CrossEntropyLoss"].to_numpy(np.float64)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    if out[list(VAL_SETS)].isna().any().any():
        raise ValueError("missing validation losses in the extracted rows")
    return out


def main(argv=None):
    extraction_main(build, SOURCE, OUT, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
