"""Build the emergence datasets shipped with jaxfit: ``olmo_emergence.csv``, ``obs_emergent.csv``.

Both feed `jaxfit.recipes.emergence` (Snell et al. 2024). Run from anywhere (reads the
originals, never modifies them)::

    python scripts/datasets/make_emergence.py [--olmo-source WIDE_CSV] [--obs-dir DIR]

``olmo_emergence.csv``: one row per checkpoint, accuracy against the C4 validation loss.
Source: ``olmo_ladder_checkpoints_wide.csv`` (see ``make_olmo_ladder.py``: github.com/
allenai/OLMo at commit 9bc064c72b1439640993e7ff28238e7b8f855aee, ``scripts/scaling/data/
peteish-moreeval/*.csv``, Apache-2.0; Bhagia et al. 2024, arXiv:2412.04403).

* rows: every checkpoint of all 30 ladder runs (190M-3.2B x 0.5, 1, 2, 5, 10 x Chinchilla,
  with the 1xC reruns) and of the two targets' full runs (``7B`` = ``peteish7_eval_full``,
  186 checkpoints to 3.9T tokens; ``13B`` = ``peteish13_eval_full``, 94 checkpoints to
  5T tokens), including their untrained step-0 rows (C4 loss ~12 nats);
* columns: ``run`` (``7B``/``13B`` for the targets), ``role``, ``N``, ``step``, ``tokens``,
  ``c4_loss`` (C4 en validation cross-entropy, nats/token), then 5-shot accuracies
  ``<task>_rc`` (ranked classification, length-normalised) for the tasks near chance for
  the small ladder models (MMLU test, the weighted mean of its 4 groups with the ladder's
  weights 0.215/0.335/0.219/0.231; ARC-Challenge test; OpenBookQA test; Winogrande val)
  and ``<task>_mc`` (multiple-choice format: letter answers; logged for the targets only,
  NaN for ladder rows) for MMLU (length-normalised, as upstream), ARC-Challenge, CSQA,
  HellaSwag, OpenBookQA, PIQA, Social IQa, Winogrande and BoolQ (plain accuracy).

``obs_emergent.csv``: one row per model of the BIG-bench "emergent capability" table of
Ruan, Maddison, Hashimoto (2024), "Observational Scaling Laws and the Predictability of
Language Model Performance", arXiv:2405.10938 (github.com/ryoungj/ObsScaling at commit
4d6e1e43fd2635d04654aa77d1df9d5266ea0382, ``eval_results/base_llm_emergent_capability_
eval.csv`` joined with ``base_llm_benchmark_eval.csv`` on ``Model``; Apache-2.0): ``model``,
``family``, ``params_B``, ``tokens_T``, ``flops`` (training FLOPs, = 6 N D upstream; NaN
for 11 models without a published data size), and the 2-shot scores ``parsinlu_qa``
(accuracy, 4 choices), ``word_unscrambling``, ``ipa_transliterate`` (exact match),
``ipa_transliterate_bleu`` (BLEU, 0-100 as upstream), ``arithmetic_3ds``,
``arithmetic_3da``, ``arithmetic_2dm``, ``arithmetic_2da`` (accuracy).

Numbers are written with 8 significant digits (the precision of the sources).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from make_olmo_ladder import MMLU_WEIGHTS, SOURCE

HERE = Path(__file__).resolve().parents[2] / "jaxfit" / "datasets"
OBS_DIR = Path(__file__).resolve().parents[3] / "shared/data/obs_scaling"
C4 = "eval/c4_en-validation/CrossEntropyLoss"
#: Output task name -> upstream task (split included).
RC_TASKS = {"mmlu": "mmlu", "arc_challenge": "arc_challenge_test",
            "openbookqa": "openbookqa_test", "winogrande": "winogrande_val"}
MC_TASKS = {"mmlu": "mmlu", "arc_challenge": "arc_challenge_test", "csqa": "csqa_val",
            "hellaswag": "hellaswag_val", "openbookqa": "openbookqa_test",
            "piqa": "piqa_val", "socialiqa": "socialiqa_val", "winogrande": "winogrande_val",
            "boolq": "boolq_val"}
TARGETS = {"peteish7_eval_full": "7B", "peteish13_eval_full": "13B"}
OBS_TASKS = {"parsinlu_qa_2_acc": "parsinlu_qa",
             "word_unscrambling_2_exact_match": "word_unscrambling",
             "ipa_transliterate_2_exact_match": "ipa_transliterate",
             "ipa_transliterate_2_bleu": "ipa_transliterate_bleu",
             "arithmetic_3ds_2_acc": "arithmetic_3ds", "arithmetic_3da_2_acc": "arithmetic_3da",
             "arithmetic_2dm_2_acc": "arithmetic_2dm", "arithmetic_2da_2_acc": "arithmetic_2da"}


def _accuracy(wide: pd.DataFrame, task: str, fmt: str) -> np.ndarray:
    if task == "mmlu":
        cols = [f"eval/downstream/mmlu_{g}_test_{fmt}_5shot_len_norm" for g in MMLU_WEIGHTS]
        return wide[cols].to_numpy(np.float64) @ np.array(list(MMLU_WEIGHTS.values()))
    metric = "acc" if fmt == "mc" or task.startswith("boolq") else "len_norm"
    return wide[f"eval/downstream/{task}_{fmt}_5shot_{metric}"].to_numpy(np.float64)


def build_olmo(source: Path = SOURCE) -> pd.DataFrame:
    wide = pd.read_csv(source)
    wide = wide[(wide["role"] == "ladder") | wide["run"].isin(list(TARGETS))]
    out = pd.DataFrame({
        "run": wide["run"].replace(TARGETS).to_numpy(), "role": wide["role"].to_numpy(),
        "N": wide["N"].to_numpy(dtype=np.int64),
        "step": wide["step"].to_numpy(dtype=np.int64),
        "tokens": wide["tokens"].to_numpy(dtype=np.float64),
        "c4_loss": wide[C4].to_numpy(dtype=np.float64)})
    for name, task in RC_TASKS.items():
        out[f"{name}_rc"] = _accuracy(wide, task, "rc")
    for name, task in MC_TASKS.items():
        out[f"{name}_mc"] = _accuracy(wide, task, "mc")
    if out[["c4_loss"] + [f"{t}_rc" for t in RC_TASKS]].isna().any().any():
        raise ValueError("missing C4 loss or RC accuracy in the extracted rows")
    targets = out["role"] == "target"
    if out.loc[targets, [f"{t}_mc" for t in MC_TASKS]].isna().any().any():
        raise ValueError("missing MC accuracy in the target rows")
    return out.reset_index(drop=True)


def build_obs(obs_dir: Path = OBS_DIR) -> pd.DataFrame:
    emergent = pd.read_csv(obs_dir / "base_llm_emergent_capability_eval.csv")
    main = pd.read_csv(obs_dir / "base_llm_benchmark_eval.csv")
    meta = main[["Model", "Model Family", "Model Size (B)", "Pretraining Data Size (T)",
                 "FLOPs (1E21)"]]
    df = emergent.merge(meta, on="Model", how="left", validate="one_to_one")
    if df["Model Family"].isna().any():
        raise ValueError("emergent-table models missing from the main table")
    out = pd.DataFrame({"model": df["Model"], "family": df["Model Family"],
                        "params_B": df["Model Size (B)"],
                        "tokens_T": df["Pretraining Data Size (T)"],
                        "flops": df["FLOPs (1E21)"] * 1e21})
    for col, name in OBS_TASKS.items():
        out[name] = df[col]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--olmo-source", type=Path, default=SOURCE)
    parser.add_argument("--obs-dir", type=Path, default=OBS_DIR)
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args(argv)
    for df, name in ((build_olmo(args.olmo_source), "olmo_emergence.csv"),
                     (build_obs(args.obs_dir), "obs_emergent.csv")):
        path = args.out_dir / name
        df.to_csv(path, index=False, float_format="%.8g")
        print(f"wrote {len(df)} rows, {path.stat().st_size / 1e6:.2f} MB to {path}")


if __name__ == "__main__":
    main()
