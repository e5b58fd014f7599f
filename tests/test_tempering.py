"""The power on the Huber likelihood (`jaxfit.inference.tempering`): its value against
theory and scipy, and its effect on `jaxfit.sample`."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from synthetic import CHINCHILLA as LAW
from synthetic import chinchilla_mean, chinchilla_tasks

from jaxfit.data import make_batch
from jaxfit.inference import stderr, tempering
from jaxfit.sample import sample


def _batch(df):
    b = make_batch(df, LAW, y="loss", by="task")
    return ({n: jnp.asarray(v) for n, v in b.x.items()}, jnp.asarray(b.y), jnp.asarray(b.w))


@pytest.fixture(scope="module")
def tasks():
    """20 tasks of 200 points; log residuals with Gaussian or Laplace noise (sd 1%)."""
    df, truth = chinchilla_tasks(20, 200, sigma=0.01, seed=11)
    return df, truth, np.random.default_rng(3)


def test_learning_rate_is_two_over_pi_on_gaussian_noise_and_one_on_laplace(tasks):
    """At the Huber fit, eta = k / tr(V P) estimates 2 f(0) sigma: 2 / pi = 0.64 for
    Gaussian residuals (the Huber density, ~ Laplace, is 1.25x too
    narrow), 1 (clipped) for Laplace residuals, where the Huber density is the noise's."""
    df, truth, rng = tasks
    L = chinchilla_mean(truth.loc[df.task].reset_index(drop=True), df.N.to_numpy(),
                        df.D.to_numpy())
    etas = {}
    for name, z in (("gauss", rng.standard_normal(len(df))),
                    ("laplace", rng.laplace(size=len(df)) / np.sqrt(2))):
        d = df.assign(loss=L * np.exp(0.01 * z))
        fit = jf.fit(LAW, d, y="loss", by="task", warn=False)
        with jax.enable_x64(True):
            x, y, w = _batch(d)
            etas[name] = np.asarray(tempering.learning_rate(
                LAW, jnp.asarray(fit.values, dtype=jnp.float64), x, y, w, 1e-3))
    print({k: np.round(np.quantile(v, [0.1, 0.5, 0.9]), 3) for k, v in etas.items()})
    assert abs(np.median(etas["gauss"]) - 2 / np.pi) < 0.08
    assert np.all((etas["gauss"] > 0.4) & (etas["gauss"] < 0.95))
    assert np.median(etas["laplace"]) > 0.85


def test_huber_scale_matches_scipy(tasks):
    """The batched bisection gives the Huber density's maximum-likelihood scale that
    `stderr.log_likelihood` finds with scipy, task by task."""
    df, _, _ = tasks
    with jax.enable_x64(True):
        x, y, w = _batch(df)
        r = np.asarray(jnp.where(w > 0, y, 0.0) - jnp.mean(y, axis=1, keepdims=True))
        r = np.where(np.asarray(w) > 0, r * 0.02, 0.0)
        ours = np.asarray(tempering.huber_scale(jnp.asarray(r), w, 1e-3))
    _, ref = stderr.log_likelihood(r, np.asarray(w), "huber", 1e-3)
    np.testing.assert_allclose(ours, ref, rtol=1e-5)


def test_sample_tempers_the_huber_likelihood_and_keeps_its_mode():
    """`jf.sample` (Laplace draws, fast): the powers are recorded per task, the interval
    at a far point widens by ~ eta^-1/2 against ``temper="none"``, its centre stays; a
    fixed number applies to every task; bad values are refused naming the option."""
    df, _ = chinchilla_tasks(6, 50, sigma=0.015, seed=5)
    kw = dict(y="loss", by="task", method="laplace", seed=0, warn=False)
    post = sample(LAW, df, **kw)
    raw = sample(LAW, df, temper="none", **kw, start=post.fit)
    eta = post.temper
    assert post.diagnostics.temper.to_numpy() == pytest.approx(eta)
    assert np.all(raw.temper == 1.0)
    assert np.all((0.15 < eta) & (eta < 0.7)), eta          # Fisher precision: ~ 0.4
    at = pd.DataFrame({"task": range(6), "N": 7e10, "D": 2e12})
    p, q = post.predict(at, prob=0.9), raw.predict(at, prob=0.9)
    ratio = ((p.credible_upper - p.credible_lower)
             / (q.credible_upper - q.credible_lower)).to_numpy()
    print(eta, ratio)
    np.testing.assert_allclose(ratio, eta ** -0.5, rtol=0.15)
    assert np.all(np.abs(p["median"] - q["median"]) < 0.15 * (q.credible_upper - q.credible_lower))
    fixed = sample(LAW, df, temper=0.5, **kw, start=post.fit)
    assert np.all(fixed.temper == 0.5)
    assert fixed.idata.constant_data.temper.values.tolist() == [0.5] * 6
    for bad in ("sandwhich", 1.5, 0.0):
        with pytest.raises(ValueError, match="temper"):
            sample(LAW, df, temper=bad, **kw)
