"""Where the tempered posterior's extra width at the extrapolation target comes from (issue 11).

Runs `jf.sample` on `nuts_convergence.tasks(n, seed)` and, per task, compares at the target
(N = 7e10, D = 2e12), all in log units of the law's mean:

* the posterior's draws: median, sd, 90% equal-tailed interval, skew;
* the point fit's prediction and its delta-method sandwich sd ``sqrt(g' V g)``, with
  ``V = H^-1 B H^-1`` (`stderr.pieces`, the matrices the tempering uses) and ``g`` the
  gradient of the log mean in the law's parameters;
* the untempered Huber likelihood's Laplace sd ``sqrt(g' P^-1 g)``, ``P = H / (delta sigma)``,
  and the tempered one, ``/ sqrt(eta)``;
* an oracle sd ``sqrt(pi / 2) s sqrt(g' F^-1 g)`` (the least-absolute-deviations estimator's
  asymptotic sd with the task's true noise sd ``s``);
* the errors against the truth and their z scores.

    python benchmarks/coverage_diagnosis.py --tasks 100 --seed 2027 [--chains 2 --warmup 500
        --samples 1000] [--save out.npz]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.inference import stderr
from jaxfit.inference.bayes import TERM_EXPONENT_PRIOR as EXP_PRIOR, huber_scale

from nuts_convergence import TARGET, tasks, true_mean

Z90 = 1.6448536269514722


def analyse(post, truth, noise, delta=1e-3):
    law = post.law
    names = list(law.param_names)
    T = len(post.tasks)
    with jax.enable_x64(True):
        vals = jnp.asarray(post.fit.values, dtype=jnp.float64)
        x = {n: jnp.asarray(v, dtype=jnp.float64) for n, v in post.data["x"].items()}
        y, w = jnp.asarray(post.data["y"]), jnp.asarray(post.data["w"])
        H, B, F, r = stderr.pieces(law, vals, x, y, w, "huber", delta, "log")
        sig = huber_scale(r, w, delta)
        tx = {k: jnp.asarray([v]) for k, v in TARGET.items()}

        def logm(theta):
            return law.log(dict(zip(names, theta)), tx)[0]

        g = jax.vmap(jax.grad(logm))(vals)                     # [T, k]
        fitpred = jax.vmap(logm)(vals)
        H, B, F, g, sig = map(np.asarray, (H, B, F, g, sig))
        fitpred = np.asarray(fitpred)
    n = (np.asarray(post.data["w"]) > 0).sum(1)
    k = len(names)
    out = []
    for t in range(T):
        d = np.sqrt(np.abs(np.diag(H[t])))
        S = np.outer(d, d)
        Hs, Bs, Fs, gs = H[t] / S, B[t] / S, F[t] / S, g[t] / d
        Hi = np.linalg.inv(0.5 * (Hs + Hs.T))
        V = Hi @ Bs @ Hi
        var_sand = gs @ V @ gs
        var_untemp = gs @ Hi @ gs * delta * sig[t]
        var_F = gs @ np.linalg.solve(Fs, gs)
        out.append(dict(var_sand=var_sand, var_untemp=var_untemp, var_F=var_F,
                        trVP=np.trace(V @ Hs) / (delta * sig[t])))
    a = pd.DataFrame(out)
    eta = np.asarray(post.temper)
    # posterior draws of the log mean at the target
    new = pd.DataFrame({"task": np.arange(T), **{kk: [v] * T for kk, v in TARGET.items()}})
    _, mean, _ = post.predict_draws(new)
    lm = np.log(mean)                                            # [T, D]
    true = np.log(true_mean(truth, TARGET["N"], TARGET["D"]))
    q05, q50, q95 = np.quantile(lm, [0.05, 0.5, 0.95], axis=1)
    res = pd.DataFrame(dict(
        n=n, eta=eta, noise=noise, sigma_huber=sig,
        true=true, fit=fitpred, post_med=q50, post_mean=lm.mean(1), post_sd=lm.std(1),
        q05=q05, q95=q95,
        sd_sand=np.sqrt(a.var_sand), sd_sand_nk=np.sqrt(a.var_sand * n / (n - k)),
        sd_untemp=np.sqrt(a.var_untemp), sd_temp_lap=np.sqrt(a.var_untemp / eta),
        sd_oracle=np.sqrt(np.pi / 2) * noise * np.sqrt(a.var_F),
        eta_raw=k / a.trVP))
    res = res.assign(**map_and_flat(post, lm))
    res["covered"] = (res.q05 <= res.true) & (res.true <= res.q95)
    res["hw"] = 0.5 * (res.q95 - res.q05) / Z90                 # half-width in sd units
    res["asym"] = (res.q95 - res.post_med) / (res.post_med - res.q05)
    return res


def _wquantile(v, w, q):
    o = np.argsort(v)
    c = np.cumsum(w[o]) / w.sum()
    return np.interp(q, c, v[o])


def map_and_flat(post, lm):
    """The posterior mode's prediction (the sampler's centre, as `jf.sample` finds it) and
    the posterior reweighted by 1 / prior (flat prior in the law's unconstrained
    coordinates): its median, 90% interval and the importance weights' effective size."""
    from jaxfit.inference import bayes, tempering
    from jaxfit.inference.starts import user_starts

    law = post.law
    with jax.enable_x64(True):
        lik = post.likelihood
        bm = bayes.make_model(law, lik, None, levels=True)
        x = {n: jnp.asarray(v, dtype=jnp.float64) for n, v in post.data["x"].items()}
        y, w = jnp.asarray(post.data["y"]), jnp.asarray(post.data["w"])
        ws = w * jnp.asarray(post.temper)[:, None]
        ref_ws = bayes.data_references(bm, x, y, ws)
        u = bayes.start_values(bm, post.fit.values, ref_ws)
        center = bayes.laplace_start(bm, u, ref_ws, x, y, ws, False)[0]
        ref = jax.vmap(bm.reference)(x, y, w)
        params, _ = bm.split(center, ref)
        tx = {k: jnp.asarray([v]) for k, v in TARGET.items()}
        mapp = np.asarray(jax.vmap(lambda p: law.log(p, tx)[0])(params))
        T = len(post.tasks)
        vals = np.stack([post.flat(n) for n in law.param_names], -1)     # [T, D, k]
        uu = jnp.asarray(user_starts(bm.law, vals.reshape(-1, len(law.param_names))))
        uu = uu.reshape(T, -1, uu.shape[-1])
        lp = jax.vmap(lambda ut, xt, yt, wt: jax.vmap(
            lambda u1: bm.log_prior(u1, xt, yt, wt))(ut))(uu, x, y, w)
        lp = np.asarray(lp)
    # the two declared-term priors separately: exponents (LogNormal, in log k) and levels
    xn = {n: np.asarray(v) for n, v in post.data["x"].items()}
    wn, yn = np.asarray(post.data["w"]), np.asarray(post.data["y"])

    def centre(v):
        return (np.where(wn > 0, np.log(np.abs(np.where(wn > 0, v, 1.0))), 0.0) * wn).sum(1) \
            / wn.sum(1)

    lp_exp = np.zeros(lp.shape)
    lp_lev = np.zeros(lp.shape)
    for term in law.terms:
        kd = post.flat(term.exponent)
        lk = np.log(kd)
        lp_exp += -0.5 * ((lk - float(EXP_PRIOR.loc)) / float(EXP_PRIOR.scale)) ** 2
        level = np.log(post.flat(term.scale)) - kd * centre(xn[term.input])[:, None] \
            - centre(yn)[:, None]
        lp_lev += -0.5 * ((level + 2.0) / 1.5) ** 2
    out = dict(map=mapp)
    for name, l in (("flat", lp), ("noexp", lp_exp), ("nolev", lp_lev)):
        med, lo, hi, ess = [], [], [], []
        for t in range(T):
            a = -(l[t] - l[t].max())
            wt = np.exp(a - a.max())
            ess.append(wt.sum() ** 2 / (wt ** 2).sum())
            lo_, med_, hi_ = _wquantile(lm[t], wt, [0.05, 0.5, 0.95])
            med.append(med_); lo.append(lo_); hi.append(hi_)
        out.update({f"{name}_med": np.array(med), f"{name}_q05": np.array(lo),
                    f"{name}_q95": np.array(hi), f"{name}_ess": np.array(ess)})
    return out


