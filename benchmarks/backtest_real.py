"""Coverage of jaxfit's extrapolation intervals on real held-out models (docs/backtest.md).

Rolling-origin backtests (`jaxfit.backtest`) of every embedded dataset with a scale axis,
raw intervals (bootstrap; Laplace) next to the calibrated ones (the three calibration
scores, computed from the same raw table), and the ladder pipelines side by side.

    python benchmarks/backtest_real.py [--methods bootstrap laplace] [--n 100]
        [--only chinchilla ladder_step1 ...] [--out benchmarks/results/backtest]

Writes ``<out>/<dataset>_<method>.csv`` (the backtest tables) and prints the summary
tables docs/backtest.md quotes. Takes ~10-25 minutes on 2 CPU cores (mostly compilation:
every cut has its own padded shape).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.backtest import Step, calibrate_intervals, summarize
from jaxfit.models import ladder_step1, sigmoid
from jaxfit.recipes.ladder import PAPER_TASKS, STEP1_OPTIONS, STEP2_OPTIONS, load_olmo_ladder
from jaxfit.recipes.points import step2_points, tail_mean

PROB = 0.9
#: ln C is shifted so that the direct law's input is positive and falls with compute,
#: as a loss does: ``Acc = a / (1 + exp(-k (L - L0))) + b`` with ``L = 60 - ln C``
#: (a sigmoid in log compute, the direct accuracy law of Krajewski et al. 2025 /
#: Owen 2024).
SHIFT = 60.0


def direct_law():
    """Sigmoid in log compute, with start ranges for ``L = 60 - ln C`` (5-20)."""
    law = sigmoid("L")
    params = dict(law.params)
    params["L0"] = dataclasses.replace(params["L0"], init=(3.0, 20.0))
    params["k"] = dataclasses.replace(params["k"], init=(0.1, 5.0))
    return law.replace(params=params, name="direct_sigmoid_logC")


DIRECT = direct_law()


# ----------------------------------------------------------------------------- datasets

def chinchilla(method, n, seed=0):
    df = jf.datasets.load("chinchilla")
    df = df[~df.epoch_excluded_outlier]
    return jf.backtest(jf.models.chinchilla(), df, y="loss", axis="C",
                       cuts=[1.5e21, 6e20, 3e20, 1.2e20], method=method, n=n, seed=seed,
                       calibrate=None, fit_options={"restarts": 64})


def _ladder_points():
    data = load_olmo_ladder()
    data = data[data["task"].isin(PAPER_TASKS)]
    pts = tail_mean(data, 5, ["task_loss", "accuracy"]).rename(
        columns={"tokens": "D", "task_loss": "loss", "accuracy": "acc"})
    pts["N"] = pts["N"].astype(np.float64)
    pts["D"] = pts["D"].astype(np.float64)
    pts["C"] = 6 * pts["N"] * pts["D"]
    lad = data[data["role"] == "ladder"]
    s2 = step2_points(lad, 0.1, 5)
    anchor = pd.DataFrame({"task": list(PAPER_TASKS), "run": "anchor", "N": math.nan,
                           "tokens": math.nan, "L": 0.0, "acc": 1.0})
    s2 = pd.concat([s2, anchor], ignore_index=True)
    s2["N"] = s2["N"].astype(np.float64)
    return pts, s2, lad


def ladder_step1(method, n, seed=0):
    pts, _, _ = _ladder_points()
    return jf.backtest(jf.models.ladder_step1(), pts, y="loss", by="task", axis="N",
                       x={"N": "N", "D": "D"}, cuts=LADDER_CUTS, method=method, n=n, seed=seed, calibrate=None,
                       fit_options=STEP1_OPTIONS)


def ladder_chain(method, n, seed=0):
    pts, s2, _ = _ladder_points()
    law1, law2 = jf.models.ladder_step1(), jf.models.sigmoid()
    chain = jf.compose(law2, law1, into="L")
    steps = [Step(law1, pts, "loss", {"N": "N", "D": "D"}, options=STEP1_OPTIONS),
             Step(law2, s2, "acc", {"L": "L"}, loss="squared", space="linear",
                  options=STEP2_OPTIONS)]
    return jf.backtest(chain, pts, y="acc", by="task", axis="N", x={"N": "N", "D": "D"},
                       steps=steps, cuts=LADDER_CUTS, method=method, n=n, seed=seed, calibrate=None)


def ladder_direct(method, n, seed=0):
    """Accuracy directly from compute (every kept checkpoint, as step 2's points)."""
    pts, _, lad = _ladder_points()
    s = step2_points(lad, 0.1, 5)
    s["L"] = SHIFT - np.log(6 * s["N"].astype(np.float64) * s["tokens"].astype(np.float64))
    s["N"] = s["N"].astype(np.float64)
    ev = pts.assign(L=SHIFT - np.log(pts["C"]))
    steps = [Step(DIRECT, s, "acc", {"L": "L"}, loss="squared", space="linear",
                  options=STEP2_OPTIONS)]
    return jf.backtest(DIRECT, ev, y="acc", by="task", axis="N", x={"L": "L"}, steps=steps,
                       cuts=LADDER_CUTS, method=method, n=n, seed=seed, calibrate=None)


def ladder_flp(method, n, seed=0):
    """FLP (Chen et al. 2024): compute -> C4 loss (``E + A C^-alpha``, the ladder runs'
    final points) -> accuracy (sigmoid of the C4 loss, every kept checkpoint). Stage 1 is
    one law for all tasks; here each task holds the same copy of its points, so every
    task's stage-1 fit is the same fit. The above-chance filter of the paper is omitted."""
    from jaxfit.recipes.flp import STAGE1_OPTIONS, STAGE2_OPTIONS, _laws, load_flp_data

    law1, law2, chain, _ = _laws(True, "sigmoid")
    data = load_flp_data()
    data = data[data["task"].isin(PAPER_TASKS)]
    pts = tail_mean(data.assign(task_loss=data["c4"]), 5, ["task_loss", "accuracy"]).rename(
        columns={"task_loss": "c4", "accuracy": "acc"})
    pts["N"] = pts["N"].astype(np.float64)
    pts["C"] = pts["tokens"].to_numpy(np.float64) * pts["flops_per_token"].to_numpy(np.float64)
    lad = data[data["role"] == "ladder"].assign(task_loss=lambda d: d["c4"])
    s2 = step2_points(lad, 0.1, 5)
    s2["N"] = s2["N"].astype(np.float64)
    steps = [Step(law1, pts, "c4", {"C": "C"}, loss="squared", space="log",
                  options=STAGE1_OPTIONS),
             Step(law2, s2, "acc", {"L": "L"}, loss="squared", space="linear",
                  options=STAGE2_OPTIONS)]
    return jf.backtest(chain, pts, y="acc", by="task", axis="N", x={"C": "C"}, steps=steps,
                       cuts=LADDER_CUTS, method=method, n=n, seed=seed, calibrate=None)


def hitchhiker(method, n, seed=0):
    """ColPret families: hold out each family's largest model (and the next two)."""
    df = jf.datasets.load("hitchhiker")
    df = df[~df["upstream_suspect"] & (df["tokens"] > 0) & (df["loss"] > 0)]
    df = df[df.groupby("model")["tokens"].transform("max") > 0]
    df = df[df["tokens"] >= 0.1 * df.groupby("model")["tokens"].transform("max")]
    fam_models = df.groupby("family")["N"].nunique()
    df = df[df["family"].isin(fam_models.index[fam_models >= 4])]
    # at most 20 checkpoints per model (evenly spaced), so every cut fits in seconds
    df = df.sort_values(["model", "tokens"])
    pos = df.groupby("model").cumcount()
    size = df.groupby("model")["tokens"].transform("size")
    df = df[((pos * 20 // size) != ((pos - 1) * 20 // size)) | (pos == size - 1)]
    final = df[df["tokens"] == df.groupby("model")["tokens"].transform("max")]
    final = final.groupby("model", as_index=False).last()
    import sys

    law = sys.modules["jaxfit.recipes.hitchhiker"].hitchhiker_law()
    steps = [Step(law, df, "loss", {"N": "N", "D": "tokens"}, options={"restarts": 32})]
    return jf.backtest(law, final, y="loss", by="family", axis="N", x={"N": "N", "D": "tokens"},
                       steps=steps, per_task=True, cuts=3, method=method, n=n, seed=seed,
                       calibrate=None)


def olmo_emergence(method, n, seed=0):
    """C4 loss of every OLMo run's final checkpoint (ladder 190M-3.2B, 7B, 13B)."""
    df = jf.datasets.load("olmo_emergence")
    final = df[df["tokens"] == df.groupby("run")["tokens"].transform("max")]
    final = final.groupby("run", as_index=False).last().assign(task="c4")
    return jf.backtest(jf.models.chinchilla(), final, y="c4_loss", by="task", axis="N",
                       x={"N": "N", "D": "tokens"}, cuts=list(np.sort(final["N"].unique())[::-1][2:6]),
                       method=method, n=n, seed=seed, calibrate=None,
                       fit_options={"restarts": 64})


OBS_TASKS = ["parsinlu_qa", "word_unscrambling", "ipa_transliterate", "arithmetic_3ds",
             "arithmetic_3da", "arithmetic_2dm", "arithmetic_2da"]


def obs_scaling(method, n, seed=0):
    """Ruan et al. (2024) BIG-bench emergent tasks: accuracy vs training FLOPs."""
    df = jf.datasets.load("obs_emergent")
    df = df[np.isfinite(df["flops"])]
    long = df.melt(id_vars=["model", "family", "flops"], value_vars=OBS_TASKS,
                   var_name="task", value_name="acc").dropna()
    long["L"] = SHIFT - np.log(long["flops"])
    # the largest cut holds out the 9 largest-compute models (>= 7.3e23 FLOPs)
    values = np.sort(long["flops"].unique())[::-1]
    return jf.backtest(DIRECT, long, y="acc", by="task", axis="flops", x={"L": "L"},
                       cuts=list(values[[9, 13, 19, 25]]), loss="squared", space="linear", method=method, n=n,
                       seed=seed, calibrate=None, fit_options=STEP2_OPTIONS)


#: Pythia's cuts: 2.8B (6.9B and 12B held out), then 1.4B, 1B, 410M.
PYTHIA_CUTS = [2775208960.0, 1414647808.0, 1011781632.0, 405334016.0]
PYTHIA_TASKS = ["lambada_openai", "piqa", "arc_easy", "arc_challenge", "sciq", "winogrande"]


def _pythia():
    df = jf.datasets.load("pythia")
    df = df[df["step"] >= 13000]                   # >= 27B tokens (Hitchhiker: drop < 10B)
    df = df.assign(variant=np.where(df["deduped"], "deduped", "pile"))
    return df


def pythia_ppl(method, n, seed=0):
    """LAMBADA perplexity (log) of the final checkpoints vs (N, tokens), per variant."""
    df = _pythia()
    d = df[(df["task"] == "lambada_openai") & (df["metric"] == "ppl")].copy()
    d["N"] = d["N"].astype(np.float64)
    d["tokens"] = d["tokens"].astype(np.float64)
    final = d[d["step"] == d["step"].max()]
    steps = [Step(jf.models.chinchilla(), d, "value", {"N": "N", "D": "tokens"},
                  options={"restarts": 64})]
    return jf.backtest(jf.models.chinchilla(), final, y="value", by="variant", axis="N",
                       x={"N": "N", "D": "tokens"}, steps=steps, cuts=PYTHIA_CUTS, method=method,
                       n=n, seed=seed, calibrate=None)


def pythia_acc(method, n, seed=0):
    """Zero-shot accuracy of the final checkpoints vs compute, per task and variant."""
    df = _pythia()
    d = df[df["task"].isin(PYTHIA_TASKS) & (df["metric"] == "acc")].copy()
    d["N"] = d["N"].astype(np.float64)
    d["L"] = SHIFT - np.log(d["C"])
    d["series"] = d["task"] + "/" + d["variant"]
    final = d[d["step"] == d["step"].max()]
    steps = [Step(DIRECT, d, "value", {"L": "L"}, loss="squared", space="linear",
                  options=STEP2_OPTIONS)]
    return jf.backtest(DIRECT, final, y="value", by="series", axis="N", x={"L": "L"},
                       steps=steps, cuts=PYTHIA_CUTS, method=method, n=n, seed=seed,
                       calibrate=None)


DATASETS = {"chinchilla": chinchilla, "ladder_step1": ladder_step1,
            "ladder_chain": ladder_chain, "ladder_direct": ladder_direct,
            "ladder_flp": ladder_flp,
            "hitchhiker": hitchhiker, "olmo_emergence": olmo_emergence,
            "obs_scaling": obs_scaling, "pythia_ppl": pythia_ppl, "pythia_acc": pythia_acc}
#: The ladder's cuts: its three largest sizes (1.3B: the paper's setting, 7B-4T and 13B-5T
#: held out; 760M and 370M: the rolling origins that calibrate it).
LADDER_CUTS = [1279395840.0, 758220288.0, 371262464.0]
#: Which space each backtest's intervals live in (the last step's).
SPACE = {"chinchilla": "log", "ladder_step1": "log", "ladder_chain": "linear",
         "ladder_direct": "linear", "ladder_flp": "linear", "hitchhiker": "log", "olmo_emergence": "log",
         "obs_scaling": "linear", "pythia_ppl": "log", "pythia_acc": "linear"}
#: Datasets of the pooled coverage table (the ladder's direct law is a pipeline
#: comparison, not another dataset).
TABLE = ["chinchilla", "ladder_step1", "ladder_chain", "hitchhiker", "olmo_emergence",
         "obs_scaling", "pythia_ppl", "pythia_acc"]


def coverage_table(tables: dict[str, pd.DataFrame], kinds=("ratio", "width", "constant"),
                   last_cut: bool = False) -> pd.DataFrame:
    """One row per dataset (and pooled): raw and calibrated coverage, widths, errors."""
    recs = []
    pooled = {k: [] for k in kinds}
    for name, raw in tables.items():
        rec = {"dataset": name}
        for kind in kinds:
            cal = calibrate_intervals(raw, PROB, kind, SPACE[name.split(":")[0]])
            cal["covered"] = (cal["lower"] <= cal["actual"]) & (cal["actual"] <= cal["upper"])
            s = summarize(cal.assign(dataset=name), PROB, by_task=False, last_cut=last_cut,
                          calibrated_only=True, group="dataset").loc["all"]
            if kind == kinds[0]:
                rec.update(n=int(s["n"]), coverage_raw=s["coverage_raw"],
                           width_raw=s["median_width_raw"], mae=s["mae"],
                           rel_error=s["mean_rel_error"], score_raw=s["interval_score_raw"])
            rec[f"cov_{kind}"] = s["coverage"]
            rec[f"width_{kind}"] = s["median_width"]
            rec[f"score_{kind}"] = s["interval_score"]
            sel = cal[cal["n_calibration"] > 0]
            if last_cut:
                sel = sel[sel["cut_rank"] == 1]
            pooled[kind].append(sel["covered"].to_numpy())
        recs.append(rec)
    out = pd.DataFrame(recs).set_index("dataset")
    allrow = {"n": int(out["n"].sum())}
    for kind in kinds:
        allrow[f"cov_{kind}"] = float(np.concatenate(pooled[kind]).mean())
    allrow["coverage_raw"] = float(np.average(out["coverage_raw"], weights=out["n"]))
    out.loc["pooled"] = pd.Series(allrow)
    return out


def flag_table(tables: dict[str, pd.DataFrame], flag: str = "identified",
               last_cut: bool = False) -> pd.DataFrame:
    """Do the fits' flags foretell worse extrapolations? Per dataset (and pooled), the
    held-out rows whose fits carry ``flag`` (``identified`` or ``converged``) against
    those whose fits do not: rows, raw coverage, ``ratio``-calibrated coverage (rows with
    calibration data), median |relative error| and median raw width relative to the
    prediction. Tables written before a flag existed are skipped."""
    recs = []
    for name, raw in tables.items():
        if flag not in raw:
            continue
        cal = calibrate_intervals(raw, PROB, "ratio", SPACE[name.split(":")[0]])
        cal["covered"] = (cal["lower"] <= cal["actual"]) & (cal["actual"] <= cal["upper"])
        if last_cut:
            cal = cal[cal["cut_rank"] == 1]
        cal = cal.assign(dataset=name)
        recs.append(cal)
    if not recs:
        return pd.DataFrame()
    rows = pd.concat(recs, ignore_index=True)
    rel = ((rows["prediction"] - rows["actual"]) / rows["actual"]).abs()
    width = (rows["raw_upper"] - rows["raw_lower"]) / rows["prediction"].abs()
    rows = rows.assign(rel=rel, width=width, group=np.where(rows[flag].astype(bool),
                                                            flag, f"not {flag}"))
    out = []
    for key, d in list(rows.groupby(["dataset", "group"], sort=False)) + list(
            rows.assign(dataset="pooled").groupby(["dataset", "group"], sort=False)):
        c = d[d["n_calibration"] > 0]
        out.append({"dataset": key[0], "fits": key[1], "n": len(d),
                    "coverage_raw": float(d["raw_covered"].mean()),
                    "n_calibrated": len(c),
                    "coverage_calibrated": float(c["covered"].mean()) if len(c) else math.nan,
                    "median_rel_error": float(d["rel"].median()),
                    "median_rel_width_raw": float(d["width"].median())})
    return pd.DataFrame(out).set_index(["dataset", "fits"])


def markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a GitHub markdown table (index first)."""
    cols = [df.index.name or ""] + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    for idx, row in df.iterrows():
        cells = [str(idx)] + ["" if (isinstance(v, float) and math.isnan(v)) else
                              (f"{v:.{digits}g}" if isinstance(v, float) else str(v))
                              for v in row.to_numpy()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["bootstrap", "laplace"])
    ap.add_argument("--only", nargs="+", default=list(DATASETS))
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/backtest"))
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    for method in a.methods:
        for name in a.only:
            path = a.out / f"{name}_{method}.csv"
            t0 = time.perf_counter()
            try:
                bt = DATASETS[name](method, a.n if method == "bootstrap" else None)
            except Exception as e:                 # report and go on with the others
                print(f"{name} {method}: FAILED {type(e).__name__}: {e}", flush=True)
                continue
            bt.table().to_csv(path, index=False)
            print(f"{name} {method}: {len(bt.table())} rows, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    report(a.out, a.methods)


def report(out: Path, methods):
    pd.set_option("display.width", 200)
    for method in methods:
        tables = {}
        for name in DATASETS:
            p = out / f"{name}_{method}.csv"
            if p.exists():
                # a table's first column is the task column, named as the data named it
                # (Pythia's "series" and "variant"); the summaries below read "task"
                t = pd.read_csv(p)
                tables[name] = t.rename(columns={t.columns[0]: "task"})
        if not tables:
            continue
        main_t = {k: v for k, v in tables.items() if k in TABLE}
        for last in (False, True):
            print(f"\n== {method}: {'largest cut only' if last else 'all cuts with calibration'}")
            table = coverage_table(main_t, last_cut=last)
            print(table.round(3).to_string())
            cols = ["n", "coverage_raw", "cov_ratio", "cov_width", "cov_constant", "width_raw",
                    "width_ratio", "mae", "rel_error", "score_raw", "score_ratio"]
            print(markdown(table[cols]))
        for flag in ("identified", "converged"):
            for last in (False, True):
                ft = flag_table(main_t, flag, last_cut=last)
                if len(ft):
                    print(f"\n== {method}: rows by the fits' `{flag}` flag, "
                          f"{'largest cut only' if last else 'all cuts'}")
                    print(ft.round(4).to_string())
        pipes = {k: v for k, v in tables.items() if k.startswith("ladder_") and k != "ladder_step1"}
        if pipes:
            print(f"\n== {method}: ladder pipelines, 7B-4T and 13B-5T (cut 1.3B), accuracy")
            rows = {}
            for k, v in pipes.items():
                cal = calibrate_intervals(v, PROB, "ratio", SPACE[k])
                cal["covered"] = (cal["lower"] <= cal["actual"]) & (cal["actual"] <= cal["upper"])
                last = cal[cal["cut_rank"] == 1]
                rows[k] = {"n": len(last), "mae_points": 100 * float(np.mean(np.abs(
                    last["prediction"] - last["actual"]))),
                    "max_error_points": 100 * float(np.max(np.abs(
                        last["prediction"] - last["actual"]))),
                    "coverage_raw": float(last["raw_covered"].mean()),
                    "coverage_calibrated": float(last["covered"].mean()),
                    "width_raw_points": 100 * float(np.median(last["raw_upper"] - last["raw_lower"])),
                    "width_calibrated_points": 100 * float(np.median(last["upper"] - last["lower"]))}
                per = last.assign(e=100 * (last["prediction"] - last["actual"]).abs())
                for t, d in per.groupby("task", sort=False):
                    rows[k][f"err_{t}"] = float(d["e"].mean())
            pt = pd.DataFrame(rows).T
            pt.index.name = "pipeline"
            print(markdown(pt, 3))
            print(f"\n== {method}: ladder pipelines per task (all cuts with calibration)")
            for k, v in pipes.items():
                cal = calibrate_intervals(v, PROB, "ratio", SPACE[k])
                cal["covered"] = (cal["lower"] <= cal["actual"]) & (cal["actual"] <= cal["upper"])
                s = summarize(cal, PROB, calibrated_only=True)
                print(k)
                print(s[["n", "coverage_raw", "coverage", "mae", "mean_rel_error",
                         "median_width_raw", "median_width"]].round(3).to_string())


if __name__ == "__main__":
    main()
