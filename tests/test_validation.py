"""One test per bad-input class of issue 16: each gives a ValueError naming the option or
column and the value (API), or exit code 2 with one line on stderr and no fit (CLI).

Kept fast: invalid options fail before anything is traced; the results that predictions
and saves need are built by hand (`FitResult`, `Posterior` from known parameters), and
the one real fit is a 3-parameter power law with few restarts.
"""

import dataclasses
import importlib
import json
import re
import sys
import threading
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from jaxfit import checks, cli
from jaxfit.inference.bayes import make_likelihood
from jaxfit.data import make_batch
from jaxfit.fit import make_starts
from jaxfit.inference.status import Status

CHINCHILLA = dict(A=406.4, B=410.7, E=1.69, alpha=0.34, beta=0.28)
LAW = jf.models.chinchilla()


def _frame(noise=0.01, seed=0):
    """30 ladder-like points of Chinchilla's law with 1% multiplicative noise."""
    rng = np.random.default_rng(seed)
    N = np.geomspace(5e7, 1.6e10, 30)
    D = 20 * N * rng.uniform(0.5, 2.0, 30)
    p = CHINCHILLA
    loss = p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]
    return pd.DataFrame({"N": N, "D": D, "loss": loss * np.exp(noise * rng.normal(size=30))})


def _fit_result(law=LAW, params=CHINCHILLA, status=Status.CONVERGED):
    """A converged `FitResult` with known parameters (no fitting)."""
    k = len(law.param_names)
    return jf.FitResult(
        law=law, tasks=pd.Index([0]), values=np.array([[params[n] for n in law.param_names]]),
        objective=np.array([1e-3]), status=np.array([status], dtype=np.int32),
        steps=np.array([10]), grad_norm=np.array([1e-12]), at_bound=np.zeros((1, k), bool),
        identified=np.array([True]), options=dict(y="loss", by=None, x={}))


def _posterior(n=50, seed=0):
    rng = np.random.default_rng(seed)
    draws = {k: v * (1 + 0.01 * rng.normal(size=(1, 1, n))) for k, v in CHINCHILLA.items()}
    draws["sigma"] = np.full((1, 1, n), 0.01)
    return jf.Posterior(law=LAW, tasks=pd.Index([0]), draws=draws,
                        likelihood=make_likelihood("normal", "log"), method="laplace",
                        options=dict(y="loss", by=None, x={}))


# ------------------------------------------------------------------------ API options

FIT_BAD = [
    ("delta", -1.0), ("delta", 0.0), ("delta", float("nan")), ("delta", float("inf")),
    ("restarts", 0), ("restarts", -1), ("restarts", 2.5), ("refine", 0), ("keep", 0),
    ("max_steps", 0), ("ftol", 0.0), ("ftol", 1.5), ("ftol", -1e-9), ("screen_steps", -1),
    ("seed", -1), ("seed", 1.5), ("seed", "0"), ("method", "bfgs"), ("loss", "l2"),
    ("space", "log10"), ("reduction", "max"), ("init", "lhs"),
]


@pytest.mark.parametrize("name, value", FIT_BAD)
def test_fit_rejects_option(name, value):
    with pytest.raises(ValueError, match="^" + re.escape(f"{name}={value!r}")) as e:
        jf.fit(LAW, _frame(), **{name: value})
    msg = str(e.value)
    assert "must be" in msg or "is not one of" in msg        # the allowed range


def test_bootstrap_rejects_negative_delta():
    """Before: ``jf.bootstrap(delta=-1)`` reported ok diagnostics."""
    with pytest.raises(ValueError, match=r"^delta=-1 is out of range: it must be a finite "
                                         r"number > 0"):
        jf.bootstrap(LAW, _frame(), delta=-1, n=10)
    for name, value in (("n", 1), ("starts", "all"), ("refine", 0), ("ftol", 2.0)):
        with pytest.raises(ValueError, match=rf"^{name}="):
            jf.bootstrap(LAW, _frame(), **{name: value})


@pytest.mark.parametrize("name, value", [
    ("target_accept", 0.0), ("target_accept", 1.0), ("target_accept", 1.5),
    ("svi_steps", 0), ("chains", 0), ("warmup", 0), ("samples", -5), ("max_tree_depth", 0),
    ("jitter", -1.0), ("task_batch", 0), ("nu", 0.0), ("seed", -3), ("delta", -1.0),
    ("restarts", 0), ("method", "hmc"), ("batching", "pmap"),
])
def test_sample_rejects_option(name, value):
    with pytest.raises(ValueError, match=rf"^{name}=") as e:
        jf.sample(LAW, _frame(), **{name: value})
    assert repr(value) in str(e.value)


@pytest.mark.parametrize("column", ["N", "loss"])
def test_complex_column_rejected(column):
    df = _frame()
    df[column] = df[column].astype(complex)
    with pytest.raises(ValueError, match=rf"column '{column}' .* has complex dtype complex128"):
        jf.fit(LAW, df)


def test_input_frame_not_mutated_by_a_rejection():
    df = _frame()
    before = df.copy(deep=True)
    with pytest.raises(ValueError, match=r"^delta=0 is out of range: it must be a finite "
                                         r"number > 0"):
        jf.fit(LAW, df, delta=0)
    pd.testing.assert_frame_equal(df, before)


# ------------------------------------------------------------------------ data scale

def test_scale_warning_linear_space():
    """y ~ 1e10 x its natural scale in linear space: the fit lands 9-11x worse (see
    `jaxfit.checks.scale_warning`); the fit says so. Unscaled data: no warning."""
    df = _frame()
    law = LAW
    starts = make_starts(law, restarts=16)
    batch = make_batch(df, law, y="loss", space="linear")
    assert not checks.scale_warning(law, batch.x, batch.y, batch.w, starts, "linear")
    big = make_batch(df.assign(loss=df.loss * 1e10), law, y="loss", space="linear")
    with pytest.warns(checks.ScaleWarning, match=r"median \|y\| = 2\.\d+e\+10\) are \d+ or "
                                                 r"more orders of magnitude"):
        assert checks.scale_warning(law, big.x, big.y, big.w, starts, "linear")
    # log space is scale-free: not checked
    assert not checks.scale_warning(law, big.x, big.y, big.w, starts, "log")


@pytest.mark.filterwarnings("ignore::jaxfit.warnings.ConvergenceWarning")
def test_scale_warning_from_fit():
    df = _frame(noise=0.01)
    df["loss"] = 1e10 * df["loss"]
    law = jf.models.power_law("N")
    with pytest.warns(checks.ScaleWarning, match="Rescale y"):
        jf.fit(law, df, space="linear", restarts=4, max_steps=5)


# ------------------------------------------------------------------------ repeated rows

def test_rows_that_repeat_another_row_exactly_are_reported_and_kept():
    """The embedded Hitchhiker data's lambda family holds each of its 229 upstream rows 4
    times (ColPret's loader returns them so): 687 repeats, named with their task and the
    fix; a weight of 0 leaves a copy out; the same inputs with another target are a real
    replicate, not a repeat. Nothing of the data is changed."""
    df = jf.datasets.load("hitchhiker")
    sub = df[df.family.isin(["lambda", "OPT"])]
    before = sub.copy()
    law = jf.models.chinchilla()
    batch = make_batch(sub, law, y="loss", by="family", x={"D": "tokens"})
    with pytest.warns(jf.warnings.DuplicateWarning,
                      match=r"^687 rows in 1 task\(s\) \('lambda': 687 of 916\) repeat another "
                            r"row of their task exactly .*drop_duplicates\(subset=\['family', "
                            r"'N', 'tokens', 'loss'\]\)"):
        assert checks.duplicate_rows(batch, ["family", "N", "tokens", "loss"]) == 687
    pd.testing.assert_frame_equal(sub, before)
    lam = sub[sub.family == "lambda"]
    assert lam.duplicated(["N", "tokens", "loss"]).sum() == 687          # the data, as said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dedup = make_batch(lam.drop_duplicates(), law, y="loss", x={"D": "tokens"})
        assert checks.duplicate_rows(dedup, ["N", "tokens", "loss"]) == 0
        w = (~lam.duplicated(["N", "tokens", "loss"])).to_numpy(float)
        weighted = make_batch(lam, law, y="loss", x={"D": "tokens"}, weights=w)
        assert checks.duplicate_rows(weighted, ["N", "tokens", "loss"]) == 0
        replicate = lam.drop_duplicates().copy()
        replicate = pd.concat([replicate, replicate.iloc[:5].assign(loss=lambda d: d.loss * 1.01)])
        again = make_batch(replicate, law, y="loss", x={"D": "tokens"})
        assert checks.duplicate_rows(again, ["N", "tokens", "loss"]) == 0
    one = make_batch(lam, law, y="loss", x={"D": "tokens"})
    with pytest.warns(jf.warnings.DuplicateWarning, match=r"^687 rows of 916 repeat another row "
                                                          r"exactly \(the same 'N', 'tokens'"):
        checks.duplicate_rows(one, ["N", "tokens", "loss"])