def report(res):
    e_fit = res.fit - res.true
    e_med = res.post_med - res.true
    print(f"tasks {len(res)}; coverage of the posterior's 90% interval: {int(res.covered.sum())}")
    for name in ["sd_sand", "sd_sand_nk", "sd_oracle", "sd_temp_lap", "sd_untemp", "post_sd", "hw"]:
        z = e_fit / res[name]
        zm = e_med / res[name]
        cov = np.mean(np.abs(z) <= Z90)
        print(f"  {name:12s}: median {res[name].median():.5f}; sd(z_fit) {z.std():.3f} "
              f"(robust {1.4826 * np.median(np.abs(z - np.median(z))):.3f}), mean z {z.mean():+.3f}"
              f"; +-1.645 sd around fit covers {cov:.0%}; sd(z_postmed) {zm.std():.3f}")
    r = res.hw / res.sd_sand
    print(f"  posterior half-width / sandwich sd: median {r.median():.3f}, "
          f"quartiles {r.quantile(0.25):.3f}-{r.quantile(0.75):.3f}")
    r = res.post_sd / res.sd_sand
    print(f"  posterior sd / sandwich sd: median {r.median():.3f}")
    r = res.sd_temp_lap / res.sd_sand
    print(f"  tempered-Laplace sd / sandwich sd: median {r.median():.3f}")
    r = res.sd_sand / res.sd_oracle
    print(f"  sandwich sd / oracle sd: median {r.median():.3f}, mean {r.mean():.3f}")
    r = res.hw / res.sd_oracle
    print(f"  posterior half-width / oracle sd: median {r.median():.3f}")
    print(f"  skew (q95 - med)/(med - q05): median {res.asym.median():.3f}")
    print(f"  posterior median - fit, in sandwich sds: median "
          f"{((res.post_med - res.fit) / res.sd_sand).median():+.3f}, "
          f"sd {((res.post_med - res.fit) / res.sd_sand).std():.3f}")
    ef, em = res.fit - res.true, res.post_med - res.true
    for c in ["fit", "map", "post_med", "post_mean", "flat_med"]:
        e = res[c] - res.true
        slope = np.polyfit(ef, res[c] - res.fit, 1)[0]
        print(f"  error of {c:9s}: sd {e.std():.5f}, mean {e.mean():+.5f}; regression of "
              f"({c} - fit) on the fit's error: slope {slope:+.3f}")
    for name, what in (("flat", "all priors"), ("noexp", "exponent priors"),
                       ("nolev", "level priors")):
        lo, hi, med = res[f"{name}_q05"], res[f"{name}_q95"], res[f"{name}_med"]
        fc = (lo <= res.true) & (res.true <= hi)
        print(f"  {what} removed (reweighted): coverage {int(fc.sum())}, half-width / "
              f"posterior's {((hi - lo) / (res.q95 - res.q05)).median():.3f}; median's error "
              f"sd {(med - res.true).std():.5f}; importance ESS median "
              f"{res[f'{name}_ess'].median():.0f}")
    print(f"  interval of the posterior's width centred at the fit covers "
          f"{np.mean(np.abs(ef) <= Z90 * res.hw):.0%}")
    print(f"  eta median {res.eta.median():.3f}; clipped at 1: {(res.eta >= 1).sum()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--chains", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--samples", type=int)
    ap.add_argument("--method")
    ap.add_argument("--temper")
    ap.add_argument("--save")
    args = ap.parse_args()
    df, truth, noise = tasks(args.tasks, args.seed)
    kw = {k: getattr(args, k) for k in ("chains", "warmup", "samples", "method")
          if getattr(args, k)}
    if args.temper:
        kw["temper"] = args.temper if args.temper in ("none", "sandwich") else float(args.temper)
    t0 = time.perf_counter()
    post = jf.sample(jf.models.chinchilla(), df, y="loss", by="task", seed=args.seed,
                     warn=False, **kw)
    print(f"sample {kw}: {time.perf_counter() - t0:.1f} s")
    res = analyse(post, truth, noise)
    report(res)
    if args.save:
        res.to_csv(args.save, index=False)
        np.savez_compressed(args.save.rsplit(".", 1)[0] + "_draws.npz", temper=post.temper,
                            **{n: post.flat(n).astype(np.float32) for n in post.names})


if __name__ == "__main__":
    main()
