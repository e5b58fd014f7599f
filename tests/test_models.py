"""The law library: each formula against numpy, Chinchilla's log form and grid, and recovery
of known parameters by `jaxfit.fit` for every model.

Recovery data carry tiny multiplicative noise (sigma = 1e-5), so that the optimum is a proper
minimum with a non-zero objective; each recovered parameter must lie within RTOL (relative)
of the truth, and the fit must report convergence without warnings. The observed errors at
this noise are below 3e-4 for every model (Chinchilla's B is the worst identified), so
RTOL = 2e-3 leaves a margin of about 7x while still failing on any wrong optimum.
"""

from __future__ import annotations

import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from jaxfit.inference.starts import grid_starts
from jaxfit.models.ladder_step1 import ladder_step1
from jaxfit.warnings import FitWarning

CHIN = dict(A=406.4, B=410.7, E=1.69, alpha=0.34, beta=0.28)
RTOL = 2e-3
SIGMA = 1e-5


# ----------------------------------------------------------------------------- formulas


def _points(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def test_chinchilla_formula():
    law = jf.models.chinchilla()
    N, D = _points([1e6, 7e10, 1e12, 3.3e8], [1e8, 1.4e12, 2e13, 7e9])
    for p in (CHIN, dict(A=477.8, B=2143.9, E=1.8172, alpha=0.34731, beta=0.36718)):
        expected = p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]
        np.testing.assert_allclose(law(p, {"N": N, "D": D}), expected, rtol=1e-13)
        np.testing.assert_allclose(law.log(p, {"N": N, "D": D}), np.log(expected), rtol=1e-13)
    # Hoffmann et al.'s fit at Chinchilla's own size (70B params, 1.4T tokens)
    assert round(float(law(CHIN, {"N": 70e9, "D": 1.4e12})), 3) == 1.937


def test_chinchilla_log_fn_is_stable_at_extreme_sizes():
    law = jf.models.chinchilla()
    p = {k: jnp.asarray(v) for k, v in CHIN.items()}
    # huge N, D: the loss is E to machine precision, and log_fn is exactly log E (no 0 * inf)
    big = {"N": jnp.array([1e200, 1e300]), "D": jnp.array([1e250, 1e300])}
    np.testing.assert_allclose(law.log(p, big), np.log(CHIN["E"]), rtol=1e-15)
    np.testing.assert_allclose(law(p, big), CHIN["E"], rtol=1e-15)
    g = jax.grad(lambda q: jnp.sum(law.log(q, big)))(p)
    assert all(np.isfinite(g[k]) for k in p)
    np.testing.assert_allclose(g["E"], 2.0 / CHIN["E"], rtol=1e-14)
    # the others are the terms' derivatives over L = E, tiny but not 0 (before: only
    # checked finite): d/dA = N^-alpha / E, d/dalpha = -A log N N^-alpha / E, same for D
    E, N, D = CHIN["E"], np.array([1e200, 1e300]), np.array([1e250, 1e300])
    for amp, exp_, z in (("A", "alpha", N), ("B", "beta", D)):
        term = z ** -CHIN[exp_] / E
        np.testing.assert_allclose(g[amp], np.sum(term), rtol=1e-12)
        np.testing.assert_allclose(g[exp_], -CHIN[amp] * np.sum(np.log(z) * term), rtol=1e-12)
    # tiny N with a steep exponent: A/N^alpha overflows float64, its log does not
    steep = {**p, "alpha": jnp.asarray(2.0)}
    small = {"N": jnp.array([1e-200]), "D": jnp.array([1e12])}
    assert not np.isfinite(np.asarray(law(steep, small))).all()
    expected = np.log(CHIN["A"]) + 2.0 * 200.0 * np.log(10.0)          # dominant term
    np.testing.assert_allclose(law.log(steep, small), [expected], rtol=1e-15)
    # and everywhere in between log_fn equals log(fn), computed independently in numpy
    N = np.logspace(0, 300, 31)
    D = np.logspace(300, 0, 31)
    ref = np.logaddexp.reduce([np.log(CHIN["A"]) - CHIN["alpha"] * np.log(N),
                               np.log(CHIN["B"]) - CHIN["beta"] * np.log(D),
                               np.full_like(N, np.log(CHIN["E"]))], axis=0)
    np.testing.assert_allclose(law.log(p, {"N": N, "D": D}), ref, rtol=1e-14)