@pytest.mark.filterwarnings("ignore::jaxfit.warnings.ConvergenceWarning")
def test_fit_and_bootstrap_report_repeated_rows_before_fitting(monkeypatch):
    df = _frame()
    rep = pd.concat([df, df.iloc[[3, 3, 7]]])
    law = jf.models.power_law("N")
    with pytest.warns(jf.warnings.DuplicateWarning, match=r"^3 rows of 33 repeat") as rec:
        jf.fit(law, rep, space="linear", restarts=4, max_steps=5, warn=True)
    assert rec[0].filename == __file__                       # points at the caller
    sample = importlib.import_module("jaxfit.sample")

    def stop(*a, **k):
        raise RuntimeError("fit reached")

    monkeypatch.setattr(sample, "point_fit", stop)
    for run in (jf.bootstrap, jf.sample):
        with pytest.warns(jf.warnings.DuplicateWarning, match=r"^3 rows of 33 repeat"), \
                pytest.raises(RuntimeError, match="fit reached"):
            run(law, rep, space="linear", restarts=4)
    # the backtest's fits run with warn=False: it says so once, before its first fit
    monkeypatch.setattr(importlib.import_module("jaxfit.backtest"), "point_fit", stop)
    two = pd.concat([rep.assign(task="a"), df.assign(task="b")], ignore_index=True)
    with pytest.warns(jf.warnings.DuplicateWarning,
                      match=r"^backtest: data: 3 rows in 1 task\(s\) \('a': 3 of 33\) repeat "
                            r"another row of their task exactly \(the same 'task', 'N', "
                            r"'loss'\)") as rec, pytest.raises(RuntimeError, match="fit reached"):
        jf.backtest(law, two, by="task", axis="N", method="bootstrap", n=10)
    assert rec[0].filename == __file__


@pytest.mark.filterwarnings("ignore::jaxfit.warnings.ConvergenceWarning")
def test_cli_repeated_rows_warning_is_one_line_in_the_files_words(capsys, tmp_path):
    df = _frame()
    pd.concat([df, df.iloc[[3, 3, 7]]]).to_csv(tmp_path / "runs.csv", index=False)
    code, out, err = _cli(capsys, "fit", tmp_path / "runs.csv", "--law", "power_law",
                          "--space", "linear", "--restarts", "4", "--max-steps", "5")
    assert code in (0, 1), err
    lines = [ln for ln in err.splitlines() if "repeat another row" in ln]
    assert lines == [
        "warning: 3 rows of 33 repeat another row exactly (the same 'N', 'loss'); each counts "
        "as an independent observation, so n, the degrees of freedom and the intervals assume "
        "more information than copies hold. If they are copies, remove the repeated rows from "
        "the file first; if they are real repeated measurements, ignore this warning."]


# ------------------------------------------------------------------------ predictions

BAD_AT = [
    (pd.DataFrame({"N": [7e10, -1.0], "D": [1.4e12, 1e12]}), r"column 'N' \(input 'N'\) has 1 "
     r"values <= 0 at rows \[1\] \(e\.g\. -1\); law 'chinchilla' takes log\(N\)"),
    (pd.DataFrame({"N": [0.0], "D": [1e12]}), r"column 'N' .* values <= 0"),
    (pd.DataFrame({"N": [7e10, np.nan], "D": [1e12, 1e12]}),
     r"column 'N' \(input 'N'\) has 1 NaN or infinite values at rows \[1\]"),
    (pd.DataFrame({"N": [7e10, pd.NA], "D": [1e12, 1e12]}),
     r"column 'N' \(input 'N'\) has dtype object, not numbers.*1 missing, non-finite or "
     r"non-numeric entries at rows \[1\], e\.g\. <NA>"),
    (pd.DataFrame({"N": pd.array([7e10, None], dtype="Float64"), "D": [1e12, 1e12]}),
     r"column 'N' .* 1 NaN or infinite values at rows \[1\]"),
    (pd.DataFrame({"N": [7e10]}), r"missing column\(s\) \['D'\]"),
    (pd.DataFrame({"N": [7e10 + 0j], "D": [1e12]}), r"column 'N' \(input 'N'\) has complex dtype"),
]


@pytest.mark.parametrize("df, message", BAD_AT)
def test_fit_predict_rejects(df, message):
    """Before: NaN or inf returned silently."""
    with pytest.raises(ValueError, match=r"^predict: " + message):
        _fit_result().predict(df)


@pytest.mark.parametrize("df, message", BAD_AT)
def test_posterior_predict_rejects(df, message):
    with pytest.raises(ValueError, match=r"^predict: " + message):
        _posterior().predict(df)


def test_valid_predictions_unchanged():
    at = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    p = CHINCHILLA
    truth = p["E"] + p["A"] / 7e10 ** p["alpha"] + p["B"] / 1.4e12 ** p["beta"]
    assert _fit_result().predict(at)["prediction"].iloc[0] == pytest.approx(truth, rel=1e-12)
    pred = _posterior().predict(at)
    assert pred["median"].iloc[0] == pytest.approx(truth, rel=0.05)
    for prob in (0.0, 1.0, float("nan")):
        with pytest.raises(ValueError, match="^prob="):
            _posterior().predict(at, prob=prob)


# ------------------------------------------------------------------------ saved files

@pytest.fixture
def saved_fit(tmp_path):
    return jf.save(_fit_result(), tmp_path / "fit.json")


def _edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("change, field", [
    (lambda d: d["tasks"][0]["params"].update(alpha=None), "tasks[0].params.alpha"),
    (lambda d: d["tasks"][0].update(params=None), "tasks[0].params"),
    (lambda d: d["tasks"][0]["params"].pop("beta"), "tasks[0].params.beta"),
    (lambda d: d["tasks"][0].update(objective=None), "tasks[0].objective"),
    (lambda d: d["tasks"][0].update(status="done"), "tasks[0].status"),
    (lambda d: d["tasks"][0].pop("steps"), "tasks[0].steps"),
    (lambda d: d["tasks"][0]["params"].update(E="1.7"), "tasks[0].params.E"),
    (lambda d: d.pop("tasks"), "tasks"),
    (lambda d: d.update(tasks=[]), "tasks"),
    (lambda d: d.pop("options"), "options"),
    (lambda d: d["law"].pop("params"), "law.params"),
    (lambda d: d.pop("law"), "law"),
    # before: "invalid literal for int()", a bare KeyError 'kind', a name dropped silently
    (lambda d: d["tasks"][0].update(dof="x"), "tasks[0].dof"),
    (lambda d: d["tasks"][0].update(design=[{"kind": "dof"}]), "tasks[0].design[0]"),
    (lambda d: d["tasks"][0].update(design="singular"), "tasks[0].design"),
    (lambda d: d["tasks"][0].update(design=[{"kind": "dof", "params": [], "input": None,
                                             "value": "3"}]), "tasks[0].design[0].value"),
    (lambda d: d["tasks"][0].update(at_bound=["alhpa"]), "tasks[0].at_bound"),
])
def test_load_rejects_incomplete_json(saved_fit, change, field):
    """Before: KeyError, or a fit with null params loaded as converged."""
    _edit(saved_fit, change)
    with pytest.raises(ValueError, match=re.escape(f"load: '{saved_fit}': field '{field}'")):
        jf.load(saved_fit)


def test_load_keeps_null_params_of_a_failed_task(saved_fit):
    """Null (non-finite) values are legitimate in a task that did not converge."""
    _edit(saved_fit, lambda d: d["tasks"][0].update(status="nonfinite", objective=None,
                                                    params={n: None for n in CHINCHILLA}))
    back = jf.load(saved_fit)
    assert back.status[0] == Status.NONFINITE and np.isnan(back.values).all()


@pytest.mark.parametrize("cut", [1, 40, 0.5, 0.99])
def test_load_rejects_truncated_json(saved_fit, cut):
    text = saved_fit.read_bytes()
    n = int(cut * len(text)) if isinstance(cut, float) else cut
    saved_fit.write_bytes(text[:n])
    with pytest.raises(ValueError, match=rf"^load: '{saved_fit}' is neither a jaxfit JSON fit"):
        jf.load(saved_fit)


