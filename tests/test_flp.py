"""FLP (Chen et al. 2024): synthetic recovery and the OLMo-ladder demonstration."""

import dataclasses
import importlib
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from jaxfit.recipes.flp import CHANCE, flp, flp_vs_ladder, load_flp_data, run_flp
from jaxfit.recipes.flp_plot import plot_flp
from jaxfit.warnings import FitWarning

C_C, ALPHA = 1e30, 0.05                       # stage-1 truth: L = (C / C_c)^-alpha
W = {"t_a": (1.40, -0.30, 0.25), "t_b": (1.60, -0.30, 0.50), "t_c": (1.10, -0.20, 0.20)}


def _linear(task, loss):
    w0, w1, ch = W[task]
    return max(w0 + w1 * loss, ch)


def _synthetic(seed=0, law=None, perf=_linear):
    """8 sampling runs (final C from 1e19 to 1e21) x 30 checkpoints on the law, 3 tasks
    whose accuracy is linear in L above chance and noise at chance below, and a target at
    C = 1e22 (10x the largest sampling run)."""
    rng = np.random.default_rng(seed)
    law = law or (lambda c: (c / C_C) ** -ALPHA)
    rows = []
    finals = np.geomspace(1e19, 1e21, 8)
    for i, cf in enumerate(finals):
        for c in cf * np.geomspace(0.02, 1.0, 30):
            loss = law(c) * (1 + 0.002 * rng.standard_normal())
            for t in W:
                acc = perf(t, loss) + 0.003 * rng.standard_normal()
                rows.append(dict(run=f"s{i}", role="ladder", N=int(1e8 * (i + 1)),
                                 tokens=int(c / 1e9), C=c, task=t, c4=loss, accuracy=acc))
    for t in W:
        rows.append(dict(run="big", role="target", N=int(1e10), tokens=int(1e13), C=1e22,
                         task=t, c4=law(1e22), accuracy=perf(t, law(1e22))))
    return pd.DataFrame(rows)


