"""Build ``olmo_ladder.csv`` (shipped with jaxfit) from the released OLMo ladder data.

Run from anywhere (reads the originals, never modifies them)::

    python scripts/datasets/make_olmo_ladder.py \
        [--source /work/shared/data/olmo_ladder/olmo_ladder_checkpoints_wide.csv] \
        [--out jaxfit/datasets/olmo_ladder.csv]

Source: ``olmo_ladder_checkpoints_wide.csv`` (see its README), built from
github.com/allenai/OLMo at commit 9bc064c72b1439640993e7ff28238e7b8f855aee,
``scripts/scaling/data/peteish-moreeval/*.csv`` (Apache-2.0). The data are those of
Bhagia et al. (2024), "Establishing Task Scaling Laws via Compute-Efficient Model
Ladders", arXiv:2412.04403.

What is kept (the subset `jaxfit.recipes.ladder` needs), one row per checkpoint x task:

* runs: the paper's ladder (``final.json``): 190M, 370M, 760M, 1.3B x 1, 2, 5, 10 x
  Chinchilla, the non-rerun files, every checkpoint; and the two targets, renamed
  ``7B-4T`` (= ``peteish7_eval_anneal``, one row) and ``13B-5T`` (= the last 12 rows of
  ``peteish13_eval_full``, i.e. upstream ``peteish13_eval_final.csv``). The 0.5xC runs,
  1xC reruns, the 3.2B rung and the targets' intermediate checkpoints are dropped.
* tasks: the paper's 8 (``v2_main``: MMLU test as the weighted mean of its 4 groups with
  ``WEIGHT_BY_KEY`` = 0.215/0.335/0.219/0.231, HellaSwag, ARC-C, ARC-E, PIQA, CSQA,
  SIQA, OBQA) plus BoolQ and Winogrande, which only the variance analysis uses
  (``v2_main_variance``, Table 4 of the paper).
* columns: ``run``, ``role`` (ladder/target), ``N`` (the authors' non-embedding count),
  ``step``, ``tokens``, ``flops_per_token`` (the authors' ``MODEL_FLOPS``), ``task``,
  ``task_loss`` (RC 5-shot bits per byte of the correct answer) and ``accuracy`` (RC
  5-shot length-normalised accuracy; plain accuracy for BoolQ, as upstream).

Exactness: the wide file stores numbers with 8 significant digits. ``tokens`` is rebuilt
as the exact integer ``step * batch_size_in_tokens`` (checked against the stored value to
1e-7); the 7B anneal row has no step and takes the authors' D = 3,945,065,873,408
(the ``-d`` flag of their ``predict.py`` commands). Losses and accuracies are written
with 8 significant digits, which reproduces the stored values exactly (the MMLU average
is rounded to 8 digits).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SOURCE = (Path(__file__).resolve().parents[3]
          / "shared/data/olmo_ladder/olmo_ladder_checkpoints_wide.csv")
OUT = Path(__file__).resolve().parents[2] / "jaxfit" / "datasets" / "olmo_ladder.csv"

LADDER = [f"{size}-{mult}xC" for size in ("190M", "370M", "760M", "1B") for mult in (1, 2, 5, 10)]
TARGETS = {"peteish7_eval_anneal": ("7B-4T", 1), "peteish13_eval_full": ("13B-5T", 12)}
D_7B_ANNEAL = 3_945_065_873_408
MMLU_WEIGHTS = {"stem": 0.215, "humanities": 0.335, "social_sciences": 0.219, "other": 0.231}
TASKS = ["mmlu_avg_test", "hellaswag_val", "arc_challenge_test", "arc_easy_test", "piqa_val",
         "csqa_val", "socialiqa_val", "openbookqa_test", "boolq_val", "winogrande_val"]


def _columns(task: str) -> tuple[list[str], list[str], list[float]]:
    if task == "mmlu_avg_test":
        groups = list(MMLU_WEIGHTS)
        loss = [f"eval/downstream_bpb/mmlu_{g}_test_rc_5shot_bpb" for g in groups]
        acc = [f"eval/downstream/mmlu_{g}_test_rc_5shot_len_norm" for g in groups]
        return loss, acc, [MMLU_WEIGHTS[g] for g in groups]
    metric = "acc" if task.startswith("boolq") else "len_norm"
    return ([f"eval/downstream_bpb/{task}_rc_5shot_bpb"],
            [f"eval/downstream/{task}_rc_5shot_{metric}"], [1.0])


def _tokens(rows: pd.DataFrame) -> np.ndarray:
    stored = rows["tokens"].to_numpy(dtype=np.float64)
    out = np.empty(len(rows), dtype=np.int64)
    step = rows["step"].to_numpy()
    for i, (s, b, t) in enumerate(zip(step, rows["batch_size_in_tokens"], stored)):
        if np.isfinite(s):
            exact = int(s) * int(b)
        else:                               # the single 7B anneal row
            exact = D_7B_ANNEAL
        if abs(exact - t) > 1e-7 * t:
            raise ValueError(f"row {rows.index[i]}: step*batch = {exact} disagrees with the "
                             f"stored tokens {t:.8g}")
        out[i] = exact
    return out


def build(source: Path = SOURCE) -> pd.DataFrame:
    wide = pd.read_csv(source)
    parts = []
    for run in LADDER + list(TARGETS):
        rows = wide[wide["run"] == run]
        if run in TARGETS:
            name, last = TARGETS[run]
            rows, role = rows.iloc[-last:], "target"
        else:
            name, role = run, "ladder"
        if len(rows) == 0:
            raise ValueError(f"run {run!r} not found in {source}")
        step = rows["step"].to_numpy()
        if np.any(np.diff(step[np.isfinite(step)]) <= 0):
            raise ValueError(f"run {run!r}: steps are not increasing")
        meta = pd.DataFrame({
            "run": name, "role": role, "N": rows["N"].to_numpy(dtype=np.int64),
            "step": pd.array(np.where(np.isfinite(step), step, np.nan), dtype="Int64"),
            "tokens": _tokens(rows),
            "flops_per_token": rows["flops_per_token"].to_numpy(dtype=np.int64)})
        for task in TASKS:
            loss_cols, acc_cols, w = _columns(task)
            part = meta.copy()
            part["task"] = task
            part["task_loss"] = np.average(rows[loss_cols].to_numpy(np.float64), axis=1, weights=w)
            part["accuracy"] = np.average(rows[acc_cols].to_numpy(np.float64), axis=1, weights=w)
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    order = {t: i for i, t in enumerate(TASKS)}
    runs = {r: i for i, r in enumerate(out["run"].unique())}
    out = out.sort_values(["task", "run"], key=lambda s: s.map(order if s.name == "task" else runs),
                          kind="stable").reset_index(drop=True)
    if out[["task_loss", "accuracy"]].isna().any().any():
        raise ValueError("missing task loss or accuracy values in the extracted rows")
    return out


def extraction_main(build, source: Path, out: Path, description: str, argv=None,
                    float_format: str = "%.8g") -> None:
    """Command line of the extraction scripts: ``--source`` in, ``--out`` CSV written."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--source", type=Path, default=source)
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    df = build(args.source)
    df.to_csv(args.out, index=False, float_format=float_format)
    print(f"wrote {len(df)} rows, {args.out.stat().st_size / 1e6:.2f} MB to {args.out}")


def main(argv=None):
    extraction_main(build, SOURCE, OUT, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
