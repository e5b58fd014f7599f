"""Emergence laws from finetuning (Snell et al. 2024): the law, synthetic recovery, real data."""

import warnings

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pandas as pd
import pytest

from jaxfit.models.emergence import emergence as emergence_law
from jaxfit.models.emergence import emergence_shift, relu_elbow
import jaxfit as jf
from jaxfit.recipes.emergence import (emergence, fewshot_elbow, load_obs_emergent,
                                      load_olmo_emergence, obs_demo, olmo_demo, run_emergence)
from jaxfit.recipes.emergence_plot import plot_emergence
from jaxfit.warnings import IdentifiabilityWarning

matplotlib.use("Agg")

TRUTH = dict(k=0.02, alpha=1.5, C=1.9, A=0.6, B=0.25)
AMOUNTS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
D0 = 5.0


def _synthetic(form="log_power", truth=TRUTH, noise=0.01, seed=0):
    """Checkpoints at 21 losses in [1.8, 2.8] finetuned on 8 data amounts; an exact ReLU
    (temperature 0) plus Gaussian noise. Emergence E(D) runs from 2.05 (D = 50) to 2.46
    (D = 1e4), so every subset has checkpoints on both sides of it."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame([(loss, d) for d in AMOUNTS for loss in np.linspace(1.8, 2.8, 21)],
                      columns=["loss", "n_train"])
    law = emergence_law(form, temperature=0.0)
    mean = law(truth, {"L": df["loss"].to_numpy(), "D": df["n_train"].to_numpy()})
    df["accuracy"] = np.asarray(mean) + noise * rng.standard_normal(len(df))
    return df


def _truth_point(form="log_power", truth=TRUTH, D=D0):
    return float(emergence_shift(form)(truth, {"D": D}))


@pytest.fixture(scope="module")
def synthetic_result():
    df = _synthetic()
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = emergence(df, y="accuracy", loss="loss", D="n_train", D0=D0, bootstrap=100,
                        sample_options=dict(chains=2, warmup=300, samples=300))
    pd.testing.assert_frame_equal(df, before)          # the user's frame is untouched
    return res


# ----------------------------------------------------------------------------- the law

def test_law_matches_formulas():
    p = dict(k=0.1, alpha=1.5, C=2.0, A=0.5, B=0.25)
    L = np.array([1.5, 2.0, 2.2, 2.6, 3.0])
    D = np.array([10.0, 100.0, 1e3, 1e4, 1e5])
    E_log = 0.1 * np.log(D) ** 1.5 + 2.0
    relu = 0.5 * np.maximum(E_log - L, 0) + 0.25
    np.testing.assert_allclose(emergence_law(temperature=0.0)(p, {"L": L, "D": D}), relu,
                               rtol=1e-12)
    # softplus surrogate: within A tau log 2 of the ReLU everywhere, equal far from the elbow
    tau = 0.02
    soft = np.asarray(emergence_law(temperature=tau)(p, {"L": L, "D": D}))
    assert np.all(np.abs(soft - relu) <= 0.5 * tau * np.log(2) + 1e-12)
    np.testing.assert_allclose(emergence_shift("power")(dict(k=0.1, alpha=0.5, C=2.0),
                                                        {"D": D}), 0.1 * D ** 0.5 + 2.0)
    # increasing ramp (e.g. log compute) and the few-shot base shift
    up = relu_elbow("x", temperature=0.0, increasing=True)
    np.testing.assert_allclose(up(dict(A=2.0, B=0.1, E=22.0), {"x": np.array([21.0, 23.0])}),
                               [0.1, 2.1])
    law = emergence_law(temperature=0.0, fewshot_shift=True)
    assert law.inputs == ("D", "L", "fewshot")
    y = law({**p, "Delta": -0.05}, {"L": L, "D": D, "fewshot": np.array([0, 1, 0, 1, 0.0])})
    np.testing.assert_allclose(y, relu - 0.05 * np.array([0, 1, 0, 1, 0]))


def test_log_shift_is_finite_on_padding():
    """make_batch pads inputs with 1.0: (log 1)^alpha must not poison gradients with NaN,
    and the gradient must stay the law's: before, only finiteness was checked, which a
    clamp that zeroed or distorted the gradient would pass. Here L lies below the elbow
    at both rows (the ramp is active), so every parameter moves the sum."""
    law = emergence_law()
    x = {"L": jnp.array([2.0, 2.0]), "D": jnp.array([1.0, 100.0])}
    u = {n: jnp.asarray(v, jnp.float64)
         for n, v in {"k": 0.1, "alpha": 1.5, "C": 2.5, "A": 0.6, "B": 0.25}.items()}

    def total(q):
        return jnp.sum(law(q, x))

    g = jax.grad(total)(u)
    h = 1e-6
    for n in law.param_names:                       # central differences: the same sum
        fd = (float(total({**u, n: u[n] + h})) - float(total({**u, n: u[n] - h}))) / (2 * h)
        assert float(g[n]) == pytest.approx(fd, rel=1e-7), (n, float(g[n]), fd)
    # the padding row alone: E(1) = C, so k and alpha do not move it (d/dalpha of
    # 0^alpha is 0 for alpha > 0, where the unguarded form gives 0 * log 0 = NaN; the
    # guard's floor on log D leaves ~1e-18)
    pad = jax.grad(lambda q: jnp.sum(law(q, {"L": x["L"][:1], "D": x["D"][:1]})))(u)
    assert abs(float(pad["k"])) < 1e-12 and abs(float(pad["alpha"])) < 1e-12, pad
    assert float(pad["B"]) == pytest.approx(1.0, rel=1e-12)


# ------------------------------------------------------------------ synthetic recovery

def test_synthetic_few_shot_point_within_criterion(synthetic_result):
    truth = _truth_point()                                              # 1.9408
    row = synthetic_result.emergence.loc[0]
    assert row["D0"] == D0
    # the paper's success criterion: |MLE - truth| <= 0.1 nats (measured: 0.007)
    assert abs(row["mle"] - truth) <= 0.1
    assert abs(row["mle"] - truth) <= 0.03
    # 90% intervals (5%-95%) of the posterior and of the bootstrap cover the truth
    assert row["posterior_5"] <= truth <= row["posterior_95"]
    assert row["bootstrap_5"] <= truth <= row["bootstrap_95"]
    assert row["posterior_5"] < row["posterior_50"] < row["posterior_95"]
    assert row["posterior_95"] - row["posterior_5"] < 0.15
    assert row["r_hat"] < 1.1 and row["bootstrap_converged"] >= 0.99
    fit = synthetic_result.params.loc[0]
    assert fit["status"] == "converged"
    assert abs(fit["A"] - TRUTH["A"]) < 0.03 and abs(fit["B"] - TRUTH["B"]) < 0.01


def test_elbows_law_is_float64_without_x64():
    """The elbows table's law E(D) was evaluated outside x64: with JAX's default float32 its
    value at D0 (1.9338417) differed from the table's emergence point (1.9338416887244467)
    that --json and --out print side by side. Both float64 now, whatever the setting."""
    with jax.enable_x64(False):
        res = emergence(_synthetic(), D="n_train", D0=D0, posterior=False, bootstrap=0,
                        rise_draws=0)
    el = res.elbows.set_index("D")
    assert el["law"].dtype == np.float64
    assert el.loc[D0, "law"] == res.emergence.loc[0, "mle"]


def test_synthetic_elbows_follow_the_law(synthetic_result):
    el = synthetic_result.elbows.set_index("D")
    assert list(el.index) == [D0, *map(float, AMOUNTS)]
    truth = np.array([_truth_point(D=d) for d in AMOUNTS])
    # per-subset elbows (step 1) and the joint law E(D) both track the true shift
    np.testing.assert_allclose(el.loc[list(map(float, AMOUNTS)), "elbow"], truth, atol=0.04)
    np.testing.assert_allclose(el.loc[list(map(float, AMOUNTS)), "law"], truth, atol=0.02)
    assert np.isnan(el.loc[D0, "elbow"]) and el.loc[D0, "law"] == pytest.approx(
        synthetic_result.emergence.loc[0, "mle"])
    pts = synthetic_result.points
    assert np.sqrt(np.mean((pts["fitted"] - pts["y"]) ** 2)) < 0.012   # noise sd 0.01
    curves = synthetic_result.curves
    assert {"L", "D", "mean", "lower", "upper"} <= set(curves.columns)
    assert (curves["lower"] <= curves["upper"]).all()
    # the drawn curves are the true law at each amount up to the fit's error and the
    # softplus's rounding of the elbow (A tau log 2 = 0.008; before: only lower <= upper;
    # measured: max 0.0092, median 0.0006; a curve of another amount is off by 0.04-0.24)
    c = curves[curves["D"].isin(list(map(float, AMOUNTS)))]
    true = np.asarray(emergence_law(temperature=0.0)(TRUTH, {"L": c["L"].to_numpy(),
                                                             "D": c["D"].to_numpy()}))
    err = np.abs(c["mean"].to_numpy() - true)
    assert len(c) == 8 * 120 and err.max() < 0.015 and np.median(err) < 0.002, err


def test_power_law_ablation_recovers_its_own_truth_and_flags_a_flat_task():
    """The power-form ablation recovers its truth. Beside it, a task whose accuracy is
    flat at every finetuning amount. Before, the joint recipe said only that the task was
    poorly identified and stopped at the step cap, and reported E(D0) = 1.31 nats, below
    every loss in the data (6 such tasks: E(D0) 0.75-1.31, each "poorly identified", 2 at
    the cap), never that nothing rises. Now each amount's curve gets `rise_test`, and the
    task, none of whose 8 curves rises, an IdentifiabilityWarning saying so; each of the
    rising task's 8 curves rejects a flat curve."""
    truth = dict(k=0.05, alpha=0.3, C=1.95, A=0.6, B=0.25)
    df = _synthetic("power", truth, seed=1).assign(task="rises")
    flat = df.assign(task="flat", accuracy=0.25 + 0.01 * np.random.default_rng(5)
                     .standard_normal(len(df)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = emergence(pd.concat([df, flat]), y="accuracy", loss="loss", D="n_train",
                        by="task", form="power", posterior=False, bootstrap=0)
    assert abs(res.emergence.loc["rises", "mle"] - _truth_point("power", truth)) <= 0.1
    assert "posterior_5" not in res.emergence
    said = [str(w.message) for w in caught if w.category is IdentifiabilityWarning]
    assert any(m.startswith("emergence: 1 task(s) ['flat'] show no rise") for m in said), said
    p = res.emergence["rise_p"]
    assert p["flat"] > 0.05 and p["rises"] == 1 / 201, p
    per = res.elbows.dropna(subset=["rise_p"]).groupby("task")["rise_p"]
    assert (per.size() == 8).all() and per.max()["rises"] == 1 / 201, res.elbows


def test_joint_rise_test_is_not_capped_by_the_number_of_amounts():
    """With 12 finetuning amounts whose every curve rises, the task's rise_p was the
    Bonferroni bound 12 x 1/201 = 0.06 > 0.05 (the smallest 200 draws allow), and
    `emergence` warned that the task shows no rise. The joint test sums the curves'
    likelihood ratios: 1/201 for the rising task, still > 0.05 for a flat one."""
    from jaxfit.recipes.emergence import _curve_rise

    rng = np.random.default_rng(3)
    L = np.linspace(1.8, 2.8, 21)
    amounts = np.geomspace(50, 1e4, 12)
    rows = [pd.DataFrame({"task": t, "D": d, "L": L, "y": 0.25 + (0.6 if t == "rises" else 0.0)
                          * np.maximum(2.1 + 0.02 * np.log(d) - L, 0)
                          + 0.01 * rng.standard_normal(21)})
            for t in ("flat", "rises") for d in amounts]
    tuned = pd.concat(rows, ignore_index=True)
    elbows = tuned[["task", "D"]].drop_duplicates().reset_index(drop=True)
    column, per_task = _curve_rise(tuned, elbows, relu_elbow("L"), pd.Index(["flat", "rises"]),
                                   200, 0)
    assert (column[elbows["task"] == "rises"] == 1 / 201).all()
    assert per_task[1] == 1 / 201 and per_task[0] > 0.05, per_task


def test_fewshot_rows_with_base_shift():
    # few-shot rows (all before emergence, as when predicting) at their own base B + Delta
    df = _synthetic()
    rng = np.random.default_rng(2)
    L = np.linspace(2.0, 2.8, 17)
    few = pd.DataFrame({"loss": L, "n_train": np.nan, "fewshot": 1,
                        "accuracy": 0.25 - 0.03 + 0.01 * rng.standard_normal(L.size)})
    data = pd.concat([df.assign(fewshot=0), few], ignore_index=True)
    res = emergence(data, D="n_train", fewshot="fewshot", fewshot_shift=True, D0=D0,
                    posterior=False, bootstrap=0)
    assert abs(res.emergence.loc[0, "mle"] - _truth_point()) <= 0.1
    assert res.params.loc[0, "Delta"] == pytest.approx(-0.03, abs=0.008)
    assert res.points.loc[res.points["fewshot"] == 1, "D"].eq(D0).all()
    assert res.curves.loc[res.curves["D"] == D0, "fewshot"].eq(1).all()


def test_bad_input_raises():
    df = _synthetic()
    with pytest.raises(ValueError, match="D > 1"):
        emergence(df.assign(n_train=df["n_train"].where(df.index > 3, 1.0)), D="n_train",
                  posterior=False, bootstrap=0)
    with pytest.raises(ValueError, match="fewer than 3 finetuning-data amounts"):
        emergence(df[df["n_train"] <= 100], D="n_train", posterior=False, bootstrap=0)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['n'\]"):
        emergence(df, D="n", posterior=False, bootstrap=0)
    # a missing task label: it said "tasks [nan] have fewer than 3 finetuning-data amounts"
    two = pd.concat([df.assign(task="a"), df.assign(task="b")], ignore_index=True)
    two.loc[[3, 300], "task"] = None
    with pytest.raises(ValueError, match=r"column 'task' \(by\) has 2 missing task labels "
                       r"at rows \[3, 300\]"):
        emergence(two, D="n_train", by="task", posterior=False, bootstrap=0)
    with pytest.raises(ValueError, match="form="):
        emergence(df, D="n_train", form="exp")
    with pytest.raises(ValueError, match="fewshot="):
        emergence(df, D="n_train", fewshot_shift=True)
    with pytest.raises(ValueError, match="unknown emergence demo"):
        run_emergence(demo="nope")
    with pytest.raises(ValueError, match="need data"):
        run_emergence(y="accuracy")


def test_curves_with_too_few_checkpoints_are_named_before_any_fit():
    """A task (fewshot_elbow) or a finetuning-data amount (emergence) with fewer
    checkpoints than the elbow's 3 parameters: before, the fit's "1 task(s) have fewer
    points than the law's 3 free parameters ((0, 50.0): 2 ...); ... fix some parameters
    with jaxfit.fix()" (command line: "use a law with fewer free parameters (--law)")."""
    from jaxfit.cli import _cli_words

    df = _synthetic()
    two = df[(df["n_train"] != 50) | (df.index % 21 < 2)]     # D = 50: 2 checkpoints
    with pytest.raises(ValueError, match=r"^emergence: 1 \(task, D\) curve\(s\) have fewer "
                       r"checkpoints than the elbow's 3 parameters \['A', 'B', 'E'\] "
                       r"\(\(0, 50\.0\): 2\); .* drop those finetuning-data amounts\.$") as e:
        emergence(two, D="n_train", posterior=False, bootstrap=0, rise_draws=0)
    assert "--law" not in _cli_words(str(e.value))
    curve = df[df["n_train"] == 50].iloc[[0, 20]].assign(bench="x")
    with pytest.raises(ValueError, match=r"^fewshot_elbow: 1 task\(s\) have fewer "
                       r"checkpoints than the elbow's 3 parameters .*\('x': 2\).* drop "
                       r"those tasks\.$"):
        fewshot_elbow(curve, by="bench", posterior=False, bootstrap=0, rise_draws=0)


def test_a_task_column_without_by_is_refused():
    """A table with several tasks in its 'task' column and no by=: before, every row was
    fitted as one curve (the tasks pooled) without a word."""
    from jaxfit.cli import _cli_words

    df = _synthetic()
    two = pd.concat([df.assign(task="a"), df.assign(task="b")], ignore_index=True)
    for call in (lambda: emergence(two, D="n_train", posterior=False, bootstrap=0),
                 lambda: fewshot_elbow(two, posterior=False, bootstrap=0, rise_draws=0)):
        with pytest.raises(ValueError, match=r"^emergence: data has a 'task' column with 2 "
                           r"tasks \['a', 'b'\], but with by=None every row is one curve; "
                           r"pass by='task' to fit each task, or select one task first\.$") as e:
            call()
    assert _cli_words(str(e.value)).endswith("pass --by task to fit each task, or select one "
                                             "task first (--where \"task == ...\").")


def test_a_demo_named_with_data_is_refused():
    """``jaxfit emergence DATA --demo obs_scaling``: before, the demonstration was silently
    not run (exit 0, DATA fitted instead)."""
    from jaxfit.cli import _cli_words

    with pytest.raises(ValueError, match=r"^emergence: demo='obs_scaling' runs a shipped "
                       r"demonstration, which takes no data; drop the data to run it, or "
                       r"the demo to fit the data\.$") as e:
        run_emergence(_synthetic(), demo="obs_scaling", posterior=False, bootstrap=0,
                      rise_draws=0)
    assert "--demo obs_scaling runs" in _cli_words(str(e.value))


# ------------------------------------------------------------------------ real data

def test_shipped_data():
    olmo, obs = load_olmo_emergence(), load_obs_emergent()
    assert olmo["run"].nunique() == 32 and len(olmo) == 3849
    assert set(olmo.loc[olmo["role"] == "target", "run"]) == {"7B", "13B"}
    # C4 loss at the last checkpoint of 1B-10xC and 7B, as in the data README
    last = olmo.groupby("run").tail(1).set_index("run")["c4_loss"]
    assert last["1B-10xC"] == pytest.approx(2.832, abs=1e-3)
    assert last["13B"] == pytest.approx(2.437, abs=1e-3)
    assert len(obs) == 84 and int(obs["flops"].notna().sum()) == 73
    # the C4 loss's unit is recorded (for the plots) and follows the frame's filtering,
    # not a renamed column
    from jaxfit.datasets import recorded_unit
    assert recorded_unit(olmo[olmo["step"] > 0], "c4_loss") == "nats"
    assert recorded_unit(olmo.rename(columns={"c4_loss": "x"}), "x") is None
    assert recorded_unit(obs, "flops") is None
    val = jf.datasets.load("olmo_ladder_val")      # eleven loss columns, all in nats/token
    assert [recorded_unit(val, c) for c in ("c4", "wikitext_103", "N")] == ["nats", "nats", None]
    assert recorded_unit(jf.datasets.load("hitchhiker"), "loss") is None   # nats and bits mixed
    # a column converted after loading no longer claims the recorded unit (nats -> bits
    # kept "nats" before); the flp frame, built by a merge, keeps the validation losses'
    bits = olmo.assign(c4_loss=olmo["c4_loss"] / np.log(2))
    assert recorded_unit(bits, "c4_loss") is None
    assert recorded_unit(olmo.assign(c4_loss=olmo["c4_loss"] * np.log(2)), "c4_loss") is None
    assert recorded_unit(olmo.iloc[::-1].head(50), "c4_loss") == "nats"
    assert recorded_unit(jf.datasets.load_flp_data(), "c4") == "nats"


@pytest.fixture(scope="module")
def olmo_result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return olmo_demo(posterior=False, bootstrap=0)


def test_olmo_emergence_points(olmo_result):
    """Few-shot limit only (no finetuning axis): elbows in C4 loss (nats)."""
    assert olmo_result.options["loss_unit"] == "nats"       # named on the plots' axes
    e = olmo_result.emergence["mle"]
    p = olmo_result.params
    # RC tasks at chance for the small ladder models: flat at ~0.25 until C4 ~3.4
    assert e["arc_challenge_rc@ladder"] == pytest.approx(3.362, abs=0.02)
    assert e["mmlu_rc@ladder"] == pytest.approx(3.389, abs=0.02)
    assert e["openbookqa_rc@ladder"] == pytest.approx(3.477, abs=0.02)
    for t in ("arc_challenge_rc", "mmlu_rc", "openbookqa_rc"):
        assert abs(p.loc[f"{t}@ladder", "B"] - 0.25) < 0.02          # 4-choice chance
    # MC format: chance, then a jump between C4 2.705 and 2.695 (7B), 2.692 and 2.665 (13B)
    for t in ("mmlu_mc", "arc_challenge_mc", "csqa_mc", "hellaswag_mc"):
        assert 2.70 <= e[f"{t}@7B"] <= 2.77
        assert 2.69 <= e[f"{t}@13B"] <= 2.74
        # the same loss for both sizes (the paper: shifts agree at equal loss), < 0.1 nats
        assert abs(e[f"{t}@7B"] - e[f"{t}@13B"]) < 0.05
    assert abs(p.loc["csqa_mc@7B", "B"] - 0.18) < 0.02                  # 5-choice
    assert (p["status"] == "converged").all()


def test_olmo_tasks_rise(olmo_result):
    """Every shipped OLMo task rises within its checkpoints: a flat curve is rejected at
    the smallest p the 200 null draws allow."""
    assert (olmo_result.emergence["rise_p"] == 1 / 201).all()


def test_fewshot_elbow_flags_a_task_that_never_rises():
    """Before: a flat task (accuracy 0.25 + 1% noise) came back converged, with an elbow
    inside the data (E 2.348, bootstrap 5-95% [2.21, 2.49]) and no warning for 3 of 6
    such tasks. Now `rise_test` (likelihood ratio against a flat curve, parametric
    bootstrap null) gives p > 0.05 (measured 0.06-1) for all 6 and < 0.05 for 4 tasks
    that do rise, down to a slope of 0.05 accuracy per nat (p 0.015: 0.025 over the half
    of the range past E, 2.5 times the noise)."""
    rng = np.random.default_rng(0)
    L = np.linspace(1.8, 2.8, 21)
    frames = [pd.DataFrame({"task": f"flat{s}", "loss": L,
                            "accuracy": 0.25 + 0.01 * rng.standard_normal(21)}) for s in range(6)]
    for s, (e, a) in enumerate([(2.3, 0.6), (2.0, 0.2), (1.9, 0.3), (2.3, 0.05)]):
        frames.append(pd.DataFrame({"task": f"rises{s}", "loss": L, "accuracy": 0.25 + a * np.maximum(
            e - L, 0) + 0.01 * rng.standard_normal(21)}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fewshot_elbow(pd.concat(frames), by="task", posterior=False, bootstrap=0)
    said = [str(w.message) for w in caught]
    # the design check catches only the flat tasks whose elbow left the data (as before)
    assert sorted(m.split("'")[1] for m in said if "poorly identified" in m) == [
        "flat1", "flat3", "flat5"], said
    assert any(m.startswith("fewshot_elbow: 6 task(s) ['flat0', 'flat1', 'flat2', 'flat3', "
                            "'flat4', 'flat5'] show no rise within the data") for m in said), said
    p = res.emergence["rise_p"]
    assert (p[[f"flat{s}" for s in range(6)]] > 0.05).all(), p
    assert (p[["rises0", "rises1", "rises2"]] == 1 / 201).all() and p["rises3"] < 0.05, p


def test_obs_scaling_emergence_points():
    """Ruan et al.'s emergent-capability table: no loss, no finetuning axis; the elbow
    in log10 training FLOPs over the 73 models with published compute."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = obs_demo(posterior=False, bootstrap=0)
    e, p = res.emergence["mle"], res.params
    assert e["ipa_transliterate"] == pytest.approx(22.56, abs=0.05)
    assert e["word_unscrambling"] == pytest.approx(22.64, abs=0.05)
    assert e["parsinlu_qa"] == pytest.approx(23.07, abs=0.05)
    assert abs(p.loc["parsinlu_qa", "B"] - 0.25) < 0.02                 # 4-choice chance
    assert p.loc["word_unscrambling", "B"] < 0.02                       # exact match: 0
    fig = plot_emergence(res)
    assert len([a for a in fig.axes if a.get_visible()]) == 3
    assert not fig.axes[0].xaxis_inverted()                         # compute: rising axis


def test_plot_synthetic(synthetic_result):
    fig = plot_emergence(synthetic_result.frames())
    panels = [a for a in fig.axes if a.get_visible() and a.get_label() != "<colorbar>"]
    assert len(panels) == 2 and len(fig.axes) == 3              # and the colour bar of D
    assert fig.axes[0].xaxis_inverted()


def test_plot_draws_intervals_that_exclude_the_mle(synthetic_result):
    """The NUTS or bootstrap 5-95% interval of E(D0) need not hold the MLE (priors, skew);
    the shift panel drew it as mle -/+ (mle - lo, hi - mle) and matplotlib raised
    "'yerr' must not contain negative values". Now each bar spans [5%, 95%]."""
    f = synthetic_result.frames()
    e = f["table"].copy()
    e["mle"] = e["posterior_95"] + 0.05                         # above both intervals
    f["table"] = e
    ax = plot_emergence(f).axes[1]
    spans = sorted(tuple(sorted(seg[:, 1])) for c in ax.containers
                   for seg in c.lines[2][0].get_segments())
    row = e.iloc[0]
    want = sorted([(row["posterior_5"], row["posterior_95"]),
                   (row["bootstrap_5"], row["bootstrap_95"])])
    np.testing.assert_allclose(spans, want, rtol=1e-12)


def test_recipe_protocol(synthetic_result):
    import json

    res = synthetic_result
    assert res.table() is res.emergence
    assert list(res.summary().columns) == ["mle", "posterior_5", "posterior_95",
                                           "bootstrap_5", "bootstrap_95", "r_hat"]
    doc = json.loads(res.to_json())
    assert list(doc["tables"]) == ["table", "params", "elbows", "curves", "points"]
    assert doc["tables"]["table"][0]["mle"] == pytest.approx(res.emergence["mle"].iloc[0])


def test_result_pickles(synthetic_result):
    """An `EmergenceResult` could not be pickled: its fits and posterior held the
    emergence law, whose fn was a closure (``emergence.<locals>.fn``)."""
    from built_results import round_trip

    res = synthetic_result
    back = round_trip(res)
    pd.testing.assert_frame_equal(back.posterior.summary(), res.posterior.summary())
    pd.testing.assert_frame_equal(back.fit.params, res.fit.params)


def test_log_power_law_refuses_finetuning_amounts_below_one():
    """`emergence_shift()` takes (log D)^alpha, undefined at 0 < D < 1; it declared only
    D > 0 (positive_inputs), so a fit or prediction there evaluated its clamp
    (log D -> 1e-12: E = C) without a word. Now the law declares D > 1 (Law.input_above,
    kept through compose), and the data layer refuses such rows naming the column, the
    count, the rows, a value and the fix, before anything is compiled."""
    law = emergence_shift()
    assert law.input_bounds == {"D": 1.0}
    assert emergence_shift("power").input_bounds == {"D": 0.0}      # D^alpha: any D > 0
    assert emergence_law().input_bounds == {"D": 1.0}                # the composed law
    df = pd.DataFrame({"D": [0.5, 20.0, 200.0, 2000.0], "E": [2.0, 2.1, 2.2, 2.3]})
    with pytest.raises(ValueError) as e:
        jf.fit(law, df, y="E", space="linear")
    assert str(e.value) == (
        "column 'D' (input 'D') has 1 values <= 1 at rows [0] (e.g. 0.5); law "
        "'emergence_shift_log_power' is defined only at D > 1, so every value must be > 1: "
        "remove those rows (the law is not defined there), or check the column's units.")
    res = jf.FitResult(law=law, tasks=pd.Index([0]), values=np.array([[0.1, 1.0, 2.0]]),
                       objective=np.zeros(1), status=np.zeros(1, int), steps=np.ones(1),
                       grad_norm=np.zeros(1), at_bound=np.zeros((1, 3), bool),
                       identified=np.ones(1, bool))
    with pytest.raises(ValueError, match=r"predict: column 'D' \(input 'D'\) has 1 values <= 1 "
                                         r"at rows \[1\] \(e\.g\. 0\.9\); law "
                                         r"'emergence_shift_log_power' is defined only at D > 1"):
        res.predict(pd.DataFrame({"D": [10.0, 0.9]}))
    with pytest.raises(ValueError, match=r"input_above \['X'\] are not among its inputs"):
        law.replace(input_above={"X": 1.0})


def test_the_recipe_keeps_its_draws_diagnostic_warnings(monkeypatch):
    """The recipe's fit names its tasks that did not converge, so `_uncertainty` silences
    sample's and bootstrap's repeat of it about their start. Session 23's first version
    silenced every ConvergenceWarning, and with it DiagnosticWarning (a subclass): the
    NUTS posterior's r_hat, divergences and non-finite draws went unreported."""
    import importlib
    from types import SimpleNamespace

    from jaxfit.warnings import ConvergenceWarning, DiagnosticWarning

    em = importlib.import_module("jaxfit.recipes.emergence")

    class Stop(Exception):
        pass

    def fake_sample(*args, **kwargs):
        warnings.warn("sample's start (the full-data fit): 1 task(s) [0] of this fit did not "
                      "converge", ConvergenceWarning)
        warnings.warn("sample: r_hat above 1.01 in 1 task(s)", DiagnosticWarning)
        raise Stop

    monkeypatch.setattr(importlib.import_module("jaxfit.sample"), "sample", fake_sample)
    law, res = SimpleNamespace(inputs=("L", "D")), SimpleNamespace(tasks=[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Stop):
            em._uncertainty(law, None, res, None, True, 0, {}, None, 0)
    assert [(w.category, str(w.message)) for w in caught] == [
        (DiagnosticWarning, "sample: r_hat above 1.01 in 1 task(s)")]


def test_a_fewshot_column_that_is_not_0_1_names_its_values():
    """fewshot= of 'yes'/'no' (or a missing value): before, "column 'fs' (fewshot) must
    hold 0/1 or booleans.", naming no value, row or fix."""
    df = _synthetic()
    fs = np.where(df["n_train"] == AMOUNTS[0], "yes", "no").astype(object)
    fs[4] = np.nan
    with pytest.raises(ValueError, match=r"^emergence: column 'fs' \(fewshot\) must hold 0/1 "
                       r"or True/False; it holds 'yes', nan, 'no' \(168 row\(s\), e\.g\. row "
                       r"0\)\. Write 1 for the few-shot rows and 0 for the finetuned ones in "
                       r"that column\.$"):
        emergence(df.assign(fs=fs), D="n_train", fewshot="fs", posterior=False, bootstrap=0)


@pytest.mark.parametrize("value", [-1, 1, 2.5, 2**31])      # 2**31: above MAX_COUNT
def test_a_bootstrap_count_out_of_range_is_refused_before_any_fit(monkeypatch, value):
    """bootstrap=-1 or 1: before, the point fits ran and then `jaxfit.bootstrap` refused
    "n=-1", its own argument (the command line said "--n -1", a flag jaxfit emergence
    does not have)."""
    import importlib

    module = importlib.import_module("jaxfit.recipes.emergence")
    monkeypatch.setattr(module, "fit", lambda *a, **k: pytest.fail("a fit ran"))
    with pytest.raises(ValueError, match=rf"^emergence: bootstrap={value!r} must be 0 \(no "
                       r"bootstrap\) or an integer from 2 to 2147483647 \(the number of "
                       r"refits\)\.$"):
        emergence(_synthetic(), D="n_train", posterior=False, bootstrap=value)
    with pytest.raises(ValueError, match=rf"^fewshot_elbow: bootstrap={value!r} must be"):
        fewshot_elbow(_synthetic(), posterior=False, bootstrap=value)