def test_flp_recovers_synthetic_truth():
    df = _synthetic()
    before = df.copy()
    chance = {t: v[2] for t, v in W.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = flp(df, tasks=list(W), chance=chance, last_n=1, target_last_n=1)
    assert not [w for w in caught if "outside [chance, 1]" in str(w.message)]
    pd.testing.assert_frame_equal(df, before)              # the input is never modified
    s1 = res.stage1.loc["all"]
    assert s1["alpha"] == pytest.approx(ALPHA, rel=0.01)
    assert np.log(s1["C_c"]) == pytest.approx(np.log(C_C), rel=0.002)
    for t, (w0, w1, _) in W.items():
        assert res.stage2.loc[t, "w0"] == pytest.approx(w0, abs=0.02)
        assert res.stage2.loc[t, "w1"] == pytest.approx(w1, abs=0.005)
    # The filter dropped the at-chance checkpoints (t_b: the truth is at chance above
    # L = 3.67; near the threshold, selection biases w0 by ~0.01).
    assert res.stage2.loc["t_a", "n_points"] < 240
    # Target 10x beyond the sampling compute: loss within 0.3%, accuracy within 0.5 points.
    p = res.predictions.set_index("task")
    assert np.all(np.abs(p["loss_rel_error"]) < 3e-3)
    assert np.all(p["abs_error"] < 0.5), p["abs_error"]
    # Without the filter the at-chance points bias the line: a worse prediction.
    unfiltered = flp(df, tasks=list(W), chance=-1.0, last_n=1, target_last_n=1)
    u = unfiltered.predictions.set_index("task")["abs_error"]
    assert u["t_a"] > 3.0 and u["t_a"] > 10 * p.loc["t_a", "abs_error"]
    fig = plot_flp(res)
    assert [ax.get_visible() for ax in fig.axes] == [True] * 4 + [False] * 2
    # a user's loss column has no known unit: the axes name it (they said "nats")
    assert res.options["loss_unit"] is None
    assert fig.axes[0].get_ylabel() == fig.axes[1].get_xlabel() == "loss (column c4)"
    # numbers written as text (pd.read_csv(dtype=str)): before, "TypeError: dtype 'str'
    # does not support operation 'mean'", naming no column
    text = flp(df.astype({"accuracy": str, "c4": object}), tasks=list(W), chance=chance,
               last_n=1, target_last_n=1)
    pd.testing.assert_frame_equal(text.predictions, res.predictions)
    # task labels as a categorical with a category not fitted (as from Parquet): before,
    # "1 task(s) ['t_d'] (by='task') have no points with positive weight"
    cat = flp(df.astype({"task": pd.CategoricalDtype([*W, "t_d"]), "run": "category"}),
              tasks=list(W), chance=chance, last_n=1, target_last_n=1)
    pd.testing.assert_frame_equal(cat.predictions, res.predictions)
    # an unrelated text column named ratio (FLP-M's mixing ratio, unused by FLP): before,
    # "TypeError: dtype 'str' does not support operation 'mean'"
    mixed = flp(df.assign(ratio="mix-a"), tasks=list(W), chance=chance, last_n=1,
                target_last_n=1)
    pd.testing.assert_frame_equal(mixed.predictions, res.predictions)


def test_flp_irreducible_stage1_and_sigmoid_stage2():
    E, A, a = 1.5, 300.0, 0.12
    sig = {"t_a": (-0.6, 3.0, 3.0, 0.85), "t_b": (-0.4, 4.0, 3.2, 0.9),
           "t_c": (-0.7, 2.5, 3.4, 0.9)}

    def perf(task, loss):
        sa, k, l0, b = sig[task]
        return sa / (1 + np.exp(-k * (loss - l0))) + b

    df = _synthetic(seed=1, law=lambda c: E + A * c ** -a, perf=perf)
    res = flp(df, tasks=list(W), chance={t: v[2] for t, v in W.items()}, irreducible=True,
              stage2="sigmoid", last_n=1, target_last_n=1,
              stage2_options={"restarts": 8, "refine": 2})
    s1 = res.stage1.loc["all"]
    assert s1["E"] == pytest.approx(E, rel=0.05)
    assert s1["alpha"] == pytest.approx(a, rel=0.08)
    assert np.all(np.abs(res.predictions["loss_rel_error"]) < 5e-3)
    # The sigmoid truth's parameters, and the target (10x the sampling compute) within
    # 1 point.
    for t, (sa, k, l0, b) in sig.items():
        got = res.stage2.loc[t, ["a", "k", "L0", "b"]].to_numpy(np.float64)
        np.testing.assert_allclose(got, [sa, k, l0, b], rtol=0.1, atol=0.03)
    assert np.all(res.predictions["abs_error"] < 1.0), res.predictions["abs_error"]


def test_flp_warns_when_a_prediction_leaves_chance_to_one():
    """Stage 2 is linear in the loss (the paper's form), so a steep task's prediction at
    10x the sampling compute passed 100% accuracy (here 1.07; 111.6% on a user's CSV)
    without a word. It is still returned as computed, with a FitWarning naming it."""
    def steep(task, loss):     # the true accuracy saturates at 0.97; the line does not
        return min(2.2 - 0.45 * loss, 0.97) if task == "t_a" else _linear(task, loss)

    df = _synthetic(perf=steep)
    chance = {t: v[2] for t, v in W.items()}
    with pytest.warns(FitWarning, match=r"flp: 1 of 3 predicted accuracies lie outside "
                      r"\[chance, 1\] \(t_a at big: 1\.0\d\d\).*stage2='sigmoid'"):
        res = flp(df, tasks=list(W), chance=chance, last_n=1, target_last_n=1)
    pred = res.predictions.set_index("task")["pred_acc"]
    assert pred["t_a"] == pytest.approx(2.2 - 0.45 * 1e8 ** 0.05, abs=0.01)   # not clipped


def _small(df=None):
    """`_synthetic` cut to 4 sampling runs, the target, and 5 checkpoints per run (fast)."""
    df = _synthetic() if df is None else df
    keep = df["run"].isin(["s0", "s2", "s4", "s7", "big"])
    return df[keep].groupby(["run", "task"]).tail(5).reset_index(drop=True)


def test_flp_point_fit_warnings_name_their_stage(capsys):
    """FLP's own fits (stage 1, stage 2, the baseline) warned in `jaxfit.fit`'s words
    alone ("1 of 1 task(s) did not converge [0]. ..." three times over), so neither
    `flp` nor `jaxfit flp` said which fit had not converged. Each now starts with its
    stage, keeps its category and the fit's own text, and points at flp's caller."""
    from jaxfit.cli import _recipe_words, _warnings
    from jaxfit.warnings import ConvergenceWarning

    few = {"max_steps": 2, "restarts": 2, "refine": 1}          # unconverged
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = flp(_small(), tasks=list(W), chance={t: v[2] for t, v in W.items()}, last_n=1,
                  target_last_n=1, stage1_options=few, stage2_options=few)
    ours = [w for w in caught if issubclass(w.category, FitWarning)]
    assert [w.category for w in ours] == [ConvergenceWarning] * 3
    text = [str(w.message) for w in ours]
    assert text[0].startswith("flp stage 1 (compute -> loss): 1 of 1 task(s) did not "
                              "converge [0]. max_steps: hit the step cap"), text[0]
    assert text[1].startswith("flp stage 2 (loss -> accuracy): 3 of 3 task(s) did not "
                              "converge ['t_a', 't_b', 't_c']. max_steps:"), text[1]
    assert text[2].startswith("flp baseline (compute -> accuracy): 3 of 3 task(s) did not "
                              "converge ['t_a', 't_b', 't_c']. max_steps:"), text[2]
    assert {w.filename for w in ours} == {__file__}            # flp's caller, not flp.py
    assert not res.fits["stage1"].converged.any()              # the fits are unchanged
    # the command line prints them with the stage (jaxfit flp: `_warnings`)
    _warnings(ours, _recipe_words("flp"))
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1] for line in lines] == [
        " flp stage 1 (compute -> loss)", " flp stage 2 (loss -> accuracy)",
        " flp baseline (compute -> accuracy)"]


