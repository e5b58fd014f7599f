"""Provenance of every embedded dataset: each shipped file is what its extraction script
builds from the raw sources in ``../shared/data`` (or, for Chinchilla, the raw file itself).

These checks need the raw sources beside the repository (``../shared``), which a user's
clone does not have: there they are skipped with the reason (the ``shared_dir`` fixture in
``conftest.py``); ``.ci/run`` runs them with ``JAXFIT_REQUIRE_SHARED=1``, which turns a
missing ``../shared`` into a failure. Marked ``provenance`` (``pytest -m provenance``).
"""

import gzip
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# The extraction scripts live outside the installed package, in scripts/datasets/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "datasets"))

import make_emergence  # noqa: E402
import make_hitchhiker  # noqa: E402
import make_olmo_ladder  # noqa: E402
import make_olmo_ladder_val  # noqa: E402
import make_pythia  # noqa: E402

pytestmark = pytest.mark.provenance

#: The shipped files: those of the imported (installed) package.
HERE = Path(str(resources.files("jaxfit") / "datasets"))


def shipped(name: str) -> str:
    path = HERE / name
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as f:
            return f.read()
    return path.read_text()


# (shipped file, builder of the DataFrame from ../shared, float format of its script)
BUILDS = {
    "olmo_ladder.csv": (lambda s: make_olmo_ladder.build(
        s / "data/olmo_ladder/olmo_ladder_checkpoints_wide.csv"), "%.8g"),
    "olmo_ladder_val.csv": (lambda s: make_olmo_ladder_val.build(
        s / "data/olmo_ladder/olmo_ladder_checkpoints_wide.csv"), "%.8g"),
    "hitchhiker_colpret.csv.gz": (lambda s: make_hitchhiker.build(
        s / "data/hitchhiker_colpret/colpret_tidy.csv"), "%.10g"),
    "pythia.csv": (lambda s: make_pythia.build(
        s / "data/pythia_evals/pythia_evals_main.csv"), "%.8g"),
    "olmo_emergence.csv": (lambda s: make_emergence.build_olmo(
        s / "data/olmo_ladder/olmo_ladder_checkpoints_wide.csv"), "%.8g"),
    "obs_emergent.csv": (lambda s: make_emergence.build_obs(s / "data/obs_scaling"), "%.8g"),
}


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_extraction_script_rebuilds_the_shipped_file(name, shared_dir):
    build, fmt = BUILDS[name]
    rebuilt = build(shared_dir).to_csv(index=False, float_format=fmt)
    assert rebuilt == shipped(name), f"{name} differs from its extraction script's output"


def test_chinchilla_is_epochs_file(shared_dir):
    """Shipped byte for byte as in ``../shared/data/chinchilla_epoch`` (Epoch AI's 245 points)."""
    raw = (shared_dir / "data/chinchilla_epoch/chinchilla_epoch.csv").read_text()
    assert shipped("chinchilla_epoch.csv") == raw
    assert len(pd.read_csv(HERE / "chinchilla_epoch.csv")) == 245


def test_olmo_ladder_tasks_match_the_long_release(shared_dir):
    """The wide checkpoints and the long per-task release agree on every ladder row."""
    data = pd.read_csv(HERE / "olmo_ladder.csv")
    long = pd.read_csv(shared_dir / "data/olmo_ladder/olmo_ladder_tasks_long.csv")
    m = data[data["role"] == "ladder"].merge(long, on=["run", "task", "step"])
    assert len(m) == 8 * 1566
    for ours, theirs, rtol in (("task_loss", "task_loss_bpb", 2e-7),
                               ("accuracy_x", "accuracy_y", 2e-7),
                               ("tokens_x", "tokens_y", 1e-7)):
        np.testing.assert_allclose(m[ours], m[theirs], rtol=rtol)
