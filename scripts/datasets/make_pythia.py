"""Build ``pythia.csv`` shipped with jaxfit: Pythia zero-shot evaluations per checkpoint.

Source: ``pythia_evals_main.csv`` of the shared data (github.com/EleutherAI/pythia at
commit a19eecb807ec2c79a39ebf18108816e6ffffc1d5, ``evals/pythia-v1/*/zero-shot/*.json``;
Apache-2.0; Biderman et al. 2023, "Pythia: A Suite for Analyzing Large Language Models
Across Training and Scaling", arXiv:2304.01373). Run from anywhere (reads the original,
never modifies it)::

    python scripts/datasets/make_pythia.py [--source CSV] [--out CSV]

Rows: the zero-shot evaluations (27 checkpoints per model, steps 0-143,000) of the 16
models (70M-12B, Pile and deduplicated Pile; ``pythia-1b-bf16`` is the official Pile 1B)
for the 8 headline tasks plus the derived MMLU macro-average; metrics ``acc``,
``acc_norm`` and LAMBADA's ``ppl``. Columns: ``model``, ``size``, ``deduped``, ``N``
(``params_total``, embeddings included, as the model cards), ``N_nonembedding``,
``step``, ``tokens`` (step x 2,097,152), ``C`` (6 N tokens), ``task``, ``metric``,
``value``, ``stderr``. Numbers keep 8 significant digits (the source's precision).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

DEFAULT_SOURCE = Path(__file__).resolve().parents[3] / "shared/data/pythia_evals/pythia_evals_main.csv"
OUT = Path(__file__).resolve().parents[2] / "jaxfit" / "datasets" / "pythia.csv"


def build(source: Path) -> pd.DataFrame:
    raw = pd.read_csv(source)
    z = raw[raw["num_fewshot"] == 0]
    out = pd.DataFrame({
        "model": z["model"], "size": z["size"], "deduped": z["deduped"].astype(bool),
        "N": z["params_total"].astype("int64"),
        "N_nonembedding": z["params_nonembedding"].astype("int64"),
        "step": z["step"].astype("int64"), "tokens": z["tokens"].astype("int64"),
        "C": z["flops_6ND"].astype("float64"), "task": z["task"], "metric": z["metric"],
        "value": z["value"], "stderr": z["stderr"]})
    return out.sort_values(["deduped", "N", "task", "metric", "step"]).reset_index(drop=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    df = build(a.source)
    df.to_csv(a.out, index=False, float_format="%.8g")
    print(f"wrote {a.out} ({len(df)} rows)")


if __name__ == "__main__":
    main()
