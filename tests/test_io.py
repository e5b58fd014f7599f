"""Saving and loading: fits (JSON) and posteriors (netCDF) predict exactly as before."""

import dataclasses
import datetime
import json
import math
import re

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from jaxfit.inference.bayes import make_likelihood
from jaxfit.io import LAWS, fit_to_dict, get_law, load, register_law, save
from jaxfit.posterior import Posterior


@pytest.fixture(scope="module")
def two_task_fit():
    """Power law in C for two tasks (exact data; truth E = 1.5/2.0, A = 300, alpha = 0.15)."""
    C = np.geomspace(1e18, 1e22, 9)
    df = pd.concat([pd.DataFrame({"flops": C, "task": t, "loss": E + 300.0 * C ** -0.15})
                    for t, E in (("x", 1.5), ("y", 2.0))], ignore_index=True)
    res = jf.fit(jf.models.power_law("C"), df, y="loss", by="task", x={"C": "flops"},
                 restarts=8)
    return res, df


def test_fit_round_trip(two_task_fit, tmp_path):
    res, df = two_task_fit
    np.testing.assert_allclose(res.params[["E", "A", "alpha"]].to_numpy(),
                               [[1.5, 300.0, 0.15], [2.0, 300.0, 0.15]], rtol=1e-5)
    path = save(res, tmp_path / "fit.json", law_spec="power_law(input=C)")
    back = load(path)
    assert back.law.name == "power_law_C" and list(back.tasks) == ["x", "y"]
    assert back.tasks.name == "task" and back.options["x"] == {"C": "flops"}
    np.testing.assert_array_equal(back.values, res.values)           # exact floats
    for name in ("objective", "status", "steps", "grad_norm", "at_bound", "identified"):
        np.testing.assert_array_equal(getattr(back, name), getattr(res, name))
        # the dtypes too (status came back int32, the fit's is int64)
        assert getattr(back, name).dtype == getattr(res, name).dtype, name
    new = pd.DataFrame({"flops": [1e23, 1e24, 1e25], "task": ["x", "y", "x"]})
    pd.testing.assert_frame_equal(back.predict(new), res.predict(new))
    pd.testing.assert_frame_equal(back.predict(new[["flops"]]), res.predict(new[["flops"]]))
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame())
    assert fit_to_dict(back, "power_law(input=C)") == json.loads(path.read_text())


def test_single_task_round_trip_keeps_the_task_index(two_task_fit, tmp_path):
    """A fit without ``by`` has one task labelled 0 in an index named "task" (as
    `jaxfit.data.make_batch` builds it); a loaded copy has the same index and tables.
    Before: the name was lost, so to_frame() and summary() differed after a round trip."""
    res, _ = two_task_fit
    one = dataclasses.replace(
        res, tasks=pd.Index([0], name="task"), options={**res.options, "by": None},
        **{k: getattr(res, k)[:1] for k in ("values", "objective", "status", "steps",
                                           "grad_norm", "at_bound", "identified", "dof")},
        design=res.design[:1], data=None)
    back = load(save(one, tmp_path / "one.json", law_spec="power_law(input=C)"))
    assert back.tasks.equals(one.tasks) and back.tasks.name == "task"
    pd.testing.assert_frame_equal(back.to_frame(), one.to_frame())


def test_fit_law_must_match(two_task_fit, tmp_path):
    res, _ = two_task_fit
    # a law built in code, named by nothing `get_law` knows: load needs law=
    own = dataclasses.replace(res, law=res.law.replace(name="my_law", spec=None))
    path = save(own, tmp_path / "fit.json")                 # spec = the law's name
    with pytest.raises(ValueError, match="unknown law 'my_law'.*pass load"):
        load(path)
    assert load(path, law=jf.models.power_law("C")).param_dict("x")["alpha"] == \
        pytest.approx(0.15, rel=1e-5)
    # the file's name once and "load:" once (before: "load: 'fit.json': load: law ...")
    with pytest.raises(ValueError, match=rf"^load: {re.escape(repr(str(path)))}: law "
                                         r"'chinchilla' has parameters") as e:
        load(path, law=jf.models.chinchilla())
    assert str(e.value).count("load:") == 1
    # same parameter names, another input: the C fit's parameters must not be applied to
    # N (before: loaded, and predicted at N with the parameters fitted in C)
    with pytest.raises(ValueError, match=r"^load: '.*plain\.json': law 'power_law_N' takes "
                                         r"inputs \['N'\], the file's "
                                         r"law 'power_law_C' takes \['C'\]") as e:
        load(save(res, tmp_path / "plain.json"), law=jf.models.power_law("N"))
    assert str(e.value).count("load:") == 1
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a jaxfit fit"):
        load(tmp_path / "junk.json")
    with pytest.raises(ValueError, match="no file"):
        load(tmp_path / "missing.json")