def test_load_rejects_corrupted_netcdf(tmp_path):
    path = jf.save(_posterior(), tmp_path / "post.nc")
    back = jf.load(path)
    np.testing.assert_array_equal(back.draws["alpha"], _posterior().draws["alpha"])
    data = path.read_bytes()
    for i, bad in enumerate((data[: len(data) // 2], data[:8] + b"\0" * (len(data) - 8))):
        p = tmp_path / f"bad{i}.nc"
        p.write_bytes(bad)
        with pytest.raises(ValueError, match=rf"^load: '{p}': cannot read it as a netCDF "
                                             "posterior .* truncated or corrupted"):
            jf.load(p)


def test_load_rejects_netcdf_missing_attribute(tmp_path):
    post = _posterior()
    idata = post.idata
    from jaxfit.io import _posterior_attrs

    attrs = _posterior_attrs(post, None)
    del attrs["jaxfit_names"]
    idata.posterior.attrs.update(attrs)
    path = tmp_path / "p.nc"
    idata.to_netcdf(str(path), engine="h5netcdf")
    with pytest.raises(ValueError, match=rf"^load: '{path}': field 'jaxfit_names' is missing"):
        jf.load(path)


@pytest.mark.parametrize("change, field", [
    ({"jaxfit_tasks": "[0, 1]"}, r"'jaxfit_tasks' holds 2 task label\(s\) for the draws of 1"),
    ({"jaxfit_names": '["A", "zz"]'}, r"'jaxfit_names' names \['zz'\], which the posterior"),
    ({"jaxfit_options": "[1, 2]"}, r"'jaxfit_options' is \[1, 2\], not an object"),
    # (before: loaded, and failed later naming no field)
    ({"jaxfit_options": '{"by": 3.5}'},
     r"'jaxfit_options.by' is 3.5, not null, a column name or a list of them"),
    ({"jaxfit_options": '{"x": {"C": 5.0}}'},
     r"'jaxfit_options.x' is \{'C': 5.0\}, not an object of law input -> column name"),
    ({"jaxfit_law": '{"name": "chinchilla"}'}, r"'jaxfit_law.spec' is missing"),
    ({"jaxfit_likelihood": '{"kind": "bogus", "space": "log"}'},
     r"'jaxfit_likelihood' is not a likelihood jaxfit knows \(likelihood='bogus'"),
    ({"jaxfit_fit": '{"schema": "jaxfit.fit/1"}'},
     r"'jaxfit_fit' \(the point fit it started from\): field 'law' is missing"),
])
def test_load_names_the_attribute_of_an_edited_netcdf(tmp_path, change, field):
    """Before: one task label for the draws of two tasks was called a malformed
    'law_check', a missing variable was named by xarray's sentence ("field \"No variable
    named 'zz'. ...\" is missing"), options that are no object "a field is malformed
    (AttributeError: ...)", and the point fit's own fields were named as the posterior's."""
    post = _posterior()
    idata = post.idata
    from jaxfit.io import _posterior_attrs

    idata.posterior.attrs.update({**_posterior_attrs(post, None), **change})
    path = tmp_path / "p.nc"
    idata.to_netcdf(str(path), engine="h5netcdf")
    with pytest.raises(ValueError, match=rf"^load: '{path}': field {field}"):
        jf.load(path)


@pytest.mark.parametrize("kind", ["json", "nc"])
def test_load_names_another_schema_version(saved_fit, tmp_path, kind):
    """A file another jaxfit version wrote (schema jaxfit.fit/2, jaxfit.posterior/2) is
    refused as that, with the version this jaxfit reads. Before: a posterior was called
    "a netCDF file without a jaxfit posterior (no 'jaxfit_schema' attribute)"."""
    if kind == "json":
        path = _edit(saved_fit, lambda d: d.update(schema="jaxfit.fit/2"))
        want = "jaxfit.fit/1"
    else:
        post = _posterior()
        idata = post.idata
        from jaxfit.io import _posterior_attrs

        idata.posterior.attrs.update({**_posterior_attrs(post, None),
                                      "jaxfit_schema": "jaxfit.posterior/2"})
        path = tmp_path / "p.nc"
        idata.to_netcdf(str(path), engine="h5netcdf")
        want = "jaxfit.posterior/1"
    schema = want.replace("/1", "/2")
    with pytest.raises(ValueError, match=re.escape(
            f"load: '{path}': written with schema {schema!r} (another jaxfit version); "
            f"jaxfit {jf.__version__} reads {want!r}: load it with the jaxfit version that "
            "saved it, or fit again")):
        jf.load(path)


@pytest.mark.parametrize("kind", ["json", "nc"])
def test_concurrent_saves_never_leave_a_partial_file(tmp_path, kind):
    """Two writers save the same path over and over while a reader loads it: every load
    succeeds (before: 95% of JSON loads read a truncated file; netCDF saves failed with
    a lock error and left an unreadable file)."""
    results = [_fit_result(), _fit_result(params={**CHINCHILLA, "E": 1.8})] if kind == "json" \
        else [_posterior(seed=0), _posterior(seed=1)]
    path = tmp_path / f"r.{kind}"
    jf.save(results[0], path)
    rounds = 40 if kind == "json" else 8
    errors, loads = [], []

    def write(r):
        try:
            for _ in range(rounds):
                jf.save(r, path)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def read():
        while any(t.is_alive() for t in writers):
            try:
                loads.append(jf.load(path))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    writers = [threading.Thread(target=write, args=(r,)) for r in results]
    reader = threading.Thread(target=read)
    for t in writers:
        t.start()
    reader.start()
    for t in (*writers, reader):
        t.join()
    assert not errors, errors[:3]
    assert loads
    assert [p.name for p in tmp_path.iterdir()] == [path.name]       # no temp files left
    final = jf.load(path)
    if kind == "json":
        assert final.values[0, 2] in (1.69, 1.8)
    else:                                       # whole: one writer's draws, bit for bit
        assert sum(all(np.array_equal(final.draws[n], r.draws[n]) for n in r.draws)
                   for r in results) == 1


# ------------------------------------------------------------------------ command line

@pytest.fixture
def no_fit(monkeypatch):
    """Fail the test if the CLI runs a solver (every fit, sample and bootstrap starts with
    the point fit's `_solve`; option checks and data validation run before it)."""
    def boom(*a, **k):
        raise AssertionError("a fit ran")

    monkeypatch.setattr(sys.modules["jaxfit.fit"], "_solve", boom)


def _cli(capsys, *argv):
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as e:                     # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, message", [
    (("fit", "chinchilla", "--at", "N=-1", "D=1e12"), "--at: column 'N' (input 'N') has 1 "
     "values <= 0 at rows [0]"),
    (("fit", "chinchilla", "--at", "N=nan", "D=1e12"), "--at: column 'N' (input 'N') has 1 "
     "NaN or infinite values at rows [0]; give finite values."),
    (("fit", "chinchilla", "--at", "N=7e10"), "--at: missing value(s) for input(s) ['D'] "
     "of law 'chinchilla'; give every input, e.g. --at N=VALUE D=VALUE"),
    (("fit", "chinchilla", "--at", "N=abc", "D=1e12"), "--at N=abc is not a number"),
    (("fit", "chinchilla", "--at", "M=1", "N=1", "D=1"), "--at names ['M']"),
    # before: the last value won silently (a prediction at N=1e11)
    (("fit", "chinchilla", "--at", "N=7e10", "D=1e12", "N=1e11"), "--at gives N twice (N=7e10, "
     "N=1e11); give each name once, several values comma-separated: N=7e10,1e11"),
    (("fit", "chinchilla", "--x", "N=params", "N=size"), "--x gives N twice"),
    (("fit", "chinchilla", "--delta", "-1"), "--delta -1.0 is out of range"),
    (("fit", "chinchilla", "--delta", "0"), "--delta 0.0 is out of range"),
    (("fit", "chinchilla", "--restarts", "0"), "--restarts 0 is out of range"),
    (("fit", "chinchilla", "--restarts", "-1"), "--restarts -1 is out of range"),
    (("fit", "chinchilla", "--max-steps", "0"), "--max-steps 0 is out of range"),
    (("fit", "chinchilla", "--seed", "-1"), "--seed -1 must be a non-negative integer"),
    (("fit", "chinchilla", "--restarts", "abc"), "invalid int value: 'abc'"),
    (("fit", "chinchilla", "--save", "/nonexistent_dir/x/fit.json"), "does not exist"),
    (("fit", "chinchilla", "--plot", "/nonexistent_dir/fit.png"), "does not exist"),
    (("sample", "chinchilla", "--method", "bootstrap", "--delta", "-1"), "--delta -1.0"),
    (("sample", "chinchilla", "--method", "bootstrap", "--n", "1"), "--n 1 is out of range"),
    (("sample", "chinchilla", "--target-accept", "1.5"), "--target-accept 1.5"),
    (("sample", "chinchilla", "--prob", "1.5"), "--prob 1.5 is out of range"),
    (("sample", "chinchilla", "--chains", "0"), "--chains 0 is out of range"),
    (("sample", "chinchilla", "--save", "/nonexistent_dir/p.nc"), "does not exist"),
])
def test_cli_bad_input_exit_2_before_the_fit(capsys, no_fit, argv, message):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and message in err, err
    assert err.startswith(("jaxfit: error: ", "jaxfit fit: error: "))


@pytest.mark.parametrize("col, where", [("loss", "abs(loss) < inf"),
                                        ("my loss", "abs(`my loss`) < inf")])
def test_cli_nan_rows_get_a_where_filter_that_drops_them(capsys, no_fit, tmp_path, col, where):
    """Before: a command-line user was told to call df.dropna(subset=[...]) (Python)."""
    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "D": [1e9, 2e9, 4e9, 8e9],
                  col: [3.1, np.nan, -np.inf, 2.7]}).to_csv(path, index=False)
    code, out, err = _cli(capsys, "fit", path, "--y", col)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert (f"column {col!r} (target y) has 2 NaN or infinite values at rows [1, 2]; drop or "
            f'fill them first, e.g. --where "{where}"') in err and "dropna" not in err, err
    # the suggested filter keeps exactly the finite rows
    kept = cli._select(pd.read_csv(path), where)
    assert kept.index.tolist() == [0, 3]