def test_hoffmann_grid_has_4500_points():
    law = jf.models.chinchilla()
    g = jf.models.HOFFMANN_GRID
    np.testing.assert_allclose(g["a"], [0, 5, 10, 15, 20, 25])
    np.testing.assert_allclose(g["b"], [0, 5, 10, 15, 20, 25])
    np.testing.assert_allclose(g["e"], [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(g["alpha"], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(g["beta"], [0, 0.5, 1, 1.5, 2])
    starts = grid_starts(law)
    assert starts.shape == (4500, 5) and starts.dtype == np.float64
    # unconstrained coordinates are Hoffmann's (log A, log B, log E, alpha, beta)
    expected = np.array(list(itertools.product(g["a"], g["b"], g["e"], g["alpha"], g["beta"])))
    np.testing.assert_allclose(starts, expected, atol=1e-12)
    assert len(np.unique(starts.round(9), axis=0)) == 4500
    np.testing.assert_allclose(law.grid["A"], np.exp(g["a"]), rtol=1e-15)
    np.testing.assert_allclose(law.grid["E"], np.exp(g["e"]), rtol=1e-15)


@pytest.mark.parametrize("irreducible", [True, False])
@pytest.mark.parametrize("input", ["N", "D", "C"])
def test_power_law_formula(input, irreducible):
    law = jf.models.power_law(input, irreducible=irreducible)
    assert law.inputs == (input,) and law.positive_inputs == (input,)
    p = dict(A=300.0, alpha=0.3) | (dict(E=1.7) if irreducible else {})
    assert law.param_names == tuple(p)
    x, = _points([1.0, 1e3, 1e9, 1e20])
    expected = p["A"] * x ** -p["alpha"] + p.get("E", 0.0)
    np.testing.assert_allclose(law(p, {input: x}), expected, rtol=1e-13)
    np.testing.assert_allclose(law.log(p, {input: x}), np.log(expected), rtol=1e-13)


def test_kaplan_formula():
    law = jf.models.kaplan("C")
    assert law.param_names == ("C_c", "alpha") and law.inputs == ("C",)
    p = {"C_c": 2.3e8, "alpha": 0.05}
    C, = _points([1e3, 2.3e8, 1e12, 1e24])
    expected = (C / p["C_c"]) ** -p["alpha"]
    np.testing.assert_allclose(law(p, {"C": C}), expected, rtol=1e-13)
    np.testing.assert_allclose(law.log(p, {"C": C}), np.log(expected), rtol=1e-12, atol=1e-15)
    # Kaplan's L(N) = (N_c / N)^alpha_N with their fitted N_c = 8.8e13, alpha_N = 0.076
    lawN = jf.models.kaplan("N")
    np.testing.assert_allclose(lawN({"N_c": 8.8e13, "alpha": 0.076}, {"N": 1e9}),
                               (8.8e13 / 1e9) ** 0.076, rtol=1e-13)


def test_sigmoid_formula():
    law = jf.models.sigmoid()
    p = dict(a=-0.6, k=4.0, L0=1.2, b=0.85)
    L, = _points([0.0, 0.5, 1.2, 2.0, 10.0])
    expected = p["a"] / (1.0 + np.exp(-p["k"] * (L - p["L0"]))) + p["b"]
    np.testing.assert_allclose(law(p, {"L": L}), expected, rtol=1e-13)
    assert law.positive_inputs == ()
    assert law.params["a"].bounds == (-1.0, 0.0) and law.params["b"].bounds == (0.0, 1.0)
    assert law.params["k"].bounds == (0.0, np.inf) and law.params["L0"].bounds == (0.0, np.inf)


def test_linear_formula():
    law = jf.models.linear("loss")
    assert law.inputs == ("loss",) and law.positive_inputs == ()
    L, = _points([-1.0, 0.0, 2.5])
    np.testing.assert_allclose(law(dict(w0=0.7, w1=-0.2), {"loss": L}), 0.7 - 0.2 * L,
                               rtol=1e-15)


def test_broken_power_law_formula():
    law = jf.models.broken_power_law()
    p = dict(a=0.5, b=20.0, c0=0.1, c1=0.4, d1=1e5, f1=0.3)
    x, = _points([1.0, 1e3, 1e5, 1e7, 1e12])
    expected = p["a"] + p["b"] * x ** -p["c0"] * (1 + (x / p["d1"]) ** (1 / p["f1"])) ** (
        -p["c1"] * p["f1"])
    np.testing.assert_allclose(law(p, {"x": x}), expected, rtol=1e-12)
    np.testing.assert_allclose(law.log(p, {"x": x}), np.log(expected), rtol=1e-12)
    # large x, sharp break: the direct formula overflows in (x/d1)^(1/f1), the law does not
    sharp = {**p, "f1": 0.01}
    big = np.array([1e12])
    with np.errstate(over="ignore"):
        naive = sharp["a"] + sharp["b"] * big ** -sharp["c0"] * (
            1 + (big / sharp["d1"]) ** (1 / sharp["f1"])) ** (-sharp["c1"] * sharp["f1"])
    got = np.asarray(law(sharp, {"x": big}))
    asymptote = sharp["a"] + sharp["b"] * big ** -(sharp["c0"] + sharp["c1"]) * sharp["d1"] ** \
        sharp["c1"]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, asymptote, rtol=1e-12)
    assert np.allclose(naive, sharp["a"])       # numpy loses the whole power-law term


# ----------------------------------------------------------------------------- recovery


def _fit_and_check(law, x: dict, truth: dict, seed=0, **fit_kw):
    rng = np.random.default_rng(seed)
    n = len(next(iter(x.values())))
    with jax.enable_x64(True):
        clean = np.asarray(law({k: jnp.asarray(v) for k, v in truth.items()},
                               {k: jnp.asarray(v) for k, v in x.items()}))
    y = clean * np.exp(SIGMA * rng.standard_normal(n))
    df = pd.DataFrame({**x, "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        res = jf.fit(law, df, y="y", seed=seed, **fit_kw)
    got = res.param_dict()
    assert res.status[0] == jf.Status.CONVERGED, res.to_frame().T
    for k, v in truth.items():
        np.testing.assert_allclose(got[k], v, rtol=RTOL, err_msg=f"{law.name}: {k}")
    # the fit is at least as good as the truth on the data it saw
    assert res.objective[0] <= _objective_at(law, df, truth, fit_kw) * (1 + 1e-9)
    return res


def _objective_at(law, df, params, fit_kw):
    from jaxfit.inference.objective import make_objective

    obj = make_objective(law, loss=fit_kw.get("loss", "huber"), space=fit_kw.get("space", "log"))
    with jax.enable_x64(True):
        u = jnp.stack([law.params[k].transform.inv(jnp.asarray(params[k], jnp.float64))
                       for k in law.param_names])
        x = {k: jnp.asarray(df[k].to_numpy()) for k in law.inputs}
        return float(obj(u, x, jnp.asarray(df["y"].to_numpy()), jnp.ones(len(df))))


def test_recover_chinchilla():
    rng = np.random.default_rng(10)
    x = {"N": 10 ** rng.uniform(7, 11, 80), "D": 10 ** rng.uniform(9, 13, 80)}
    _fit_and_check(jf.models.chinchilla(), x, CHIN, restarts=32)


def test_recover_chinchilla_from_hoffmann_grid():
    rng = np.random.default_rng(11)
    x = {"N": 10 ** rng.uniform(7, 11, 80), "D": 10 ** rng.uniform(9, 13, 80)}
    _fit_and_check(jf.models.chinchilla(), x, dict(A=477.8, B=2143.9, E=1.8172, alpha=0.34731,
                                                   beta=0.36718), init="grid")


def test_recover_power_law_with_irreducible_term():
    _fit_and_check(jf.models.power_law("N"), {"N": np.logspace(6, 12, 30)},
                   dict(A=300.0, alpha=0.3, E=1.7), restarts=16)


def test_recover_pure_power_law():
    # Default settings (Huber, delta = 1e-3, log space): the objective is piecewise linear in
    # (log A, alpha) away from the optimum, so its Hessian is zero there.
    _fit_and_check(jf.models.power_law("D", irreducible=False), {"D": np.logspace(6, 12, 30)},
                   dict(A=300.0, alpha=0.3), restarts=16)


def test_recover_kaplan():
    _fit_and_check(jf.models.kaplan("C"), {"C": np.logspace(3, 12, 30)},
                   {"C_c": 2.3e8, "alpha": 0.05}, restarts=16)


def test_recover_kaplan_with_compute_in_flops():
    """Kaplan et al.'s L(C_min) = (C_c / C)^0.050 with C_c = 3.1e8 PF-days = 2.7e28 FLOPs
    (1 PF-day = 8.64e19 FLOPs), on 1e18-1e22 FLOPs (FLP's stage 1 has compute in FLOPs).
    Before: the default init box of C_c, (1e3, 1e12), lay 16 decades below it, and every
    start ended at alpha -> 0 (C_c = 1.2e12, a FitWarning at the bound); now (1e3, 1e30)
    holds Kaplan's published critical scales in every unit (N_c 8.8e13, D_c 5.4e13,
    C_c 3.1e8 PF-days or 2.7e28 FLOPs). Same shapes as test_recover_kaplan."""
    _fit_and_check(jf.models.kaplan("C"), {"C": np.logspace(18, 22, 30)},
                   {"C_c": 2.7e28, "alpha": 0.05}, restarts=16)


def test_recover_sigmoid():
    _fit_and_check(jf.models.sigmoid(), {"L": np.linspace(0.3, 2.5, 40)},
                   dict(a=-0.6, k=4.0, L0=1.2, b=0.85), restarts=32, space="linear",
                   loss="squared")


def test_recover_linear():
    _fit_and_check(jf.models.linear(), {"L": np.linspace(0.5, 2.5, 20)},
                   dict(w0=1.3, w1=-0.4), restarts=16, space="linear", loss="squared")


def test_recover_broken_power_law():
    _fit_and_check(jf.models.broken_power_law(), {"x": np.logspace(1, 9, 60)},
                   dict(a=0.5, b=20.0, c0=0.1, c1=0.4, d1=1e5, f1=0.3), restarts=32)


def test_noise_free_data_reports_converged():
    # An exact fit (objective ~1e-31) is a converged fit, not a "stalled" or "max_steps" one.
    law = jf.models.kaplan("C")
    C = np.logspace(3, 12, 30)
    df = pd.DataFrame({"C": C, "y": (C / 2.3e8) ** -0.05})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        res = jf.fit(law, df, y="y", restarts=16)
    np.testing.assert_allclose(res.params.loc[0, "C_c"], 2.3e8, rtol=1e-8)
    np.testing.assert_allclose(res.params.loc[0, "alpha"], 0.05, rtol=1e-8)
    assert res.status[0] == jf.Status.CONVERGED


@pytest.mark.parametrize("kwargs, message", [
    (dict(irreducible="false"), r"irreducible='false' must be True or False"),
    (dict(input=5), r"input=5 must name the input variable"),
])
def test_power_law_rejects_arguments_of_the_wrong_type(kwargs, message):
    """``--law "power_law(irreducible=false)"`` passes the string 'false' (truthy): it
    used to fit the law with E."""
    with pytest.raises(ValueError, match=message):
        jf.models.power_law(**kwargs)
    with pytest.raises(ValueError, match=message):
        jf.io.get_law("power_law(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")")


def test_power_law_calls_naming_one_law_return_one_object():
    """``kind`` and the way of passing ``input`` split `power_law`'s cache: the calls below
    were three `Law` objects for one law, each compiled on its own. They are one object,
    with the same spec as before (``kind`` only where it is not the input's default)."""
    pl = jf.models.power_law
    c = pl("C")
    assert pl("C", kind="compute") is c and pl(input="C") is c and pl("C", True, None) is c
    assert pl("C", irreducible=np.bool_(True)) is c
    assert pl("N") is pl("N", kind="size") is pl(input="N", irreducible=True)
    assert pl("C", irreducible=False) is pl("C", irreducible=False, kind="compute")
    assert pl("C", kind="size") is not c and pl("C", kind="size").terms[0].kind == "size"
    assert c.spec == "power_law(input='C', irreducible=True)"
    assert pl("C", kind="size").spec == "power_law(input='C', irreducible=True, kind='size')"
    assert pl("C", irreducible=False).spec == "power_law(input='C', irreducible=False)"
    assert jf.io.get_law(pl("C", kind="size").spec) is pl("C", kind="size")


def test_every_factory_returns_one_object_per_law():
    """jaxfit compiles once per `Law` object. ``ladder_step1()`` and
    ``ladder_step1_flops()`` built a new object on every call (each fit of a fresh call
    compiled again: 4.2 s against 0.01 s), and the other factories' ``functools.cache``
    keyed the call as written: ``kaplan()``, ``kaplan("C")`` and ``kaplan(input="C")`` (the
    spec `jaxfit.io.load` rebuilds) were three objects."""
    m = jf.models
    assert m.ladder_step1() is m.ladder_step1() is m.ladder_step1(E="nonnegative")
    assert m.ladder_step1("real") is m.ladder_step1(E="real") is not m.ladder_step1()
    assert m.ladder_step1_flops() is m.ladder_step1_flops("C") is m.ladder_step1_flops(input="C")
    assert m.kaplan() is m.kaplan("C") is m.kaplan(input="C") is jf.io.get_law("kaplan(input='C')")
    assert m.kaplan("N") is not m.kaplan("C")
    assert m.sigmoid() is m.sigmoid("L") is m.sigmoid(input="L")
    assert m.linear() is m.linear(input="L")
    assert m.broken_power_law() is m.broken_power_law("x")
    assert m.relu_elbow() is m.relu_elbow("L", 0.02, False)
    assert m.emergence_shift() is m.emergence_shift("log_power", input="D")
    assert m.emergence() is m.emergence("log_power", temperature=0.02)
    assert jf.io.get_law(m.ladder_step1("real").spec) is m.ladder_step1("real")
    with pytest.raises(TypeError, match=r"kaplan\(\) got an unexpected keyword argument 'inptu'"):
        m.kaplan(inptu="C")
    with pytest.raises(ValueError, match=r"E='x': use 'nonnegative'"):
        m.ladder_step1(E="x")


# Published fits (papers/METHODS.md): each value must lie in the law's init box, where
# random starts are drawn, so that a fit on the paper's own units starts near it.
PUBLISHED = [
    (jf.models.chinchilla(), dict(A=406.4, B=410.7, E=1.69, alpha=0.34, beta=0.28)),  # Hoffmann
    (jf.models.chinchilla(), dict(A=482.01, B=2085.43, E=1.817, alpha=0.3478, beta=0.3658)),
    *[(ladder_step1(), dict(A=A, alpha=a, B=B, beta=b, E=E))      # Bhagia et al. Table 5
      for A, a, B, b, E in [(38.07, 0.23, 100.09, 0.24, 0.45), (11.23, 0.20, 60.37, 0.26, 0.50),
                            (702974.93, 0.79, 38.45, 0.20, 0.65),
                            (79412.07, 0.66, 3957.51, 0.42, 0.56),
                            (405.66, 0.40, 10.16, 0.15, 0.72),
                            (1200.94, 0.45, 7897.19, 0.48, 0.95),
                            (86346.32, 0.69, 137.35, 0.26, 1.20)]],  # CSQA's E = 0 is a bound
    *[(jf.models.sigmoid(), dict(a=a, k=k, L0=L0))                # Table 5, step 2 (b ~ 1.00)
      for a, k, L0 in [(-0.74, 4.83, 0.62), (-0.73, 12.74, 0.77), (-0.78, 5.91, 0.71),
                       (-0.65, 4.13, 0.74), (-0.46, 5.03, 0.96), (-0.86, 2.21, 1.13),
                       (-0.60, 7.16, 0.89), (-0.79, 4.31, 1.08)]],
    (jf.models.kaplan("N"), {"N_c": 8.8e13, "alpha": 0.076}),      # Kaplan et al. eq. 1.1
    (jf.models.kaplan("D"), {"D_c": 5.4e13, "alpha": 0.095}),      # eq. 1.2
    (jf.models.kaplan("C"), {"C_c": 3.1e8, "alpha": 0.050}),       # eq. 1.3, PF-days
    (jf.models.kaplan("C"), {"C_c": 3.1e8 * 8.64e19, "alpha": 0.050}),  # the same in FLOPs
]


def test_published_fits_lie_in_the_init_boxes():
    """Before: Kaplan's N_c = 8.8e13, D_c = 5.4e13 and C_c = 2.7e28 FLOPs lay above
    kaplan's init box (1e3, 1e12) (see test_recover_kaplan_with_compute_in_flops)."""
    outside = [(law.name, n, v, law.params[n].init) for law, p in PUBLISHED
               for n, v in p.items() if not law.params[n].init[0] <= v <= law.params[n].init[1]]
    assert outside == []
