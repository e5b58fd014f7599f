"""Run by .ci/floors: a fit, a bootstrap and a netCDF round trip at the declared floor versions."""
import os
import tempfile
import warnings
from importlib.metadata import version

import jax

jax.config.update("jax_enable_x64", True)
import jaxfit as jf  # noqa: E402

for name in ("jax", "jaxlib", "optax", "numpyro", "pandas", "arviz", "matplotlib", "scipy"):
    print(f"{name}=={version(name)}", end="  ")
print()
df = jf.datasets.load("chinchilla")
df = df[~df.epoch_excluded_outlier]
law = jf.models.chinchilla()
res = jf.fit(law, df, y="loss", init="grid")
assert abs(res.params.loc[0, "alpha"] - 0.3473) < 1e-3, res.params
# a bootstrap (refit statistics group) and a Laplace posterior (per-task statistics group)
for i, post in enumerate([jf.bootstrap(law, df, y="loss", n=20, seed=0),
                          jf.sample(law, df, y="loss", method="laplace", samples=200)]):
    path = os.path.join(tempfile.mkdtemp(), f"post{i}.nc")
    with warnings.catch_warnings():
        # ArviZ warns about a group outside its scheme unless jaxfit.io says it knows it
        warnings.filterwarnings("error", message=".*not defined in the InferenceData scheme")
        jf.save(post, path)
        back = jf.load(path)
    assert back.interval().equals(post.interval())
    assert back.diagnostics.equals(post.diagnostics), (back.diagnostics, post.diagnostics)
print("floors ok: alpha", round(float(res.params.loc[0, "alpha"]), 4))