@pytest.mark.parametrize("command, at, wanted", [
    ("fit", ["size=3"], ("--at: 1 row(s) name tasks that are not in the data ('size' = "
                         "[3.0], type float); the data's tasks: [1, 2] (type int); give one "
                         "of them, e.g. --at ... size=1")),
    ("sample", ["size=2,5"], "('size' = [5.0], type float)"),
])
def test_cli_at_naming_a_task_not_in_the_data_is_refused_before_the_fit(
        capsys, no_fit, tmp_path, command, at, wanted):
    """`jaxfit fit runs.csv --by size --at N=1e10 D=1e12 size=3` (a task typo) fitted
    every task, then failed at the prediction (exit 2): the fit was neither printed nor
    saved (--save comes after), against docs/cli.md's "--at ... checked before any fitting
    starts, so a typo never costs a finished fit". Now --at's task columns are checked
    against the data's tasks before the fit (`no_fit`)."""
    path = tmp_path / "runs.csv"
    N = np.geomspace(1e8, 1e9, 6)
    pd.DataFrame({"N": np.r_[N, N], "D": np.r_[N, N] * 20, "loss": np.linspace(3.1, 2.6, 12),
                  "size": [1] * 6 + [2] * 6}).to_csv(path, index=False)
    code, out, err = _cli(capsys, command, path, "--by", "size", "--at", "N=1e10", "D=1e12",
                          *at, "--save", tmp_path / "out.json")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert wanted in err, err
    assert not (tmp_path / "out.json").exists()


def test_cli_at_holding_some_of_two_by_columns_is_refused_before_the_fit(
        capsys, no_fit, tmp_path):
    """`--by family size --at ... size=1`: the rows then named no task; they were given
    every task (family's value kept beside other families' rows) and, since predict
    refuses them, would fail after the fit. Now refused before it (`no_fit`)."""
    path = tmp_path / "runs.csv"
    N = np.geomspace(1e8, 1e9, 6)
    pd.DataFrame({"N": np.r_[N, N], "D": np.r_[N, N] * 20, "loss": np.linspace(3.1, 2.6, 12),
                  "family": ["a"] * 6 + ["b"] * 6, "size": 1}).to_csv(path, index=False)
    code, out, err = _cli(capsys, "fit", path, "--by", "family", "size", "--at", "N=1e10",
                          "D=1e12", "size=1", "--save", tmp_path / "out.json")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert ("--at: the rows hold ['size'] but not ['family'] of the fit's task columns "
            "['family', 'size']; give all of them") in err, err
    assert not (tmp_path / "out.json").exists()


def test_cli_recipe_accuracy_in_percent(capsys, no_fit, tmp_path):
    """The recipe's fix in the command line's words. Before: data.assign(...) (Python)."""
    from jaxfit.recipes.ladder import load_olmo_ladder

    d = load_olmo_ladder()
    path = tmp_path / "ladder.csv"
    d.assign(accuracy=100 * d["accuracy"]).to_csv(path, index=False)
    code, out, err = _cli(capsys, "ladder", path, "-q")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "must be a fraction in [0, 1]" in err and err.rstrip().endswith(
        "it looks like percent; divide the column by 100 in the file."), err