def test_flp_vs_ladder_points_flps_warnings_at_its_caller():
    """`flp_vs_ladder` (what ``jaxfit flp`` runs) called `flp` outside its `fit_source`
    context, and a nested context replaced the outer one instead of adding to it: FLP's
    stage warnings (and its prediction-range warning) pointed into jaxfit/recipes/flp.py
    while the ladder's pointed at the caller. Both now point at the caller's line."""
    import sys

    def steep(task, loss):     # as in test_flp_warns_when_a_prediction_leaves_chance_to_one
        return min(2.2 - 0.45 * loss, 0.97) if task == "t_a" else _linear(task, loss)

    few = {"max_steps": 2, "restarts": 2, "refine": 1}          # stage 1 unconverged
    df, chance = _small(_synthetic(perf=steep)), {t: v[2] for t, v in W.items()}
    kw = dict(ladder=False, tasks=list(W), chance=chance, last_n=1, target_last_n=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lines = [sys._getframe().f_lineno + k for k in (1, 2, 3)]
        flp_vs_ladder(df, stage1_options=few, **kw)
        flp_vs_ladder(df, **kw)                                   # converged: the range
        run_flp(df, stage1_options=few, **kw)      # the command line's entry: the same
    ours = [w for w in caught if issubclass(w.category, FitWarning)]
    text = [str(w.message) for w in ours]
    assert [t.split(":")[0] for t in text] == [
        "flp stage 1 (compute -> loss)", "flp baseline (compute -> accuracy)", "flp",
        "flp stage 1 (compute -> loss)", "flp baseline (compute -> accuracy)"], text
    assert text[2].startswith("flp: 1 of 3 predicted accuracies lie outside"), text
    # run_flp's pointed into jaxfit/recipes/flp.py (its call of flp_vs_ladder) before
    assert [(w.filename, w.lineno) for w in ours] == [
        (__file__, lines[0]), (__file__, lines[0]), (__file__, lines[1]),
        (__file__, lines[2]), (__file__, lines[2])], text


def test_flp_passes_other_warnings_through_as_python_emits_them(monkeypatch):
    """A warning that is not jaxfit's, raised inside one of FLP's fits (a numpy
    RuntimeWarning, a library's UserWarning), was caught with the stage's warnings and
    re-emitted by `warnings.warn_explicit` without its module or registry: the filters
    then saw the file's path ("/.../tests/test_flp") instead of the module's name, so a
    user who silences all warnings but those of one module (here this one; e.g.
    ``filterwarnings("default", module="arviz")``) lost them inside FLP, and each
    re-emission counted as new. It now passes through as Python emits it: once, with its
    own category, text and location, unprefixed."""
    module = importlib.import_module("jaxfit.recipes.flp")
    real_fit = module.fit
    lines = []

    def noisy_fit(*args, **kwargs):
        if not lines:                                               # stage 1 only
            lines.extend(noisy_fit.__code__.co_firstlineno + k for k in (3, 4))
            np.log(np.zeros(1))                                     # RuntimeWarning
            warnings.warn("a library's own note", UserWarning)      # e.g. arviz's
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(module, "fit", noisy_fit)
    few = {"max_steps": 2, "restarts": 2, "refine": 1}
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn"):
        warnings.simplefilter("ignore")
        warnings.filterwarnings("default", module=re.escape(__name__))
        flp(_small(), tasks=list(W), chance={t: v[2] for t, v in W.items()}, last_n=1,
            target_last_n=1, stage1_options=few, stage2_options=few)
    other = [w for w in caught if not issubclass(w.category, FitWarning)]
    assert [(w.category, str(w.message), w.filename, w.lineno) for w in other] == [
        (RuntimeWarning, "divide by zero encountered in log", __file__, lines[0]),
        (UserWarning, "a library's own note", __file__, lines[1])]


def test_flp_bad_input(monkeypatch):
    df = _synthetic()
    with pytest.raises(ValueError, match="missing column"):
        flp(df.drop(columns="c4"), tasks=list(W), chance=0.2)
    with pytest.raises(ValueError, match=r"no chance level.*pass chance=\{task: level\} \("):
        flp(df, tasks=list(W))             # said "chance={task: level}}"
    # a task with too few checkpoints above chance, refused before any fit (before: after
    # the stage-1 fit)
    module = importlib.import_module("jaxfit.recipes.flp")
    with monkeypatch.context() as m:
        m.setattr(module, "fit", lambda *a, **k: pytest.fail("a fit ran"))
        with pytest.raises(ValueError, match="stage 2 needs >= 3"):
            flp(df, tasks=["t_a"], chance=0.9)
    # the ladder comparison needs task_loss: said so only after the FLP fit, as a ladder
    # error that did not mention --no-ladder
    with pytest.raises(ValueError, match=r"^flp: the comparison with the two-step ladder "
                       r"needs a 'task_loss' column.*--no-ladder"):
        flp_vs_ladder(df, tasks=list(W), chance=0.2)
    # a missing task loss: before, found by the ladder after FLP's fits ("ladder: 1 ladder
    # rows have missing or infinite values"), without the --no-ladder way out
    with pytest.raises(ValueError, match=r"^flp: 1 ladder-comparison rows have missing or "
                       r"infinite values in \['task_loss'\], e\.g\. at index \[9\]; .*"
                       r"pass ladder=False \(command line: --no-ladder\)"):
        flp_vs_ladder(df.assign(task_loss=np.where(df.index == 9, np.nan, 1.0)),
                      tasks=list(W), chance=0.2)
    # ... and a ladder of 4 sampling runs, enough for FLP, too few for the ladder's step 1
    four = df[df["run"].isin(["s0", "s2", "s4", "s6", "big"])].assign(task_loss=1.0)
    with pytest.raises(ValueError, match=r"^flp: the comparison with the two-step "
                       r"ladder's step 1 fits 5 parameters \['A', 'B', 'alpha', 'beta', 'E'\] "
                       r"to one point per sampling run, so it needs at least 5 sampling runs; "
                       r"got 4: \['s0', 's2', 's4', 's6'\]\. Add sampling runs \(more model "
                       r"sizes or token multiples, role='ladder'\), or pass ladder=False "
                       r"\(command line: --no-ladder\) to run FLP alone\.$"):
        flp_vs_ladder(four, tasks=list(W), chance=0.2)
    # below FLP's own floor (3 runs, either stage-1 law), FLP's message comes first
    two = df[df["run"].isin(["s0", "s7", "big"])].assign(task_loss=1.0)
    for irreducible, n in ((False, 2), (True, 3)):
        with pytest.raises(ValueError, match=rf"^flp: stage 1 \(compute -> loss\) fits {n} "
                           r"parameters .* needs at least 3 sampling runs.*; got 2: "):
            flp_vs_ladder(two, tasks=list(W), chance=0.2, irreducible=irreducible)
    with pytest.raises(ValueError, match="stage2="):
        flp(df, tasks=["t_a"], chance=0.2, stage2="cubic")
    # accuracy in percent: before, every checkpoint passed the chance filter and the
    # predictions came out 100x too large, without a word
    with pytest.raises(ValueError, match=r"flp: data\['accuracy'\] must be a fraction.*"
                       r"looks like percent"):
        flp(df.assign(accuracy=100 * df["accuracy"]), tasks=list(W), chance=0.2)
    # no run labelled "target": before, "zero-size array to reduction operation maximum"
    with pytest.raises(ValueError, match=r"flp: no run has role 'target' in data\['role'\] "
                                         r"\(its roles: \['ladder', 'test'\]\)"):
        flp(df.assign(role=df["role"].replace({"target": "test"})), tasks=list(W), chance=0.2)
    # before: numpy's "could not convert string to float: 'oops'", naming no column; a
    # zero token count went unchecked (C / tokens)
    oops = df.astype({"tokens": object})
    oops.loc[5, "tokens"] = "oops"
    with pytest.raises(ValueError, match=r"flp: 1 sampling rows have non-numeric values; "
                                         r"column 'tokens' holds e\.g\. 'oops' at index 5"):
        flp(oops, tasks=list(W), chance=0.2)
    with pytest.raises(ValueError, match=r"flp: column 'tokens' must be > 0.*index \[7\]"):
        flp(df.assign(tokens=np.where(df.index == 7, 0, df["tokens"])), tasks=list(W),
            chance=0.2)


def test_flp_sampling_runs_follow_the_stage_1_law_and_the_ladders_rule(monkeypatch):
    """FLP's run count is the ladder's rule (`points.check_run_count`: at least as many
    runs as the law fitted to one point per run has parameters), not its own fixed 3:
    irreducible=True (3 parameters) refuses 2 runs, before any fit, naming the law's
    parameters; the default 2-parameter stage 1 keeps FLP's floor of 3 runs (a residual
    degree of freedom). A run with no rows of a task names the argument to check
    (``sampling_runs``; before, "the runs")."""
    df = _synthetic()
    module = importlib.import_module("jaxfit.recipes.flp")
    monkeypatch.setattr(module, "fit", lambda *a, **k: pytest.fail("a fit ran"))
    with pytest.raises(ValueError) as e:
        flp(df, tasks=list(W), chance=0.2, sampling_runs=["s0", "s7"], irreducible=True)
    assert str(e.value) == (
        "flp: stage 1 (compute -> loss) fits 3 parameters ['A', 'alpha', 'E'] to one point "
        "per sampling run, so it needs at least 3 sampling runs; got 2: ['s0', 's7']. Add "
        "sampling runs (more model sizes or token multiples, role='ladder'), or name more "
        "of the data's runs (sampling_runs=[...]).")
    with pytest.raises(ValueError, match=r"^flp: stage 1 \(compute -> loss\) fits 2 parameters "
                       r"\['C_c', 'alpha'\] to one point per sampling run, and flp needs at least 3 "
                       r"sampling runs \(a residual degree of freedom\); got 2: \['s0', 's7'\]"):
        flp(df, tasks=list(W), chance=0.2, sampling_runs=["s0", "s7"])
    gap = df[~((df["run"] == "s3") & (df["task"] == "t_b"))]
    with pytest.raises(ValueError, match=r"^flp: 1 sampling run/task pairs have no rows, "
                       r"e\.g\. \[\('s3', 't_b'\)\]; check `sampling_runs`/`targets` and "
                       r"`tasks` against data\['run'\] and data\['task'\]\.$"):
        flp(gap, tasks=list(W), chance=0.2)


def test_flp_on_olmo_ladder_next_to_two_step_ladder():
    """C = tokens x FLOPs/token, L = C4 validation loss, 16 ladder runs -> 7B-4T, 13B-5T.

    Measured here: stage 1 alpha = 0.0423; C4 loss under-predicted by 5.8% (7B) and 7.4%
    (13B); FLP's mean absolute error 4.09 (7B) and 4.38 (13B) points over the 8 tasks, vs
    3.82 and 4.17 for the two-step ladder (task loss from N, D; sigmoid); the compute-only
    power-law baseline 14.3 and 18.2 points (it overshoots 100% on HellaSwag).
    """
    frames = run_flp()                      # the command-line entry point: flp + ladder
    assert frames["stage1"].loc["all", "alpha"] == pytest.approx(0.04228, abs=2e-4)
    # Stage 1 is least squares in log space on (C / C_c)^-alpha, a line in (log C, log L):
    # alpha is minus numpy's least-squares slope over the sampling points, and the
    # targets' predicted losses are the line's (independent of the stored 0.04228)
    s1 = frames["stage1_data"]
    pts, tgt = s1[s1["kind"] == "sampling"], s1[s1["kind"] == "target"]
    slope, icpt = np.polyfit(np.log(pts["C"].to_numpy(float)),
                             np.log(pts["loss"].to_numpy(float)), 1)
    assert frames["stage1"].loc["all", "alpha"] == pytest.approx(-slope, rel=1e-6)
    np.testing.assert_allclose(tgt["fitted"], np.exp(icpt + slope * np.log(tgt["C"])),
                               rtol=1e-6)
    p = frames["predictions"]
    assert list(p["target"].unique()) == ["7B-4T", "13B-5T"]
    lr = p.groupby("target")["loss_rel_error"].first()
    assert lr["7B-4T"] == pytest.approx(-0.058, abs=0.002)
    assert lr["13B-5T"] == pytest.approx(-0.074, abs=0.002)
    assert (p["actual_acc"].round(3).tolist()[:2] == [0.490, 0.813])
    # The paper's measure, relative error (its margins: 5% at 7B, 10% at 13B, on its own
    # models): mean |pred / actual - 1| over the 8 tasks, as docs/recipes/flp.md quotes.
    rel = 100 * p["rel_error"].abs().groupby(p["target"]).mean()
    assert rel["7B-4T"] == pytest.approx(6.87, abs=0.05)
    assert rel["13B-5T"] == pytest.approx(6.99, abs=0.05)
    table = frames["comparison"]
    mean = table.groupby("target")[["flp_abs_error", "ladder_abs_error",
                                    "baseline_abs_error"]].mean()
    assert mean.loc["7B-4T", "flp_abs_error"] == pytest.approx(4.09, abs=0.05)
    assert mean.loc["13B-5T", "flp_abs_error"] == pytest.approx(4.38, abs=0.05)
    assert mean.loc["7B-4T", "ladder_abs_error"] == pytest.approx(3.82, abs=0.1)
    assert mean.loc["13B-5T", "ladder_abs_error"] == pytest.approx(4.17, abs=0.1)
    # FLP beats the compute-only baseline (the paper's claim) by a wide margin here.
    assert np.all(mean["baseline_abs_error"] > 3 * mean["flp_abs_error"])
    # Per-task: FLP within 10 points everywhere, within 2 points on PIQA and ARC-Easy.
    t = table.set_index(["task", "target"])
    assert t["flp_abs_error"].max() < 10.0
    assert t.loc[["piqa_val", "arc_easy_test"], "flp_abs_error"].max() < 2.0
    assert set(CHANCE) >= set(p["task"])
    fig = plot_flp(frames)                  # from the frames alone: stage 1 + 8 tasks
    assert sum(ax.get_visible() for ax in fig.axes) == 9
    # the embedded ladder's C4 loss is documented in nats (load_flp_data)
    assert fig.axes[0].get_ylabel() == fig.axes[1].get_xlabel() == "C4 loss (nats)"
    # another loss column of the embedded data: task_loss is in bits per byte (before,
    # every loss= column of the default data was labelled nats); the data passed as a
    # frame keep their recorded unit (before: None)
    assert flp(loss="task_loss").options["loss_unit"] is None
    assert flp(load_flp_data()).options["loss_unit"] == "nats"


def _built_flp_and_ladder():
    """An `FLPResult` and a `LadderResult` built by hand (nothing fitted), for
    `flp_vs_ladder` with `flp` and `ladder` monkeypatched to return them."""
    from built_results import built_flp

    from jaxfit.recipes.ladder import LadderResult

    pred, empty, flp_res = built_flp({})
    lad = LadderResult(predictions=pred, step1=empty, step2=empty, variance=empty,
                       variance_correlation=empty, step1_data=empty, step2_data=empty,
                       fits={}, options={"ladder_runs": ["a"],
                                         "step1_options": {"max_steps": 5000}})
    return flp_res, lad


def test_flp_vs_ladder_json_options_hold_the_ladders_settings(monkeypatch):
    """`FLPResult.to_json()` promises ``options`` = every setting used (schema
    jaxfit.recipe_result/1), and its ``comparison`` table holds the ladder's predictions,
    but `flp_vs_ladder` kept FLP's options only: the ladder's settings (e.g. its
    ``step1_options``) were lost from the document. They are ``options["ladder"]``."""
    import json

    flp_module = importlib.import_module("jaxfit.recipes.flp")
    ladder_module = importlib.import_module("jaxfit.recipes.ladder")
    flp_res, lad = _built_flp_and_ladder()
    monkeypatch.setattr(flp_module, "flp", lambda data, **kw: flp_res)
    monkeypatch.setattr(ladder_module, "ladder", lambda data, **kw: lad)
    res = flp_vs_ladder(step1_options={"max_steps": 5000})
    doc = json.loads(res.to_json())
    assert doc["options"]["ladder"] == {"ladder_runs": ["a"],
                                        "step1_options": {"max_steps": 5000}}
    assert doc["options"]["tasks"] == ["piqa_val"]          # FLP's own are unchanged
    assert "comparison" in doc["tables"]
    assert flp_res.options == {"tasks": ["piqa_val"], "sampling_runs": ["a"],
                               "targets": ["7B-4T"], "target_last_n": 5}   # not modified
    assert "ladder" not in flp_vs_ladder(ladder=False).options


def test_flp_vs_ladder_repr_leaves_the_ladder_out(monkeypatch):
    """``FLPResult.ladder`` (new) entered the dataclass repr with every table of the
    ladder: on the OLMo ladder ``repr(flp_vs_ladder())`` grew from 8.6k to 17k characters.
    The repr is now `RecipeResult`'s, one line: the ladder's step tables are named with
    their shapes, not printed."""
    flp_module = importlib.import_module("jaxfit.recipes.flp")
    ladder_module = importlib.import_module("jaxfit.recipes.ladder")
    flp_res, lad = _built_flp_and_ladder()
    monkeypatch.setattr(flp_module, "flp", lambda data, **kw: flp_res)
    monkeypatch.setattr(ladder_module, "ladder", lambda data, **kw: lad)
    res = flp_vs_ladder()
    assert res.ladder is lad
    text = repr(res)
    assert "LadderResult" not in text and "ladder=" not in text and len(text) < 1000
    assert "comparison 1x" in text and "ladder_step1 0x0" in text


def test_flp_vs_ladder_result_pickles(monkeypatch):
    """A `flp_vs_ladder` result could not be pickled: its fits hold FLP's stage-1 law,
    whose fn was a closure (``Can't pickle local object 'kaplan.<locals>.fn'``), and every
    law's parameters a read-only mapping. Its tables, its ladder and its laws' values now
    survive a round trip (hand-built: FLP's own laws, nothing fitted)."""
    import pickle

    import jaxfit as jf

    flp_module = importlib.import_module("jaxfit.recipes.flp")
    ladder_module = importlib.import_module("jaxfit.recipes.ladder")
    law1, _, chain, _ = flp_module._laws(False, "sigmoid")          # kaplan, its chain
    fits = {}
    for name, law in (("stage1", law1), ("chain", chain)):
        k = len(law.param_names)
        values = [[{"C_c": 1e30, "a": -0.5}.get(n, 0.5) for n in law.param_names]]
        fits[name] = jf.FitResult(law=law, tasks=pd.Index(["piqa_val"]),
                                  values=np.asarray(values),
                                  objective=np.zeros(1), status=np.zeros(1, int),
                                  steps=np.ones(1), grad_norm=np.zeros(1),
                                  at_bound=np.zeros((1, k), bool), identified=np.ones(1, bool))
    flp_res, lad = _built_flp_and_ladder()
    flp_res = dataclasses.replace(flp_res, fits=fits)
    monkeypatch.setattr(flp_module, "flp", lambda data, **kw: flp_res)
    monkeypatch.setattr(ladder_module, "ladder", lambda data, **kw: lad)
    res = flp_vs_ladder()
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_frame_equal(back.table(), res.table())
    pd.testing.assert_frame_equal(back.comparison, res.comparison)
    pd.testing.assert_frame_equal(back.ladder.table(), res.ladder.table())
    C = pd.DataFrame({"C": [1e20, 1e22]})
    for name in ("stage1", "chain"):
        got, want = back.fits[name].predict(C), res.fits[name].predict(C)
        assert np.isfinite(want["prediction"]).all()
        pd.testing.assert_frame_equal(got, want)


def _recipe_results(rows=40):
    """An `FLPResult` (with its ladder) and a `LadderResult` built by hand with ``rows``
    predictions, the ladder's step 1 unconverged in one of two tasks (nothing fitted)."""
    import jaxfit as jf
    from jaxfit.recipes.points import param_frame

    flp_res, lad = _built_flp_and_ladder()
    law = jf.models.chinchilla()
    k = len(law.param_names)
    fit = jf.FitResult(law=law, tasks=pd.Index(["t0", "t1"]), values=np.ones((2, k)),
                       objective=np.zeros(2), status=np.asarray([0, 1]),
                       steps=np.full(2, 10), grad_norm=np.zeros(2),
                       at_bound=np.zeros((2, k), bool), identified=np.ones(2, bool))
    pred = pd.concat([flp_res.predictions] * rows, ignore_index=True).assign(
        target=[f"target{i % 4}" for i in range(rows)])
    lad = dataclasses.replace(lad, predictions=pred, step1=param_frame(fit, ["t0", "t1"]),
                              fits={"step1": fit})
    flp_res = dataclasses.replace(flp_res, predictions=pred, stage2_data=pred, ladder=lad,
                                  comparison=pred.assign(ladder_abs_error=2.0))
    return flp_res, lad


def test_recipe_results_have_a_short_repr_and_a_notebook_display():
    """A recipe result's repr was the dataclass's, every table printed (``repr(
    flp_vs_ladder())`` ~8,600 characters on the OLMo ladder), and it had no notebook
    display. Now every recipe result (the dataclass subclasses of `RecipeResult` are
    declared ``repr=False``) has a one-line repr, under 1,000 characters: the recipe, its
    tables with their shapes, the unconverged point fits and where to look next; and a
    `_repr_html_` (that line and the summary)."""
    from jaxfit.recipes.emergence import EmergenceResult
    from jaxfit.recipes.flp import FLPResult
    from jaxfit.recipes.flp_m import FLPMResult
    from jaxfit.recipes.hitchhiker import HitchhikerResult
    from jaxfit.recipes.ladder import LadderResult
    from jaxfit.recipes.protocol import RecipeResult

    for cls in (FLPResult, LadderResult, FLPMResult, HitchhikerResult, EmergenceResult):
        assert cls.__repr__ is RecipeResult.__repr__, cls      # not the dataclass's
    flp_res, lad = _recipe_results()
    for res, bad in ((flp_res, 1), (lad, 1), (dataclasses.replace(lad, fits={}), 0)):
        text = repr(res)
        assert len(text) < 1000, len(text)
        assert text.startswith(f"{type(res).__name__}(recipe={res.recipe!r}; tables: ")
        for name, frame in res.frames().items():
            assert f"{name} {frame.shape[0]}x{frame.shape[1]}" in text, name
        assert (f"{bad} unconverged point fit(s)" in text) == bool(bad), text
        assert ("every point fit converged" in text) == (not bad), text
        assert text.endswith("see .summary(), .table(), .frames())")
        page = res._repr_html_()
        assert page.startswith(f"<p><b>{type(res).__name__}: recipe {res.recipe}</b>")
        assert "<table" in page and "target3" in page          # the summary, per target
    assert "predictions 40x12" in repr(flp_res) and "ladder_step1 2x" in repr(flp_res)
    broken = dataclasses.replace(lad, predictions=pd.DataFrame({"task": ["t0"]}))
    assert "tables: unavailable (AttributeError: " in repr(broken)   # no exception
    assert "<p>summary() unavailable: AttributeError: " in broken._repr_html_()


def test_flp_vs_ladder_refuses_a_non_positive_size_before_flps_fits(monkeypatch):
    """N <= 0 in a sampling run: FLP reads N only as a number, so before, FLP's fits ran and
    the ladder comparison then failed as "ladder: column 'N' must be > 0, but 1 ladder rows
    are not", without the --no-ladder way out."""
    df = _synthetic().assign(task_loss=1.0)
    df.loc[9, "N"] = -1
    module = importlib.import_module("jaxfit.recipes.flp")
    with monkeypatch.context() as m:
        m.setattr(module, "fit", lambda *a, **k: pytest.fail("a fit ran"))
        with pytest.raises(ValueError, match=r"^flp: column 'N' must be > 0, but 1 "
                           r"ladder-comparison rows are not, e\.g\. -1 at index \[9\]; .*"
                           r"reads N \(under a log\); pass ladder=False \(command line: "
                           r"--no-ladder\) to run FLP alone\.$"):
            flp_vs_ladder(df, tasks=list(W), chance=0.2)
    # text in N is FLP's own error (it cannot run without the ladder either)
    text = df.astype({"N": object})
    text.loc[9, "N"] = "100M"
    with pytest.raises(ValueError, match=r"^flp: 1 sampling rows have non-numeric values; "
                       r"column 'N' holds e\.g\. '100M' at index 9"):
        flp_vs_ladder(text, tasks=list(W), chance=0.2)