def test_a_fixed_law_must_hold_the_saved_values(two_task_fit, tmp_path):
    """A fit of ``jf.fix(law, alpha=...)`` records the fixed values; loading it with a law
    that holds other ones fails. Before: loaded, and predicted with the loaded law's
    value (saved with alpha=0.15, loaded with alpha=0.2: every prediction moved)."""
    res, df = two_task_fit
    law = jf.fix(jf.models.power_law("C"), alpha=0.15)
    fixed = dataclasses.replace(res, law=law, values=res.values[:, :2],
                                at_bound=res.at_bound[:, :2], data=None)
    path = save(fixed, tmp_path / "fixed.json")
    assert json.loads(path.read_text())["law"]["fixed"] == {"alpha": 0.15}
    with pytest.raises(ValueError, match=re.escape(
            "law 'power_law_C|fixed(alpha)' holds fixed parameters {alpha=0.2}, the file was "
            "fitted with {alpha=0.15}; pass the law it was saved from, e.g. "
            "jaxfit.fix(law, alpha=0.15).")):
        load(path, law=jf.fix(jf.models.power_law("C"), alpha=0.2))
    # the law without its fix (a custom law the user fixed before fitting): before, only
    # "the file has ['A', 'E']; pass the law it was saved from"
    with pytest.raises(ValueError, match=re.escape(
            "the file has ['A', 'E'] (it was fitted with alpha=0.15 held fixed: pass "
            "law=jaxfit.fix(law, alpha=0.15)); pass the law")):
        load(path, law=jf.models.power_law("C"))
    back = load(path, law=jf.fix(jf.models.power_law("C"), alpha=0.15))
    new = pd.DataFrame({"flops": [1e23], "task": ["x"]})
    pd.testing.assert_frame_equal(back.predict(new), fixed.predict(new))
    post = dataclasses.replace(_posterior(res.tasks), law=law, fit=None)
    post = dataclasses.replace(post, draws={k: v for k, v in post.draws.items() if k != "alpha"})
    path = save(post, tmp_path / "fixed.nc")
    with pytest.raises(ValueError, match=re.escape("holds fixed parameters {alpha=0.2}")):
        load(path, law=jf.fix(jf.models.power_law("C"), alpha=0.2))
    assert load(path, law=law).law.fixed == {"alpha": 0.15}
    # a file written before the values were recorded loads as before
    doc = json.loads((tmp_path / "fixed.json").read_text())
    del doc["law"]["fixed"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert load(tmp_path / "old.json", law=law).values.tolist() == fixed.values.tolist()
    # a law without fixed parameters is recorded with none: {} must match {}
    unfixed = save(res, tmp_path / "unfixed.json", law_spec="power_law(input=C)")
    assert json.loads(unfixed.read_text())["law"]["fixed"] == {}
    pl = jf.models.power_law("C")
    reordered = pl.replace(params={k: pl.params[k] for k in ("E", "A", "alpha")})
    with pytest.raises(ValueError, match=re.escape(
            "the file has ['A', 'alpha', 'E'] (the same names in another order: list params= "
            "in the file's order)")):
        load(unfixed, law=reordered)


def test_factory_fixed_and_shared_laws_load_without_law(two_task_fit, tmp_path):
    """A fit of a built-in factory's law with arguments, of its `fix` and of its `share`
    loads without ``law=``. Before: ``power_law("C")`` was saved as "power_law_C", which
    `load` did not know (a fit of ``fix(power_law("C"), ...)`` likewise), and a fit of
    ``share(chinchilla(), "E")`` loaded as the unshared law, without a word."""
    res, _ = two_task_fit
    new = pd.DataFrame({"flops": [1e23, 1e24], "task": ["x", "y"]})
    back = load(save(res, tmp_path / "plain.json"))
    assert json.loads((tmp_path / "plain.json").read_text())["law"]["spec"] == \
        "power_law(input='C', irreducible=True)"
    assert back.law.name == "power_law_C" and back.law.inputs == ("C",)
    pd.testing.assert_frame_equal(back.predict(new), res.predict(new))
    law = jf.fix(jf.models.power_law("C"), alpha=0.15)
    fixed = dataclasses.replace(res, law=law, values=res.values[:, :2],
                                at_bound=res.at_bound[:, :2], data=None)
    back = load(save(fixed, tmp_path / "fixed.json"))
    assert back.law.fixed == {"alpha": 0.15} and back.law.param_names == ("A", "E")
    pd.testing.assert_frame_equal(back.predict(new), fixed.predict(new))
    shared = dataclasses.replace(res, law=jf.share(res.law, "alpha"))
    path = save(shared, tmp_path / "shared.json")
    assert load(path).law.shared == ("alpha",)
    with pytest.raises(ValueError, match=re.escape(
            "law 'power_law_C' shares [] across tasks, the file was fitted sharing ['alpha']; "
            "pass the law it was saved from, e.g. jaxfit.share(law, 'alpha').")):
        load(path, law=jf.models.power_law("C"))
    post = dataclasses.replace(_posterior(res.tasks), law=jf.share(res.law, "alpha"), fit=None)
    assert load(save(post, tmp_path / "shared.nc")).law.shared == ("alpha",)


def test_every_factory_spec_rebuilds_its_law():
    """The spec a built-in factory records rebuilds the same law through `get_law`."""
    m = jf.models
    for law in (m.power_law("C", irreducible=False), m.kaplan("N"), m.sigmoid("x"),
                m.linear("x"), m.broken_power_law("C"), m.ladder_step1(E="real"),
                m.ladder_step1_flops("F"), m.emergence_shift("power", "T"),
                m.relu_elbow("x", temperature=0.1, increasing=True),
                m.emergence(temperature=0.0, fewshot_shift=True), m.chinchilla()):
        back = get_law(law.spec or law.name)
        assert (back.name, back.inputs, back.param_names, back.formula) == \
            (law.name, law.inputs, law.param_names, law.formula), law.spec
    assert m.sigmoid("x").replace(params=m.sigmoid("x").params).spec is None


def test_date_task_labels_round_trip(two_task_fit, tmp_path):
    """Tasks labelled by a date column (by="date") come back as dates. Before, they came
    back as text, so `predict` on the same data found none of the fitted tasks."""
    res, _ = two_task_fit
    dates = pd.DatetimeIndex(["2024-01-01", "2024-06-01 12:30"], name="date")
    dated = dataclasses.replace(res, tasks=dates, options={**res.options, "by": "date"})
    back = load(save(dated, tmp_path / "dated.json", law_spec="power_law(input=C)"))
    assert back.tasks.equals(dated.tasks) and back.tasks.name == "date"
    new = pd.DataFrame({"flops": [1e23, 1e24], "date": dates[::-1]})
    pd.testing.assert_frame_equal(back.predict(new), dated.predict(new))


@pytest.mark.parametrize("dates", [
    pd.DatetimeIndex(["2024-01-01 10:00", "2024-06-01"], tz="US/Eastern", name="date"),
    pd.DatetimeIndex(["2024-01-01 10:00:00.5", "2024-06-01"], name="date")])
def test_zoned_and_fractional_date_labels_round_trip(two_task_fit, tmp_path, dates):
    """Labels in a timezone on both sides of a daylight-saving change (two UTC offsets),
    and labels with and without fractional seconds, load as the same timestamps. Before:
    both saved, then failed to load ("Mixed timezones detected"; "time data ... doesn't
    match format")."""
    res, _ = two_task_fit
    dated = dataclasses.replace(res, tasks=dates, options={**res.options, "by": "date"})
    back = load(save(dated, tmp_path / "dated.json", law_spec="power_law(input=C)"))
    assert back.tasks.equals(dated.tasks) and str(back.tasks.tz) == str(dated.tasks.tz)
    new = pd.DataFrame({"flops": [1e23, 1e24], "date": dates[::-1]})
    pd.testing.assert_frame_equal(back.predict(new), dated.predict(new))
    if dates.tz is not None:                   # a corrupted zone is named
        doc = json.loads((tmp_path / "dated.json").read_text())
        doc["task_types"] = ["datetime:Nowhere/Atlantis"]
        (tmp_path / "bad.json").write_text(json.dumps(doc))
        with pytest.raises(ValueError, match="'task_types' names an unknown timezone"):
            load(tmp_path / "bad.json")


def _posterior(tasks: pd.Index, method="nuts") -> Posterior:
    rng = np.random.default_rng(0)
    T, C, S = len(tasks), 2, 40
    draws = {"A": rng.lognormal(np.log(300), 0.05, (T, C, S)),
             "alpha": rng.normal(0.15, 0.005, (T, C, S)),
             "E": rng.normal(1.5, 0.01, (T, C, S)),
             "sigma": rng.lognormal(np.log(0.01), 0.1, (T, C, S))}
    stats = {"diverging": rng.random((T, C, S)) < 0.05,
             "n_steps": rng.integers(1, 16, (T, C, S))}
    data = {"x": {"C": np.tile(np.geomspace(1e18, 1e21, 8), (T, 1))},
            "y": np.full((T, 8), 2.0), "w": np.ones((T, 8))}
    return Posterior(law=jf.models.power_law("C"), tasks=tasks, draws=draws,
                     likelihood=make_likelihood("studentt", "log", nu=5.0), method=method,
                     stats=stats, options={"y": "loss", "by": list(tasks.names), "x": {}},
                     timing={"sample": 1.0}, data=data)


def test_saved_kind_by_content_whatever_the_name(two_task_fit, tmp_path):
    from jaxfit.io import NETCDF_MAGIC, saved_kind

    res, _ = two_task_fit
    fit = save(res, tmp_path / "fit.out", law_spec="power_law(input=C)")
    post = save(_posterior(pd.Index(["x", "y"], name="task")), tmp_path / "post.nc",
                law_spec="power_law(input=C)")
    (tmp_path / "post.bin").write_bytes(post.read_bytes())
    (tmp_path / "runs.json").write_text('{"law": "x"}')
    (tmp_path / "runs.csv").write_text("N,D,loss\n1,2,3\n")
    assert post.read_bytes()[:4] in NETCDF_MAGIC
    assert [saved_kind(tmp_path / n) for n in ("fit.out", "post.nc", "post.bin", "runs.json",
                                               "runs.csv", "missing.json")] == \
        ["fit", "posterior", "posterior", None, None, None]
    assert isinstance(load(tmp_path / "post.bin"), Posterior)        # load tells it the same
    assert load(fit).law.name == "power_law_C"


@pytest.mark.parametrize("tasks", [
    pd.Index(["x", "y"], name="task"),
    pd.MultiIndex.from_tuples([("olmo", 1), ("olmo", 2), ("pythia", 1)],
                              names=["family", "seed"]),
    pd.MultiIndex.from_arrays([pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-05"]),
                               ["a", "b", "a"]], names=["date", "run"])])
def test_posterior_round_trip(tasks, tmp_path):
    post = _posterior(tasks)
    path = save(post, tmp_path / "post.nc", law_spec="power_law(input=C)")
    # Rebuilt from the spec for one index, given for the other (same law object: the
    # prediction program compiles once).
    back = load(path, law=None if tasks.nlevels == 1 else post.law)
    assert back.method == "nuts" and back.likelihood == post.likelihood
    assert back.tasks.equals(post.tasks) and back.tasks.names == post.tasks.names
    for name, a in post.draws.items():
        np.testing.assert_array_equal(back.draws[name], a)
    np.testing.assert_array_equal(back.stats["diverging"], post.stats["diverging"])
    keys = tasks.to_frame(index=False)
    new = pd.concat([keys.assign(C=c) for c in (1e22, 1e23)], ignore_index=True)
    pd.testing.assert_frame_equal(back.predict(new, prob=0.8), post.predict(new, prob=0.8))
    if tasks.nlevels > 1:                      # every task at each row
        pd.testing.assert_frame_equal(back.predict(new[["C"]]), post.predict(new[["C"]]))
    pd.testing.assert_frame_equal(back.diagnostics, post.diagnostics)
    pd.testing.assert_frame_equal(back.summary(), post.summary())
    # to the last bit: the loaded draws were a moved-axis view, whose strided sums made
    # summary()'s means and sds differ by 1 ulp (and report() could round otherwise)
    assert back.summary().equals(post.summary())
    assert all(back.draws[n].flags["C_CONTIGUOUS"] for n in back.names)
    # each group once (the pointwise groups were listed, and written by to_netcdf, twice)
    groups = post.idata.groups()
    assert len(groups) == len(set(groups)) and "log_likelihood" in groups
    assert list(post.idata.log_likelihood["obs_task"].values[[0, -1]]) == list(
        post.idata.posterior["task"].values[[0, -1]])


def test_posterior_keeps_its_fit(two_task_fit, tmp_path):
    res, _ = two_task_fit
    post = _posterior(res.tasks, method="bootstrap")
    post = dataclasses.replace(post, fit=res, stats={})
    back = load(save(post, tmp_path / "p.nc", law_spec="power_law(input=C)"))
    np.testing.assert_array_equal(back.fit.values, res.values)
    assert back.method == "bootstrap" and back.stats == {}


def test_posterior_priors_round_trip_as_distributions(two_task_fit, tmp_path):
    """A loaded posterior's priors were strings ("<numpyro...Normal object at 0x7f...>"):
    the numpyro distributions' classes and arguments are recorded and rebuilt; a prior
    that cannot be rebuilt comes back as a PriorDescription that sample refuses."""
    import numpyro.distributions as dist

    res, df = two_task_fit
    priors = {"E": dist.Normal(1.5, 0.25), "alpha": dist.Uniform(0.05, 0.4),
              "sigma": dist.HalfNormal(0.5),
              "A": dist.TransformedDistribution(dist.Normal(5.0, 1.0),
                                                [dist.transforms.ExpTransform()])}
    post = dataclasses.replace(_posterior(res.tasks), options={
        **_posterior(res.tasks).options, "priors": priors})
    back = load(save(post, tmp_path / "priors.nc", law_spec="power_law(input=C)"))
    got = back.options["priors"]
    assert set(got) == set(priors)
    for name in ("E", "alpha", "sigma"):
        assert type(got[name]) is type(priors[name])
        v = jnp.asarray([0.1, 0.2, 0.3])
        np.testing.assert_array_equal(got[name].log_prob(v), priors[name].log_prob(v))
    assert (got["E"].loc, got["E"].scale, got["alpha"].high) == (1.5, 0.25, 0.4)
    from jaxfit.io import _prior_from_json
    from jaxfit.law import PriorDescription

    assert got["A"] == PriorDescription(
        "TransformedDistribution()", "jaxfit rebuilds a numpyro distribution from its class "
        "and constructor arguments, and TransformedDistribution is not one it can")
    with pytest.raises(AttributeError, match="'log_prob': the prior TransformedDistribution"
                                             r"\(\) is a description loaded from a file"):
        got["A"].log_prob(1.0)
    with pytest.raises(ValueError, match=r"priors\['A'\]: prior TransformedDistribution\(\) "
                                         "is a description loaded from a saved posterior"):
        jf.sample(res.law, df, y="loss", by="task", x={"C": "flops"}, priors=got)
    # a file written before: the string it held is a description, not a distribution
    old = _prior_from_json("<numpyro.distributions.continuous.Normal object at 0x7f>")
    assert isinstance(old, PriorDescription) and "before priors were recorded" in old.reason


def test_posterior_of_a_shared_law_keeps_its_unshared_fit(two_task_fit, tmp_path):
    """`jaxfit.sample` of a `jaxfit.share` law keeps the point fit of the law without
    sharing it started from; the file loads with both. Before: every such file failed to
    load ("the file was fitted sharing []")."""
    res, _ = two_task_fit
    post = dataclasses.replace(_posterior(res.tasks), law=jf.share(res.law, "alpha"), fit=res)
    back = load(save(post, tmp_path / "shared.nc"))
    assert back.law.shared == ("alpha",) and back.fit.law.shared == ()
    np.testing.assert_array_equal(back.fit.values, res.values)
    new = pd.DataFrame({"flops": [1e23], "task": ["y"]})
    pd.testing.assert_frame_equal(back.fit.predict(new), res.predict(new))


def test_bootstrap_round_trip_keeps_its_refit_statistics(two_task_fit, tmp_path):
    """A loaded bootstrap's diagnostics (converged, under-determined and collapsed-scale
    fractions) equal the saved one's: the refit statistics are written to their own group,
    not to sample_stats (a bootstrap is not a sampler's chain)."""
    res, _ = two_task_fit
    post = _posterior(res.tasks, method="bootstrap")
    T, C, S = post.draws["A"].shape
    rng = np.random.default_rng(1)
    stats = {"status": np.where(rng.random((T, C, S)) < 0.1, 2, 0),
             "distinct_points": rng.integers(2, 9, (T, C, S)),
             "rms": np.where(rng.random((T, C, S)) < 0.2, 0.0, 0.01)}
    post = dataclasses.replace(post, fit=res, stats=stats)
    back = load(save(post, tmp_path / "b.nc", law_spec="power_law(input=C)"))
    for name, a in stats.items():
        np.testing.assert_array_equal(back.stats[name], a)
    d = back.diagnostics
    pd.testing.assert_frame_equal(d, post.diagnostics)
    # ... and are the fractions of the refits' statistics (status 0; distinct points at
    # most the law's 3 parameters; RMS below 1e-6), task by task
    np.testing.assert_allclose(d["converged_fraction"], (stats["status"] == 0).mean(axis=(1, 2)))
    np.testing.assert_allclose(d["underdetermined_fraction"],
                               (stats["distinct_points"] <= 3).mean(axis=(1, 2)))
    np.testing.assert_allclose(d["sigma_collapsed_fraction"], (stats["rms"] < 1e-6).mean(axis=(1, 2)))
    assert (d["converged_fraction"] < 1).all() and (d["sigma_collapsed_fraction"] > 0).all()
    assert "sample_stats" not in back.idata.groups()


@pytest.mark.parametrize("method", ["laplace", "nuts"])
def test_round_trip_keeps_per_task_sampler_statistics(tmp_path, method):
    """A loaded posterior's diagnostics equal the saved one's: statistics that are not one
    value per draw (Laplace: the curvature ratio and the mode search's status per task;
    NUTS: warm-up steps) are kept too. Before, a Laplace posterior whose mode search
    failed loaded with ``ok`` True (its ``map_converged`` and ``curvature_ratio`` were
    dropped)."""
    post = _posterior(pd.Index(["x", "y"], name="task"), method=method)
    T, C, S = post.draws["A"].shape
    stats = ({"curvature_ratio": np.array([1e-3, 1e-12]), "map_status": np.array([0, 1])}
             if method == "laplace" else
             {**post.stats, "warmup_n_steps": np.arange(T * C * 7).reshape(T, C, 7)})
    post = dataclasses.replace(post, stats=stats)
    back = load(save(post, tmp_path / "p.nc", law_spec="power_law(input=C)"))
    for name, a in stats.items():
        np.testing.assert_array_equal(back.stats[name], a)
    pd.testing.assert_frame_equal(back.diagnostics, post.diagnostics)
    if method == "laplace":
        assert list(back.diagnostics["map_converged"]) == [True, False]


def test_law_specs(tmp_path, monkeypatch):
    assert get_law("chinchilla").param_names == ("A", "B", "E", "alpha", "beta")
    assert get_law("kaplan(input=N)").inputs == ("N",)
    assert get_law("jaxfit.models:sigmoid(input='loss')").inputs == ("loss",)
    (tmp_path / "my_laws.py").write_text(
        "import jaxfit as jf\nfrom numpyro.distributions import constraints\n"
        "def lin(): return jf.Law(fn=lambda p, x: p['a'] * x['t'], inputs=('t',),\n"
        "    params={'a': jf.Param(constraints.positive, init=(0.1, 10.0))}, name='lin')\n"
        "LAW = lin()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_law("my_laws:lin").name == "lin" and get_law("my_laws:LAW").name == "lin"
    monkeypatch.setitem(LAWS, "my_lin", None)
    register_law("my_lin", get_law("my_laws:lin"))
    assert get_law("my_lin").name == "lin"
    for spec, msg in (("nope", "unknown law 'nope'"), ("my_laws:missing", "cannot load law"),
                      ("kaplan(inptu=N)", "unexpected keyword"),
                      ("kaplan(1)", "cannot parse"), ("my_laws:jf", "not a jaxfit.Law")):
        with pytest.raises(ValueError, match=msg):
            get_law(spec)


def test_save_into_a_missing_directory_names_it(two_task_fit, tmp_path):
    """Before: FileNotFoundError naming the hidden temporary file ('.fit.json.123.ab.tmp')."""
    res, _ = two_task_fit
    with pytest.raises(FileNotFoundError, match=r"save: cannot write '.*/nope/fit\.json': "
                                                r"directory '.*/nope' does not exist"):
        save(res, tmp_path / "nope" / "fit.json")
    assert list(tmp_path.iterdir()) == []


def test_save_to_a_directory_or_under_a_file_says_which(two_task_fit, tmp_path):
    """Before: IsADirectoryError naming the hidden temporary file ('.out.123.ab.tmp' ->
    'out'), and "directory 'fit.json' does not exist; create it first" for a path under a
    file."""
    res, _ = two_task_fit
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match=r"^save: cannot write '.*/out': it is a "
                                                r"directory; give a file path in it, e\.g\. "
                                                r"'.*/out/fit\.json' for a fit"):
        save(res, tmp_path / "out")
    (tmp_path / "fit.json").write_text("{}")
    with pytest.raises(NotADirectoryError, match=r"^save: cannot write '.*/fit\.json/x\.json'"
                                                 r": '.*/fit\.json' is a file, not a directory"):
        save(res, tmp_path / "fit.json" / "x.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json", "out"]
    assert list((tmp_path / "out").iterdir()) == []


def test_paths_under_the_home_directory(two_task_fit, tmp_path, monkeypatch):
    """"~/fit.json" is the home directory's file, as in pandas' to_csv/read_csv. Before,
    save said "directory '~' does not exist; create it first" (a folder named ~ in the
    working directory) and load "no file '~/fit.json'"."""
    res, df = two_task_fit
    monkeypatch.setenv("HOME", str(tmp_path))
    path = save(res, "~/fit.json")
    assert path == tmp_path / "fit.json" and path.is_file()
    back = load("~/fit.json")
    np.testing.assert_array_equal(back.values, res.values)


def test_a_changed_builtin_law_is_not_rebuilt_as_the_builtin(two_task_fit, tmp_path):
    """A law changed with ``Law.replace(fn=...)`` keeps its name but has no spec; load must
    not rebuild it as the registered law of that name. Before: a fit of
    ``chinchilla().replace(fn=...)`` (or ``linear("L")``'s) saved the spec "chinchilla" and
    loaded as the built-in law, predicting other numbers without a word."""
    res, _ = two_task_fit
    ch = jf.models.chinchilla()
    changed = ch.replace(fn=lambda p, x: p["E"] + p["A"] * x["N"] ** -p["alpha"])
    T = len(res.tasks)
    mine = dataclasses.replace(res, law=changed, values=np.tile([400.0, 400.0, 1.7, 0.3, 0.3],
                                                                 (T, 1)),
                               at_bound=np.zeros((T, 5), bool), data=None,
                               options={**res.options, "x": {}})
    path = save(mine, tmp_path / "changed.json")
    assert json.loads(path.read_text())["law"]["spec_source"] == "name"
    with pytest.raises(ValueError, match=r"has no spec .*pass load\(path, law=\.\.\.\)"):
        load(path)
    with pytest.raises(ValueError, match="has no spec"):       # a fixed copy likewise
        load(save(dataclasses.replace(mine, law=jf.fix(changed, beta=0.3),
                                      values=mine.values[:, :4], at_bound=mine.at_bound[:, :4]),
                  tmp_path / "changed_fixed.json"))
    new = pd.DataFrame({"N": [1e9], "D": [1e10], "task": ["x"]})
    assert load(path, law=changed).predict(new)["prediction"].item() == \
        mine.predict(new)["prediction"].item()
    # the built-in chinchilla (and its fix) still load without law=
    plain = dataclasses.replace(mine, law=ch)
    back = load(save(plain, tmp_path / "plain.json"))
    assert back.predict(new)["prediction"].item() == plain.predict(new)["prediction"].item()
    assert load(save(dataclasses.replace(plain, law=jf.fix(ch, beta=0.3),
                                         values=mine.values[:, :4],
                                         at_bound=mine.at_bound[:, :4]),
                     tmp_path / "fixed.json")).law.fixed == {"beta": 0.3}


def _other_power_law():
    """power_law("C")'s names, inputs and spec-less copy, but another function (the
    exponent 1% steeper): the law of a user who edited their law after saving."""
    law = jf.models.power_law("C")
    return law.replace(fn=lambda p, x: p["E"] + p["A"] * x["C"] ** (-1.01 * p["alpha"]))


def test_another_law_with_the_same_names_and_inputs_is_refused(two_task_fit, tmp_path):
    """A file records its law's predictions at a few of its own data points; `load`
    evaluates the law it is given there. Before: a law with the same parameter names and
    inputs but another function loaded without a word, and predicted other numbers."""
    res, _ = two_task_fit
    path = save(res, tmp_path / "fit.json")
    with pytest.raises(ValueError, match=re.escape(
            "law 'power_law_C' is not the law the file was saved from ('power_law_C'): at "
            "the file's own points it predicts other numbers (largest difference 0.0")) as e:
        load(path, law=_other_power_law())
    assert "at task 'x', C=1e+18" in str(e.value) and "pass load(path, law=...)" in str(e.value)
    doc = json.loads(path.read_text())
    check = doc["law_check"]
    # the first and last task, at the smallest, median and largest C of each
    assert check["task"] == [0, 0, 0, 1, 1, 1]
    assert check["x"]["C"] == [1e18, 1e20, 1e22] * 2
    np.testing.assert_allclose(check["prediction"], [
        E + 300.0 * c ** -0.15 for E in (1.5, 2.0) for c in (1e18, 1e20, 1e22)], rtol=1e-5)
    # the same function under another name loads, and so does a reloaded fit saved again
    # (it has no data: the file's points are kept)
    back = load(path, law=jf.models.power_law("C").replace(name="mine"))
    np.testing.assert_array_equal(back.values, res.values)
    again = save(load(path), tmp_path / "again.json")
    assert json.loads(again.read_text())["law_check"] == check
    with pytest.raises(ValueError, match="is not the law the file was saved from"):
        load(again, law=_other_power_law())
    # a law that is not finite at the points is refused too, naming the non-finite value
    nan_law = res.law.replace(fn=lambda p, x: p["E"] * jnp.nan + x["C"])
    with pytest.raises(ValueError, match=r"largest difference inf .*: nan instead of"):
        load(path, law=nan_law)
    # a file written before the check was recorded loads as before
    del doc["law_check"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert load(tmp_path / "old.json", law=_other_power_law()).law.name == "power_law_C"
    # a posterior records the law at its data with each task's first draw
    post = _posterior(res.tasks)
    path = save(post, tmp_path / "post.nc")
    with pytest.raises(ValueError, match=r"^load: '.*post\.nc': law 'power_law_C' is not the "
                                         "law the file was saved from") as e:
        load(path, law=_other_power_law())
    assert str(e.value).count("load:") == 1          # before: "load: 'post.nc': load: law"
    assert load(path).law.name == "power_law_C"


def test_law_check_records_only_finite_predictions(two_task_fit, tmp_path):
    """A law that is not finite at some data points (here C above 1e21) records its
    finite predictions only, and loads with itself."""
    res, _ = two_task_fit
    law = res.law.replace(fn=lambda p, x: jnp.where(x["C"] > 1e21, jnp.nan, res.law.fn(p, x)))
    mine = dataclasses.replace(res, law=law)
    path = save(mine, tmp_path / "fit.json")
    with pytest.raises(ValueError, match="is not the law the file was saved from"):
        load(path, law=_other_power_law())
    assert load(path, law=law).values.tolist() == res.values.tolist()
    check = json.loads(path.read_text())["law_check"]
    assert check["x"]["C"] == [1e18, 1e20] * 2 and np.isfinite(check["prediction"]).all()
    # the recorded predictions are the law's there (before: only checked finite): each
    # task's truth, E + 300 C^-0.15, which the fit recovers to 1e-5
    E = np.array([1.5, 2.0])[check["task"]]
    np.testing.assert_allclose(check["prediction"],
                               E + 300.0 * np.array(check["x"]["C"]) ** -0.15, rtol=1e-5)


def test_kept_restarts_and_tuple_options_round_trip(two_task_fit, tmp_path):
    """A fit with ``keep_restarts=True`` keeps every refined restart after a round trip
    (before: ``restarts`` came back None), and tuple options come back as tuples (before:
    ``continuation`` (10.0,) came back as the list [10.0])."""
    _, df = two_task_fit
    res = jf.fit(jf.models.power_law("C"), df, y="loss", by="task", x={"C": "flops"},
                 restarts=8, keep_restarts=True)
    kept = {k: np.array(v) for k, v in res.restarts.items()}
    assert kept["values"].shape[:2] == kept["objective"].shape == kept["status"].shape
    kept["objective"][0, -1] = np.inf            # a failed restart: null in the file
    kept["status"][0, -1] = 2
    res = dataclasses.replace(res, restarts=kept, options={**res.options, "by": ("task",)})
    back = load(save(res, tmp_path / "fit.json"))
    for name, a in kept.items():
        assert back.restarts[name].dtype == a.dtype
        # exactly, the failed restart's objective too (null in the file; inf, as
        # jaxfit.fit reports it, not NaN)
        np.testing.assert_array_equal(back.restarts[name], a)
    assert back.options["continuation"] == (10.0,) and back.options["by"] == ("task",)
    doc = json.loads((tmp_path / "fit.json").read_text())
    assert doc["tasks"][0]["restarts"]["status"][-1] == "nonfinite"
    assert doc["tasks"][0]["restarts"]["objective"][-1] is None
    assert load(save(back, tmp_path / "again.json")).restarts["values"].tolist() == \
        back.restarts["values"].tolist()
    # inside a posterior's point fit likewise
    post = dataclasses.replace(_posterior(res.tasks), fit=res,
                               options={"by": "task", "chains": (0, 1)})
    pback = load(save(post, tmp_path / "p.nc"))
    np.testing.assert_array_equal(pback.fit.restarts["status"], kept["status"])
    assert pback.options["chains"] == (0, 1)
    # a task without its entry is named
    del doc["tasks"][1]["restarts"]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"field 'tasks\[1\]\.restarts' is missing"):
        load(tmp_path / "bad.json")


@pytest.mark.parametrize("tasks", [
    pd.to_timedelta(["1 days", "2 hours 30 min"]).rename("age"),
    pd.period_range("2024-01", periods=2, freq="M", name="month"),
    pd.Index([datetime.date(2024, 1, 1), datetime.date(2024, 6, 1)], dtype=object, name="day"),
    pd.CategoricalIndex(["y", "x"], categories=["y", "x", "z"], ordered=True, name="size"),
    pd.MultiIndex.from_arrays([pd.CategoricalIndex([2, 1], categories=[2, 1]),
                               pd.period_range("2024Q1", periods=2, freq="Q")],
                              names=["seed", "quarter"]),
    pd.Index(np.array([7, 3], dtype=np.int32), name="seed"),
    pd.MultiIndex.from_arrays([np.array([2, 1], dtype=np.uint8),
                               np.array([0.5, 0.1], dtype=np.float32)], names=["seed", "lr"]),
    pd.CategoricalIndex(np.array([2, 1], dtype=np.int32),
                        categories=pd.Index(np.array([2, 1, 5], dtype=np.int32)), name="seed"),
    # pd.cut's bins (before: back as the text "(0, 2]", which param_dict and params.loc of
    # the Interval did not find), of integers, floats closed on the left, and dates
    pd.CategoricalIndex(pd.cut([1.0, 3.0], [0, 2, 4]), name="bin"),
    pd.IntervalIndex.from_breaks([0.5, 1.5, 2.5], closed="left", name="lr"),
    pd.interval_range(pd.Timestamp("2024-01-01"), periods=2, freq="MS", name="span")],
    ids=["timedelta", "period", "date", "category", "category+period", "int32",
         "uint8+float32", "category of int32", "cut bins", "float intervals",
         "date intervals"])
def test_typed_task_labels_round_trip(two_task_fit, tmp_path, tasks):
    """Durations, periods, `datetime.date`, categorical task labels and numbers of another
    width than int64/float64 (an int32 ``by`` column) come back with their type (a
    categorical's categories in their order). Before: as text, so
    ``back.params.loc[label]`` found no task and the index differed from the fit's; the
    numbers as int64 and float64."""
    res, _ = two_task_fit
    by = list(tasks.names) if tasks.nlevels > 1 else tasks.name
    typed = dataclasses.replace(res, tasks=tasks, options={**res.options, "by": by})
    back = load(save(typed, tmp_path / "typed.json"))
    pd.testing.assert_index_equal(back.tasks, tasks, exact=True)
    pd.testing.assert_frame_equal(back.params.loc[[tasks[1]]], typed.params.loc[[tasks[1]]])
    new = tasks.to_frame(index=False).assign(flops=[1e23, 1e24])
    pd.testing.assert_frame_equal(back.predict(new), typed.predict(new))
    post = dataclasses.replace(_posterior(tasks), options={"by": by})
    pd.testing.assert_index_equal(load(save(post, tmp_path / "p.nc")).tasks, tasks, exact=True)
    if isinstance(tasks.dtype, np.dtype) and tasks.dtype == np.int32:
        doc = json.loads((tmp_path / "typed.json").read_text())
        assert doc["task_types"] == ["int32"]
        # ... an entry the documented schema allows
        from importlib import resources
        sch = json.loads(resources.files("jaxfit").joinpath("schema/fit.json").read_text())
        assert any(re.fullmatch(a["pattern"], "int32") for a in
                   sch["properties"]["task_types"]["items"]["anyOf"] if "pattern" in a)
        doc["tasks"][0]["task"] = 1.5                  # a label that is not of its type
        (tmp_path / "bad.json").write_text(json.dumps(doc))
        with pytest.raises(ValueError, match="field 'tasks' holds labels that are not of "
                                             "type 'int32'"):
            load(tmp_path / "bad.json")


def test_a_non_finite_design_value_is_written_as_null(two_task_fit, tmp_path):
    """A design issue's value that is not finite (the singular-value ratio of a Jacobian
    that is zero at the data: 0/0) is null, as every other number. Before: the document
    held a bare NaN, which `jaxfit fit --json` (strict JSON) failed to print."""
    from jaxfit.inference.design import Issue

    res, _ = two_task_fit
    issue = Issue("singular", ("A", "alpha"), None, float("nan"))
    odd = dataclasses.replace(res, design=((issue,), ()))
    text = json.dumps(fit_to_dict(odd), allow_nan=False)
    assert json.loads(text)["tasks"][0]["design"][0]["value"] is None
    back = load(save(odd, tmp_path / "fit.json"))
    assert back.design[1] == () and back.design[0][0][:3] == issue[:3]
    assert np.isnan(back.design[0][0].value)
    assert back.to_frame()["design"].tolist() == ["singular: A,alpha", ""]


def test_law_spec_errors_name_the_arguments_and_the_close_law():
    """A misspelt law argument or law name: before, only Python's "got an unexpected
    keyword argument 'x'" and the list of laws; now the factory's arguments and the close
    name. No fit."""
    with pytest.raises(ValueError, match=r"unexpected keyword argument 'x'; power_law takes "
                                         r"input='N', irreducible=True, kind=None$"):
        get_law("power_law(x=N)")
    with pytest.raises(ValueError, match=r"chinchilla\(\) got .*; chinchilla takes no "
                                         r"arguments$"):
        get_law("chinchilla(a=1)")
    with pytest.raises(ValueError, match=r"^unknown law 'chinchila' \('chinchilla' is close "
                                         r"to 'chinchila'\); known laws"):
        get_law("chinchila")


def test_law_spec_with_a_file_name_or_arguments_to_a_law_object(tmp_path, monkeypatch):
    """--law my_laws.py:fn: before, "No module named 'my_laws.py'; 'my_laws' is not a
    package" and no fix. --law my_laws:LAW(input='N') (a Law object, or a registered one,
    given arguments): before, the arguments were ignored without a word. No fit."""
    (tmp_path / "obj_laws.py").write_text(
        "import jaxfit as jf\nLAW = jf.models.power_law('C')\n"
        "def make(input='C'): return jf.models.power_law(input)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"No module named 'obj_laws\.py'.*; name the module, "
                                         r"not its file: obj_laws:make$"):
        get_law("obj_laws.py:make")
    with pytest.raises(ValueError, match=r"law \"obj_laws:LAW\(input='N'\)\": obj_laws:LAW is a "
                                         r"jaxfit\.Law, not a function that builds one, so it "
                                         r"takes no arguments \(got input='N'\)"):
        get_law("obj_laws:LAW(input='N')")
    monkeypatch.setitem(LAWS, "obj_law", get_law("obj_laws:LAW"))
    with pytest.raises(ValueError, match=r"obj_law is a jaxfit\.Law.*\(got input='N'\)"):
        get_law("obj_law(input='N')")
    assert get_law("obj_laws:LAW").inputs == ("C",)
    assert get_law("obj_laws:make(input='N')").inputs == ("N",)
    # the factory's own ValueError, and a spec with no module: before, the bare messages
    # ("jaxfit: error: input must be a name", "Empty module name") named no law
    with pytest.raises(ValueError, match=r"^law \"obj_laws:make\(input=''\)\": power_law: "):
        get_law("obj_laws:make(input='')")
    with pytest.raises(ValueError, match=r"^cannot load law ':make': Empty module name"):
        get_law(":make")


def test_a_file_whose_law_module_is_missing_says_so_in_sentences(two_task_fit, tmp_path):
    """A fit saved from --law my_laws:make, loaded where my_laws is not importable: before,
    "No module named 'no_such_laws' The file was saved ..." (no full stop between)."""
    res, _ = two_task_fit
    path = save(res, tmp_path / "f.json", law_spec="no_such_laws:make")
    with pytest.raises(ValueError, match=r"No module named 'no_such_laws'\. The file was saved "
                                         r"from law 'power_law_C'; pass load\(path, law=\.\.\.\)"):
        load(path)


def test_another_law_error_names_an_integer_or_tuple_task_plainly(two_task_fit, tmp_path):
    """The refusal of another law named the task by numpy's repr: "at task np.int64(7)"
    for tasks of an integer column (e.g. by="seed"), "(np.int64(7), 'b')" for several
    by columns; it names them as they are written in Python: "at task 7"."""
    res, _ = two_task_fit
    ints = dataclasses.replace(res, tasks=pd.Index(np.array([3, 7]), name="task"))
    with pytest.raises(ValueError, match="is not the law the file") as e:
        load(save(ints, tmp_path / "ints.json"), law=_other_power_law())
    assert "at task 3, C=1e+18" in str(e.value), str(e.value)
    pairs = dataclasses.replace(res, tasks=pd.MultiIndex.from_arrays(
        [np.array([3, 7]), ["a", "b"]], names=["seed", "fam"]),
        options={**res.options, "by": ["seed", "fam"]})
    with pytest.raises(ValueError, match="is not the law the file") as e:
        load(save(pairs, tmp_path / "pairs.json"), law=_other_power_law())
    assert "at task (3, 'a'), C=1e+18" in str(e.value), str(e.value)


def test_tuple_task_labels_of_one_by_column_round_trip(two_task_fit, tmp_path):
    """A by column whose values are tuples (``("olmo", 1)``) gives tuple task labels; a
    loaded fit has them as tuples again. Before: as JSON's lists, so `predict` on the
    fitted rows, ``params.loc`` and `summary` raised "unhashable type: 'list'"."""
    res, _ = two_task_fit
    tasks = pd.Index([("olmo", 1), ("pythia", (2, "b"))], name="run", tupleize_cols=False)
    tupled = dataclasses.replace(res, tasks=tasks, options={**res.options, "by": "run"})
    back = load(save(tupled, tmp_path / "tuples.json"))
    pd.testing.assert_index_equal(back.tasks, tasks, exact=True)
    new = pd.DataFrame({"flops": [1e23, 1e24]})
    new["run"] = pd.Series(list(tasks[::-1]), dtype=object)
    pd.testing.assert_frame_equal(back.predict(new), tupled.predict(new))
    # (a loaded fit has no data: its standard errors are NaN)
    pd.testing.assert_series_equal(back.summary()["estimate"], tupled.summary()["estimate"])
    assert back.param_dict(("olmo", 1)) == tupled.param_dict(("olmo", 1))


@pytest.mark.parametrize("edit, field, what", [
    (lambda d: d["options"].update(space="cubic"), "options.space",
     "is 'cubic', not one of ['log', 'linear']"),
    (lambda d: d["options"].update(loss="l2"), "options.loss",
     "is 'l2', not one of ['huber', 'squared', 'absolute']"),
    (lambda d: d["options"].update(delta=-1), "options.delta",
     "is -1, not a finite number > 0"),
    (lambda d: d["options"].update(delta=math.inf), "options.delta",   # JSON's Infinity
     "is inf, not a finite number > 0"),
    (lambda d: d["options"].update(y=None), "options.y", "is None, not a column name"),
    (lambda d: d["options"].update(by=3.5), "options.by",
     "is 3.5, not null, a column name or a list of them"),
    (lambda d: d["options"].update(x={"C": 5.0}), "options.x",
     "is {'C': 5.0}, not an object of law input -> column name"),
    (lambda d: d["tasks"][1].update(task="x"), "tasks",
     "holds the task label(s) ['x'] more than once; each task has its own"),
])
def test_a_corrupted_fit_option_or_task_label_is_named_on_load(two_task_fit, tmp_path, edit,
                                                               field, what):
    """The options a FitResult reads were not checked on load: a file with "space":
    "cubic" loaded and its residuals were silently taken in linear space; "by": 3.5 or
    "x": {"C": 5.0} loaded and failed later naming no field; one task label twice loaded
    and predict raised pandas' "Reindexing only valid with uniquely valued Index
    objects". Now load names the field."""
    res, _ = two_task_fit
    doc = json.loads(save(res, tmp_path / "fit.json").read_text())
    edit(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError) as e:
        load(path)
    assert str(e.value) == (f"load: {str(path)!r}: field {field!r} {what}; the file is "
                            "incomplete or corrupted: save the result again (jaxfit.io.save).")


def test_a_saved_bootstrap_summarises_to_the_same_bits(two_task_fit, tmp_path):
    """jaxfit.bootstrap's draws were transposed views, summed in another order than the
    C-ordered arrays a load gives back: the loaded posterior's summary() means and sds
    differed from the saved one's in the last bit."""
    res, df = two_task_fit
    post = jf.bootstrap(res.law, df, y="loss", by="task", x={"C": "flops"}, n=20,
                        restarts=8, warn=False)
    assert all(a.flags.c_contiguous for a in post.draws.values())
    back = load(save(post, tmp_path / "b.nc"))
    pd.testing.assert_frame_equal(back.summary(), post.summary(), check_exact=True)


def test_save_refuses_a_converged_task_that_load_would_refuse(two_task_fit, tmp_path):
    """A converged task with a parameter or objective that is not finite (a result changed
    after the fit) was saved, and load then refused the file as corrupted, telling the user
    to "save the result again", which wrote the same file. save names it now, and writes
    nothing."""
    res, _ = two_task_fit
    values = res.values.copy()
    values[1, 2] = np.inf
    path = tmp_path / "odd.json"
    with pytest.raises(ValueError) as e:
        save(dataclasses.replace(res, values=values), path)
    assert str(e.value).startswith(
        f"save: task 'y' has status 'converged' but {res.law.param_names[2]}=inf (not "
        "finite), which no fit returns;")
    with pytest.raises(ValueError, match=r"^save: task 'x' has status 'converged' but "
                                         r"objective=nan \(not finite\)"):
        save(dataclasses.replace(res, objective=np.array([np.nan, 1.0])), path)
    assert not path.exists()
    capped = dataclasses.replace(res, values=values,
                                 status=np.array([0, jf.Status.MAX_STEPS]))
    assert np.isnan(load(save(capped, path)).values[1, 2])      # not converged: kept, null


def test_save_refuses_a_law_spec_that_does_not_rebuild_the_law(two_task_fit, tmp_path):
    """save wrote any law_spec, and the file then failed to load without law= (found only
    when read back, perhaps elsewhere): law_spec="chinchilla" for a power law ("law
    'chinchilla' has parameters ..."), law_spec=5 ("field 'law.spec' is missing or not a
    string; the file is incomplete or corrupted"). save refuses it now and writes
    nothing; a spec that rebuilds the law is written as before."""
    res, _ = two_task_fit
    path = tmp_path / "fit.json"
    with pytest.raises(ValueError) as e:
        save(res, path, law_spec="chinchilla")
    assert str(e.value) == (
        "save: law_spec='chinchilla' does not rebuild law 'power_law_C', so load(path) could "
        "not read the file back: law 'chinchilla' has parameters ['A', 'B', 'E', 'alpha', "
        "'beta'], the file has ['A', 'alpha', 'E']. Pass the spec of this law, or "
        "law_spec=None for the law's own (its own spec is \"power_law(input='C', "
        "irreducible=True)\").")
    with pytest.raises(ValueError, match=r"^save: law_spec=5 is not a law spec; pass the "
                                         r"call that rebuilds law 'power_law_C'"):
        save(res, path, law_spec=5)
    with pytest.raises(ValueError, match=r"^save: law_spec='power_law\(input=N\)' does not "
                                         r"rebuild law 'power_law_C', so load\(path\) could "
                                         r"not read the file back: law 'power_law_N' takes "
                                         r"inputs \['N'\], the file's law 'power_law_C' takes "
                                         r"\['C'\]\. Pass"):
        save(res, path, law_spec="power_law(input=N)")
    with pytest.raises(ValueError, match=r"^save: law_spec='power_law\(input=C, irreducible="
                                         r"False\)' does not rebuild"):
        save(res, path, law_spec="power_law(input=C, irreducible=False)")
    # no module name: not "a module of another machine" (before, skipped and written)
    with pytest.raises(ValueError, match=r"^save: law_spec=':my_law' does not rebuild"):
        save(res, path, law_spec=":my_law")
    assert not path.exists()
    assert load(save(res, path, law_spec="power_law(input=C)")).law.name == "power_law_C"


@pytest.mark.parametrize("by", [pd.Index(["task", "seed"]), np.array(["task", "seed"])])
def test_by_columns_given_as_an_index_or_array_round_trip(two_task_fit, tmp_path, by):
    """by=df.columns[:2] (an Index) or an array was recorded as given, and save wrote its
    text "Index(['task', 'seed'], dtype='str')": the loaded fit had one task column of
    that name, so predict on the data gave every task at every row (4 rows for 2)."""
    _, df = two_task_fit
    df = df.assign(seed=1)
    res = jf.fit(jf.models.power_law("C"), df, y="loss", by=by, x={"C": "flops"},
                 restarts=8)
    assert res.options["by"] == ["task", "seed"]
    back = load(save(res, tmp_path / "fit.json"))
    assert back.options["by"] == ["task", "seed"] and back.tasks.equals(res.tasks)
    rows = df.iloc[[0, -1]]
    pd.testing.assert_frame_equal(back.predict(rows), res.predict(rows))
    assert len(back.predict(rows)) == 2


def test_an_objective_that_is_not_finite_comes_back_inf(two_task_fit, tmp_path):
    """jaxfit.fit reports an objective that is not finite as inf (status nonfinite); it
    was written as null and read back as NaN, so the loaded fit's objective, to_frame and
    report read "nan" where the saved one read "inf"."""
    res, _ = two_task_fit
    failed = dataclasses.replace(res, objective=np.array([np.inf, res.objective[1]]),
                                 status=np.array([jf.Status.NONFINITE, 0]))
    back = load(save(failed, tmp_path / "fit.json"))
    np.testing.assert_array_equal(back.objective, failed.objective)
    pd.testing.assert_frame_equal(back.to_frame(), failed.to_frame())


@pytest.mark.filterwarnings("error::pandas.errors.Pandas4Warning")
def test_tuple_column_labels_round_trip(two_task_fit, tmp_path):
    """A fit of a DataFrame with MultiIndex columns (y=("loss", "mean"), as
    df.groupby(...).agg gives) saved, and failed to load: "Index.name must be a hashable
    type" (its labels came back as JSON lists). They come back as tuples now, and the
    loaded fit predicts and gives residuals as the saved one."""
    _, df = two_task_fit
    wide = df.copy()
    wide.columns = pd.MultiIndex.from_tuples([("flops", ""), ("task", ""), ("loss", "mean")])
    res = jf.fit(jf.models.power_law("C"), wide, y=("loss", "mean"), by=[("task", "")],
                 x={"C": ("flops", "")}, restarts=8)
    back = load(save(res, tmp_path / "fit.json"))
    assert back.options["y"] == ("loss", "mean") and back.options["by"] == [("task", "")]
    assert back.options["x"] == {"C": ("flops", "")} and back.tasks.equals(res.tasks)
    rows = wide.iloc[[0, -1]]
    pd.testing.assert_frame_equal(back.predict(rows), res.predict(rows))
    pd.testing.assert_frame_equal(back.residuals(rows), res.residuals(rows))
    # ... under full-length keys (before: pandas' Pandas4Warning, "will raise in a future
    # version", on each predict and residuals of such a frame)
    r = res.residuals(rows)
    assert list(r.columns[-2:]) == [("prediction", ""), ("residual", "")]
    np.testing.assert_allclose(r[("residual", "")], np.log(rows[("loss", "mean")])
                               - np.log(r[("prediction", "")]), rtol=1e-12)


def test_option_tuples_come_back_at_every_depth_with_the_column_labels():
    """`jaxfit.io._with_tuples` (both load paths): the file's option tuples come back as
    tuples at every depth and the labels inside ``by`` / ``x`` with them. Before, the fit
    path turned only the top level back (a y label holding a tuple came back with a list
    in it, unhashable), while the posterior path did the labels first."""
    from jaxfit.io import _with_tuples

    saved = {"y": [["loss", "a"], "mean"], "continuation": [30.0, 3.0],
             "by": [["task", ""]], "x": {"C": ["flops", ""]}, "space": "log"}
    back = _with_tuples(saved, ["y", "continuation"])
    assert back == {"y": (("loss", "a"), "mean"), "continuation": (30.0, 3.0),
                    "by": [("task", "")], "x": {"C": ("flops", "")}, "space": "log"}
    assert all(type(a) is type(b) for a, b in zip(back["y"], (("",), "")))
    assert _with_tuples(saved, None)["y"] == [["loss", "a"], "mean"]   # not a tuple option
