"""Packaging: flax is an optional extra (FLP-M only), and the floors are declared."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_jaxfit_does_not_import_flax():
    code = ("import sys, jaxfit, jaxfit.recipes, jaxfit.recipes.flp_m; "
            "print('flax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_the_fit_path_imports_neither_optax_nor_the_posterior_code():
    """A ``jaxfit fit`` whose programs are stored never traces the Huber loss or an L-BFGS
    step: importing optax (~40 ms) and `jaxfit.inference.bayes` (~15 ms) at start-up cost
    every such run. numpyro stays: a Law's constraints are numpyro objects. The package's
    names still resolve on first use."""
    code = ("import sys, jaxfit.cli, jaxfit.fit, jaxfit.io, jaxfit.predictions, "
            "jaxfit.models\n"
            "from jaxfit.inference import cache, design, floor, starts\n"
            "print(sorted(m for m in ('optax', 'jaxfit.inference.bayes') if m in sys.modules))\n"
            "import jaxfit.inference as inf\n"
            "print(inf.BayesModel.__module__, inf.minimize.__module__, inf.huber_loss(3.0, 1.0))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.splitlines() == [
        "[]", "jaxfit.inference.bayes jaxfit.inference.optimize 2.5"], out.stderr


def test_used_packages_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {d.split(">=")[0].split("==")[0].strip().lower() for d in project["dependencies"]}
    # tqdm (progress), h5netcdf and h5py (netCDF posteriors) were used but undeclared before.
    assert {"jax", "jaxlib", "optax", "numpyro", "pandas", "arviz", "matplotlib", "scipy",
            "tqdm", "h5netcdf", "h5py"} <= declared
    assert "flax" not in declared
    assert any(d.startswith("flax") for d in project["optional-dependencies"]["flp-m"])
    assert project["name"] != "jaxfit"  # taken on the package index by another project


def test_extraction_scripts_are_not_in_the_package():
    """The scripts that build the embedded datasets live in scripts/datasets/ (run by
    tests/test_provenance.py), not in the installed package; the named loaders do."""
    root = Path(__file__).resolve().parents[1]
    assert not list((root / "jaxfit" / "datasets").glob("make_*.py"))
    assert len(list((root / "scripts" / "datasets").glob("make_*.py"))) == 5
    import jaxfit as jf
    from jaxfit.recipes.ladder import load_olmo_ladder      # the old name still works

    assert load_olmo_ladder is jf.datasets.load_olmo_ladder