def test_cli_header_with_spaces_after_its_commas(capsys, no_fit, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("N, D, loss\n1e8, 1e9, 3.1\n2e8, 2e9, 3.0\n")
    code, out, err = _cli(capsys, "fit", path)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert ("(the data's column ' D' is 'D' with spaces, ' loss' is 'loss' with spaces: "
            "remove the spaces from the file's header)") in err, err


def test_cli_header_in_other_letter_case(capsys, no_fit, tmp_path):
    """Before: "missing column(s) ['N', 'loss'] ...; the data has columns ['n', 'D',
    'Loss']" and no hint (difflib finds no likeness between 'n' and 'N')."""
    path = tmp_path / "runs.csv"
    path.write_text("n,D,Loss\n1e8,1e9,3.1\n2e8,2e9,3.0\n")
    code, out, err = _cli(capsys, "fit", path)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert ("(the data's column 'n' is 'N' in other letter case, 'Loss' is 'loss' in other "
            "letter case). Rename them or map them, e.g. --x N=n --y Loss.") in err, err


@pytest.mark.parametrize("name, content, wanted", [
    ("fit.json", "{\n  \"schema\": \"jaxfit.fit/1\"\n}\n",
     "is a JSON file, not data: DATA is a CSV or Parquet file or an embedded dataset; a fit "
     "saved with --save is read by jaxfit predict FIT.json"),
    ("runs.xlsx", "PK\x03\x04\xff\xfe", "is an Excel workbook, not data: DATA is a CSV or "
     "Parquet file or an embedded dataset; save it as CSV"),
])
def test_cli_data_that_is_not_a_table_says_what_it_is(capsys, no_fit, tmp_path, name, content,
                                                      wanted):
    """Before: a saved fit given as DATA read as a CSV ("missing column(s) ['N', 'D',
    'loss'] ...; the data has columns ['{']"); a workbook failed with a UnicodeDecodeError."""
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1"))
    code, out, err = _cli(capsys, "fit", path)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert f"'{path}' {wanted}" in err, err


def test_cli_where_on_a_true_false_column_with_empty_cells(capsys, no_fit, tmp_path):
    """A CSV column of True/False with an empty cell reads as object (True, False, NaN).
    Before: "--where 'not out' failed: TypeError: bad operand type for unary ~: 'float'",
    which names neither the column nor the cell."""
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss,out\n1e8,1e9,3.1,False\n2e8,2e9,3.0,\n4e8,4e9,2.9,True\n")
    code, out, err = _cli(capsys, "fit", path, "--where", "not out")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.endswith("failed: TypeError: bad operand type for unary ~: 'float'; column "
                        "'out' has 1 empty cell(s) (rows [1]), so its values are not all "
                        "True/False: fill them in the file, or compare, e.g. --where "
                        "\"out == True\" or \"out != True\"\n"), err


def test_cli_header_naming_a_column_twice(capsys, no_fit, tmp_path):
    """pandas reads a second 'N' as 'N.1'; before, jaxfit fit used the first N without a
    word (jf.fit refuses duplicated columns). A column really named 'N.1' is kept."""
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss,N\n1e8,1e9,3.1,1e11\n2e8,2e9,3.0,2e11\n")
    code, out, err = _cli(capsys, "fit", path)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err == (f"jaxfit: error: '{path}' names column 'N' 2 times (header fields [1, 4]); "
                   "rename or drop the duplicates in the file (the second would be read as "
                   "'N.1')\n"), err
    path.write_text("N,D,loss,N.1\n1e8,1e9,3.1,1e11\n")
    code, out, err = _cli(capsys, "fit", path)
    assert code == 2 and "fewer points than the law's 5 free parameters" in err, err


def test_cli_save_to_a_directory_before_the_fit(capsys, no_fit, tmp_path):
    code, _, err = _cli(capsys, "fit", "chinchilla", "--save", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err


@pytest.mark.parametrize("extra, message", [
    (("--at", "N=-1", "D=1e12"), "values <= 0"),
    (("--at", "N=7e10"), "--at: missing value(s) for input(s) ['D']"),
    # (a point fit has no interval: --prob is refused as such, before its range; de3300a)
    (("--at", "N=7e10", "D=1e12", "--prob", "2"), "--prob 2.0 applies to a posterior (.nc)"),
    (("bad.csv",), "neither a file nor an embedded dataset"),
    ((), "predict needs new inputs"),
    (("--at", "N=7e10", "D=1e12", "--where", "N > 1"), "no DATA was given"),   # was ignored
])
def test_cli_predict_bad_input_exit_2(capsys, saved_fit, extra, message):
    """Before: exit 1 with no reason (NaN predictions at N <= 0)."""
    code, out, err = _cli(capsys, "predict", saved_fit, *extra)
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and message in err, err


def test_cli_predict_bad_file_exit_2(capsys, saved_fit, tmp_path):
    _edit(saved_fit, lambda d: d["tasks"][0]["params"].update(alpha=None))
    code, _, err = _cli(capsys, "predict", saved_fit, "--at", "N=7e10", "D=1e12")
    assert code == 2 and err.count("\n") == 1 and "field 'tasks[0].params.alpha'" in err
    code, _, err = _cli(capsys, "predict", tmp_path / "none.json", "--at", "N=1", "D=1")
    assert code == 2 and err.count("\n") == 1 and "no file" in err


def test_cli_predict_good_input(capsys, saved_fit):
    code, out, err = _cli(capsys, "predict", saved_fit, "--at", "N=7e10", "D=1.4e12", "--json")
    assert code == 0, err
    p = CHINCHILLA
    truth = p["E"] + p["A"] / 7e10 ** p["alpha"] + p["B"] / 1.4e12 ** p["beta"]
    assert json.loads(out)["rows"][0]["loss_pred"] == pytest.approx(truth, rel=1e-12)


def test_cli_predict_every_task_keeps_input_columns_named_like_the_index(capsys, tmp_path):
    """Rows that do not name their task get every task; the (task, row) index becomes
    columns, and an input column already called ``row`` (or like the task level) is kept
    beside it. Before: exit 3, "internal error: cannot insert row, already exists"."""
    one = _fit_result()
    two = dataclasses.replace(
        one, tasks=pd.Index(["a", "b"], name="family"), options=dict(y="loss", by="family", x={}),
        **{k: np.repeat(getattr(one, k), 2, axis=0) for k in
           ("values", "objective", "status", "steps", "grad_norm", "at_bound", "identified")})
    path = jf.save(two, tmp_path / "fit.json")
    pd.DataFrame({"row": [7, 8], "N": [7e10, 1e11], "D": [1.4e12, 2e12]}).to_csv(
        tmp_path / "rows.csv", index=False)
    code, out, err = _cli(capsys, "predict", path, tmp_path / "rows.csv", "--json")
    assert code == 0, err
    got = pd.DataFrame(json.loads(out)["rows"])
    assert list(got["family"]) == ["a", "a", "b", "b"] and list(got["row"]) == [7, 8, 7, 8]
    assert list(got["row_"]) == [0, 1, 0, 1]
    p = CHINCHILLA
    truth = p["E"] + p["A"] / got["N"] ** p["alpha"] + p["B"] / got["D"] ** p["beta"]
    np.testing.assert_allclose(got["loss_pred"], truth, rtol=1e-12)


def test_cli_predict_every_task_of_a_multi_column_by_one_column_each(capsys, tmp_path):
    """A fit by two columns, predicted at rows that name no task: `predict` gives every
    task for every row ((task, row) index, the task a tuple), and `jaxfit predict` writes
    the task as one column per ``by`` column. Before: a "task" list (['a', 1]) in each JSON
    row, which jaxfit/schema/predict.json does not allow."""
    one = _fit_result()
    tasks = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["family", "seed"])
    two = dataclasses.replace(
        one, tasks=tasks, options=dict(y="loss", by=["family", "seed"], x={}),
        **{k: np.repeat(getattr(one, k), 2, axis=0) for k in
           ("values", "objective", "status", "steps", "grad_norm", "at_bound", "identified")})
    rows = pd.DataFrame({"N": [7e10, 1e11], "D": [1.4e12, 2e12]})
    pred = two.predict(rows)
    assert list(pred.index) == [(("a", 1), 0), (("a", 1), 1), (("b", 2), 0), (("b", 2), 1)]
    path = jf.save(two, tmp_path / "fit.json")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code, out, err = _cli(capsys, "predict", path, tmp_path / "rows.csv", "--json")
    assert code == 0, err
    got = json.loads(out)["rows"]
    assert [(r["family"], r["seed"], r["row"]) for r in got] == [
        ("a", 1, 0), ("a", 1, 1), ("b", 2, 0), ("b", 2, 1)]
    assert all(isinstance(v, (str, int, float, bool, type(None)))
               for r in got for v in r.values())
    np.testing.assert_allclose([r["loss_pred"] for r in got], pred["prediction"], rtol=1e-15)


def test_cli_fit_json_with_at_says_where_the_predictions_are(capsys, monkeypatch):
    """`jaxfit fit --json` prints the fit document (what --save writes), which holds no
    predictions; with --at it says so on stderr and how to get them. Before: the --at
    predictions were dropped without a word."""
    monkeypatch.setattr(jf, "fit", lambda *a, **k: _fit_result())
    code, out, err = _cli(capsys, "fit", "chinchilla", "--at", "N=7e10", "D=1.4e12", "--json")
    assert code == 0 and json.loads(out)["schema"] == "jaxfit.fit/1", err
    assert err.count("\n") == 1 and "--at predictions are not in the --json document" in err
    assert "jaxfit predict FILE --at N=7e10 D=1.4e12 --json" in err


# ------------------------------------------------------------------------ audit (issue s9)

@pytest.mark.parametrize("init, message", [
    (dict(A=400.0, B=2e3, E=1.8, alpha=0.3, bta=0.3), r"init: starts are missing parameters "
     r"\['beta'\] and name \['bta'\], which are not parameters of law 'chinchilla'"),
    (dict(A=-400.0, B=2e3, E=1.8, alpha=0.3, beta=0.3), r"init: starts outside their "
     r"parameter's constraint: A=-400 \(Positive\(lower_bound=0\.0\)\)"),
])
def test_fit_rejects_bad_init_dict_by_name(init, message):
    with pytest.raises(ValueError, match=message):
        jf.fit(LAW, _frame(), init=init)


@pytest.mark.parametrize("init, message", [
    ({"A": [400.0, 300.0], "B": 2e3, "E": [1.8, 1.7, 1.6], "alpha": 0.3, "beta": 0.3},
     (r"^init: the parameters' starts have different lengths \(A: 2, B: 1, E: 3, alpha: 1, "
      r"beta: 1\); give each parameter one value, or the same number of values")),
    (np.array([["a"] * 5]), r"^init: starts must be numbers, got array\(\[\['a', "),
    ({"A": "x", "B": 2e3, "E": 1.8, "alpha": 0.3, "beta": 0.3},
     r"^init: starts of 'A' must be numbers"),
    (np.ones((0, 5)), (r"^init: no starts \(shape \(0, 5\)\); give at least one row of "
                       r"values for \['A', 'B', 'E', 'alpha', 'beta'\], or init='random'\.$")),
])
def test_fit_names_init_values_it_cannot_use(init, message):
    """Before: ragged starts raised numpy's "shape mismatch: objects cannot be broadcast",
    text "could not convert string to float: np.str_('a')", and no starts a
    ZeroDivisionError inside the solver."""
    with pytest.raises(ValueError, match=message):
        jf.fit(LAW, _frame(), init=init)


def test_init_dataframe_columns_are_read_by_name():
    """A DataFrame of starts (res.params of an earlier fit, reordered) was read by position:
    each parameter started from another one's values, without a word."""
    from jaxfit.fit import make_starts

    frame = pd.DataFrame({"E": [1.8], "beta": [0.28], "A": [400.0], "alpha": [0.34],
                          "B": [2e3]})
    by_name = make_starts(LAW, {c: frame[c].to_numpy() for c in frame.columns})
    np.testing.assert_array_equal(make_starts(LAW, frame), by_name)
    np.testing.assert_array_equal(make_starts(LAW, frame.iloc[0]), by_name)   # a Series
    assert LAW.param_names == ("A", "B", "E", "alpha", "beta")
    np.testing.assert_allclose(np.exp(by_name[0, :3]), [400.0, 2e3, 1.8])


def test_predict_missing_column_shows_the_fits_column_map():
    """FitResult.predict takes no x=: the fix is to rename to the fit's columns."""
    res = _fit_result()
    res.options["x"] = {"N": "params", "D": "tokens"}
    df = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    with pytest.raises(ValueError, match=re.escape(
            "the fit reads N from 'params', D from 'tokens'); the data has columns ['N', 'D']. "
            "Rename yours, e.g. df.rename(columns={'N': 'params', 'D': 'tokens'}).")):
        res.predict(df)
    assert list(df.columns) == ["N", "D"]


@pytest.fixture
def runs(tmp_path):
    path = tmp_path / "runs.csv"
    _frame().rename(columns={"N": "params", "D": "tokens"}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("argv, message", [
    (("fit", "{runs}", "--x", "N=params", "D=tokens", "--where", "loss_ > 2"),
     "name 'loss_' is not defined; the data has columns ['params', 'tokens', 'loss'] (the "
     "data's column 'loss' is close to 'loss_')"),
    (("fit", "{runs}", "--x", "N=params", "D=tokens", "--where", "loss > 100"),
     "--where 'loss > 100' selected no rows (of 30)"),
    # before: pandas took the values as row labels, and the fit ran on 30 copies of row 3
    (("fit", "{runs}", "--x", "N=params", "D=tokens", "--where", "params * 0 + 3"),
     "--where 'params * 0 + 3' is not a condition: it gives float64 values, not True or "
     "False for each row; write a comparison, e.g. --where \"params * 0 + 3 == 1\""),
    (("emergence", "{runs}"), "emergence: missing column(s) ['accuracy']; the data "
     "has ['params', 'tokens', 'loss']. Name them with --y, --loss, --D, --by, --fewshot."),
    (("fit", "{runs}", "--x", "N=params", "D=tokns"),
     "(the data's column 'tokens' is close to 'tokns')"),
    # the law's input names in --where (measured before: "name 'N' is not defined ...
    # (quote odd names in backticks, e.g. `my col` > 1)", no word of --x)
    (("fit", "{runs}", "--x", "N=params", "D=tokens", "--where", "N > 1e8 and D < 1e11"),
     "; --where reads the data's columns, and --x N=params reads N from 'params': write "
     "--where 'params > 1e8 and tokens < 1e11'\n"),
    (("optimal", "{runs}", "--x", "N=params", "D=tokens", "--budgets", "1e21", "--where",
      "N > 1e8"), "write --where 'params > 1e8'\n"),
    (("fit", "{runs}", "--x", "N=params", "D=tokens", "--at", "N=7e10", "D=1.4e1x"),
     "--at D=1.4e1x is not a number"),
    (("fit", "{runs}", "--x", "N=params", "--law", "power_law(input=N, irreducible=false)"),
     "irreducible='false' must be True or False"),
    (("backtest", "{runs}", "--x", "N=params", "D=tokens", "--axis", "params", "--out",
      "/nonexistent_dir/bt.csv"), "--out '/nonexistent_dir/bt.csv': directory"),
    (("backtest", "{runs}", "--x", "N=params", "D=tokens", "--axis", "params", "--save",
      "x.json"), "jaxfit backtest: error: unrecognized arguments: --save x.json (see jaxfit "
                 "backtest --help)"),
    (("optimal", "{runs}", "--x", "N=params", "D=tokens", "--budgets", "1e21", "--plot",
      "/nonexistent_dir/a.png"), "--plot '/nonexistent_dir/a.png': directory"),
    (("optimal", "{runs}", "--x", "N=params", "D=tokens", "--budgets", "1e21", "--prob", "2"),
     "--prob 2.0 is out of range"),
    (("suggest", "{runs}", "--x", "N=params", "D=tokens", "--target", "N=7e10", "Dx=1e12",
      "--grid", "N=1e9,2e9", "D=1e10,2e10"), "--target names ['Dx']"),
    (("suggest", "{runs}", "--x", "N=params", "D=tokens", "--target", "N=abc", "D=1e12",
      "--grid", "N=1e9,2e9", "D=1e10,2e10"), "--target N=abc is not a number"),
    (("suggest", "{runs}", "--x", "N=params", "D=tokens", "--target", "N=1e9,2e9",
      "D=1,2,3", "--grid", "N=1e9,2e9", "D=1e10,2e10"),
     "--target: give every name the same number"),        # was named '--at'
])
def test_cli_audit_bad_input_exit_2_before_the_fit(capsys, no_fit, runs, argv, message):
    """Each failed after the fit (or bootstrap, or every backtest refit), with an internal
    error (exit 3), without the flag's name, or not at all (an ignored option)."""
    before = runs.read_text()
    code, out, err = _cli(capsys, *(a.format(runs=runs) for a in argv))
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and message in err, err
    assert runs.read_text() == before


def test_cli_parquet_without_its_engine_says_what_to_install(capsys, no_fit, tmp_path,
                                                            monkeypatch):
    def no_engine(*a, **k):
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow', ...")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    path = tmp_path / "runs.parquet"
    path.write_bytes(b"PAR1")
    code, _, err = _cli(capsys, "fit", path)
    assert code == 2 and err.count("\n") == 1
    assert "Parquet needs pyarrow (or fastparquet): pip install 'jaxfit-scaling[parquet]'" in err


@pytest.mark.parametrize("command", ["optimal", "suggest"])
def test_cli_decide_commands_take_debug_after_the_subcommand(capsys, no_fit, command):
    """docs/cli.md: --debug before or after the subcommand (optimal/suggest refused it)."""
    extra = ("--budgets", "1e21") if command == "optimal" else ("--target", "N=1", "D=1")
    code, _, err = _cli(capsys, command, "chinchilla", *extra, "--prob", "2", "--debug")
    assert code == 2 and "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("jaxfit: error: --prob 2.0 is out of range")


def test_cli_every_subcommand_takes_debug():
    from jaxfit.cli import _parser

    sub = _parser().commands.choices
    assert [name for name, p in sub.items()
            if "--debug" not in {o for a in p._actions for o in a.option_strings}] == []


def test_one_chain_says_r_hat_needs_two_chains(caplog):
    """``--chains 1``: r_hat is undefined (NaN, diagnostics fail); the warning said only
    'ESS < 100' (or nothing, with a large ESS) and ArviZ logged a shape-validation line."""
    rng = np.random.default_rng(0)
    draws = {k: v * (1 + 0.01 * rng.normal(size=(1, 1, 400))) for k, v in CHINCHILLA.items()}
    draws["sigma"] = 0.01 * (1 + 0.01 * rng.normal(size=(1, 1, 400)))
    post = jf.Posterior(law=LAW, tasks=pd.Index([0]), draws=draws, method="nuts",
                        likelihood=make_likelihood("normal", "log"),
                        options=dict(y="loss", by=None, x={}))
    with caplog.at_level("WARNING"):
        d = post.diagnostics
        summ = post.summary()
    assert not [r for r in caplog.records if r.name.startswith("arviz")]
    assert np.isnan(d["r_hat"].iloc[0]) and not d["ok"].iloc[0]
    assert summ["r_hat"].isna().all()
    # ESS still applies to one chain: the smallest over the parameters, as ArviZ gives it
    # (independent draws: 276-439 of 400 measured)
    import arviz as az
    ess = {n: float(az.ess(np.asarray(post.draws[n][0]), method="bulk")) for n in post.names}
    assert d["ess_bulk"].iloc[0] == pytest.approx(min(ess.values()), rel=1e-12)
    assert min(ess.values()) > 200, ess
    with pytest.warns(jf.warnings.DiagnosticWarning, match=r"nuts: r_hat needs 2 or more "
                                                          r"chains \(1 chain ran"):
        assert not post.warn()


def test_cli_sample_non_finite_draws_say_why_once_exit_1(capsys, monkeypatch):
    """Before: exit 1 whose only stderr was numpy's two-line RuntimeWarning (Laplace draws
    of a poorly identified B overflowing to inf). Then `jaxfit sample` printed a line of
    its own ("non-finite draws (B: 3; of 50 draws each)") beside the library's
    DiagnosticWarning (`nonfinite_fraction`): the same fact twice. Now the library's
    warning names each parameter's count and is the only line; a bootstrap's NaN noise
    scale (no residual degrees of freedom) is its points check's line only (before, also
    the "too wide for float64 ... use --method nuts or bootstrap" line)."""
    post = _posterior()
    post.draws["B"][0, 0, :3] = np.inf

    def sample(*a, **k):                            # as jf.sample ends: post.warn
        post.warn(stacklevel=3)
        return post

    monkeypatch.setattr(importlib.import_module("jaxfit.sample"), "sample", sample)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # would end as exit 3
        code, out, err = _cli(capsys, "sample", "chinchilla", "--method", "laplace")
    assert code == 1 and "inf" in out
    assert err.count("\n") == 1 and err.count("B: 3") == 1, err
    assert err.startswith("warning: laplace: draws with a non-finite value (NaN or inf) in 1 "
                          "task(s) (up to 6% of the draws; non-finite per parameter, of 50 "
                          "draws each: B: 3; the summary table shows them as inf or NaN): "
                          "the posterior is too wide for float64"), err
    assert "Fix: use --method nuts (the default), add data" in err

    boot = _posterior()
    boot = dataclasses.replace(
        boot, method="bootstrap", draws={**boot.draws, "sigma": np.full((1, 1, 50), np.nan)},
        stats={"status": np.zeros((1, 1, 50), np.int32), "rms": np.full((1, 1, 50), 0.01),
               "distinct_points": np.full((1, 1, 50), 5)},
        data={"x": {"N": np.full((1, 5), 1e9), "D": np.full((1, 5), 2e10)},
              "y": np.full((1, 5), 2.0), "w": np.ones((1, 5))})      # 5 points, 5 params

    def bootstrap(*a, **k):
        boot.warn(stacklevel=3)
        return boot

    monkeypatch.setattr(importlib.import_module("jaxfit.sample"), "bootstrap", bootstrap)
    code, _, err = _cli(capsys, "sample", "chinchilla", "--method", "bootstrap")
    assert code == 1
    assert err.count("\n") == 1 and "fewer than 3 points per parameter" in err, err
    assert "non-finite" not in err, err


def test_cli_semicolon_csv_says_so(capsys, no_fit, tmp_path):
    path = tmp_path / "runs.csv"
    _frame().to_csv(path, index=False, sep=";")
    code, _, err = _cli(capsys, "fit", path)
    assert code == 2 and err.count("\n") == 1
    assert "reads as one column 'N;D;loss': its fields are separated by ';', not commas" in err


def test_cli_save_says_where_it_wrote(capsys, monkeypatch, tmp_path):
    """--plot and --out said 'wrote PATH'; --save said nothing."""
    monkeypatch.setattr(jf, "fit", lambda *a, **k: _fit_result())     # no fit runs
    code, _, err = _cli(capsys, "fit", "chinchilla", "--save", tmp_path / "fit.json")
    assert code == 0 and err == f"wrote {tmp_path / 'fit.json'}\n"
    assert jf.load(tmp_path / "fit.json").values.tolist() == _fit_result().values.tolist()


def test_cli_optimal_edge_warning_is_one_line(capsys, tmp_path):
    """An exponent of 0 has no compute-optimal allocation: exit 1 with the library's
    warning as one 'warning:' line (it printed as a raw two-line RuntimeWarning)."""
    path = jf.save(_fit_result(params={**CHINCHILLA, "alpha": 0.0}), tmp_path / "fit.json")
    code, out, err = _cli(capsys, "optimal", path, "--budgets", "1e21", "--method", "numerical")
    assert code == 1 and "optimal: optimal" in out
    # a saved fit holds no data, so the budgets' units are not checked (one line of its
    # own, first), then the edge warning, one line
    lines = err.splitlines()
    assert len(lines) == 2 and err.endswith("\n"), err
    assert lines[0].startswith("warning: optimal: the budgets' units were not checked")
    assert lines[1].startswith("warning: optimal: in 100.0% of (task, draw, budget) members")


# ------------------------------------------------------------------------ user-written laws

def _user_law(fn, name="my_law"):
    """The documented custom law's spec (docs/custom-law.md) with another ``fn``."""
    from numpyro.distributions import constraints

    return jf.Law(fn=fn, inputs=("N",), positive_inputs=("N",), name=name,
                  params={"E": jf.Param(constraints.positive, init=(0.5, 3.0)),
                          "A": jf.Param(constraints.positive, init=(1.0, 1e6)),
                          "alpha": jf.Param(constraints.interval(0.0, 1.0), init=(0.05, 0.5))})


def _power(p, x):
    return p["E"] + p["A"] * x["N"] ** -p["alpha"]


@pytest.mark.parametrize("fn, error, message", [
    # a reduction: before, fitted to its one number and reported converged
    (lambda p, x: jnp.mean(_power(p, x)), ValueError,
     "fn returned one value (shape ()) for 30 points, and that value depends on the "
     "inputs: it reduces over the points"),
    # an added axis: before, 'too many values to unpack' from inside the solver
    (lambda p, x: _power(p, x)[:, None], ValueError,
     "fn returned shape (30, 1) for inputs of shape (30,) and parameters as scalars; it "
     "must return shape (30,)"),
    (lambda p, x: (_power(p, x), 0.0), TypeError, "fn returned a tuple; it must return one "
     "array"),
    # numpy on a tracer: before, JAX's TracerArrayConversionError with no hint
    (lambda p, x: p["E"] + p["A"] * np.exp(-p["alpha"] * np.log(x["N"])), TypeError,
     "fn cannot be traced by JAX (TracerArrayConversionError"),
    # float32 predictions: before, the fit ended 'stalled' with advice about kinks
    (lambda p, x: _power(p, x).astype(jnp.float32), TypeError,
     "fn returned float32 predictions from float64 inputs and parameters"),
    (lambda p, x: p["E"] + p["A"] * x["C"] ** -p["alpha"], ValueError,
     "fn looked up 'C', which is neither one of its inputs ['N'] (the x dict) nor one of "
     "its parameters ['E', 'A', 'alpha']"),
    # fn(x, p) instead of fn(p, x): before, "looked up 'E', which is neither one of its
    # inputs ['N'] ... nor one of its parameters ['E', 'A', 'alpha']"
    (lambda x, p: _power(p, x), ValueError,
     "fn looked up the parameter 'E' in the x dict. jaxfit calls fn(params, x): parameters "
     "['E', 'A', 'alpha'] in the first argument, inputs ['N'] in the second"),
    (lambda p, x: p["E"] + p["A"] * p["N"] ** -p["alpha"], ValueError,
     "fn looked up the input 'N' in the params dict."),
])
@pytest.mark.parametrize("entry", ["fit", "bootstrap"])
def test_a_law_that_does_not_return_one_value_per_point_fails_before_fitting(
        no_fit, fn, error, message, entry):
    df = _frame()
    call = getattr(jf, entry)
    with pytest.raises(error, match=re.escape(f"law 'my_law': {message}")):
        call(_user_law(fn), df, y="loss", restarts=2)


def test_a_constant_law_passes_the_output_check():
    """One value for every point is allowed when it does not depend on the inputs."""
    df = _frame()
    batch = make_batch(df, _user_law(_power), y="loss")
    checks.law_output(_user_law(lambda p, x: p["E"]), batch.x, batch.w)
    checks.law_output(_user_law(_power), batch.x, batch.w)


def _log_power_without_E(p, x):
    """log(A N^-alpha): the log of the law without its floor E (a wrong log_fn)."""
    return jnp.log(p["A"]) - p["alpha"] * jnp.log(x["N"])


@pytest.mark.parametrize("entry", ["fit", "bootstrap", "sample"])
def test_a_log_fn_that_is_not_the_log_of_fn_fails_before_fitting(no_fit, entry):
    """A law's log_fn gives its residuals in log space; nothing compared it with fn, so a
    wrong one silently fitted another function (measured on 12 points of E + A N^-alpha
    with E left out of log_fn: A 4.5, alpha 0.039 instead of A 48, alpha 0.30). It is
    evaluated once against fn at the data's inputs and refused, naming the law, the
    parameters, the point and the disagreement."""
    df = _frame()
    wrong = _user_law(_power).replace(log_fn=_log_power_without_E)
    call = (lambda *a, **k: jf.sample(*a, method="laplace", **k)) if entry == "sample" \
        else getattr(jf, entry)
    with pytest.raises(ValueError, match=re.escape(
            "law 'my_law': log_fn is not log(fn): at the centre of its parameters' init box "
            "(E=1.225, A=1000, alpha=0.1866), at the data's point N=1.6e+10, fn = 13.6944 but "
            "exp(log_fn) = 12.4697 (|log_fn - log(fn)| = 0.0937, the largest of 16 points "
            "checked; tolerance 1e-06 relative)")) as e:
        call(wrong, df, y="loss", restarts=2)
    assert "Fix log_fn so that it returns jnp.log(fn(params, x)), or drop it" in str(e.value)


def test_the_log_fn_check_tolerance_and_a_replaced_fn():
    """log(fn) to float64 rounding passes; a relative disagreement of 1e-5 anywhere (here
    only at the largest N) is refused; so is ``law.replace(fn=..., log_fn=old)``, which
    keeps the old law's log_fn (a bare ``replace(fn=...)`` drops it), and a log_fn JAX
    cannot trace. The check looks at two parameter vectors: a log_fn that is right only at
    the centre of the init box is refused too."""
    df = _frame()
    batch = make_batch(df, _user_law(_power), y="loss")
    right = _user_law(_power).replace(log_fn=lambda p, x: jnp.log(p["E"] + p["A"] * jnp.exp(
        -p["alpha"] * jnp.log(x["N"]))))
    checks.law_log(right, batch.x, batch.w)
    checks.law_output(right, batch.x, batch.w)
    # numpy in log_fn: before, JAX's error from inside the fit's objective
    with pytest.raises(TypeError, match=r"law 'my_law': log_fn cannot be traced by JAX "
                                        r"\(TracerArrayConversionError"):
        checks.law_log(right.replace(log_fn=lambda p, x: np.log(_power(p, x))), batch.x,
                       batch.w)
    top = float(df.N.max())
    off = right.replace(log_fn=lambda p, x: jnp.log(_power(p, x)) + jnp.where(
        x["N"] >= top, 1e-5, 0.0))
    with pytest.raises(ValueError, match=r"at the data's point N=1\.6e\+10, .*"
                                         r"\|log_fn - log\(fn\)\| = 1e-05"):
        checks.law_log(off, batch.x, batch.w)
    centre = 0.5 * (np.log(0.05 / 0.95) + np.log(0.5 / 0.5))        # logit of alpha's box
    only = right.replace(log_fn=lambda p, x: jnp.log(p["E"] + p["A"] * x["N"] ** -(
        jax.nn.sigmoid(centre) + 0.5 * (p["alpha"] - jax.nn.sigmoid(centre)))))
    checks.law_log(only.replace(log_fn=None), batch.x, batch.w)       # no log_fn: no check
    with pytest.raises(ValueError, match=r"log_fn is not log\(fn\): at a point inside its "
                                         r"parameters' init box"):
        checks.law_log(only, batch.x, batch.w)
    old = jf.models.power_law("N")
    other = old.replace(fn=lambda p, x: p["E"] + p["A"] * x["N"] ** (-1.01 * p["alpha"]),
                        log_fn=old.log_fn)
    with pytest.raises(ValueError, match=r"law 'power_law_N': log_fn is not log\(fn\).*"
                                         r"law\.replace\(fn=\.\.\., log_fn=\.\.\.\) must "
                                         r"give the new fn's log"):
        checks.law_log(other, batch.x, batch.w)


def _built_in_laws_with_log_fn() -> list:
    """Every factory of `jaxfit.models` (with its defaults) whose law declares a log_fn, the
    other variants of those factories, FLP-M's domain loss, and combinators of them."""
    from jaxfit.recipes.flp_m import domain_loss

    laws = [f() for f in (getattr(jf.models, n) for n in jf.models.__all__) if callable(f)]
    laws = [law for law in laws if law.log_fn is not None]
    assert {law.name for law in laws} >= {"chinchilla", "power_law_N", "kaplan_C"}
    return [*laws, jf.models.power_law("N", irreducible=False), domain_loss(),
            domain_loss(irreducible=True), jf.fix(jf.models.chinchilla(), E=1.7, beta=0.3),
            jf.compose(jf.models.sigmoid("L"), jf.models.chinchilla(), into="L"),
            jf.compose(jf.models.kaplan("L"), jf.models.linear("T"), into="L")]


@pytest.mark.parametrize("law", _built_in_laws_with_log_fn(), ids=lambda law: law.name)
def test_every_built_in_log_fn_passes_the_log_fn_check(law):
    """The built-in laws' log_fns are log(fn) at inputs over 28 decades (where fn is a
    positive normal float), and the check is not vacuous there: the same law with its
    log_fn off by 1e-4 is refused."""
    n = 64
    x = {name: (law.input_bounds.get(name, 0.0) + np.geomspace(1e-3, 1e25, n))[None, :]
         for name in law.inputs}
    w = np.ones((1, n))
    checks.law_log(law, x, w)
    nudged = law.replace(log_fn=lambda p, xx, f=law.log_fn: f(p, xx) + 1e-4)
    with pytest.raises(ValueError, match=rf"law '{re.escape(law.name)}': log_fn is not log"):
        checks.law_log(nudged, x, w)


def test_a_prior_without_density_at_the_fit_fails_before_sampling():
    """Before: NUTS stayed at the start (every draw equal to the fit, all transitions
    divergent) and Laplace centred its Gaussian outside the prior's support (98%
    interval of E [1.79, 1.85] under Uniform(1.9, 2.5))."""
    import numpyro.distributions as dist
    from numpyro.distributions import constraints

    law = _user_law(_power)
    df = _frame()
    start = _fit_result(law=law, params=dict(E=1.82, A=5.6e3, alpha=0.23))
    with pytest.raises(ValueError, match=re.escape(
            "the prior of 'E', Uniform(low=1.9, high=2.5), has zero density at the point fit "
            "the sampler starts from (E=1.82 in 1 task(s) [0])")):
        jf.sample(law, df, y="loss", priors={"E": dist.Uniform(1.9, 2.5)}, start=start,
                  method="laplace")
    # the same through Param.prior
    bounded = law.replace(params={**law.params, "E": jf.Param(
        constraints.positive, init=(0.5, 3.0), prior=dist.Uniform(1.9, 2.5))})
    with pytest.raises(ValueError, match="the prior of 'E', Uniform"):
        jf.sample(bounded, df, y="loss", start=start, method="laplace")
    with pytest.raises(ValueError, match=re.escape(
            "priors['alpha']: prior=Normal(loc=-3, scale=0.1) puts no measurable "
            "probability inside the parameter's constraint Interval(lower=0, upper=1)")):
        jf.sample(law, df, y="loss", priors={"alpha": dist.Normal(-3.0, 0.1)}, start=start)
    with pytest.raises(ValueError, match=re.escape(
            "priors['alpha']: 'alpha' is held fixed at 0.2 in law 'my_law|fixed(alpha)'")):
        jf.sample(jf.fix(law, alpha=0.2), df, y="loss", priors={"alpha": dist.Normal()})
    with pytest.raises(ValueError, match=re.escape(
            "priors['sigma']: prior=Uniform(low=-2, high=-1) puts no measurable probability "
            "inside the parameter's constraint Positive(lower=0)")):
        jf.sample(law, df, y="loss", priors={"sigma": dist.Uniform(-2.0, -1.0)}, start=start)


def test_start_must_be_a_fit_of_the_same_law_and_columns(no_fit):
    """`start=` sets a bootstrap's noise scale and is kept as `Posterior.fit`. Before:
    a fit of ``fix(law, alpha=0.2)`` was accepted as the start of a bootstrap of
    ``fix(law, alpha=0.3)``: sigma 0.147 instead of 0.010, and a 90% predictive interval
    [1.48, 2.38] instead of [1.84, 1.91], without a word."""
    law = _user_law(_power)
    df = _frame().assign(loss2=lambda d: d["loss"] * 1.1, n2=lambda d: d["N"])
    start = dataclasses.replace(
        _fit_result(law=jf.fix(law, alpha=0.2), params=dict(E=1.8, A=2e3)),
        options=dict(y="loss", by=None, x={}))
    with pytest.raises(ValueError, match=re.escape(
            "start is a fit with fixed parameters {alpha=0.2}; law 'my_law|fixed(alpha)' "
            "holds {alpha=0.3}; give start=jf.fit(...) of this law and data")):
        jf.bootstrap(jf.fix(law, alpha=0.3), df, y="loss", n=10, start=start)
    with pytest.raises(ValueError, match=re.escape(
            "start is a fit of y='loss', this call's target is y='loss2'")):
        jf.sample(jf.fix(law, alpha=0.2), df, y="loss2", start=start, method="laplace")
    with pytest.raises(ValueError, match=re.escape(
            "start is a fit reading inputs from columns {'N': 'N'}, this call reads "
            "{'N': 'n2'}")):
        jf.bootstrap(jf.fix(law, alpha=0.2), df, y="loss", x={"N": "n2"}, n=10, start=start)


def test_messages_name_integer_tasks_as_python_values():
    """Task labels of an integer column (by="seed") and of several by columns are named
    as the user wrote them: a message read "(np.int64(7): 1 of 2)" or "e.g.
    task=('b', np.int64(1))" (numpy 2's repr of a scalar label)."""
    from jaxfit.result import task_position

    tasks = pd.Index([7, 9], name="seed")
    values = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]])
    n, text = checks.repeated_rows(np.array([0, 0, 1]), values, tasks, ["seed", "N", "loss"])
    assert n == 1 and "(7: 1 of 2)" in text and "np.int64" not in text
    several = pd.MultiIndex.from_tuples([("b", 1), ("a", 2)], names=["family", "size"])
    with pytest.raises(ValueError, match=r"e\.g\. task=\('b', 1\)\)"):
        task_position(several, "b", "fit")
