"""The ``jaxfit`` command end to end in subprocesses, its JSON against the documented
schemas (``jaxfit/schema/*.json``), exit codes, and the progress display.

Kept fast: few restarts, Laplace draws for ``sample`` (NUTS is the same code path in the
CLI; `tests/test_bayes.py` covers it), two ladder tasks.
"""

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import warnings
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from jaxfit import progress
from jaxfit.io import load

# The command line caches compiled programs (jaxfit.cli.cache_dir); here in a temporary
# directory shared by this module's subprocesses, not in the user's ~/.cache.
ENV = {**os.environ, "JAXFIT_QUIET": "", "JAXFIT_CACHE_DIR": tempfile.mkdtemp(prefix="jaxfit")}
CHINCHILLA = dict(A=400.0, B=1800.0, E=1.7, alpha=0.33, beta=0.29)


def run(*args, cwd=None):
    p = subprocess.run([sys.executable, "-m", "jaxfit", *map(str, args)], capture_output=True,
                       text=True, timeout=300, cwd=cwd, env=ENV)
    return p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------- a tiny JSON Schema check

def schema(name):
    return json.loads(resources.files("jaxfit").joinpath(f"schema/{name}.json").read_text())


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
          "integer": int, "number": (int, float)}


def validate(doc, sch, path="$"):
    """The JSON Schema keywords our schemas use: type, const, enum, required, properties,
    additionalProperties, items, prefixItems, min/maxItems, oneOf, exclusiveMinimum/Maximum."""
    types = sch.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        ok = any(isinstance(doc, _TYPES[t]) and not (isinstance(doc, bool) and t in
                                                     ("integer", "number")) for t in types)
        assert ok, f"{path}: {doc!r} is not of type {types}"
    if "const" in sch:
        assert doc == sch["const"], f"{path}: {doc!r} != {sch['const']!r}"
    if "enum" in sch:
        assert doc in sch["enum"], f"{path}: {doc!r} not in {sch['enum']}"
    if "exclusiveMinimum" in sch:
        assert doc > sch["exclusiveMinimum"], path
    if "exclusiveMaximum" in sch:
        assert doc < sch["exclusiveMaximum"], path
    if isinstance(doc, dict):
        for key in sch.get("required", []):
            assert key in doc, f"{path}: missing {key!r}"
        props = sch.get("properties", {})
        extra = sch.get("additionalProperties", True)
        for key, value in doc.items():
            if key in props:
                validate(value, props[key], f"{path}.{key}")
            elif extra is False:
                raise AssertionError(f"{path}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                validate(value, extra, f"{path}.{key}")
    if "oneOf" in sch:
        passed = 0
        for sub in sch["oneOf"]:
            try:
                validate(doc, sub, path)
                passed += 1
            except AssertionError:
                pass
        assert passed == 1, f"{path}: {doc!r} matches {passed} of oneOf {sch['oneOf']}"
    if isinstance(doc, list):
        assert sch.get("minItems", 0) <= len(doc) <= sch.get("maxItems", len(doc)), path
        for i, (value, sub) in enumerate(zip(doc, sch.get("prefixItems", []))):
            validate(value, sub, f"{path}[{i}]")
        if "items" in sch:
            for i, value in enumerate(doc[len(sch.get("prefixItems", [])):]):
                validate(value, sch["items"], f"{path}[{i}]")


@pytest.mark.parametrize("tasks, options", [
    (pd.Index(["a", "b"], name=0), dict(y=3, by=0, x={"N": 1, "D": 2})),   # header=None CSV
    (pd.Index([False, True], name="big"), dict(y="loss", by=["big"], x={})),
])
def test_fit_documents_of_integer_columns_and_boolean_tasks_follow_the_schema(tasks, options):
    """`save` writes what the data hold: integer column labels (a CSV read with
    header=None) and boolean task labels. Before, the schema allowed only strings there,
    so those documents (and `jaxfit sample --json` on a true/false task column) did not
    validate."""
    from jaxfit.io import fit_to_dict
    from jaxfit.posterior import Posterior

    law = jf.models.chinchilla()
    res = jf.FitResult(law=law, tasks=tasks, values=np.ones((2, 5)), objective=np.zeros(2),
                       status=np.zeros(2, np.int32), steps=np.ones(2, np.int64),
                       grad_norm=np.zeros(2), at_bound=np.zeros((2, 5), bool),
                       identified=np.ones(2, bool), options=options)
    doc = fit_to_dict(res)
    validate(doc, schema("fit"))
    assert [t["task"] for t in doc["tasks"]] == list(tasks)
    from jaxfit.inference.bayes import make_likelihood
    from jaxfit.cli import _posterior_doc

    draws = {n: np.ones((2, 1, 4)) + np.arange(4) for n in (*law.param_names, "sigma")}
    post = Posterior(law=law, tasks=tasks, draws=draws, method="laplace", options=options,
                     likelihood=make_likelihood("normal", "log"))
    validate(_posterior_doc(post, "chinchilla", 0.9), schema("posterior"))


def test_validator_rejects():
    sch = schema("fit")
    doc = {"schema": "jaxfit.fit/1", "law": {}, "options": {}, "tasks": []}
    with pytest.raises(AssertionError, match="missing 'name'"):
        validate(doc, sch)
    with pytest.raises(AssertionError, match="not in"):
        validate({"status": "fine"}, sch["properties"]["tasks"]["items"]["properties"]["status"])


# --------------------------------------------------------------------------- subcommands

@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    """Two tasks of exact Chinchilla losses with other column names (truth: CHINCHILLA,
    and E + 0.1 for task 'b')."""
    N, D = np.meshgrid(np.geomspace(5e7, 5e9, 6), np.geomspace(1e9, 1e11, 6))
    rows = []
    for task, dE in (("a", 0.0), ("b", 0.1)):
        p = {**CHINCHILLA, "E": CHINCHILLA["E"] + dE}
        loss = p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]
        rows.append(pd.DataFrame({"params": N.ravel(), "tokens": D.ravel(), "family": task,
                                  "val_loss": loss.ravel()}))
    path = tmp_path_factory.mktemp("cli") / "runs.csv"
    pd.concat(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("argv, wanted", [
    (("show", "chinchilla", "-o", "x.csv"),
     "-o x.csv applies to datasets export only; use jaxfit datasets export NAME -o x.csv"),
    (("list", "-o", "x.csv"), "-o x.csv applies to datasets export only"),
    (("show", "chinchilla", "--json"),
     "--json applies to datasets list only; drop it (datasets show writes a table)"),
    (("export", "chinchilla", "--json"), "--json applies to datasets list only"),
    (("list", "chinchilla"),
     "datasets list takes no dataset name ('chinchilla'); drop it, or use jaxfit datasets "
     "show chinchilla"),
    (("export", "chinchilla", "-o", "data.xlsx"),
     "-o data.xlsx: datasets export writes CSV or Parquet; name the file .csv, .parquet or "
     ".pq"),
])
def test_datasets_options_an_action_would_ignore_are_refused(argv, wanted, capsys, tmp_path,
                                                            monkeypatch):
    """Measured before: exit 0 with the option unused (show -o wrote no file, show/export
    --json printed text, list NAME listed every dataset) or misused (export -o data.xlsx
    wrote CSV text under that name, which jaxfit fit then refused as a workbook)."""
    from jaxfit.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["datasets", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxfit: error: "), err
    assert wanted in err, err
    assert not list(tmp_path.iterdir())                         # nothing written
    # an upper-case suffix is Parquet too (before: CSV text under that name); without the
    # parquet extra (`.ci/run` installs only the test extra) it says how to get it
    code = main(["datasets", "export", "chinchilla", "-o", "CH.PARQUET"])
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert code == 2 and "Parquet needs pyarrow" in capsys.readouterr().err
        assert not (tmp_path / "CH.PARQUET").exists()
    else:
        assert code == 0 and (tmp_path / "CH.PARQUET").read_bytes()[:4] == b"PAR1"


def test_predict_names_the_tasks_of_a_posterior_that_failed_its_diagnostics(tmp_path,
                                                                            capsys):
    """A saved posterior whose diagnostics failed (jaxfit sample exited 1 on it) predicted
    later with exit 0 and no word, where a saved fit that did not converge is named. Now
    one warning line names the predicted tasks that failed (6 points, 5 parameters: every
    bootstrap resample nearly interpolates, ok False)."""
    from synthetic import CHINCHILLA as LAW
    from synthetic import chinchilla_tasks

    from jaxfit.cli import main

    df, _ = chinchilla_tasks(1, 6, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = jf.bootstrap(LAW, df, y="loss", n=50, seed=0)
    assert not boot.diagnostics["ok"].any()
    path = jf.save(boot, tmp_path / "boot.nc")
    assert main(["predict", str(path), "--at", "N=7e10", "D=1.4e12", "-q"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: predict: 1 task(s) [0] of this posterior (bootstrap) failed their "
                   "diagnostics when it was drawn, so their intervals may be unreliable; see "
                   "the diagnostics table of jaxfit sample (--json: each task's "
                   "\"diagnostics\"), and draw it again (jaxfit sample's warning says what to "
                   "change)"], err
    # jaxfit sample --at: the draws' own warning, not a second one from its predictions
    # (`Posterior.predict` names failed tasks too since session 28)
    csv = tmp_path / "six.csv"
    df.to_csv(csv, index=False)
    assert main(["sample", str(csv), "--method", "bootstrap", "--n", "50", "--at", "N=7e10",
                 "D=1.4e12", "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert sum(line.startswith("warning: bootstrap: fewer than 3 points per parameter")
               for line in err) == 1, err
    assert not [line for line in err if "failed their diagnostics" in line], err


def test_fit_that_did_not_converge_plots_without_python_warnings(runs_csv, tmp_path):
    """`fit --max-steps 2 --plot --residuals`: the fit's warning line, then (before) one
    multi-line Python ConvergenceWarning with its source line per curve drawn (12 here)."""
    code, out, err = run("fit", runs_csv, "--x", "N=params", "D=tokens", "--y", "val_loss",
                         "--by", "family", "--restarts", "2", "--max-steps", "2",
                         "--plot", tmp_path / "fit.png", "--residuals", tmp_path / "res.png",
                         "--save", tmp_path / "fit.json")
    assert code == 1, err
    # and `optimal` of the saved fit with --plot (before: a Python warning per optimal call
    # inside the allocation plot)
    code2, _, err2 = run("optimal", tmp_path / "fit.json", "--budgets", "1e21",
                         "--plot", tmp_path / "alloc.png")
    assert code2 == 0, err2
    for err in (err, err2):
        assert "ConvergenceWarning" not in err and "plot.py" not in err, err
        assert sum("did not converge" in line for line in err.splitlines()) == 1, err
        assert all(line.startswith(("warning: ", "wrote ")) for line in err.splitlines()), err


def test_fit_csv_mapping_save_plot_predict(runs_csv, tmp_path):
    fit_json, png, res_png = tmp_path / "fit.json", tmp_path / "fit.png", tmp_path / "res.png"
    code, out, err = run("fit", runs_csv, "--x", "N=params", "D=tokens", "--y", "val_loss",
                         "--by", "family", "--restarts", "8", "--json", "--save", fit_json,
                         "--plot", png, "--residuals", res_png)
    assert code == 0, err
    doc = json.loads(out)
    validate(doc, schema("fit"))
    assert doc == json.loads(fit_json.read_text())          # --json is the saved file
    assert [t["task"] for t in doc["tasks"]] == ["a", "b"]
    for t, dE in zip(doc["tasks"], (0.0, 0.1)):
        assert t["status"] == "converged"
        truth = {**CHINCHILLA, "E": CHINCHILLA["E"] + dE}
        np.testing.assert_allclose([t["params"][k] for k in truth], list(truth.values()),
                                   rtol=1e-4)
    assert doc["options"]["x"] == {"N": "params", "D": "tokens"}
    for f in (png, res_png):
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 5000
    assert "fitting" not in err                              # no progress when piped

    new = tmp_path / "new.csv"
    pd.DataFrame({"params": [7e10, 7e10], "tokens": [1.4e12, 1.4e12],
                  "family": ["a", "b"], "val_loss": [2.5, 2.25]}).to_csv(new, index=False)
    # the law from a module in the current directory (not on the path otherwise)
    (tmp_path / "my_laws.py").write_text(
        "import jaxfit as jf\n\ndef my_law():\n    return jf.models.chinchilla()\n")
    code, out, err = run("predict", fit_json, new, "--json", "--law", "my_laws:my_law",
                         cwd=tmp_path)
    assert code == 0, err
    pred = json.loads(out)
    validate(pred, schema("predict"))
    assert pred["source"] == "fit" and pred["prob"] is None
    for row, t, observed in zip(pred["rows"], doc["tasks"], (2.5, 2.25)):
        p = t["params"]
        expect = p["E"] + p["A"] / 7e10 ** p["alpha"] + p["B"] / 1.4e12 ** p["beta"]
        assert row["family"] == t["task"]
        assert row["val_loss"] == observed             # the input column is kept ...
        assert row["val_loss_pred"] == pytest.approx(expect, rel=1e-12)   # ... beside it


def test_sample_save_predict(tmp_path):
    post_nc, pairs, png = tmp_path / "post.nc", tmp_path / "pairs.png", tmp_path / "post.png"
    code, out, err = run("sample", "chinchilla", "--where", "not epoch_excluded_outlier",
                         "--method", "laplace", "--chains", "2", "--samples", "200",
                         "--restarts", "8", "--prob", "0.8", "--json", "--save", post_nc,
                         "--pairs", pairs, "--plot", png, "--at", "N=7e10", "D=1.4e12")
    assert code == 0, err
    doc = json.loads(out)
    validate(doc, schema("posterior"))
    assert doc["method"] == "laplace" and doc["prob"] == 0.8
    (task,) = doc["tasks"]
    assert task["diagnostics"]["ok"] is True
    assert set(task["params"]) == {"A", "B", "E", "alpha", "beta", "sigma"}
    for s in task["params"].values():
        assert s["lower"] < s["median"] < s["upper"] and s["sd"] > 0
    # Chinchilla's exponents on Epoch's data: the Laplace posterior is centred at the fit,
    # alpha 0.3473, beta 0.3672 (Besiroglu et al.'s 0.35, 0.37), up to the Monte Carlo
    # error of a median of 400 draws (sd 0.017, 0.023: ~0.001; measured 0.3475, 0.3667)
    assert task["params"]["alpha"]["median"] == pytest.approx(0.3473, abs=0.005)
    assert task["params"]["beta"]["median"] == pytest.approx(0.3672, abs=0.006)
    for f in (pairs, png):
        assert f.read_bytes()[:4] == b"\x89PNG" and f.stat().st_size > 5000

    code, out, err = run("predict", post_nc, "--at", "N=7e10,1e11", "D=1.4e12", "--json",
                         "--prob", "0.8")
    assert code == 0, err
    pred = json.loads(out)
    validate(pred, schema("predict"))
    assert pred["source"] == "posterior"
    frame = pd.DataFrame(pred["rows"])
    again = load(post_nc).predict(pd.DataFrame({"N": [7e10, 1e11], "D": [1.4e12] * 2}),
                                        prob=0.8)
    np.testing.assert_array_equal(frame[again.columns].to_numpy(), again.to_numpy())
    assert (frame.credible_lower < frame["median"]).all()
    assert (frame.predictive_lower < frame.credible_lower).all()


def test_datasets(tmp_path):
    code, out, err = run("datasets", "list", "--json")
    assert code == 0, err
    doc = json.loads(out)
    validate(doc, schema("datasets"))
    assert [d["name"] for d in doc["datasets"]] == jf.datasets.names()
    units = {d["name"]: d.get("loss_unit") for d in doc["datasets"]}
    assert units["chinchilla"] == ["loss", "nats"] and units["hitchhiker"] is None
    assert units["olmo_ladder_val"][1] == "nats" and len(units["olmo_ladder_val"][0]) == 11
    with pytest.raises(AssertionError,                # the validator reads prefixItems
                       match=r"^\$\.datasets\[0\]\.loss_unit\[1\]: 1 is not of type "
                             r"\['string'\]"):
        validate({**doc, "datasets": [{**doc["datasets"][0], "loss_unit": ["loss", 1]}]},
                 schema("datasets"))
    code, out, _ = run("datasets", "show", "chinchilla")
    assert code == 0 and "245 rows" in out and "arXiv:2404.10102" in out
    code, out, _ = run("datasets", "export", "olmo_ladder", "-o", tmp_path / "o.csv")
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "o.csv"),
                                  jf.datasets.load("olmo_ladder"), check_dtype=False)


def test_ladder(tmp_path):
    png = tmp_path / "ladder.png"
    code, out, err = run("ladder", "--tasks", "mmlu_avg_test", "piqa_val", "--json",
                         "--plot", png, "--out", tmp_path / "tables")
    assert code == 0, err
    doc = json.loads(out)
    validate(doc, schema("recipe"))
    assert doc["options"]["tasks"] == ["mmlu_avg_test", "piqa_val"]
    pred = pd.DataFrame(doc["tables"]["predictions"]).set_index(["task", "target"])
    # The paper's released chained_main.csv (13B-5T), see tests/test_ladder.py.
    assert pred.loc[("mmlu_avg_test", "13B-5T"), "pred_acc"] == pytest.approx(0.51268, abs=2e-4)
    assert pred.loc[("piqa_val", "13B-5T"), "pred_acc"] == pytest.approx(0.82080, abs=2e-4)
    assert png.stat().st_size > 10000
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == [
        "predictions.csv", "step1.csv", "step2.csv", "table.csv", "variance.csv"]
    # --out: one header row, no unnamed index column; the tidy table in points
    table = pd.read_csv(tmp_path / "tables" / "table.csv")
    assert list(table.columns[:5]) == ["task", "target", "actual", "pred", "abs_error"]
    assert pd.read_csv(tmp_path / "tables" / "step1.csv").columns[0] == "task"
    row = table.set_index(["task", "target"]).loc[("mmlu_avg_test", "13B-5T")]
    assert row["pred"] == pytest.approx(51.268, abs=0.02)
    assert abs(row["pred"] - row["actual"]) == pytest.approx(row["abs_error"], abs=1e-9)


@pytest.mark.parametrize("name", ["ladder", "flp", "flp_m", "hitchhiker", "emergence"])
def test_recipe_help_names_the_data_columns(name):
    code, out, _ = run(name, "--help")
    assert code == 0 and "DATA:" in out and "--out DIR" in out


@pytest.mark.parametrize("args, message", [
    (("fit", "no_such_file.csv"), "neither a file nor an embedded dataset"),
    # hints in the command line's words, not Python's (y='loss')
    (("fit", "chinchilla", "--y", "val_loss"),
     ("missing column(s) ['val_loss']", "map them, e.g. --y loss.")),
    (("fit", "chinchilla", "--law", "chinchila"), "unknown law 'chinchila'"),
    (("fit", "chinchilla", "--at", "N=7e10"),
     ("--at: missing value(s) for input(s) ['D']", "e.g. --at N=VALUE D=VALUE")),
])
def test_bad_input_exit_2(args, message):
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("jaxfit: error: ")
    for text in (message,) if isinstance(message, str) else message:
        assert text in err, err


def test_fit_refuses_two_inputs_read_from_one_column(tmp_path, capsys):
    """`jaxfit fit --x N=params D=params` (two law inputs mapped to one column, almost
    always a typo) fitted the law with N = D without a word. It is refused before any fit,
    in the --x flag's words (the library's message says x={...})."""
    from jaxfit import cli

    path = tmp_path / "runs.csv"
    n = np.geomspace(1e8, 1e10, 8)             # enough points to fit (before: it did)
    pd.DataFrame({"params": n, "tokens": 20 * n, "D": 20 * n[::-1],
                  "loss": 1.7 + 400 / n ** 0.34}).to_csv(path, index=False)
    for x, wanted in (
            (["N=params", "D=params"],
             "jaxfit: error: --x maps inputs 'N' and 'D' of law 'chinchilla' to the same "
             "column 'params', so they would read the same values: almost always a typo. Map "
             "each input to its own column, e.g. --x N=params D=COLUMN; for a law that takes "
             "one quantity twice, copy the column under a second name and map one of the "
             "inputs to the copy.\n"),
            (["N=D"],
             "jaxfit: error: --x maps input 'N' of law 'chinchilla' to column 'D', which its "
             "input 'D' reads too (an input not in --x reads the column of its own name), so "
             "they would read the same values: almost always a typo. Map each input to its "
             "own column, e.g. --x N=COLUMN; for a law that takes one quantity twice, copy "
             "the column under a second name and map one of the inputs to the copy.\n")):
        assert cli.main(["fit", str(path), "--law", "chinchilla", "--x", *x, "--y", "loss",
                         "-q"]) == 2
        assert capsys.readouterr().err == wanted


def test_version_and_help_import_no_jax():
    code, out, err = run("--version")
    assert code == 0 and out.strip() == f"jaxfit {jf.__version__}"
    probe = ("import sys; from jaxfit.cli import _parser; _parser().format_help(); "
             "print(sorted(m for m in ('jax', 'numpyro', 'pandas', 'numpy') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr


def test_the_program_exits_with_its_output_threads_and_atexit_handlers_done():
    """`jaxfit.cli._exit` ends the command's process without the interpreter's teardown
    (~0.25 s of a cached ``jaxfit fit``): unflushed output, a running thread and the
    ``atexit`` handlers still complete, and the exit code is kept; an output that cannot
    be written exits 120, as Python does."""
    code = ("import atexit, sys, threading, time\n"
            "from jaxfit.cli import _exit\n"
            "atexit.register(lambda: print('atexit', flush=True))\n"
            "t = threading.Thread(target=lambda: (time.sleep(0.2), print('thread', end=' ')))\n"
            "t.start()\n"
            "print('output', end=' ')\n"
            "_exit(4)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV,
                       check=False)
    assert (p.returncode, p.stdout, p.stderr) == (4, "output thread atexit\n", "")
    full = ("import io, sys\nfrom jaxfit.cli import _exit\n"
            "class Full(io.StringIO):\n"
            "    def flush(self):\n        raise OSError(28, 'No space left on device')\n"
            "sys.stdout = Full()\n_exit(0)\n")
    p = subprocess.run([sys.executable, "-c", full], capture_output=True, text=True, env=ENV,
                       check=False)
    assert (p.returncode, p.stderr) == (
        120, "jaxfit: error: cannot write the output: [Errno 28] No space left on device\n")


def _actions(parser, prog="jaxfit"):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{prog} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield prog, action


def test_every_option_has_help_and_shows_its_default():
    from jaxfit.cli import _parser

    parser = _parser()
    missing = [f"{prog} {a.option_strings or a.dest}" for prog, a in _actions(parser)
               if not (a.help or "").strip()]
    assert missing == []
    sub = next(a for a in parser._actions if a.choices and "fit" in a.choices).choices
    text = sub["fit"].format_help()
    for expected in ("(default: 64)", "(default: 0)", "(default: huber)", "(default: loss)"):
        assert expected in " ".join(text.split())


def test_recipe_options_show_the_recipe_functions_defaults():
    """docs/cli.md: `--help` lists every option with its default. A recipe option is
    None unless given, so argparse shows nothing; its help must name the default of the
    function it is passed to (`hitchhiker --fit`, `emergence --demo/--y/--loss/--form`
    named none before)."""
    import importlib
    import inspect
    import re

    from jaxfit.cli.recipes import RECIPES

    def function(spec):
        module, name = spec.split(":")
        return getattr(importlib.import_module(module), name)

    # emergence_or_elbow passes its **kwargs on to emergence or fewshot_elbow
    passed_on = {"emergence": ["jaxfit.recipes.emergence:emergence",
                               "jaxfit.recipes.emergence:fewshot_elbow"]}
    missing = []
    for name, recipe in RECIPES.items():
        sigs = [inspect.signature(function(s)) for s in [recipe.run, *passed_on.get(name, [])]]
        for arg in recipe.args:
            # flags, and the command line's own defaults (`Arg.default`, which Arg's help
            # shows: ladder's --calibrate ratio, where the function's is False)
            if (arg.kwargs.get("action") in ("store_true", "store_false")
                    or arg.default is not None):
                continue
            # the run function's own default, else those of the functions it passes to
            # (lists of names, e.g. the paper's 8 tasks, are described in words)
            where = [sig for sig in sigs if arg.dest in sig.parameters][:1] \
                if arg.dest in sigs[0].parameters else sigs[1:]
            defaults = {sig.parameters[arg.dest].default for sig in where
                        if arg.dest in sig.parameters}
            for default in (d for d in defaults if isinstance(d, (str, int, float))):
                value = f"{default:g}" if isinstance(default, float) else str(default)
                if not re.search(rf"default:? {re.escape(value)}\b", arg.kwargs.get("help", "")):
                    missing.append(f"{name} {arg.flag} (default {value})")
    assert missing == []


def test_internal_error_exits_3_with_one_line(monkeypatch, capsys):
    from jaxfit import cli

    def boom(args):
        raise RuntimeError("forced\nfailure")

    monkeypatch.setattr(cli, "_cmd_datasets", boom)
    assert cli.main(["datasets", "list"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxfit: internal error: RuntimeError: "
                                                   "forced failure")
    assert cli.main(["--debug", "datasets", "list"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("report it)")


def test_bad_law_module_exit_2(tmp_path):
    (tmp_path / "broken_laws.py").write_text("def law():\n    raise NameError('oops')\n")
    for spec, message in (("no_such_module:law", "No module named 'no_such_module'"),
                          ("broken_laws:law", "could not be built: NameError: oops")):
        code, out, err = run("fit", "chinchilla", "--law", spec, cwd=tmp_path)
        assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_cache_dir_and_which_programs_are_stored(monkeypatch, tmp_path):
    from jaxfit import cli
    from jaxfit.inference import cache
    from jaxfit.inference.objective import make_objective
    from jaxfit.inference.optimize import SolverOptions, _minimize

    monkeypatch.delenv("JAXFIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cli.cache_dir() == str(tmp_path / "jaxfit" / "jax")
    monkeypatch.setenv("JAXFIT_CACHE_DIR", str(tmp_path / "c"))
    assert cli.cache_dir() == str(tmp_path / "c")
    monkeypatch.setenv("JAXFIT_NO_CACHE", "1")
    assert cli.cache_dir() is None
    # Only programs whose static arguments have a process-independent identity are stored:
    # a law from a spec of the command line, not a Python user's law object.
    user_law = jf.Law(fn=lambda p, x: p["a"] * x["C"], params=jf.models.linear().params,
                      inputs=("C",), name="user")
    args = (np.zeros((1, 4, 2)), {"C": np.ones((1, 8))}, np.ones((1, 8)), np.ones((1, 8)))
    fn = _minimize.__wrapped__
    monkeypatch.setattr(cache, "_persistent", {"dir": str(tmp_path / "p"), "digest": None})
    assert cache._persistent_path(fn, (make_objective(user_law), SolverOptions()), args) is None
    law = jf.models.chinchilla().replace()                   # a copy: the CLI's token on it
    object.__setattr__(law, "cache_token", ("law", "chinchilla"))
    one = cache._persistent_path(fn, (make_objective(law), SolverOptions()), args)
    assert one.startswith(str(tmp_path / "p")) and one.endswith(".pkl")
    other = cache._persistent_path(fn, (make_objective(law, delta=1e-2), SolverOptions()), args)
    assert other != one           # the objective's options are part of the key


# ------------------------------------------------------------------------------ progress

class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("JAXFIT_QUIET", raising=False)
    assert not progress.enabled(stream=io.StringIO())
    assert progress.enabled(stream=_Tty())
    assert not progress.enabled(quiet=True, stream=_Tty())
    tty = _Tty()
    with progress.running("sampling 4 chains", stream=tty, interval=0.01):
        pass
    assert "sampling 4 chains" in tty.getvalue()
    tty = _Tty()
    assert list(progress.steps(range(3), "tasks", stream=tty)) == [0, 1, 2]
    assert "3/3" in tty.getvalue()
    for quiet, stream in ((True, _Tty()), (False, io.StringIO())):
        with progress.running("x", quiet=quiet, stream=stream):
            pass
        assert list(progress.steps("ab", "y", quiet=quiet, stream=stream)) == ["a", "b"]
        assert stream.getvalue() == ""
    monkeypatch.setenv("JAXFIT_QUIET", "1")
    assert not progress.enabled(stream=_Tty())
    # every JAXFIT_* switch is off at "" and "0" (before, JAXFIT_QUIET=0 silenced progress
    # while JAXFIT_NO_CACHE=0 kept the cache on)
    from jaxfit import cli

    for value, on in (("0", False), ("", False), (" 0 ", False), ("1", True), ("yes", True)):
        monkeypatch.setenv("JAXFIT_QUIET", value)
        monkeypatch.setenv("JAXFIT_NO_CACHE", value)
        assert progress.enabled(stream=_Tty()) is not on and (cli.cache_dir() is None) is on


def test_progress_shows_on_a_real_terminal():
    """On a pseudo-terminal (whose reported size is 0 x 0, where tqdm would print nothing)
    the elapsed-time display appears; piped, the same code prints nothing."""
    code = ("import time\nfrom jaxfit.progress import running\n"
            "with running('sampling 4 chains', interval=0.05):\n    time.sleep(0.3)\n")
    master, slave = os.openpty()
    child = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave,
                             stderr=slave, env=ENV, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:                                      # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert child.wait(timeout=120) == 0
    assert b"\rsampling 4 chains: 00:00" in out
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, env=ENV,
                           timeout=120)
    assert piped.returncode == 0 and piped.stderr == b"" and piped.stdout == b""


def _recipe(name, *args):
    code, out, err = run(name, *args, "--json", "--quiet")
    assert code == 0, err
    doc = json.loads(out)
    validate(doc, schema("recipe"))
    return {k: pd.DataFrame(v) for k, v in doc["tables"].items()}


def test_flp_and_flp_m_subcommands():
    """FLP / FLP-M on the embedded OLMo ladder (Chen et al. 2024; tests/test_flp*.py):
    PIQA within 2 points by FLP, Social IQa within 2 points by FLP-M, at both targets."""
    pred = _recipe("flp", "--tasks", "piqa_val", "--no-ladder")["predictions"]
    assert set(pred["target"]) == {"7B-4T", "13B-5T"}
    assert np.all(np.abs(pred["pred_acc"] - pred["actual_acc"]) < 0.02)
    pred = _recipe("flp_m", "--tasks", "socialiqa_val")["predictions"]
    assert np.all(np.abs(pred["pred_acc"] - pred["actual_acc"]) < 0.02)


def test_flp_m_names_a_users_domain_columns(capsys, tmp_path):
    """FLP-M on a file whose domain losses are not the Dolma names: before, the command
    had no --domains (argparse refused it) and the error said "Pass --loss COLUMN", an
    option flp_m does not have. Refused here before any fit (an unknown column)."""
    from jaxfit.cli import main

    path = tmp_path / "mix.csv"
    jf.datasets.load_flp_data().head(40).rename(columns={"wiki": "encyclopedia"}).to_csv(
        path, index=False)
    assert main(["flp_m", str(path), "--domains", "c4", "wikipedia", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxfit: error: flp_m: data is missing column(s) ['wikipedia']; "
                          "it needs one row per checkpoint and task with ['run', 'N', "
                          "'tokens', 'task', 'accuracy', 'c4', 'wikipedia']"), err
    assert err.endswith("Pass --domains COLUMN [COLUMN ...] to name the domain-loss "
                        "columns.") and "--loss" not in err and "\n" not in err


def test_recipe_out_that_names_a_file_is_refused_before_the_run(capsys, monkeypatch,
                                                                tmp_path):
    """A recipe's --out is a directory: `--out res.csv` (as backtest's --out takes a file)
    made a directory named res.csv holding table.csv, predictions.csv, ... Refused (exit 2)
    before the recipe runs; an existing directory of that name is still written to."""
    import importlib

    from jaxfit.cli import main

    ladder_module = importlib.import_module("jaxfit.recipes.ladder")
    monkeypatch.setattr(ladder_module, "ladder", lambda *a, **k: pytest.fail("ladder ran"))
    for name in ("res.csv", "res.JSON"):
        assert main(["ladder", "--out", str(tmp_path / name), "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f"jaxfit: error: --out {str(tmp_path / name)!r} names a file, but --out "
                       f"is a directory that gets one CSV per table ({tmp_path / 'res'}/"
                       f"table.csv, ...); give a directory, e.g. --out {tmp_path / 'res'}, or "
                       f"--json > {tmp_path / 'res.json'} for every table in one file"), err
        assert not (tmp_path / name).exists()


def test_recipe_runs_named_on_the_command_line_without_a_role_column(capsys, tmp_path):
    """DATA without a role column: the hint said "(ladder_runs=[...], targets=[...])" in
    Python words, and flp / flp_m had no flag for their runs at all ("sampling_runs=[...]";
    argparse refused --sampling-runs). Both refused here before any fit."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    jf.datasets.load_flp_data().head(40).drop(columns="role").to_csv(path, index=False)
    assert main(["ladder", str(path), "--tasks", "mmlu_avg_test", "-q"]) == 2
    assert capsys.readouterr().err.strip() == (
        "jaxfit: error: ladder: data has no 'role' column; pass the ladder runs explicitly "
        "(--ladder-runs ..., --targets ...).")
    for name in ("flp", "flp_m"):
        assert main([name, str(path), "--tasks", "mmlu_avg_test", "-q"]) == 2
        assert capsys.readouterr().err.strip().endswith(
            "pass the ladder runs explicitly (--sampling-runs ..., --targets ...).")
        # the flags reach the recipe: one sampling run is too few for stage 1
        assert main([name, str(path), "--tasks", "mmlu_avg_test", "--sampling-runs",
                     "190M-1xC", "--targets", "190M-2xC", "-q"]) == 2
        stage, params = {"flp": ("compute -> loss", "['C_c', 'alpha']"),
                         "flp_m": ("compute -> domain losses", "['C_c', 'alpha_C']")}[name]
        assert capsys.readouterr().err.strip() == (
            f"jaxfit: error: {name}: stage 1 ({stage}) fits 2 parameters {params} to one "
            f"point per sampling run, and {name} needs at least 3 sampling runs (a residual "
            "degree of freedom); got 1: "
            "['190M-1xC']. Add sampling runs (more model sizes or token multiples, "
            "role='ladder'), or name more of the data's runs (--sampling-runs ...).")


def test_flp_chance_levels_of_a_users_tasks(capsys, tmp_path):
    """A user's own task names have no known chance level: before, the error said "pass
    chance={task: level}", and jaxfit flp / flp_m had no flag for it, so such a file could
    not be run. All refused here before any fit."""
    from jaxfit.cli import main

    path = tmp_path / "mine.csv"
    jf.datasets.load_flp_data().head(40).assign(task="my_task").to_csv(path, index=False)
    base = ["flp", str(path), "--tasks", "my_task", "--no-ladder", "--sampling-runs",
            "190M-1xC", "--targets", "190M-2xC", "-q"]
    assert main(base) == 2
    assert capsys.readouterr().err.strip().endswith(
        "no chance level for tasks ['my_task']; pass --chance TASK=LEVEL ... (e.g. 1/number "
        "of choices) or one level for all (--chance 0.25).")
    for chance in (["0.25"], ["my_task=0.25"]):       # one level, or per task: accepted
        assert main(base + ["--chance", *chance]) == 2
        assert capsys.readouterr().err.strip() == (
            "jaxfit: error: flp: stage 1 (compute -> loss) fits 2 parameters ['C_c', "
            "'alpha'] to one point per sampling run, and flp needs at least 3 sampling runs "
            "(a residual degree of freedom); got 1: ['190M-1xC']. Add sampling runs (more model sizes or token multiples, "
            "role='ladder'), or name more of the data's runs (--sampling-runs ...).")
    assert main(base + ["--chance", "my_task=x"]) == 2
    assert capsys.readouterr().err.strip() == (
        "jaxfit: error: --chance: 'x' (task 'my_task') is not a number; give e.g. --chance "
        "0.25 or --chance TASK=0.25")
    assert main(base + ["--chance", "0.25", "0.5"]) == 2
    assert "give one level for every task" in capsys.readouterr().err


def test_recipe_options_name_integer_labels(capsys, tmp_path):
    """Task ids (and families) stored as integers: a command-line value is text, so
    ``--tasks 0`` was refused ("tasks ['0'] are not in data['task'] (available:
    [np.int64(0), ...])"), and ``--families 1``, ``--chance 0=0.25`` with it. Each is
    accepted now: refused here only later, before any fit, by a check after the selection.
    """
    from jaxfit.cli import main

    data = jf.datasets.load_flp_data().head(40)
    path = tmp_path / "ids.csv"
    data.assign(task=(data["task"] != data["task"].iloc[0]).astype(int)).to_csv(
        path, index=False)
    runs = ["--targets", "190M-2xC", "-q"]
    assert main(["ladder", str(path), "--tasks", "0", "--ladder-runs", "190M-1xC", *runs]) == 2
    assert capsys.readouterr().err.strip().startswith(
        "jaxfit: error: ladder: step 1 (two_step) fits 5 parameters")
    assert main(["flp", str(path), "--tasks", "0", "--chance", "0=0.25", "--sampling-runs",
                 "190M-1xC", *runs]) == 2
    assert capsys.readouterr().err.strip().startswith(
        "jaxfit: error: flp: stage 1 (compute -> loss) fits 2 parameters")
    fam = tmp_path / "fam.csv"
    pd.DataFrame({"family": [1, 1, 2], "model": ["a", "b", "c"], "N": [1e8, 2e8, 1e8],
                  "tokens": [1e9, 1e9, 1e9], "loss": [3.0, 2.9, 3.1]}).to_csv(fam, index=False)
    assert main(["hitchhiker", str(fam), "--families", "1", "-q"]) == 2
    assert capsys.readouterr().err.strip().startswith(
        "jaxfit: error: hitchhiker: no family is left after the filters ('1': 2 distinct "
        "sizes < --min-sizes 3)")


def test_where_with_a_syntax_error_says_how_to_write_one(capsys, tmp_path):
    """``--where "N <"``: the error was "SyntaxError: invalid syntax (<unknown>, line 1)"
    and no fix; it now says what --where takes, with an example. ``--where "task = 'x'"``
    (an assignment) was told to write "task = 'x' == 1"; now ==."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    jf.datasets.load_flp_data().head(5).to_csv(path, index=False)
    assert main(["ladder", str(path), "--where", "N <", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxfit: error: --where 'N <' failed: ") and err.endswith(
        "; --where takes a pandas condition on the data's columns, e.g. --where \"N > 1e8 "
        "and task == 'piqa_val'\" (text quoted)\n") and err.count("\n") == 1, err
    # an assignment: the fix said --where "task = 'x' == 1"
    assert main(["ladder", str(path), "--where", "task = 'x' and N >= 1", "-q"]) == 2
    assert capsys.readouterr().err.endswith(
        "; = assigns, == compares: write --where \"task == 'x' and N >= 1\"\n")


def test_recipe_posterior_warning_names_no_python_option(capsys):
    """`jaxfit emergence`'s NUTS warning said the chains were continued "(sample's
    extend=)", a Python option of jaxfit.sample that the recipe sets itself."""
    from types import SimpleNamespace

    from jaxfit import cli

    text = ("nuts: r_hat > 1.01 in 1 task(s) (max 1.015); chains already continued to 2x the "
            "samples and thinned in 1 task(s) (sample's extend=); tasks [0].")
    cli._warnings([SimpleNamespace(message=text)], cli._recipe_words("emergence"))
    err = capsys.readouterr().err
    assert "thinned in 1 task(s) (the recipe's sampler does so itself); tasks [0]" in err, err
    assert "extend=" not in err


def test_ladder_calibration_advice_names_no_flag_the_command_lacks(capsys):
    """`jaxfit ladder --intervals` on the embedded data warns that one fit of the
    calibration's backtest did not converge; its fix said "raise --restarts (or try --init
    grid), or give --cuts", flags of `jaxfit backtest` that `jaxfit ladder` lacks."""
    from types import SimpleNamespace

    from jaxfit import cli

    text = ("backtest: 8 of 96 held-out row(s) come from point fits that did not converge "
            "(1 (task, cut) pair(s): 'csqa_val' at cut 3.713e+08); they are in the table with "
            "converged=False. Fix: raise max_steps or restarts (fit_options=), or give "
            "min_points= so small cuts are skipped.")
    cli._warnings([SimpleNamespace(message=text)], cli._recipe_words("ladder"))
    from jaxfit.cli.recipes import RECIPES

    err = capsys.readouterr().err
    assert "--restarts" not in err and "--cuts" not in err and "--init" not in err, err
    assert err.rstrip().endswith("with no flag on the command line; or --calibrate none for "
                                 "the raw intervals."), err
    assert "--calibrate" in {a.flag for a in RECIPES["ladder"].args}     # a flag it has


def test_flp_chance_of_a_task_not_fitted_is_refused(capsys, monkeypatch):
    """``--chance piqa=0.5`` (a typo for piqa_val) was dropped without a word: the task kept
    its known level. Refused by the recipes before any fit (``chance={"piqa": 0.5}`` in
    Python too), for --tasks and for the default 8."""
    import importlib

    from jaxfit.cli import main

    for name in ("flp", "flp_m"):
        mod = importlib.import_module(f"jaxfit.recipes.{name}")
        monkeypatch.setattr(mod, "fit", lambda *a, **k: pytest.fail("a fit ran"))
        assert main([name, "--tasks", "piqa_val", "--chance", "piqa=0.5", "-q"]) == 2
        assert capsys.readouterr().err.strip() == (
            f"jaxfit: error: {name}: --chance names ['piqa'], which are not among the tasks "
            "fitted (piqa_val); give TASK=LEVEL for those tasks, or name the task with "
            "--tasks.")
    assert main(["flp", "--chance", "piqa_val=0.5", "boolq_val=0.5", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxfit: error: flp: --chance names ['boolq_val'], which are not "
                          "among the tasks fitted (mmlu_avg_test, hellaswag_val, "), err
    with pytest.raises(ValueError, match=r"^flp: chance names \['piqa'\]"):
        jf.recipes.flp(tasks=["piqa_val"], chance={"piqa": 0.5})


def test_emergence_fewshot_column_on_the_command_line(capsys, tmp_path):
    """Few-shot rows (D = 0) were refused with "Mark few-shot rows with fewshot= instead",
    which jaxfit emergence had no flag for. --fewshot reaches the recipe (its column is
    checked before any fit)."""
    from jaxfit.cli import main

    path = tmp_path / "ft.csv"
    pd.DataFrame({"loss": [2.0, 2.2, 2.4, 2.0], "accuracy": [0.5, 0.4, 0.3, 0.5],
                  "n": [10, 10, 10, 0], "fs": [0, 0, 0, 2]}).to_csv(path, index=False)
    assert main(["emergence", str(path), "--D", "n", "-q"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "Mark few-shot rows with a 0/1 column named by --fewshot instead.")
    assert main(["emergence", str(path), "--D", "n", "--fewshot", "fs", "-q"]) == 2
    assert capsys.readouterr().err.strip() == (
        "jaxfit: error: emergence: column 'fs' (fewshot) must hold 0/1 or True/False; it "
        "holds 2 (1 row(s), e.g. row 3). Write 1 for the few-shot rows and 0 for the "
        "finetuned ones in that column.")
    # before: "--n -1 is out of range", after the point fits (jaxfit.bootstrap's n=)
    assert main(["emergence", str(path), "--D", "n", "--bootstrap", "-1", "-q"]) == 2
    assert capsys.readouterr().err.strip() == (
        "jaxfit: error: emergence: --bootstrap -1 must be 0 (no bootstrap) or an integer "
        "from 2 to 2147483647 (the number of refits).")


def test_hitchhiker_subcommand_matches_scipy_oracle():
    """ARE of t5-pile with its 3 smaller models, whole runs, no cut: as an independent
    scipy curve_fit of the same protocol (tests/test_hitchhiker.py)."""
    from test_hitchhiker import scipy_protocol

    from jaxfit.recipes.hitchhiker import load_hitchhiker

    are = _recipe("hitchhiker", "--families", "t5-pile")["table"]     # the ``are`` table
    row = are[(are.n_models == 3) & (are.fraction == 1.0) & (are.cut == 0.0)
              & (are.checkpoints == "all")]
    assert len(row) == 1
    expected, _ = scipy_protocol(load_hitchhiker(), "t5-pile", 3, 1.0, 0.0)
    assert row["are"].iloc[0] == pytest.approx(expected, abs=1e-3)


def test_emergence_subcommand_on_emergent_capability_table():
    """Few-shot elbows in log10 training FLOPs of Ruan et al.'s table (docs/recipes/
    emergence.md): the bootstrap 90% interval contains the point estimate, and the three
    BIG-bench tasks emerge between 1e22 and 1e24 FLOPs."""
    em = _recipe("emergence", "--demo", "obs_scaling", "--no-posterior",
                 "--bootstrap", "20")["table"].set_index("task")   # ``emergence``
    assert set(em.index) >= {"ipa_transliterate", "parsinlu_qa", "word_unscrambling"}
    assert np.all((em["bootstrap_5"] <= em["mle"]) & (em["mle"] <= em["bootstrap_95"]))
    assert np.all((22 < em["mle"]) & (em["mle"] < 24))


def test_every_json_schema_a_command_names_is_shipped():
    """`--json` help names a schema; each must be a file in jaxfit/schema/ with that $id
    (jaxfit.backtest/1 and jaxfit.decide/1 were printed but not shipped)."""
    import re

    from jaxfit.cli import _parser

    named = {m for _, a in _actions(_parser()) for m in re.findall(r"jaxfit\.\w+/1", a.help or "")}
    assert {"jaxfit.backtest/1", "jaxfit.decide/1"} <= named
    for name in named:
        assert schema(name.split(".")[1].split("/")[0])["$id"] == name


def test_recipe_json_of_python_and_of_the_command_line_are_told_apart(monkeypatch, capsys):
    """`RecipeResult.to_json()` and `jaxfit RECIPE --json` both said "jaxfit.recipe/1",
    yet the first's ``options`` are every setting the recipe used (its result's options,
    defaults resolved: chance levels per task, runs) and the second's only the flags
    given. Now the Python form is "jaxfit.recipe_result/1" (shipped as
    jaxfit/schema/recipe_result.json), and each document passes its own schema only.
    Nothing is fitted: the recipe returns a built result."""
    from built_results import OneTable

    from jaxfit import cli

    used = {"tasks": ["piqa_val"], "ladder_runs": ["190M-1xC", "1B-10xC"], "targets": ["7B-4T"]}
    result = OneTable(pd.DataFrame({"task": ["piqa_val"], "pred": [80.0]}), used)
    monkeypatch.setattr(cli, "_import", lambda spec: lambda **kw: result)
    assert cli.main(["ladder", "--tasks", "piqa_val", "--json", "-q"]) == 0
    command_line = json.loads(capsys.readouterr().out)
    python = json.loads(result.to_json())
    assert (command_line["schema"], python["schema"]) == ("jaxfit.recipe/1",
                                                          "jaxfit.recipe_result/1")
    assert command_line["options"] == {"tasks": ["piqa_val"], "method": "two_step"}
    assert python["options"] == used and python["tables"] == command_line["tables"]
    validate(command_line, schema("recipe"))
    validate(python, schema("recipe_result"))
    for doc, other in ((command_line, "recipe_result"), (python, "recipe")):
        with pytest.raises(AssertionError, match="!="):
            validate(doc, schema(other))


def test_ladder_json_reports_calibrate_only_when_intervals_were_drawn(monkeypatch, capsys):
    """`jaxfit ladder --json` without --intervals listed ``"calibrate": "ratio"`` among
    the options it used (the command line's default, filled in and passed to the recipe,
    which ignored it: no interval was drawn, none calibrated). Now an option whose needed
    option is not given keeps no default: neither the recipe nor the JSON gets it. With
    --intervals, the default (ratio) or the value given is passed and reported. Nothing is
    fitted: the recipe returns a built result."""
    from built_results import OneTable

    from jaxfit import cli

    got = []

    def recipe(**kwargs):
        got.append(kwargs)
        return OneTable(pd.DataFrame({"task": ["piqa_val"], "pred": [80.0]}), {})

    monkeypatch.setattr(cli, "_import", lambda spec: recipe)
    for extra, calibrate in (([], None), (["--intervals"], "ratio"),
                             (["--intervals", "--calibrate", "width"], "width")):
        code, doc = _cli_json(capsys, ["ladder", "--tasks", "piqa_val", *extra, "--json", "-q"])
        assert code == 0
        validate(doc, schema("recipe"))
        assert doc["options"].get("calibrate") == calibrate, (extra, doc["options"])
        assert got[-1].get("calibrate") == calibrate, (extra, got[-1])
        assert doc["options"] == {"tasks": ["piqa_val"], "method": "two_step",
                                  **({"intervals": True, "calibrate": calibrate}
                                     if extra else {})}
    # given without --intervals, at any value, it is still refused (before any run)
    assert cli.main(["ladder", "--calibrate", "ratio", "--json", "-q"]) == 2
    assert "--calibrate ratio applies only with --intervals" in capsys.readouterr().err
    assert len(got) == 3


def test_recipe_json_with_a_non_finite_option(monkeypatch, capsys):
    """An option that is not a finite number (``max_target_loss=inf``, the natural way
    to keep every family) made ``RecipeResult.to_json()`` raise "Out of range float
    values are not JSON compliant", and ``jaxfit hitchhiker --max-target-loss inf
    --json`` raise the same after the whole run, printing nothing. Both write it as null,
    as a non-finite number of the tables, and numpy values as plain numbers (before, the
    Python document wrote an np.int64 option as the string "3"). Nothing is fitted: the
    recipe returns a built result."""
    from built_results import OneTable

    from jaxfit import cli

    result = OneTable(pd.DataFrame({"family": ["pythia"], "are": [0.05]}),
                      {"max_target_loss": float("inf"), "min_sizes": np.int64(3),
                       "fractions": (0.1, np.float64(0.5))}, recipe="hitchhiker")
    python = json.loads(result.to_json())
    assert python["options"] == {"max_target_loss": None, "min_sizes": 3,
                                 "fractions": [0.1, 0.5]}
    validate(python, schema("recipe_result"))
    monkeypatch.setattr(cli, "_import", lambda spec: lambda **kw: result)
    assert cli.main(["hitchhiker", "--max-target-loss", "inf", "--json", "-q"]) == 0
    command_line = json.loads(capsys.readouterr().out)
    assert command_line["options"] == {"max_target_loss": None}
    assert command_line["tables"] == python["tables"]
    validate(command_line, schema("recipe"))


def _cli_json(capsys, argv):
    from jaxfit.cli import main

    code = main([str(a) for a in argv])
    return code, json.loads(capsys.readouterr().out)


def _saved_chinchilla_fit(tmp_path):
    """A hand-made one-task converged Chinchilla fit at `CHINCHILLA`, saved as fit.json
    (no fitting: the decide commands' tests need only a file)."""
    from jaxfit.inference.status import Status

    law = jf.models.chinchilla()
    values = np.array([[CHINCHILLA[n] for n in law.param_names]])
    res = jf.FitResult(law=law, tasks=pd.Index([0]), values=values, objective=np.array([1e-3]),
                       status=np.array([Status.CONVERGED]), steps=np.array([10]),
                       grad_norm=np.array([1e-12]), at_bound=np.zeros((1, 5), bool),
                       identified=np.array([True]), options=dict(y="loss", by=None, x={}))
    return jf.save(res, tmp_path / "fit.json")


def test_suggest_of_too_few_or_non_finite_draws_names_the_commands(capsys, tmp_path):
    """`jaxfit suggest post.nc` of a posterior with one draw said "draw more, e.g.
    jf.sample(..., samples=1000) or jf.bootstrap(..., n=400)", its warning of no narrowing
    candidate the same, and one with non-finite draws "or use jf.sample.": Python calls on
    the command line. Now the commands and flags that draw more."""
    from jaxfit.cli import _cli_words, main
    from jaxfit.inference.bayes import make_likelihood

    draws = {n: np.full((1, 1, 1), v) for n, v in CHINCHILLA.items()}
    draws["sigma"] = np.full((1, 1, 1), 0.01)
    post = jf.Posterior(law=jf.models.chinchilla(), tasks=pd.Index([0]), draws=draws,
                        method="laplace", likelihood=make_likelihood("normal", "log"),
                        options=dict(y="loss", by=None, x={}))
    nc = jf.save(post, tmp_path / "one.nc")
    assert main(["suggest", str(nc), "--grid", "N=4e8,1e9", "D=1e10,4e10", "--target",
                 "N=7e10", "D=1.4e12", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "draw more, e.g. jaxfit sample --samples 1000, or --method " \
        "bootstrap --n 400 (or DATA as SOURCE with --n-boot 400)." in err, err
    assert "jf." not in err, err
    warning = _cli_words("suggest: ... Fix: draw more (e.g. jf.sample(..., samples=1000) or "
                         "jf.bootstrap(..., n=400)), compare method='linear', or give "
                         "candidates nearer the target.")
    assert warning == ("suggest: ... Fix: draw more (e.g. jaxfit sample --samples 1000, or "
                       "--method bootstrap --n 400 (or DATA as SOURCE with --n-boot 400)), "
                       "compare --method linear, or give candidates nearer the target."), warning
    assert _cli_words("Fix: add points to those tasks, leave them out, or use jf.sample.") == (
        "Fix: add points to those tasks, leave them out, or draw the posterior with jaxfit "
        "sample --method nuts.")


def test_a_saved_fit_of_any_file_name_is_a_saved_fit_not_data(capsys, tmp_path):
    """`--save` takes any name: `jaxfit fit runs.csv --save fit.out` wrote the fit, then
    `jaxfit optimal fit.out` read it as a CSV ("missing column(s) ['N', 'D', 'loss'] ...
    the data has columns ['{']") and `jaxfit fit fit.out` too. Now a file that holds a
    saved fit is one, whatever its name: SOURCE of optimal, refused as DATA."""
    from jaxfit.cli import main

    out = tmp_path / "fit.out"
    out.write_bytes(_saved_chinchilla_fit(tmp_path).read_bytes())
    code, doc = _cli_json(capsys, ["optimal", str(out), "--budgets", "5.76e23", "--json"])
    assert code == 0 and doc["command"] == "optimal" and len(doc["tables"]["optimal"]) >= 1
    _, ref = _cli_json(capsys, ["optimal", str(tmp_path / "fit.json"), "--budgets",
                                "5.76e23", "--json"])
    assert doc["tables"] == ref["tables"]
    assert main(["optimal", str(out), "--budgets", "5.76e23", "--y", "loss", "-q"]) == 2
    assert "is a saved fit, used as it is" in capsys.readouterr().err
    nc = tmp_path / "fit.nc"                # a fit saved as .nc is a fit, not a posterior
    nc.write_bytes(out.read_bytes())
    assert main(["optimal", str(nc), "--budgets", "5.76e23", "--y", "loss", "-q"]) == 2
    assert "is a saved fit, used as it is" in capsys.readouterr().err
    # the same fit, "schema" not its first key: the file's first bytes do not tell it, and
    # the refusal guessed "a saved posterior" from the name; now the loaded kind is said
    doc = json.loads(out.read_text())
    nc.write_text(json.dumps({k: doc[k] for k in sorted(doc, key=lambda k: k == "schema")}))
    assert main(["optimal", str(nc), "--budgets", "5.76e23", "--y", "loss", "-q"]) == 2
    assert f"{nc} is a saved fit, used as it is" in capsys.readouterr().err
    assert main(["fit", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a JSON file, not data" in err, err
    assert "a fit saved with --save is read by jaxfit predict FIT.json" in err, err


def test_predict_of_data_as_model_says_which_argument_is_which(capsys, tmp_path):
    """`jaxfit predict runs.csv fit.json` (MODEL and DATA swapped) said 'runs.csv' "is
    truncated or corrupted: save the result again", and `jaxfit predict chinchilla`
    "load: no file 'chinchilla'". Now each names MODEL and DATA, and the swapped order."""
    from jaxfit.cli import main

    fit_json = _saved_chinchilla_fit(tmp_path)
    csv = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e9], "D": [1e10]}).to_csv(csv, index=False)
    for argv, wanted in (
            ([csv, fit_json], f"predict: MODEL '{csv}' is a data file, not a saved fit or "
                              "posterior; MODEL is the file jaxfit fit --save (.json) or "
                              "jaxfit sample --save (.nc) wrote, DATA the new inputs: the "
                              f"order is MODEL then DATA, jaxfit predict {fit_json} {csv}"),
            ([csv, "--at", "N=1e9", "D=1e10"], "e.g. jaxfit predict fit.json runs.csv"),
            (["chinchilla", "--at", "N=1e9", "D=1e10"],
             "predict: MODEL 'chinchilla' is an embedded dataset, not a saved fit")):
        assert main(["predict", *map(str, argv), "-q"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and wanted in err, err
        assert "corrupted" not in err
    assert main(["predict", str(fit_json), str(csv), "-q"]) == 0        # the right order
    assert "loss_pred" in capsys.readouterr().out


@pytest.mark.parametrize("option, value, argv", [
    ("--max-steps", "99999999999999999999", ["fit", "--restarts", "2"]),
    ("--restarts", "99999999999999999999", ["fit"]),
    ("--samples", "99999999999999999999", ["sample", "--method", "laplace", "--restarts", "2"]),
    ("--n", "99999999999999999999", ["sample", "--method", "bootstrap", "--restarts", "2"]),
    ("--chains", "4294967296", ["sample", "--method", "laplace", "--restarts", "2"]),
    ("--n", "99999999999999999999", ["backtest", "--axis", "N", "--restarts", "2"]),
    ("--se-resamples", "99999999999999999999", ["suggest", "--grid", "N=4e8,1e9",
                                                "D=1e10,4e10", "--target", "N=7e10",
                                                "D=1.4e12"]),
])
def test_a_count_too_large_for_an_integer_is_bad_input(option, value, argv, capsys,
                                                          tmp_path):
    """`jaxfit fit --max-steps 99999999999999999999` (a typo) overflowed inside the
    compiled fit: "jaxfit: internal error: OverflowError: An overflow was encountered while
    parsing an argument to a jitted computation ... (a bug ...)", exit 3; `sample --samples`
    or `--n` of that size failed in building the program ("get(): incompatible function
    arguments ... jaxlib.mlir ..."). Now exit 2 before any fit, naming the flag and the
    range (`jaxfit.checks.MAX_COUNT`)."""
    from jaxfit.cli import main

    csv = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8] * 2, "D": [1e10] * 4 + [2e10] * 4,
                  "loss": np.linspace(3.0, 2.5, 8)}).to_csv(csv, index=False)
    source = _saved_posterior(tmp_path) if argv[0] == "suggest" else csv
    assert main([argv[0], str(source), *argv[1:], option, value, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    if argv[0] in ("fit", "sample"):
        assert err.startswith(f"jaxfit: error: {option} {value} is out of range: it must be "
                              "an integer from "), err
    else:           # backtest's and suggest's own rules
        assert f"{option} {value}" in err or f"{option} must be at most" in err, err
    assert "2147483647" in err and "internal" not in err and "mlir" not in err, err


def _saved_posterior(tmp_path):
    """A hand-made one-task Laplace posterior of Chinchilla near `CHINCHILLA`, saved as
    post.nc (no sampling)."""
    from jaxfit.inference.bayes import make_likelihood

    rng = np.random.default_rng(0)
    draws = {n: v * (1 + 0.02 * rng.normal(size=(1, 2, 200))) for n, v in CHINCHILLA.items()}
    draws["sigma"] = np.full((1, 2, 200), 0.01)
    post = jf.Posterior(law=jf.models.chinchilla(), tasks=pd.Index([0]), draws=draws,
                        method="laplace", likelihood=make_likelihood("normal", "log"),
                        options=dict(y="loss", by=None, x={}))
    return jf.save(post, tmp_path / "post.nc")


@pytest.mark.parametrize("command", ["fit", "sample", "backtest", "optimal", "suggest",
                                     "predict"])
def test_a_seed_too_large_for_a_random_key_is_bad_input(command, capsys, tmp_path):
    """`jaxfit fit runs.csv --seed 9223372036854775808` (2**63) passed the seed check and
    failed in JAX's random key: "jaxfit: internal error: OverflowError: Python int too
    large to convert to C long (a bug ...)", exit 3. Now exit 2 naming --seed and its
    range, before any fit; 2**63 - 1 stays a valid seed (`jaxfit.checks.MAX_SEED`)."""
    from jaxfit.cli import main

    csv = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8] * 2, "D": [1e10] * 4 + [2e10] * 4,
                  "loss": np.linspace(3.0, 2.5, 8)}).to_csv(csv, index=False)
    argv = {"fit": ["fit", csv, "--restarts", "2"],
            "sample": ["sample", csv, "--method", "laplace", "--restarts", "2"],
            "backtest": ["backtest", csv, "--axis", "N", "--restarts", "2"],
            "optimal": ["optimal", csv, "--budgets", "1e20", "--n-boot", "2"],
            "suggest": ["suggest", _saved_posterior(tmp_path), "--grid", "N=4e8,1e9",
                        "D=1e10,4e10", "--target", "N=7e10", "D=1.4e12"],
            "predict": ["predict", _saved_posterior(tmp_path), "--at", "N=7e10",
                        "D=1.4e12"]}[command]
    assert main([str(a) for a in argv] + ["--seed", str(2**63), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxfit: error: "), err
    assert "9223372036854775807" in err and "internal error" not in err, err
    assert "seed=" not in err, err
    from jaxfit.checks import MAX_SEED, nonnegative_seed

    nonnegative_seed(MAX_SEED)


def test_an_option_of_several_values_given_twice_keeps_both(capsys, tmp_path):
    """argparse kept only the last of a repeated ``nargs="+"`` option: `jaxfit optimal
    fit.json --budgets 1e21 --budgets 5.76e23` printed one budget, `jaxfit predict fit.json
    --at N=7e10 --at D=1.4e12` said D alone was given, `--x N=params --x D=tokens` mapped D
    only, `--at N=1 D=1 --at N=2 D=2` predicted the second row only: each without a word.
    Now the values of each time are kept (a name given twice in --at is refused)."""
    from jaxfit.cli import _parser, main

    fit_json = _saved_chinchilla_fit(tmp_path)
    code, doc = _cli_json(capsys, ["optimal", fit_json, "--budgets", "1e21", "--budgets",
                                   "5.76e23", "--json", "-q"])
    assert code == 0 and doc["options"]["budgets"] == [1e21, 5.76e23], doc["options"]
    code, doc = _cli_json(capsys, ["predict", fit_json, "--at", "N=7e10,1e9", "--at",
                                   "D=1.4e12,2e10", "--json"])
    assert code == 0 and [(r["N"], r["D"]) for r in doc["rows"]] == [(7e10, 1.4e12),
                                                                     (1e9, 2e10)]
    assert main(["predict", str(fit_json), "--at", "N=7e10", "D=1.4e12", "--at", "N=1e9",
                 "D=2e10", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--at gives N twice (N=7e10, N=1e9)" in err, err
    args = _parser().parse_args(["fit", "runs.csv", "--x", "N=params", "--x", "D=tokens",
                                 "--by", "family", "--by", "size"])
    assert (args.x, args.by) == (["N=params", "D=tokens"], ["family", "size"])
    args = _parser().parse_args(["flp", "--tasks", "a", "--tasks", "b"])
    assert args.tasks == ["a", "b"]


@pytest.mark.parametrize("command, hint", [
    ("bootstrap", "; for a bootstrap posterior use jaxfit sample --method bootstrap"),
    ("nuts", "; for a nuts posterior use jaxfit sample --method nuts"),
    ("fti", "; did you mean 'fit'?"),
    ("sugest", "; did you mean 'suggest'?"),
])
def test_an_unknown_command_names_where_it_is(command, hint, capsys):
    """`jaxfit bootstrap chinchilla` (as `jaxfit.bootstrap` in Python) listed the commands
    only; now it names `jaxfit sample --method bootstrap`, and a typo the close command."""
    from jaxfit.cli import main

    with pytest.raises(SystemExit) as e:
        main([command, "chinchilla"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert f"invalid choice: '{command}'" in err and hint + " (see jaxfit --help)" in err, err
    with pytest.raises(SystemExit):
        main(["sample", "chinchilla", "--method", "boostrap"])
    assert "; did you mean 'bootstrap'? (see jaxfit sample --help)" in capsys.readouterr().err


def test_an_option_of_one_value_given_twice_is_refused(capsys, tmp_path):
    """`jaxfit fit runs.csv --where "N > 1e8" --where "D > 1e9"` fitted the rows with D >
    1e9 only (argparse kept the last value), as `--y a --y b` fitted b: without a word. Now
    exit 2, one line naming both values (for --where, how to apply both); the same value
    twice is harmless and kept."""
    from jaxfit.cli import _parser, main

    csv = tmp_path / "runs.csv"
    with pytest.raises(SystemExit) as e:
        main(["fit", str(csv), "--where", "N > 1e8", "--where", "D > 1e9", "-q"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert ("jaxfit fit: error: --where given twice ('N > 1e8', then 'D > 1e9'); give it "
            "once; for both conditions write --where \"(N > 1e8) and (D > 1e9)\"") in err, err
    with pytest.raises(SystemExit) as e:
        main(["sample", str(csv), "--method", "laplace", "--method", "nuts"])
    assert e.value.code == 2
    assert "--method given twice ('laplace', then 'nuts'); give it once" in \
        capsys.readouterr().err
    args = _parser().parse_args(["fit", "runs.csv", "--y", "loss", "--y", "loss"])
    assert args.y == "loss"
    # an option of two values (optimal's --inputs N D) kept the last pair too (review)
    with pytest.raises(SystemExit) as e:
        _parser().parse_args(["optimal", "fit.json", "--budgets", "1e20", "--inputs", "N", "D",
                              "--inputs", "P", "T"])
    assert e.value.code == 2 and ("--inputs given twice (['N', 'D'], then ['P', 'T'])"
                                  in capsys.readouterr().err)
    assert _parser().parse_args(["optimal", "fit.json", "--budgets", "1e20", "--inputs", "N",
                                 "D", "--inputs", "N", "D"]).inputs == ["N", "D"]
    parser = _parser()                  # one parser, many parses: each its own values
    for y in ("a", "b", "c", "d"):
        assert parser.parse_args(["fit", "runs.csv", "--y", y]).y == y


def test_optimal_of_a_saved_fit_says_once_the_units_were_not_checked(capsys, tmp_path):
    """`jaxfit optimal fit.json --budgets 100`: the saved fit holds no data, so the units
    check cannot run (before: no word, though docs/decide.md promised the warning). One
    line says so, in the command line's words, also with --ratios (overtrain)."""
    from jaxfit.cli import main

    fit_json = _saved_chinchilla_fit(tmp_path)
    assert main(["optimal", str(fit_json), "--budgets", "100", "--ratios", "20", "-q"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == [
        "warning: optimal: the budgets' units were not checked against the fitted compute: "
        "the result holds none of the data it was fitted on (a fit loaded from a .json file "
        "keeps only its parameters). To have them checked, give the data (a CSV/Parquet file "
        "or dataset) as SOURCE, or a posterior saved by jaxfit sample --save (.nc)."], err


def test_optimal_refuses_a_repeated_budget_before_fitting(capsys, monkeypatch):
    """`--budgets 1e21 1e21`: refused (exit 2, one line naming the flag, the value and the
    fix) before the fit and its refits (before: its rows merged in the table)."""
    from jaxfit.cli import main

    monkeypatch.setattr(jf, "fit", lambda *a, **k: pytest.fail("fit ran"))
    assert main(["optimal", "chinchilla", "--budgets", "1e21", "5e21", "1e21", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # the library's rule and message (`jaxfit.decide.optimal._budgets`; before, the
    # command line's own copy), in the command line's flags
    assert err == ["jaxfit: error: optimal: --budgets 1e+21 5e+21 1e+21 repeat [1e+21]; give "
                   "each budget once (its answer does not depend on how often it is asked), "
                   "e.g. --budgets 1e+21 5e+21."], err


@pytest.mark.parametrize("n_boot", ["1", "99999999999999999999"])
def test_optimal_and_suggest_refuse_a_bootstrap_n_before_fitting(n_boot, capsys, monkeypatch):
    """`jaxfit optimal chinchilla --n-boot 1` fitted the data, then jaxfit.bootstrap refused
    n=1 (exit 2 after the fit's time). Now refused before the fit, with the fix."""
    from jaxfit.cli import main

    monkeypatch.setattr(jf, "fit", lambda *a, **k: pytest.fail("fit ran"))
    for argv in (["optimal", "chinchilla", "--budgets", "1e21"],
                 ["suggest", "chinchilla", "--grid", "N=4e8,1e9", "D=1e10,4e10", "--target",
                  "N=7e10", "D=1.4e12"]):
        assert main([*argv, "--n-boot", n_boot, "-q"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"jaxfit: error: --n-boot {n_boot}: a bootstrap needs 2 to 2147483647 " \
               "resamples; give e.g. --n-boot 1000, or --n-boot 0 for the point fit only" \
               in err, err


def test_backtest_passes_n_only_to_the_bootstrap(capsys, monkeypatch, tmp_path):
    """jf.backtest refuses an n with method 'nuts' or 'laplace' (n=None: the bootstrap's
    200); the command line's --n default reaches it only with --method bootstrap."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [1e10, 1e10, 1e10],
                  "loss": [3.0, 2.8, 2.6]}).to_csv(path, index=False)
    seen = []

    def fake(*args, n="unset", method=None, **kwargs):
        seen.append((method, n))
        raise ValueError("stop here")

    monkeypatch.setattr(jf, "backtest", fake)
    for method in ("bootstrap", "nuts", "laplace"):
        assert main(["backtest", str(path), "--axis", "N", "-q", "--method", method]) == 2
    assert seen == [("bootstrap", 200), ("nuts", None), ("laplace", None)]
    # --n's default is None (the library's rule reads it); --help shows the library's 200
    from jaxfit.backtest import BOOTSTRAP_N
    from jaxfit.cli import _parser
    from jaxfit.cli.backtest import _N_SHOWN

    assert _N_SHOWN == BOOTSTRAP_N
    assert _parser().parse_args(["backtest", "x.csv", "--axis", "N"]).n is None


def test_backtest_refuses_a_task_named_as_the_pooled_row_before_fitting(capsys, monkeypatch,
                                                                       tmp_path):
    """A task named "all" would share the summary's pooled row label: refused (exit 2)
    before any refit, with the --pooled fix."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"model": ["all", "b"], "N": [1e8, 1e9], "D": [1e10, 1e10],
                  "loss": [3.0, 2.5]}).to_csv(path, index=False)
    monkeypatch.setattr(jf, "backtest", lambda *a, **k: pytest.fail("backtest ran"))
    assert main(["backtest", str(path), "--by", "model", "--axis", "N", "-q"]) == 2
    err = capsys.readouterr().err
    assert "by column 'model' has a task named 'all'" in err and "--pooled pooled" in err


def test_backtest_out_must_be_a_csv_file(capsys, monkeypatch, tmp_path):
    """`backtest --out bt.parquet` wrote CSV text under that name (after the refits):
    refused before any refit (exit 2, one line naming the flag and the fix)."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 1e9], "D": [1e10, 1e10], "loss": [3.0, 2.5]}).to_csv(path,
                                                                                 index=False)
    monkeypatch.setattr(jf, "backtest", lambda *a, **k: pytest.fail("backtest ran"))
    for out in ("bt.parquet", "bt.xlsx"):
        assert main(["backtest", str(path), "--axis", "N", "--out", str(tmp_path / out),
                     "-q"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(
            "backtest writes its table as CSV; name the file .csv (or use --json for a JSON "
            "document)"), err
        assert not (tmp_path / out).exists()


def test_backtest_refuses_a_by_column_named_as_a_table_column(capsys, tmp_path):
    """The backtest table's task column is named after --by (as predict's): a by column
    named "cut" would clash with the table's own "cut". Refused (exit 2, one line naming
    the column and the fix) before any fit; the user's file unchanged."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"cut": ["a", "b"], "N": [1e8, 1e9], "D": [1e10, 1e10],
                  "loss": [3.0, 2.5]}).to_csv(path, index=False)
    text = path.read_text()
    assert main(["backtest", str(path), "--by", "cut", "--axis", "N", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "by column 'cut' has the name of a column" in err[0]
    assert "rename the by column" in err[0] and path.read_text() == text


def test_backtest_and_decide_json_match_their_schemas(capsys, monkeypatch, tmp_path):
    """No fit: a hand-made backtest table, fit and posterior (Chinchilla's law)."""
    from jaxfit.backtest import BacktestResult
    from jaxfit.inference.bayes import make_likelihood

    rows = pd.DataFrame({"task": ["a", "a"], "cut": [2.0, 1.0], "cut_rank": [1, 2],
                         "axis": [4.0, 4.0], "ratio": [2.0, 4.0], "actual": [1.0, 1.0],
                         "prediction": [1.05, 0.9], "lower": [0.9, 0.95], "upper": [1.1, 1.2],
                         "covered": [True, True], "raw_lower": [0.95, 0.95],
                         "raw_upper": [1.1, 1.2], "raw_covered": [True, True],
                         "mean_lower": [1.0, 0.96], "mean_upper": [1.08, 1.1],
                         "q": [0.05, np.nan], "n_calibration": [1, 0], "row": [3, 3]})
    bt = BacktestResult(rows=rows, fits={}, options=dict(
        axis="N", by=None, method="bootstrap", prob=0.9, calibrate="ratio", space="log", n=10,
        per_task=False, seed=0, law="chinchilla", steps=1))
    monkeypatch.setattr(jf, "backtest", lambda *a, **k: bt)
    code, doc = _cli_json(capsys, ["backtest", "chinchilla", "--axis", "N", "--json", "-q"])
    assert code == 0 and doc["summary"][0]["n"] == 1 and doc["table"][1]["q"] is None
    validate(doc, schema("backtest"))
    # a row from a fit that stopped at max_steps: exit 1, as `jaxfit fit` (before: 0)
    bt.rows["converged"] = [True, False]
    code, doc = _cli_json(capsys, ["backtest", "chinchilla", "--axis", "N", "--json", "-q"])
    assert code == 1 and doc["table"][1]["converged"] is False
    bt.rows["converged"] = [True, True]
    code, doc = _cli_json(capsys, ["backtest", "chinchilla", "--axis", "N", "--json", "-q"])
    assert code == 0
    # several --by columns: options keep by as an array (before: a list was dropped)
    monkeypatch.setattr(jf, "backtest", lambda *a, **k: dataclasses.replace(
        bt, options=dict(bt.options, by=k["by"])))
    code, doc = _cli_json(capsys, ["backtest", "chinchilla", "--axis", "N", "--json", "-q",
                                   "--by", "N", "D"])
    assert code == 0 and doc["options"]["by"] == ["N", "D"] and doc["options"]["n"] == 10
    validate(doc, schema("backtest"))

    fit_json = _saved_chinchilla_fit(tmp_path)
    code, doc = _cli_json(capsys, ["optimal", fit_json, "--budgets", "1e21", "--ratios", "20",
                                   "--json"])
    assert code == 0 and doc["command"] == "optimal" and set(doc["tables"]) == {
        "optimal", "overtrain"}
    validate(doc, schema("decide"))

    rng = np.random.default_rng(0)
    draws = {n: v * (1 + 0.02 * rng.normal(size=(1, 2, 200))) for n, v in CHINCHILLA.items()}
    draws["sigma"] = np.full((1, 2, 200), 0.01)
    post = jf.Posterior(law=jf.models.chinchilla(), tasks=pd.Index([0]), draws=draws,
                        method="laplace",
                        likelihood=make_likelihood("normal", "log"),
                        options=dict(y="loss", by=None, x={}))
    nc = jf.save(post, tmp_path / "post.nc")
    code, doc = _cli_json(capsys, ["suggest", nc, "--grid", "N=4e8,1e9", "D=1e10,4e10",
                                   "--target", "N=7e10", "D=1.4e12", "--json", "-q"])
    assert code == 0 and set(doc["tables"]) == {"ranking", "batch", "targets"}
    validate(doc, schema("decide"))
    # --seed seeds suggest's predictive draws, as seed= in Python (before: always seed 0,
    # the flag ignored with a saved posterior)
    cands = jf.decide.candidate_grid([4e8, 1e9], [1e10, 4e10])
    target = pd.DataFrame({"N": [7e10], "D": [1.4e12]})
    for seed in (0, 3):
        code, doc = _cli_json(capsys, ["suggest", nc, "--grid", "N=4e8,1e9", "D=1e10,4e10",
                                       "--target", "N=7e10", "D=1.4e12", "--json", "-q",
                                       "--seed", seed])
        want = jf.suggest(jf.load(nc), cands, target, seed=seed).targets
        assert code == 0
        assert doc["tables"]["targets"][0]["width_now"] == pytest.approx(
            want["width_now"].iloc[0], rel=1e-12)
    assert want["width_now"].iloc[0] != jf.suggest(jf.load(nc), cands, target).targets[
        "width_now"].iloc[0]


@pytest.mark.parametrize("argv, frame, wanted", [
    # a CSV column of text: the fix was "convert it with pd.to_numeric(df['D'])"
    (("fit", "{csv}", "-q"), {"D": ["x", "1e10"]}, "write numbers in the file's 'D' column"),
    # thousands separators: half the hint was pd.to_numeric(df['D'].str.replace(...))
    (("fit", "{csv}", "-q"), {"D": ["1,000", "2,000"]},
     "save the file without thousands separators"),
    # cut values with --per-task: "cuts must be None or an int"
    (("backtest", "{csv}", "--axis", "N", "--per-task", "--cuts", "1e9", "2e9", "-q"), {},
     "with --per-task, cuts are counted within each task, so cut values (1e+09, 2e+09) do "
     "not apply"),
    (("backtest", "{csv}", "--axis", "N", "--cuts", "0", "-q"), {},
     "--cuts 0 asks for no cut; give a count >= 1, the cut values themselves, or no --cuts"),
    # a --by typo: no did-you-mean before
    (("backtest", "{csv}", "--axis", "N", "--by", "famm", "-q"), {},
     "(the data's column 'fam' is close to 'famm')"),
    # a non-positive axis: "or --calibrate width or 'constant'" (half Python)
    (("backtest", "{csv}", "--axis", "N", "-q"), {"N": [-1e8, 2e8, 4e8, 8e8]},
     "or --calibrate width or --calibrate constant."),
    # a held-out loss <= 0 in log space: predicted without a word before
    (("backtest", "{csv}", "--axis", "N", "-q"), {"loss": [3.0, 2.8, 2.6, 0.0]},
     "backtest: column 'loss' of data has 1 value(s) <= 0 at rows [3] (e.g. 0); the law is "
     "fitted "
     "and its intervals calibrated in log space (--space log), so every value must be > 0. "
     "Fix: remove those rows, or use --space linear."),
    (("sample", "{csv}", "--prob", "1.5", "-q"), {}, "--prob 1.5 is out of range"),
    (("sample", "{csv}", "--target-accept", "2", "-q"), {}, "--target-accept 2.0 is out"),
    (("sample", "{csv}", "--temper", "2", "-q"), {},
     "--temper must be in (0, 1] (a power on the likelihood), got 2.0; use --temper none"),
    (("sample", "{csv}", "--likelihood", "beta", "-q"), {},
     "--likelihood beta models bounded outcomes in [0, 1]: use it with --space linear"),
    (("fit", "{csv}", "--where", "N < 2e8", "-q"), {},
     "or use a law with fewer free parameters (--law)"),
    # a typo in --axis: before, "backtest: data is missing column(s) ['n']", no role
    (("backtest", "{csv}", "--axis", "n", "-q"), {},
     "backtest: data is missing column(s) ['n'] (the axis); it has ['N', 'D', 'loss', "
     "'fam'] (the data's column 'N' is 'n' in other letter case)."),
    # a trailing comma in --at: before, "--at N= is not a number"
    (("fit", "{csv}", "--at", "N=1e9,", "D=1e10", "-q"), {},
     "--at N=1e9,: '' (an empty value: a trailing or doubled comma) is not a number; give a "
     "number, e.g. --at N=1e10 (comma-separated for several rows)"),
    (("fit", "{csv}", "--at", "N=1e9,x", "D=1e10", "-q"), {}, "--at N=1e9,x: 'x' is not a "
                                                             "number"),
    (("fit", "{csv}", "--at", "N=x", "D=1e10", "-q"), {}, "--at N=x is not a number"),
    # the target read as an input (a typo): before, fitted without a word, exit 0
    (("fit", "{csv}", "--x", "N=loss", "-q"), {},
     "--x maps input 'N' of law 'chinchilla' to column 'loss', which is also the target "
     "column, --y 'loss': the law would predict the target from itself (almost always a "
     "typo). Map 'N' to its own column, e.g. --x N=COLUMN, or name the target column with "
     "--y."),
    (("fit", "{csv}", "--y", "N", "-q"), {},
     "input 'N' of law 'chinchilla' reads the column of its own name, which is also the "
     "target column, --y 'N'"),
    # ... or as the task column: before, "4 task(s) have fewer points than the law's 5"
    (("fit", "{csv}", "--by", "loss", "-q"), {},
     "column 'loss' is both the target y and a task column (by): each task would hold the "
     "rows of one target value; name another task column, or another target column."),
    # --x keyed by a column, not by a law input: before, no fix at all
    (("fit", "{csv}", "--law", "power_law", "--x", "C=D", "-q"), {},
     "--x maps ['C'], which are not inputs of law 'power_law_N'; its inputs are ['N']: --x "
     "maps law inputs to columns, e.g. --x N=D"),
    (("fit", "{csv}", "--x", "params=N", "D=D", "-q"), {},
     "its inputs are ['N', 'D']: --x maps law inputs to columns, e.g. --x N=params"),
    (("fit", "{csv}", "--x", "n=N", "d=D", "-q"), {},
     "--x maps ['d', 'n'], which are not inputs of law 'chinchilla'; its inputs are ['N', "
     "'D']: --x maps law inputs to columns, e.g. --x D=D"),
])
def test_bad_input_hints_use_the_command_lines_flags(argv, frame, wanted, capsys, tmp_path):
    """Every hint of a bad input reachable from the command line is in its flags, not in
    Python (issue 14): exit 2, one line, no ``=``-keyword, ``df[``, ``pd.``, ``None`` or
    ``jaxfit.fix`` left. In-process; no fit runs (each is refused first)."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "D": [1e10, 2e10, 4e10, 8e10],
                  "loss": [3.0, 2.8, 2.6, 2.5], "fam": ["a", "a", "b", "b"]}
                 ).iloc[:len(next(iter(frame.values()), [0] * 4))].assign(**frame
                 ).to_csv(path, index=False)
    assert main([a.format(csv=path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxfit: error: "), err
    assert wanted in err, err
    for python in ("pd.", "df[", "df.", "None", "per_task", "prob=", "jaxfit.fix", "=True"):
        assert python not in err, err


@pytest.mark.parametrize("argv, wanted", [
    # --form without --D: "fewshot_elbow() got an unexpected keyword argument 'form'"
    (("emergence", "{csv}", "--y", "loss", "--form", "power", "-q"),
     "the option(s) ['form'] belong to the emergence law"),
    # nuts with an absolute loss: a Python dict of likelihoods and sample_options={...}
    (("backtest", "{csv}", "--axis", "N", "--method", "nuts", "--loss", "absolute", "-q"),
     "and --loss absolute has none; use --method bootstrap, or --loss huber or --loss "
     "squared (likelihoods 'huber' and 'normal')."),
    # a task named as the pooled row: "summary(pooled='pooled')" beside the flag
    (("backtest", "{csv}", "--axis", "N", "--by", "fam", "--pooled", "a", "-q"),
     "give the pooled row another label (--pooled pooled), or rename that task"),
    # a by column with missing values: "Fill them, e.g. df['fam'].fillna('unknown')."
    (("fit", "{nan_by}", "--by", "fam", "-q"),
     'Fill them in the file, or drop those rows, e.g. --where "fam == fam"'),
    # emergence: "drop or label those rows, e.g. df.dropna(subset=['fam'])"
    (("emergence", "{nan_by}", "--y", "D", "--by", "fam", "-q"),
     'drop or label those rows, e.g. --where "fam == fam" (keeps the rows where it is not '
     'missing).'),
    # a non-finite cut: "cuts=[np.float64(inf)] ... or None"
    (("backtest", "{csv}", "--axis", "N", "--cuts", "inf", "1e9", "-q"),
     "backtest: --cuts inf 1e+09 must be finite axis values (a row is held out when its axis "
     "value is above the cut); give e.g. --cuts 4e8 2e8, an int (that many of the largest "
     "values) or no --cuts"),
    # predict with a --law other than the file's: "pass the law it was saved from."
    (("predict", "{fit}", "--at", "N=1e9", "D=1e10", "--law", "power_law", "-q"),
     "drop --law (the file rebuilds its own law), or give the law it was saved from."),
    # a --by typo in a recipe: no did-you-mean before
    (("emergence", "{csv}", "--y", "loss", "--by", "famm", "-q"),
     "(the data's column 'fam' is close to 'famm'). Name them with --y, --loss, --D, --by, "
     "--fewshot."),
    (("hitchhiker", "{csv}", "-q"),
     "(the layout: jaxfit datasets show hitchhiker). Rename the file's columns."),
    # a --grid value that is not a number: "could not convert string to float: 'x'"
    (("suggest", "{fit}", "--grid", "N=1e9,x", "D=1e10", "--target", "N=7e10", "D=1.4e12",
      "-q"),
     "jaxfit: error: --grid N=1e9,x: 'x' is not a positive number; give N's values as "
     "comma-separated positive numbers, e.g. --grid N=4e8,1e9 D=1e10,4e10"),
    (("suggest", "{fit}", "--grid", "N=1e9", "D=-1e10", "--target", "N=7e10", "D=1.4e12",
      "-q"),
     "--grid D=-1e10: '-1e10' is not a positive number"),
    # --cost with --grid: before, "give the candidates a 'gpu_h' column" (no file to give)
    (("suggest", "{fit}", "--grid", "N=1e9", "D=1e10", "--target", "N=7e10", "D=1.4e12",
      "--cost", "gpu_h", "-q"),
     "suggest: --cost gpu_h names a column of --candidates, and --grid has only its inputs "
     "(the cost of a grid run is 6 N D); drop --cost, or write the runs and their costs to a "
     "file for --candidates"),
])
def test_more_bad_input_hints_use_the_command_lines_flags(argv, wanted, capsys, tmp_path):
    """As above, for paths through the recipes and backtest options (no fit runs)."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    runs = pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "D": [1e10, 2e10, 4e10, 8e10],
                         "loss": [3.0, 2.8, 2.6, 2.5], "fam": ["a", "a", "b", "b"]})
    runs.to_csv(path, index=False)
    runs.assign(fam=["a", None, "b", "b"]).to_csv(tmp_path / "nan_by.csv", index=False)
    law = jf.models.chinchilla()
    fit = jf.FitResult(law=law, tasks=pd.Index([0]), objective=np.array([1e-3]),
                       values=np.array([[CHINCHILLA[n] for n in law.param_names]]),
                       status=np.zeros(1, int), steps=np.array([10]),
                       grad_norm=np.array([1e-12]), at_bound=np.zeros((1, 5), bool),
                       identified=np.array([True]), options=dict(y="loss", by=None, x={}))
    names = dict(csv=path, nan_by=tmp_path / "nan_by.csv", fit=jf.save(fit, tmp_path / "f.json"))
    assert main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxfit: error: "), err
    assert wanted in err, err
    for python in ("pd.", "df[", "df.", "None", "sample_options", "summary(", "jaxfit.datasets",
                   "got an unexpected keyword"):
        assert python not in err, err


def test_saved_source_options_default_to_none_and_their_defaults_are_filled_for_data():
    """`jaxfit optimal/suggest` with a saved SOURCE refuse an option of the fit of DATA
    given at all: they were refused only away from the parser's default, so `optimal
    fit.json --y loss` (or `--init random`, `--seed 0`) passed unnoticed (session 21).
    Now every DATA-only option is None unless given, its default (`_DATA_DEFAULTS`, one
    copy, shown by --help) is filled in when SOURCE is data, and suggest's --seed (of its
    own draws too) keeps its default with a saved SOURCE."""
    from jaxfit import cli
    from jaxfit.cli import decide

    parser = cli._parser()
    for command, extra in (("optimal", ["--budgets", "1e21"]), ("suggest", ["--target", "N=1"])):
        sub = parser.commands.choices[command]
        args = parser.parse_args([command, "fit.json", *extra])
        assert set(args.data_defaults) == set(decide._DATA_ONLY_OF[command])
        assert {d: getattr(args, d) for d in args.data_defaults} == dict.fromkeys(
            args.data_defaults)
        decide._saved_flags(args, "fit")                   # nothing given: accepted
        help_text = " ".join(sub.format_help().split())
        for shown in ("(default: loss)", "(default: random)", "(default: 1000;",
                      "(default: 0)"):
            assert shown in help_text, (command, shown)
        data = parser.parse_args([command, "chinchilla", *extra])
        cli._fill_defaults(data, data.data_defaults)
        assert (data.y, data.init, data.n_boot, data.seed, data.x, data.by) == (
            "loss", "random", 1000, 0, None, None)
    suggest = parser.parse_args(["suggest", "fit.json", "--target", "N=1", "--seed", "3"])
    decide._saved_flags(suggest, "fit")                    # suggest's own draws: accepted
    assert (suggest.seed, parser.parse_args(["suggest", "f.json", "--target", "N=1"]).seed) \
        == (3, 0)
    with pytest.raises(cli.InputError, match=r"^--init random applies only when SOURCE is "
                       r"data to fit; fit\.json is a saved fit, used as it is; drop it, or "
                       r"give the DATA to fit$"):
        decide._saved_flags(parser.parse_args(["optimal", "fit.json", "--budgets", "1e21",
                                               "--init", "random"]), "fit")


def test_suggest_of_a_saved_point_fit_says_what_to_give_in_flags(capsys, tmp_path):
    """`jaxfit suggest fit.json`: before, "give a jaxfit.Posterior (jf.sample or
    jf.bootstrap), got FitResult"; now the .nc posterior or --n-boot. A hand-made fit."""
    from jaxfit.cli import main

    fit_json = _saved_chinchilla_fit(tmp_path)
    assert main(["suggest", str(fit_json), "--grid", "N=4e8,1e9", "D=1e10,4e10", "--target",
                 "N=7e10", "D=1.4e12", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "give a posterior (a .nc file from jaxfit sample --save), or DATA with --n-boot > 0" \
        in err, err
    assert "jaxfit.Posterior" not in err and "FitResult" not in err


def test_optimal_of_a_single_input_law_names_the_law_flag_not_python(capsys, tmp_path):
    """`jaxfit optimal pl.json` of a saved `power_law` fit (one input): before, the fix read
    "(e.g. jf.models.chinchilla(), L = E + A/N^alpha + B/D^beta)", a Python call on the
    command line; now ``--law chinchilla``. A hand-made fit, no fitting."""
    from jaxfit.cli import _cli_words, main

    law = jf.models.power_law()
    fit = jf.FitResult(law=law, tasks=pd.Index([0]), values=np.array([[1600.0, 0.16, 1.8]]),
                       objective=np.array([1e-3]), status=np.zeros(1, int),
                       steps=np.array([10]), grad_norm=np.array([1e-12]),
                       at_bound=np.zeros((1, 3), bool), identified=np.array([True]),
                       options=dict(y="loss", by=None, x={}))
    path = jf.save(fit, tmp_path / "pl.json", law_spec="power_law")
    for argv in (["optimal", str(path), "--budgets", "1e20"],
                 ["suggest", str(path), "--grid", "N=4e8,1e9", "D=1e10,4e10", "--target",
                  "N=7e10", "-q"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("jaxfit: error: "), err
        if argv[0] == "optimal":
            assert "(e.g. --law chinchilla, L = E + A/N^alpha + B/D^beta)" in err, err
        assert "jf." not in err, err
    # `jaxfit.decide.optimal._check_law`: a law with a third input (a law module's own)
    text = _cli_words("optimal: law 'x' has inputs ['N', 'D', 'T']; inputs=('N', 'D') must "
                      "name exactly its model-size and token inputs: pass inputs=(model "
                      "size, tokens) from them; a law with further inputs needs a wrapper "
                      "law that sets them (jf.Law with fn calling the law).")
    assert text.endswith("needs a wrapper law that sets them (a function in a law module "
                         "given as --law module:function, calling the law)."), text
    assert "jf." not in text


@pytest.mark.parametrize("library, cli", [
    # `jaxfit.backtest._warn_unconverged` (a warning, reached after the refits)
    ("they are in the table with converged=False. Fix: raise max_steps or restarts "
     "(fit_options=), or give min_points= so small cuts are skipped.",
     "they are in the table with converged=False. Fix: raise --restarts (or try --init grid), "
     "or give --cuts that leave out the small cuts."),
    ("--inputs: law 'x' has inputs ['a', 'b']; inputs=('c', 'd') must name",
     "--inputs: law 'x' has inputs ['a', 'b']; --inputs c d must name"),
    ("e.g. budgets=[1e21, 5.76e23].", "e.g. --budgets 1e21 5.76e23."),
    ("init='grid': law 'x' has no grid; use init='random' or", "--init grid: law 'x' has no "
     "grid; use --init random or"),
    # a law module's own Param(init=(a, b)) and other names stay as written
    ("e.g. jaxfit.Param(constraints.positive, init=(0.1, 10.0))",
     "e.g. jaxfit.Param(constraints.positive, init=(0.1, 10.0))"),
    ("my_prob=3, x.n=2, df['n']", "my_prob=3, x.n=2, df['n']"),
    # `jaxfit.data.numeric_dtype`: a True/False column
    ("column 'out' (target y) has dtype bool, not numbers; convert it with "
     "df['out'].astype(float) (True -> 1.0, False -> 0.0) or map another column.",
     "column 'out' (target y) has dtype bool, not numbers; write 1 and 0 in the file's 'out' "
     "column, not True and False, or name another column."),
    ("with per_task=False and cuts=None", "with no --per-task and no --cuts"),
    ("unknown law 'x'; known laws: ['a'] (or module:function, or register one with "
     "jaxfit.io.register_law).", "unknown law 'x'; known laws: ['a'] (or --law "
     "module:function, a function in a Python file of the current directory)."),
    # `jaxfit.recipes.emergence`: missing values in two columns
    ("drop them first, e.g. df.dropna(subset=['loss', 'my acc']).",
     'drop them from the file, or select the other rows with --where (missing values: e.g. '
     '"loss == loss and `my acc` == `my acc`").'),
    # `jaxfit.data.check_task_label` (reached after a fit: optimal --by C)
    ("Fix: rename the by column (e.g. df.rename(columns={'C': 'task'})) and fit again.",
     "Fix: rename the by column in the file (e.g. 'C' to 'task') and fit again."),
])
def test_cli_words_of_library_keyword_hints(library, cli):
    """`jaxfit.cli._cli_words`: a library keyword argument the command line sets with a
    flag reads as that flag (no fit)."""
    from jaxfit.cli import _cli_words

    assert _cli_words(library) == cli


@pytest.mark.parametrize("argv, flag", [
    (("backtest", "{csv}", "--axis", "N", "--cuts", "2e8", "--out", "{csv}"), "--out"),
    (("backtest", "{csv}", "--axis", "N", "--plot", "{alias}"), "--plot"),
    (("fit", "{csv}", "--save", "{csv}"), "--save"),
    (("sample", "{csv}", "--method", "laplace", "--plot", "{csv}"), "--plot"),
    (("predict", "{fit}", "{csv}", "--law", "chinchilla"), None),     # reads both: fine
    (("optimal", "{fit}", "--budgets", "1e21", "--plot", "{fit}"), "--plot"),
    (("suggest", "{fit}", "--candidates", "{csv}", "--target", "N=7e10", "D=1.4e12",
      "--plot", "{csv}"), "--plot"),
])
def test_an_output_path_that_is_an_input_file_is_refused_before_anything_runs(
        argv, flag, capsys, tmp_path):
    """`jaxfit backtest runs.csv ... --out runs.csv` wrote the backtest's table over the
    user's data (measured: runs.csv held the 20 backtest columns afterwards, exit 0), and
    `fit --save runs.csv`, `--plot runs.csv`, `optimal fit.json --plot fit.json` replaced
    their input too. Now each is refused before any fit (exit 2, one line naming the flag,
    the path and another path), and the file is unchanged (also through another spelling
    of the same path)."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    runs = pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "D": [1e10, 2e10, 4e10, 8e10],
                         "loss": [3.0, 2.8, 2.6, 2.5]})
    runs.to_csv(path, index=False)
    fit = _saved_chinchilla_fit(tmp_path)
    before = {p: p.read_bytes() for p in (path, fit)}
    names = {"csv": path, "fit": fit, "alias": tmp_path / "." / "runs.csv"}
    if flag is None:
        assert main([a.format(**names) for a in argv] + ["--json"]) == 0
        capsys.readouterr()
    else:
        assert main([a.format(**names) for a in argv] + ["-q"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"jaxfit: error: {flag} "), err
        assert "is the input file" in err and "replace your data" in err, err
        assert f"give another path, e.g. {flag} " in err, err
    assert {p: p.read_bytes() for p in (path, fit)} == before


@pytest.mark.parametrize("flag, name, what", [
    ("--plot", "fit.pgn", "format 'pgn'"),
    ("--residuals", "res", "no format (no file extension)"),
])
def test_a_figure_path_without_a_format_is_refused_before_the_fit(flag, name, what, capsys,
                                                                    tmp_path):
    """`fit --save fit.json --plot fit.pgn` fitted, wrote fit.json, then failed (exit 2,
    "cannot write plot"); `--residuals res` wrote res.png while saying "wrote res". Now
    both are refused before the fit, naming the formats, and nothing is written."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"C": [1e18, 1e19, 1e20, 1e21], "loss": [3.0, 2.8, 2.6, 2.5]}).to_csv(
        path, index=False)
    saved = tmp_path / "fit.json"
    assert main(["fit", str(path), "--law", "power_law(input=C)", "--save", str(saved),
                 flag, str(tmp_path / name), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"jaxfit: error: {flag} '{tmp_path / name}' names {what}; give one of "), err
    assert " png, " in err and err.rstrip().endswith(f"e.g. {flag} {tmp_path / 'fit.png'}"
                                                     if name == "fit.pgn"
                                                     else f"e.g. {flag} {tmp_path / 'res.png'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


@pytest.mark.parametrize("argv, wanted", [
    (["fit", "--plot", "{d}/a.png", "--residuals", "{d}/a.png"],
     "--residuals '{d}/a.png' is the file --plot '{d}/a.png' writes: the one would replace "
     "the other; give each its own path, e.g. --residuals {d}/a_residuals.png"),
    (["fit", "--save", "{d}/fit.png", "--plot", "{d}/./fit.png"],
     "--plot '{d}/./fit.png' is the file --save '{d}/fit.png' writes"),
    (["sample", "--method", "laplace", "--plot", "{d}/p.png", "--pairs", "{d}/p.png"],
     "--pairs '{d}/p.png' is the file --plot '{d}/p.png' writes"),
])
def test_two_outputs_of_one_command_naming_one_file_are_refused_before_the_fit(
        argv, wanted, capsys, tmp_path):
    """`fit --plot a.png --residuals a.png` (or `--save fit.png --plot fit.png`, `sample
    --plot p.png --pairs p.png`) said "wrote a.png" twice, exit 0, and kept only the last
    output. Now refused before the fit, naming both flags and another path."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"C": [1e18, 1e19, 1e20, 1e21], "loss": [3.0, 2.8, 2.6, 2.5]}).to_csv(
        path, index=False)
    argv = [argv[0], str(path), "--law", "power_law(input=C)", "-q",
            *(a.format(d=tmp_path) for a in argv[1:])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxfit: error: " + wanted.format(
        d=tmp_path)), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


def test_an_output_path_under_a_file_or_ending_in_a_slash_is_named_as_such(capsys, tmp_path):
    """`--save runs.csv/fit.json` said "directory 'runs.csv' does not exist; create it
    first" of an existing file; `--save results/` wrote a file named 'results'; `datasets
    export -o no/such/c.csv` named neither the flag nor the fix. Each is refused before any
    work, naming the flag, the path and what is wrong; nothing is written."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    pd.DataFrame({"C": [1e18, 1e19, 1e20, 1e21], "loss": [3.0, 2.8, 2.6, 2.5]}).to_csv(
        path, index=False)
    fit = ["fit", str(path), "--law", "power_law(input=C)", "-q"]
    cases = [
        (fit + ["--save", f"{path}/fit.json"],
         f"--save '{path}/fit.json': '{path}' is a file, not a directory; give a path in a "
         "directory"),
        (["backtest", *fit[1:], "--axis", "C", "--out", f"{path}/sub/bt.csv"],
         f"--out '{path}/sub/bt.csv': '{path}' is a file, not a directory"),
        (fit + ["--save", f"{tmp_path}/results/"],
         f"--save '{tmp_path}/results/' ends in '/', so it names a directory; give a file "
         "path"),
        (["datasets", "export", "chinchilla", "-o", f"{tmp_path}/no/such/c.csv"],
         f"-o '{tmp_path}/no/such/c.csv': directory '{tmp_path}/no/such' does not exist; "
         "create it first"),
    ]
    for argv, wanted in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"jaxfit: error: {wanted}"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


#: A command line per subcommand giving every option and argument that names a file or
#: directory ("~/..."), and the options' dests (`_path_dests`).
_PATH_ARGVS = (
    ["fit", "~/d.csv", "--save=~/f.json", "--plot=~/p.png", "--residuals=~/r.png"],
    ["sample", "~/d.csv", "--save=~/p.nc", "--plot=~/p.png", "--pairs=~/q.png"],
    ["predict", "~/f.json", "~/d.csv"],
    ["datasets", "export", "chinchilla", "--output=~/c.csv"],
    ["optimal", "~/f.json", "--budgets", "1e21", "--plot=~/a.png"],
    ["suggest", "~/f.json", "--target", "N=1", "--candidates=~/c.csv", "--plot=~/s.png"],
    ["backtest", "~/d.csv", "--axis", "N", "--out=~/b.csv", "--plot=~/b.png"],
    *([name, "~/d.csv", "--out=~/tables", "--plot=~/r.png"]
      for name in ("ladder", "flp", "flp-m", "hitchhiker", "emergence")))
_PATH_DESTS = {"data", "model", "source", "candidates", "output", "out", "save", "plot",
               "residuals", "pairs"}


def test_every_path_option_expands_the_home_directory(monkeypatch):
    """A shell expands ``~`` only at the start of a word: ``--save=~/fit.json`` reached the
    command as typed, and it refused it ("directory '~' does not exist") or, for a recipe's
    ``--out=~/tables``, made a directory named ``~`` in the working directory. Every option
    and argument naming a file or directory now expands it (`jaxfit.cli._path`); an embedded
    dataset's name is kept."""
    from jaxfit.cli import _parser

    monkeypatch.setenv("HOME", "/home/someone")
    parser = _parser()
    seen = set()
    for argv in _PATH_ARGVS:
        args = vars(parser.parse_args(argv))
        for dest, value in args.items():
            if isinstance(value, str) and dest in _PATH_DESTS:
                seen.add((argv[0], dest))
                if value != "chinchilla":                  # a dataset's name is kept
                    assert value.startswith("/home/someone/"), (argv, dest, value)
                    assert repr(value).startswith("'~/"), (argv, dest)   # messages: as given
    assert parser.parse_args(["fit", "chinchilla"]).data == "chinchilla"
    # every path option of every subcommand was given above
    subs = next(a for a in parser._actions if a.choices and "fit" in a.choices).choices
    paths = {(name, a.dest) for name, sub in subs.items() if "_" not in name
             for a in sub._actions if a.dest in _PATH_DESTS}
    assert paths == seen, paths ^ seen


def test_a_home_path_is_written_there_and_named_as_given(tmp_path, monkeypatch, capsys):
    """`jaxfit fit ~/runs.csv --save=~/fit.json` and a recipe's `--out=~/tables` read and
    write in the home directory, nothing in the working directory; a bad home path is
    named in the error as the user gave it, with the directory it means."""
    from jaxfit import cli

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    pd.DataFrame({"N": [1e8, 2e8], "D": [1e10, 2e10], "loss": [3.0, 2.8]}).to_csv(
        home / "runs.csv", index=False)
    res = load(_saved_chinchilla_fit(tmp_path))       # no fitting: the command's files only
    monkeypatch.setattr(jf, "fit", lambda *a, **k: res)
    assert cli.main(["fit", "~/runs.csv", "--save=~/fit.json", "-q"]) == 0
    np.testing.assert_array_equal(load(home / "fit.json").values, res.values)

    class Result:
        def frames(self):
            return {"table": pd.DataFrame({"x": [1.0]})}

        def summary(self):
            return pd.DataFrame({"x": [1.0]})

        def unconverged(self):
            return []

    monkeypatch.setattr(cli, "_import", lambda spec: lambda df, **kw: Result())
    assert cli.main(["hitchhiker", "~/runs.csv", "--out=~/tables"]) == 0
    assert pd.read_csv(home / "tables" / "table.csv")["x"].tolist() == [1.0]
    assert list(work.iterdir()) == []                    # no directory named '~'
    capsys.readouterr()
    assert cli.main(["fit", "~/runs.csv", "--save=~/nodir/fit.json", "-q"]) == 2
    assert capsys.readouterr().err == (
        f"jaxfit: error: --save '~/nodir/fit.json': directory {str(home / 'nodir')!r} does "
        "not exist; create it first\n")


def _diagnostic_warning(post):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert post.warn() is False
    (w,) = caught
    return w


def test_posterior_warnings_advise_fixes_that_exist_and_fit_the_failure(capsys):
    """A bootstrap failing only for too few points advised "raise max_steps, or use
    starts='restarts'" (no refit had failed: more steps change nothing), and `jaxfit
    sample` printed the advice in Python words naming options it does not have
    (max_steps, starts=, priors=, "use chains >= 2", "raise warmup/samples",
    "See Posterior.diagnostics"). Now the advice follows the failing check, and on the
    command line every --flag it names is an option of `jaxfit sample`."""
    from jaxfit.cli import _SAMPLE_WORDS, _parser, _warnings
    from jaxfit.inference.bayes import Likelihood

    law = jf.models.power_law("C")                   # 3 parameters
    rng = np.random.default_rng(0)
    T, S = 1, 200

    def post(method, chains, **stats):
        draws = {"A": rng.lognormal(np.log(30.0), 0.05, (T, chains, S)),
                 "alpha": rng.normal(0.08, 0.002, (T, chains, S)),
                 "E": rng.normal(1.7, 0.01, (T, chains, S)),
                 "sigma": np.full((T, chains, S), 0.01)}
        w = np.r_[np.ones(6), np.zeros(2)][None]                  # 6 < 3 x 3 points
        data = {"x": {"C": np.geomspace(1e18, 1e21, 8)[None]}, "y": np.full((1, 8), 2.0),
                "w": w}
        return jf.Posterior(law=law, tasks=pd.Index([0]), draws=draws, method=method,
                            likelihood=Likelihood("normal", "log"), data=data,
                            stats={k: np.asarray(v) for k, v in stats.items()})

    ok_refits = {"status": np.zeros((T, 1, S), np.int32), "rms": np.full((T, 1, S), 0.01),
                 "distinct_points": np.full((T, 1, S), 5)}
    few = _diagnostic_warning(post("bootstrap", 1, **ok_refits))
    assert "fewer than 3 points per parameter" in str(few.message)
    assert "Fix: add data or fit a law with fewer parameters. " in str(few.message)
    assert "max_steps" not in str(few.message) and "starts=" not in str(few.message)
    failed = _diagnostic_warning(post("bootstrap", 1, **{**ok_refits, "status": np.r_[
        np.zeros(150), np.ones(50)].reshape(T, 1, S).astype(np.int32)}))
    assert "did not converge" in str(failed.message)
    assert "raise max_steps, or use starts='restarts'" in str(failed.message)
    one_chain = _diagnostic_warning(post("nuts", 1, diverging=np.zeros((T, 1, S), bool)))
    laplace = _diagnostic_warning(post("laplace", 2, curvature_ratio=np.array([1e-20]),
                                       map_status=np.zeros(T, np.int32)))

    sample = _parser().commands.choices["sample"]
    flags = {s for a in sample._actions for s in a.option_strings}
    _warnings([few, failed, one_chain, laplace], _SAMPLE_WORDS)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4
    for line in lines:
        for python in ("max_steps, or", "priors=)", "chains >=", "warmup/samples",
                       "Posterior.diagnostics", "method='nuts'"):
            assert python not in line, line
        named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
        assert named <= flags, (named - flags, line)
    assert "use --chains 2 or more" in lines[2] and "raise --warmup/--samples" in lines[2]
    assert "jaxfit.bootstrap in Python (the command line has no flags for them)" in lines[1]
    assert "use --method nuts" in lines[3]


def test_posterior_of_two_by_columns_prints_no_pandas_performance_warning():
    """`jaxfit sample DATA --by family size` printed pandas' two-line "PerformanceWarning:
    indexing past lexsort depth" (with jaxfit's source path) on stderr, and
    `Posterior.report()` warned the same: each task's rows were read with ``summ.loc[task]``
    from a summary listing every task per parameter. They are read with ``xs`` now, and
    hold that task's numbers."""
    from jaxfit.cli import _posterior_doc
    from jaxfit.inference.bayes import Likelihood

    tasks = pd.MultiIndex.from_tuples([("b", 1), ("a", 1)], names=["family", "size"])
    rng = np.random.default_rng(0)
    draws = {"A": rng.lognormal(np.log([[30.0], [60.0]])[..., None], 0.05, (2, 2, 50)),
             "alpha": rng.normal(0.08, 0.002, (2, 2, 50)), "E": rng.normal(1.7, 0.01, (2, 2, 50)),
             "sigma": rng.lognormal(np.log(0.01), 0.1, (2, 2, 50))}
    post = jf.Posterior(law=jf.models.power_law("C"), tasks=tasks, draws=draws,
                        method="laplace", likelihood=Likelihood("normal", "log"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = _posterior_doc(post, "power_law", 0.9)
        text = post.report()
    assert [t["task"] for t in doc["tasks"]] == [["b", 1], ["a", 1]]
    for t, i in zip(doc["tasks"], (0, 1)):
        assert list(t["params"]) == ["A", "alpha", "E", "sigma"]
        assert t["params"]["A"]["mean"] == pytest.approx(draws["A"][i].mean(), rel=1e-12)
    validate(doc, schema("posterior"))
    block = text.split("[[Task ('a', 1)]]")[1]
    assert f"{draws['A'][1].mean():.6g}" in block.splitlines()[3]     # A's row, this task's


def test_predict_every_task_of_two_by_columns_keeps_their_names():
    """`jaxfit predict fit.json --at flops=1e23` of a fit by family and task printed the
    columns ``family task_ row``: the task tuple's own column, named "task" and then
    dropped, still held the name. Now ``family task row``; an input column ``row`` still
    gets ``row_``."""
    from jaxfit.cli import _heavy, _long

    _heavy()

    rows = pd.DataFrame({"flops": [1e23], "row": [7]})
    tasks = [("a", "x"), ("b", "x")]
    index = pd.MultiIndex.from_arrays([pd.Index(tasks, tupleize_cols=False), [0, 0]],
                                      names=["task", "row"])
    pred = pd.DataFrame({"flops": [1e23] * 2, "row": [7] * 2, "prediction": [1.5, 1.6]},
                        index=index)
    out = _long(rows, pred, "loss", ["family", "task"])
    assert list(out.columns) == ["family", "task", "row_", "flops", "row", "loss_pred"]
    assert out[["family", "task"]].values.tolist() == [list(t) for t in tasks]


@pytest.mark.parametrize("argv, wanted", [
    # measured before: a bootstrap of the default 1,000 resamples, exit 0
    (("sample", "{csv}", "--method", "bootstrap", "--samples", "500"),
     ("--samples 500 does not apply to --method bootstrap (a bootstrap refits the point fit's "
      "loss); the bootstrap's resamples are --n (e.g. --n 500)")),
    (("sample", "{csv}", "--method", "bootstrap", "--likelihood", "normal"),
     "--likelihood normal does not apply to --method bootstrap"),
    (("sample", "{csv}", "--method", "bootstrap", "--temper", "0.5"),
     "--temper 0.5 does not apply to --method bootstrap"),
    (("sample", "{csv}", "--method", "laplace", "--n", "4000"),
     ("--n 4000 is the bootstrap's resamples and does not apply to --method laplace; use "
      "--method bootstrap --n 4000, or set the draws with --chains and --samples")),
    (("sample", "{csv}", "--n", "4000"), "does not apply to --method nuts"),
    # measured before: each passed unnoticed at its default value (1,000 Laplace draws, the
    # bootstrap's 1,000 resamples, the resample count unused), exit 0
    (("sample", "{csv}", "--method", "laplace", "--n", "1000"),
     "--n 1000 is the bootstrap's resamples and does not apply to --method laplace"),
    (("sample", "{csv}", "--method", "bootstrap", "--samples", "1000"),
     "--samples 1000 does not apply to --method bootstrap"),
    (("sample", "{csv}", "--method", "svi", "--target-accept", "0.8"),
     "--target-accept 0.8 does not apply to --method svi"),
    # ... the same, left open by the rule "refuse away from the default" elsewhere (the
    # likelihood and temper unused by the bootstrap, the calibration without intervals,
    # the fit of DATA not done for a saved SOURCE)
    (("sample", "{csv}", "--method", "bootstrap", "--likelihood", "huber"),
     "--likelihood huber does not apply to --method bootstrap (a bootstrap refits the point "
     "fit's loss); drop it, or use --method nuts, svi or laplace"),
    (("sample", "{csv}", "--method", "bootstrap", "--temper", "sandwich"),
     "--temper sandwich does not apply to --method bootstrap"),
    (("ladder", "--calibrate", "ratio"),
     "--calibrate ratio applies only with --intervals (without it nothing uses it); add "
     "--intervals, or drop --calibrate"),
    (("optimal", "{fit}", "--budgets", "5.76e23", "--y", "loss"),
     "--y loss applies only when SOURCE is data to fit; {fit} is a saved fit, used as it "
     "is; drop it, or give the DATA to fit"),
    (("optimal", "{fit}", "--budgets", "5.76e23", "--init", "random"),
     "--init random applies only when SOURCE is data to fit"),
    (("optimal", "{fit}", "--budgets", "5.76e23", "--seed", "0"),
     "--seed 0 applies only when SOURCE is data to fit"),
    (("suggest", "{fit}", "--grid", "N=4e8,1e9", "D=1e10,4e10", "--target", "N=7e10",
      "D=1.4e12", "--y", "loss"), "--y loss applies only when SOURCE is data to fit"),
    # measured before: Laplace draws, the warm-up unused, exit 0
    (("sample", "{csv}", "--method", "laplace", "--warmup", "5000"),
     ("--warmup 5000 does not apply to --method laplace (NUTS's warm-up: laplace draws "
      "--chains x --samples independent draws); drop it, or use --method nuts")),
    (("sample", "{csv}", "--method", "svi", "--target-accept", "0.99"),
     "--target-accept 0.99 does not apply to --method svi (NUTS's target acceptance rate"),
    # measured before: uncalibrated point predictions, exit 0
    (("ladder", "--calibrate", "width"),
     "--calibrate width applies only with --intervals (without it nothing uses it); add "
     "--intervals, or drop --calibrate"),
    # measured before: DATA's rows predicted, the --at point dropped without a word, exit 0
    (("predict", "{fit}", "{csv}", "--at", "N=7e10", "D=1.4e12"),
     "predict: give new inputs either as DATA ('{csv}') or as --at, not both"),
    # measured before: the point fit's prediction, no interval, exit 0 (session 23)
    (("predict", "{fit}", "--at", "N=7e10", "D=1.4e12", "--prob", "0.9"),
     "predict: --prob 0.9 applies to a posterior (.nc), and '{fit}' is a point fit, whose "
     "predictions have no interval; drop it, or predict from a posterior saved by jaxfit "
     "sample --save post.nc"),
    (("predict", "{fit}", "--at", "N=7e10", "D=1.4e12", "--seed", "3"),
     "predict: --seed 3 applies to a posterior (.nc)"),
    # before: "--prob 1.5 is out of range", and then, at --prob 0.9, the line above
    (("predict", "{fit}", "--at", "N=7e10", "D=1.4e12", "--prob", "1.5"),
     "predict: --prob 1.5 applies to a posterior (.nc), and '{fit}' is a point fit"),
    # measured before: the saved point fit's table, no interval and no word, exit 0
    (("optimal", "{fit}", "--budgets", "5.76e23", "--n-boot", "1000"),
     "--n-boot 1000 applies only when SOURCE is data to fit; {fit} is a saved fit, used as "
     "it is; for intervals give a posterior (.nc from jaxfit sample --save) or the DATA with "
     "--n-boot"),
    (("optimal", "{fit}", "--budgets", "5.76e23", "--where", "N > 1e9"),
     "--where N > 1e9 applies only when SOURCE is data to fit; {fit} is a saved fit"),
    (("optimal", "{fit}", "--budgets", "5.76e23", "--by", "family"),
     "--by family applies only when SOURCE is data to fit"),
    (("optimal", "{fit}", "--budgets", "5.76e23", "--seed", "3"),
     "--seed 3 applies only when SOURCE is data to fit"),
    (("suggest", "{fit}", "--grid", "N=4e8,1e9", "D=1e10,4e10", "--target", "N=7e10",
      "D=1.4e12", "--y", "val_loss"), "--y val_loss applies only when SOURCE is data to fit"),
    # measured before: Laplace's default draws at every cut, --n unused, exit 0; --n 200
    # (the value of --n's default then) passed the command line's own copy of the rule
    *[(("backtest", "{csv}", "--axis", "N", "--method", method, "--n", n),
       f"backtest: --n {n} is the bootstrap's resamples per task and cut and does not apply "
       f"to --method {method}; use --method bootstrap --n {n}, or drop --n (the draws of "
       f"'{method}' are set in Python only: jaxfit.backtest(..., sample_options="
       "{{'samples': 1000}})).") for method, n in (("laplace", "500"), ("laplace", "200"),
                                                  ("nuts", "200"))],
    # measured before: the squared loss's fit, --delta unused, exit 0 (session 28)
    (("fit", "{csv}", "--loss", "squared", "--delta", "0.1"),
     "--delta 0.1 is the Huber threshold and does not apply to --loss squared, which is not "
     "Huber; drop it, or use --loss huber"),
    (("fit", "{csv}", "--loss", "absolute", "--delta", "0.001"),
     "--delta 0.001 is the Huber threshold and does not apply to --loss absolute"),
    (("sample", "{csv}", "--method", "bootstrap", "--loss", "squared", "--delta", "0.01"),
     "--delta 0.01 is the Huber threshold and does not apply to --loss squared, which"),
    (("sample", "{csv}", "--method", "laplace", "--loss", "squared", "--likelihood", "normal",
      "--delta", "0.01"),
     "--delta 0.01 is the Huber threshold and does not apply to --loss squared with "
     "--likelihood normal, which is not Huber"),
    (("backtest", "{csv}", "--axis", "N", "--loss", "squared", "--delta", "0.01"),
     "--delta 0.01 is the Huber threshold and does not apply to --loss squared"),
    # measured before: the law's grid of starts, --restarts unused, exit 0 (session 28)
    (("fit", "{csv}", "--init", "grid", "--restarts", "256"),
     "--restarts 256 sets the random or Sobol starts and does not apply to --init grid (the "
     "law's own grid of starts); drop it, or use --init random or --init sobol"),
    (("fit", "{csv}", "--init", "grid", "--restarts", "64"),
     "--restarts 64 sets the random or Sobol starts and does not apply to --init grid"),
    (("fit", "{csv}", "--init", "grid", "--seed", "0"),
     "--seed 0 seeds the random or Sobol starts and does not apply to --init grid (the law's "
     "own grid of starts, the same every run); drop it, or use --init random or --init "
     "sobol"),
    (("sample", "{csv}", "--init", "grid", "--restarts", "8"),
     "--restarts 8 sets the random or Sobol starts"),
    (("backtest", "{csv}", "--axis", "N", "--init", "grid", "--restarts", "8"),
     "--restarts 8 sets the random or Sobol starts"),
])
def test_options_a_command_would_ignore_are_refused(argv, wanted, capsys, tmp_path):
    """`jaxfit sample --method bootstrap --samples 500` drew the default 1,000 resamples
    (the bootstrap's count is --n), `--method nuts --n 4000` the default draws, a
    bootstrap ignored --likelihood/--temper, Laplace and SVI ignored NUTS's --warmup and
    --target-accept, `jaxfit ladder --calibrate width` without --intervals ran point
    predictions, and `jaxfit predict fit.json DATA --at ...` predicted DATA's rows only:
    each ran to exit 0 with the option silently unused. Now
    each is refused before any fit (exit 2, one line naming the flag, its value and the
    fix), given at their default value too (session 21: `--method laplace --n 1000`,
    `--method bootstrap --likelihood huber`, `ladder --calibrate ratio` and `optimal
    fit.json --y loss` passed as the default); each method's own options are accepted, and
    the options not given keep their defaults (below)."""
    from jaxfit.cli import (RECIPES, _fit_flags, _parser, _recipe_flags, _sample_flags,
                            decide, main)

    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 2e8], "D": [1e10, 2e10], "loss": [3.0, 2.8]}).to_csv(path,
                                                                                  index=False)
    names = {"csv": path, "fit": _saved_chinchilla_fit(tmp_path)}
    assert main([a.format(**names) for a in argv] + ["-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxfit: error: "), err
    assert wanted.format(**names) in err, err
    for ok in (["--method", "bootstrap", "--n", "500"], ["--method", "nuts", "--samples", "9"],
               ["--method", "laplace", "--chains", "4", "--samples", "1000"],
               ["--method", "svi", "--chains", "2"],
               ["--method", "bootstrap"],
               ["--method", "nuts", "--likelihood", "huber", "--temper", "sandwich"],
               ["--method", "laplace", "--likelihood", "normal", "--temper", "0.5"],
               ["--method", "nuts", "--warmup", "50", "--target-accept", "0.8"]):
        args = _parser().parse_args(["sample", "x.csv", *ok])
        _sample_flags(args)     # no error; the options not given get their defaults
        given = dict(zip(ok[::2], ok[1::2]))
        assert (args.chains, args.warmup, args.n, args.samples, args.target_accept,
                args.likelihood, args.temper) == (
            int(given.get("--chains", 4)), int(given.get("--warmup", 1000)),
            int(given.get("--n", 1000)), int(given.get("--samples", 1000)),
            float(given.get("--target-accept", 0.95)), given.get("--likelihood", "huber"),
            given.get("--temper", "sandwich"))
    for ok, calibrate in (([], None), (["--intervals"], "ratio"),
                          (["--intervals", "--calibrate", "width"], "width")):
        args = _parser().parse_args(["ladder", *ok])
        _recipe_flags(args, RECIPES["ladder"])
        # --method's two_step passed to ladder, and --calibrate's default ratio with
        # --intervals only (test_ladder_json_reports_calibrate_only_when_intervals_were_drawn)
        assert (args.calibrate, args.method, args.intervals) == (
            calibrate, "two_step", True if ok else None)
    for command, ok, huber, want in (
            ("fit", [], True, (1e-3, 64, 0)),
            ("fit", ["--delta", "0.01", "--restarts", "8", "--seed", "3"], True, (0.01, 8, 3)),
            ("fit", ["--init", "grid", "--loss", "squared"], False, (1e-3, 64, 0)),
            ("sample", ["--loss", "squared", "--delta", "0.01"], True, (0.01, 64, 0)),
            ("sample", ["--init", "grid", "--seed", "2"], True, (1e-3, 64, 2)),
            ("backtest", ["--init", "grid", "--seed", "2"], True, (1e-3, 64, 2)),
            ("backtest", ["--init", "sobol", "--restarts", "4"], True, (1e-3, 4, 0))):
        args = _parser().parse_args([command, "x.csv", *ok] + (
            ["--axis", "N"] if command == "backtest" else []))
        # no error; defaults filled (a sample's or backtest's seed draws more than starts)
        _fit_flags(args, huber, "--loss squared", seeds_starts_only=command == "fit")
        assert (args.delta, args.restarts, args.seed) == want
    for ok in (["--x", "N=n"], ["--y", "loss", "--seed", "0", "--n-boot", "0"]):
        args = _parser().parse_args(["optimal", "chinchilla", "--budgets", "1e21", *ok])
        assert decide._source(args).saved is None     # SOURCE is data: filled, not refused
        given = dict(zip(ok[::2], ok[1::2]))
        assert (args.y, args.init, args.n_boot, args.seed) == (
            "loss", "random", int(given.get("--n-boot", 1000)), 0)


def test_point_fit_advice_names_flags_of_the_command_that_has_them(capsys):
    """A point fit stopped at the step cap (or stalled) inside `jaxfit sample`, `backtest`
    or `optimal` was advised to "raise --max-steps" (a flag of `jaxfit fit` only) or to
    "try `--method lbfgs`" (there --method chooses the posterior or the optimum). Now the
    advice sends the user to `jaxfit fit`, whose flags they are; `jaxfit fit` itself keeps
    the short form."""
    from types import SimpleNamespace

    from jaxfit.cli import _parser, _warnings
    from jaxfit.inference.status import Status

    text = (f"1 of 1 task(s) did not converge [0]. max_steps: {Status.MAX_STEPS.message}; "
            f"stalled: {Status.STALLED.message}. See FitResult.status.")
    caught = [SimpleNamespace(message=jf.warnings.ConvergenceWarning(text))]
    fit_flags = {s for a in _parser().commands.choices["fit"]._actions for s in a.option_strings}
    _warnings(caught)
    line = capsys.readouterr().err.strip()
    assert "refit the same data with jaxfit fit and raise its --max-steps" in line
    assert "jaxfit fit --method lbfgs or another --loss" in line
    assert "raise --max-steps" not in line and "`--method" not in line
    assert set(re.findall(r"--[a-z][a-z-]*", line)) <= fit_flags
    _warnings(caught, fit=True)
    line = capsys.readouterr().err.strip()
    assert "raise --max-steps or give better starts (--init, more --restarts)" in line


def _run_with_cache(code: str, cache_dir) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter with ``JAXFIT_CACHE_DIR=cache_dir``; it must exit 0."""
    env = {**ENV, "JAXFIT_CACHE_DIR": str(cache_dir)}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    return p


def test_a_damaged_compilation_cache_entry_is_removed_with_one_line(tmp_path):
    """An entry of JAX's compilation cache cut short (a full disk, a killed process): JAX
    warns, compiles again, but never rewrites an existing entry, so every later command
    printed the (multi-line, outside a command's caught warnings) warning again and paid
    the compile again (measured: a cached `jaxfit fit chinchilla` 2.0-2.4 s on every run
    instead of 1.0 s). Now the command line removes the damaged entries after the command,
    says so in one line, and the next compile stores a readable entry."""
    code = (
        "import os, sys, warnings, jax, jax.numpy as jnp\n"
        "from pathlib import Path\n"
        "from jax._src import compilation_cache as cc\n"
        "from jaxfit import cli\n"
        "cli._enable_compilation_cache()\n"
        "f = lambda x: jnp.sin(x) * 3.0\n"
        "def damage():\n"
        "    (e,) = Path(os.environ['JAXFIT_CACHE_DIR']).glob('*-cache')\n"
        "    e.write_bytes(e.read_bytes()[:50])\n"
        "    jax.clear_caches()\n"
        "    return e\n"
        "jax.jit(f)(1.0)\n"
        "damage()\n"
        "with warnings.catch_warnings(record=True) as caught:   # as in a command\n"
        "    warnings.simplefilter('always')\n"
        "    jax.jit(f)(1.0)\n"
        "cli._warnings(caught)\n"
        "cli._repair_compilation_cache()\n"
        "jax.clear_caches(); jax.jit(f)(1.0)\n"
        "e = damage()\n"
        "jax.jit(f)(1.0)                                          # outside any\n"
        "cli._repair_compilation_cache()\n"
        "jax.clear_caches(); jax.jit(f)(1.0)\n"
        "cc.decompress_executable(e.read_bytes())                # stored again, readable\n"
        "print(len(list(e.parent.glob('*-cache'))))\n")
    p = _run_with_cache(code, tmp_path)
    line = (f"warning: removed 1 damaged entry of the compilation cache {str(tmp_path)!r} "
            "(the next command stores them again)\n")
    assert p.stderr == 2 * line and p.stdout == "1\n"


def test_an_unwritable_compilation_cache_is_one_line_and_not_used(tmp_path):
    """A cache directory that exists but cannot be written (a read-only mount; simulated
    here, as tests may run as root): before, the cache was turned on and each command
    printed one 'Error writing persistent compilation cache entry ... Read-only file
    system' line per program it compiled (6 for `jaxfit fit chinchilla`), on every run.
    Now one line, and the command runs without the cache. Programs that cannot be stored
    later (a disk that fills up) are reported in one line after the command."""
    code = (
        "import os, tempfile, warnings\n"
        "from jaxfit import cli\n"
        "real = tempfile.mkstemp\n"
        "def read_only(*a, **k):\n"
        "    raise OSError(30, 'Read-only file system')\n"
        "tempfile.mkstemp = read_only\n"
        "cli._enable_compilation_cache()\n"
        "from jaxfit.inference import cache\n"
        "print(cache._persistent['dir'])\n"
        "tempfile.mkstemp = real\n"
        "os.environ['JAXFIT_CACHE_DIR'] = os.path.join(os.environ['JAXFIT_CACHE_DIR'], 'w')\n"
        "cli._enable_compilation_cache()\n"
        "for i in range(3):\n"
        "    warnings.warn(f\"Error writing persistent compilation cache entry for 'jit_{i}': \"\n"
        "                  'OSError: [Errno 28] No space left on device')\n"
        "cli._repair_compilation_cache()\n"
        "cache.enable_persistent(None)\n"
        "os.environ['JAXFIT_CACHE_DIR'] = os.environ['JAXFIT_CACHE_DIR'] + '2'\n"
        "os.makedirs(os.environ['JAXFIT_CACHE_DIR'])\n"
        "open(os.path.join(os.environ['JAXFIT_CACHE_DIR'], 'programs'), 'w').close()\n"
        "cli._enable_compilation_cache()\n"
        "print(cache._persistent['dir'])\n")
    p = _run_with_cache(code, tmp_path)
    # neither the unwritable directory nor one holding a file 'programs' (before: every
    # command traced its programs again, 1.55 s instead of 0.96 s, without a word) was used
    assert p.stdout == "None\nNone\n"
    assert p.stderr == (
        f"warning: compilation cache {str(tmp_path)!r} not usable ([Errno 30] Read-only file "
        "system); running without it: set JAXFIT_CACHE_DIR to a writable directory, or "
        "JAXFIT_NO_CACHE=1\n"
        f"warning: 3 compiled program(s) could not be stored in the compilation cache "
        f"{str(tmp_path / 'w')!r} (OSError: [Errno 28] No space left on device); free space "
        "there, set JAXFIT_CACHE_DIR to another directory, or JAXFIT_NO_CACHE=1\n"
        f"warning: compilation cache {str(tmp_path / 'w2')!r} not usable ([Errno 17] File "
        f"exists: {str(tmp_path / 'w2' / 'programs')!r}); running without it: set JAXFIT_CACHE_DIR "
        "to a writable directory, or JAXFIT_NO_CACHE=1\n")


def test_recipe_out_never_replaces_the_data_file(tmp_path, monkeypatch, capsys):
    """Every recipe writes DIR/table.csv: `jaxfit ladder table.csv --out .` replaced the
    user's data with the recipe's table, without a word. Now that table is not written
    (the others are) and the command exits 2 naming the file and the fix."""
    from jaxfit import cli

    data = tmp_path / "table.csv"
    data.write_text("run,N\nr1,1\n")
    before = data.read_bytes()

    class Result:
        def frames(self):
            return {"table": pd.DataFrame({"x": [1.0]}), "step1": pd.DataFrame({"y": [2.0]})}

        def summary(self):
            return pd.DataFrame({"x": [1.0]})

    monkeypatch.setattr(cli, "_import", lambda spec: lambda df, **kw: Result())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["hitchhiker", "table.csv", "--out", "."]) == 2
    err = capsys.readouterr().err
    assert data.read_bytes() == before
    assert pd.read_csv(tmp_path / "step1.csv")["y"].tolist() == [2.0]
    assert err.splitlines()[-1] == (
        "jaxfit: error: --out '.': the table 'table' (table.csv) would replace the input file "
        "'table.csv', so it was not written (the others were); give another directory, e.g. "
        "--out tables")


def _unconverged_fit(status):
    """A `FitResult` of Chinchilla's law with the given status codes, one task each
    (built directly: nothing is fitted or compiled)."""
    law = jf.models.chinchilla()
    t, k = len(status), len(law.param_names)
    return jf.FitResult(law=law, tasks=pd.Index([f"task{i}" for i in range(t)]),
                        values=np.ones((t, k)), objective=np.zeros(t),
                        status=np.asarray(status), steps=np.full(t, 10),
                        grad_norm=np.zeros(t), at_bound=np.zeros((t, k), bool),
                        identified=np.ones(t, bool))


def test_recipes_exit_1_when_a_point_fit_behind_their_numbers_did_not_converge(
        tmp_path, monkeypatch, capsys):
    """`jaxfit ladder` (flp, flp_m, emergence, hitchhiker) exited 0 when point fits whose
    numbers it printed had stopped at the step cap or stalled: a script checking the exit
    code took those numbers. Now the recipe writes its outputs, then exits 1 with one
    line naming how many fits and the first few; every fit converged: exit 0. Hitchhiker's
    grid counts every fitted configuration that did not converge (its ARE enters
    median_are and the findings), not the ones left unfitted (too_few_points)."""
    import dataclasses

    from jaxfit import cli
    from jaxfit.backtest import BacktestResult
    from jaxfit.recipes.hitchhiker import HitchhikerResult
    from jaxfit.recipes.protocol import RecipeResult

    @dataclasses.dataclass(frozen=True, eq=False)
    class Result(RecipeResult):
        fits: dict
        calibration: object = None

        def table(self):
            return pd.DataFrame({"x": [1.0]})

        def summary(self):
            return pd.DataFrame({"x": [1.0]})

    status = {"step1": [0, 1, 3, 1, 0], "step2": [1, 0, 0, 0, 0]}
    result = Result(fits={k: _unconverged_fit(v) for k, v in status.items()})
    monkeypatch.setattr(cli, "_import", lambda spec: lambda **kw: result)
    assert cli.main(["ladder", "--out", str(tmp_path / "a"), "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (tmp_path / "a" / "table.csv").exists()          # the outputs, then the exit code
    assert err[-1] == ("ladder: 4 point fit(s) did not converge: step1 task 'task1' "
                       "(max_steps); step1 task 'task2' (stalled); step1 task 'task3' "
                       "(max_steps), and 1 more; the outputs are written, the warnings above "
                       "say more; exit status 1, as `jaxfit fit`.")
    result = Result(fits={"stage1": _unconverged_fit([0, 0])})
    assert cli.main(["flp_m", "-q"]) == 0
    # the ladder's calibration backtest: its fits at each cut set the intervals' width
    # (measured: `jaxfit ladder --intervals` on the OLMo ladder, csqa_val at one cut)
    calibration = BacktestResult(rows=pd.DataFrame(), options={}, fits={
        3.713e8: [_unconverged_fit([0]), _unconverged_fit([0, 1])]})
    result = Result(fits={"step1": _unconverged_fit([0])}, calibration=calibration)
    assert cli.main(["ladder", "-q"]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "ladder: 1 point fit(s) did not converge: calibration at cut 3.713e+08 fit 2 task "
        "'task1' (max_steps); the outputs")

    are = pd.DataFrame({"family": ["gpt3", "gpt3", "t5"], "n_models": [2, 3, 4],
                        "fraction": [1.0, 0.5, 1.0], "cut": [0.0, 1e10, 0.0],
                        "checkpoints": ["all", "final", "all"], "are": [0.1, np.nan, 0.2],
                        "status": ["stalled", "too_few_points", "converged"]})
    result = HitchhikerResult(are=are, train=None, targets=pd.DataFrame(),
                              filters=pd.DataFrame(), fits=[], options={"default_cut": 0.0})
    assert cli.main(["hitchhiker", "-q"]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "hitchhiker: 1 point fit(s) did not converge: gpt3 k=2 fraction=1 cut=0 all "
        "(stalled); the outputs")
    result = HitchhikerResult(are=are.assign(status=["converged", "too_few_points",
                                                     "converged"]),
                              train=None, targets=pd.DataFrame(), filters=pd.DataFrame(),
                              fits=[], options={"default_cut": 0.0})
    assert cli.main(["hitchhiker", "-q"]) == 0


def _built_flp(sampling_runs, targets):
    """`built_results.built_flp` with stage 1 unconverged in task 0."""
    from built_results import built_flp

    return built_flp({"stage1": _unconverged_fit([0])}, sampling_runs, targets)


def test_flp_counts_its_ladder_comparisons_unconverged_fits(monkeypatch, capsys):
    """`jaxfit flp` runs the two-step ladder next to FLP (`flp_vs_ladder`) but kept only
    its comparison table: a ladder fit that stopped at the step cap entered the printed
    ladder_mean_abs_error and exited 0 (`jaxfit ladder` on the same fits exits 1). Now
    the ladder's result is kept as ``FLPResult.ladder`` and its fits are named by
    `unconverged`, the command's last line and exit code. Nothing is fitted: `flp` and
    `ladder` return built results."""
    import importlib

    from jaxfit import cli
    from jaxfit.recipes.flp import flp_vs_ladder
    from jaxfit.recipes.ladder import LadderResult

    flp_module = importlib.import_module("jaxfit.recipes.flp")
    ladder_module = importlib.import_module("jaxfit.recipes.ladder")
    pred, empty, flp_res = _built_flp(["a"], ["7B-4T"])
    lad = LadderResult(predictions=pred, step1=empty, step2=empty, variance=empty,
                       variance_correlation=empty, step1_data=empty, step2_data=empty,
                       fits={"step1": _unconverged_fit([0, 1]),
                             "step2": _unconverged_fit([0, 0])}, options={})
    monkeypatch.setattr(flp_module, "flp", lambda data, **kw: flp_res)
    monkeypatch.setattr(ladder_module, "ladder", lambda data, **kw: lad)
    res = flp_vs_ladder()
    assert res.unconverged() == ["ladder step1 task 'task1' (max_steps)"]
    assert res.ladder is lad
    assert flp_vs_ladder(ladder=False).unconverged() == []
    assert cli.main(["flp", "-q"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "flp: 1 point fit(s) did not converge: ladder step1 task 'task1' (max_steps); the "
        "outputs are written, the warnings above say more; exit status 1, as `jaxfit fit`.")
    assert cli.main(["flp", "--no-ladder", "-q"]) == 0


def test_flp_writes_the_ladder_step_tables_its_exit_line_names(monkeypatch, capsys,
                                                               tmp_path):
    """`jaxfit flp` exited 1 naming a ladder fit ("ladder step1 task 'task1' (max_steps)")
    whose status table it wrote nowhere: `FLPResult.frames()` (what --out DIR writes and
    --json prints) left out the ladder's step tables. Now they are ``ladder_step1`` and
    ``ladder_step2``, so the named fit's row can be looked up; without the ladder there is
    none. Nothing is fitted: `flp` and `ladder` return built results."""
    import importlib
    import json

    from jaxfit import cli
    from jaxfit.recipes.flp import flp_vs_ladder
    from jaxfit.recipes.ladder import LadderResult
    from jaxfit.recipes.points import param_frame

    flp_module = importlib.import_module("jaxfit.recipes.flp")
    ladder_module = importlib.import_module("jaxfit.recipes.ladder")
    pred, empty, flp_res = _built_flp(["a"], ["7B-4T"])
    fits = {"step1": _unconverged_fit([0, 1]), "step2": _unconverged_fit([0, 0])}
    lad = LadderResult(predictions=pred, step1=param_frame(fits["step1"], ["task0", "task1"]),
                       step2=param_frame(fits["step2"], ["task0", "task1"]), variance=empty,
                       variance_correlation=empty, step1_data=empty, step2_data=empty,
                       fits=fits, options={})
    monkeypatch.setattr(flp_module, "flp", lambda data, **kw: flp_res)
    monkeypatch.setattr(ladder_module, "ladder", lambda data, **kw: lad)
    frames = flp_vs_ladder().frames()
    assert list(frames)[-2:] == ["ladder_step1", "ladder_step2"]
    assert frames["ladder_step1"] is lad.step1 and frames["ladder_step2"] is lad.step2
    assert not any(k.startswith("ladder_") for k in flp_vs_ladder(ladder=False).frames())

    out = tmp_path / "out"
    assert cli.main(["flp", "-q", "--out", str(out)]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "flp: 1 point fit(s) did not converge: ladder step1 task 'task1' (max_steps)")
    step1 = pd.read_csv(out / "ladder_step1.csv").set_index("task")
    assert step1.loc["task1", "status"] == "max_steps"
    assert step1.loc["task0", "status"] == "converged"
    assert (out / "ladder_step2.csv").exists()
    assert cli.main(["flp", "-q", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    row = [r for r in doc["tables"]["ladder_step1"] if r["task"] == "task1"]
    assert [r["status"] for r in row] == ["max_steps"]


def test_flp_ladder_advice_names_what_flp_vs_ladder_takes(monkeypatch, capsys):
    """Inside `jaxfit flp` (`flp_vs_ladder`), the ladder's step-cap warning said "pass e.g.
    step1_options={'max_steps': ...}. See result.step1['status']": flp_vs_ladder passed
    no step option on (step1_options went to `flp`, which has none), an `FLPResult` has
    no ``step1``, and on the command line the advice sent users to
    jaxfit.recipes.ladder.ladder(...) and a step1 table that `jaxfit flp` does not write.
    Now flp_vs_ladder takes the ladder's step options and passes them on, its warnings
    name ``result.ladder.step1`` and ``sampling_runs``, and `jaxfit flp` says where the
    option and the table are. The ladder writes those names itself, as flp_vs_ladder
    passes them (``result_name``, ``runs_name``; before, flp_vs_ladder rewrote the
    ladder's texts afterwards). Nothing is fitted: `flp` and `ladder` return built
    results, the ladder's warnings are its own functions' texts."""
    import importlib

    from jaxfit import cli
    from jaxfit.inference.design import Issue
    from jaxfit.recipes.flp import flp_vs_ladder
    from jaxfit.recipes.ladder import LadderResult

    flp_module = importlib.import_module("jaxfit.recipes.flp")
    ladder_module = importlib.import_module("jaxfit.recipes.ladder")
    pred, empty, flp_res = _built_flp(["a", "b"], ["b"])
    step2 = dataclasses.replace(_unconverged_fit([0]),
                                design=((Issue("dof", (), None, 0.0),),))
    lad = LadderResult(predictions=pred, step1=empty, step2=empty, variance=empty,
                       variance_correlation=empty, step1_data=empty, step2_data=empty,
                       fits={"step1": _unconverged_fit([0, 1]), "step2": step2}, options={})
    passed = []

    def step(name, result_name):          # as ladder's _fit calls _warn
        ladder_module._warn(lad.fits[name], name, result_name)

    def ladder(data, **kw):               # the ladder's own warnings, as ladder() emits them
        passed.append(kw)
        ladder_module._warn_leak(kw["targets"], kw["ladder_runs"], kw["runs_name"])
        step("step1", kw["result_name"])
        step("step2", kw["result_name"])
        return lad

    monkeypatch.setattr(flp_module, "flp", lambda data, **kw: flp_res)
    monkeypatch.setattr(ladder_module, "ladder", ladder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = flp_vs_ladder(step1_options={"max_steps": 5000}, step2_options={"restarts": 4})
    assert res.ladder is lad
    assert passed[-1]["step1_options"] == {"max_steps": 5000}
    assert passed[-1]["step2_options"] == {"restarts": 4}
    text = [str(w.message) for w in caught]
    assert len(text) == 3 and all(w.filename == __file__ for w in caught), text
    assert text[0].endswith("are fitted, so their predictions are not extrapolations and "
                            "their errors measure the fit. Drop them from `targets` or from "
                            "`sampling_runs`.")
    assert text[1].startswith("ladder step1: 1 of 2 task(s) did not converge ['task1']")
    assert text[1].endswith("; pass e.g. step1_options={'max_steps': ...}. See "
                            "result.ladder.step1['status'].")
    assert text[2].endswith("See result.ladder.step2['design'].")
    assert res.ladder.fits["step1"] is lad.fits["step1"]          # what the advice names
    with pytest.raises(ValueError, match=r"flp: step1_options is for the ladder "
                                         r"comparison's fits, and ladder=False runs none; "
                                         r"drop it, or set ladder=True"):
        flp_vs_ladder(ladder=False, step1_options={"max_steps": 5000})

    assert cli.main(["flp", "-q"]) == 1
    warned = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith("warning:")]
    assert warned[0].endswith("Drop them from --targets or from --sampling-runs.")
    assert warned[1].endswith(
        "the ladder's step cap is an argument of the recipe's Python function "
        "(jaxfit.recipes.flp.flp_vs_ladder(step1_options={'max_steps': ...})), with no flag "
        "on the command line; --no-ladder drops the comparison. See the ladder_step1 "
        "table's status column (--out DIR or --json).")       # jaxfit flp writes it now
    assert warned[2].endswith("See the ladder_step2 table's design column (--out DIR or "
                              "--json).")
    for line in warned:
        assert "jaxfit.recipes.ladder.ladder(" not in line and "result." not in line, line
        assert "`" not in line, line


def test_flp_m_is_a_command_spelt_as_the_paper_names_it(monkeypatch, capsys):
    """The paper's method is FLP-M and every flag is spelt with "-", yet only `jaxfit
    flp_m` existed (`jaxfit flp-m`: invalid choice, exit 2). Now `flp-m` is the command,
    listed once in --help, and `flp_m` still runs the same recipe."""
    from jaxfit import cli

    parser = cli._parser()
    for spelling in ("flp-m", "flp_m"):
        args = parser.parse_args([spelling, "--tasks", "piqa_val"])
        assert (args.recipe, args.tasks, args.run) == ("flp_m", ["piqa_val"], cli._cmd_recipe)
    text = parser.format_help()
    assert len(re.findall(r"\bflp-m\b", text)) == 3           # usage, choices, its help line
    assert "flp_m" not in text
    monkeypatch.setattr(cli, "_import", lambda spec: pytest.fail(spec))
    assert cli.main(["flp-m", "--tasks", "no_such", "--out", "/dev/null/x", "-q"]) == 2
    assert "--out '/dev/null/x'" in capsys.readouterr().err


#: The Python options the recipes' advice named as if the command took them.
_PYTHON_OPTION = re.compile(r"raise warmup/samples|\(priors=\)|chains >=|\bD0=|\bfewshot=|"
                            r"fewshot_elbow|\['y'\]|result\.|Posterior\.")


def test_recipe_advice_names_no_python_option_the_command_lacks(capsys, tmp_path):
    """A recipe's warnings and errors in `jaxfit emergence` / `ladder` / `hitchhiker`
    advised "raise warmup/samples ... (priors=)", "See Posterior.diagnostics", "pass e.g.
    step1_options={'max_steps': ...}. See result.step1['status']", "D0=0.5: ...", "Mark
    few-shot rows with fewshot= instead", "use jaxfit.recipes.emergence.fewshot_elbow"
    and "options ['y'] need data", and flp "sampling_runs=[...], targets=[...]",
    "data.assign(role=...)", "pass chance={task: level}", "try stage2='sigmoid'":
    Python options a command-line user cannot give. Now
    each names the command's flag (--no-posterior, --D0, --where, --D, --y) or the
    table to read, and says where an option has no flag."""
    from types import SimpleNamespace

    from jaxfit import cli
    from jaxfit.inference.bayes import make_likelihood
    from jaxfit.recipes.ladder import _warn

    rng = np.random.default_rng(0)
    draws = {k: v * (1 + 0.01 * rng.normal(size=(1, 1, 400))) for k, v in CHINCHILLA.items()}
    draws["sigma"] = 0.01 * (1 + 0.01 * rng.normal(size=(1, 1, 400)))
    post = jf.Posterior(law=jf.models.chinchilla(), tasks=pd.Index([0]), draws=draws,
                        method="nuts", likelihood=make_likelihood("normal", "log"),
                        options=dict(y="loss", by=None, x={}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post.warn()                     # one chain: r_hat undefined, the NUTS advice
        _warn(_unconverged_fit([1, 0]), "step1")
    assert len(caught) == 2 and "raise warmup/samples" in str(caught[0].message)
    cli._warnings(caught, cli._recipe_words("emergence"))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and not [m for m in lines if _PYTHON_OPTION.search(m)], lines
    assert ("Fix: drop the posterior with --no-posterior (the bootstrap remains), or add "
            "data; more draws (sample_options={'warmup': ..., 'samples': ...}) and priors "
            "(priors=...) are arguments of the recipe's Python function (jaxfit.recipes), "
            "with no flag on the command line. See the table's r_hat, divergences and "
            "bootstrap_converged columns (--out DIR or --json).") in lines[0]
    assert lines[1].endswith(
        "its step cap is an argument of the recipe's Python function (jaxfit.recipes.ladder."
        "ladder(step1_options={'max_steps': ...})), with no flag on the command line. See the "
        "step1 table's status column (--out DIR or --json).")
    cli._warnings([SimpleNamespace(message="hitchhiker: 3 of 9 fits did not converge (see "
                                           "result.are['status']); their ARE ...")],
                  cli._recipe_words("hitchhiker"))
    assert "(see the table's status column)" in capsys.readouterr().err

    # flp/flp-m name runs and chance levels with --sampling-runs, --targets, --chance
    from jaxfit.recipes import points
    from jaxfit.recipes.flp import _chance, _warn_outside

    runs = pd.DataFrame({"run": ["a", "b"], "task": ["piqa_val", "piqa_val"]})
    for call, wanted in (
            (lambda: points.select_runs(runs, None, "target", "flp", "sampling_runs"),
             "flp: data has no 'role' column; pass the target runs explicitly "
             "(--sampling-runs ..., --targets ...)."),
            (lambda: points.select_runs(runs.assign(role="x"), None, "target", "flp",
                                        "sampling_runs"),
             "label the target runs role='target' in the file's role column, or pass them by "
             "name (--sampling-runs ..., --targets ...)."),
            (lambda: points.select_runs(runs.assign(role="x"), None, "target"),
             "in the file's role column, or pass them by name (--ladder-runs ..., "
             "--targets ...)."),
            (lambda: _chance(None, ["my_task"]),
             "pass --chance TASK=LEVEL ... (e.g. 1/number of choices) or one level for all "
             "(--chance 0.25).")):
        with pytest.raises(ValueError) as e:
            call()
        text = cli._cli_words(str(e.value))
        assert wanted in text and not re.search(r"\w=\[|chance=\{|data\.assign", text), text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _warn_outside(pd.DataFrame({"task": ["piqa_val"], "target": ["13B"], "pred_acc": [1.2]}),
                      {"piqa_val": 0.5}, "linear")
    cli._warnings(caught, cli._recipe_words("flp"))
    assert capsys.readouterr().err.endswith("treat them as unreliable, or try --stage2 sigmoid.\n")

    csv = tmp_path / "ft.csv"
    pd.DataFrame({"loss": [3.0, 2.9, 2.8, 2.7], "accuracy": [0.2, 0.3, 0.4, 0.5],
                  "D": [0.5, 10.0, 100.0, 100.0]}).to_csv(csv, index=False)
    for argv, wanted in (
            (["--D", "D"], "Mark few-shot rows with a 0/1 column named by --fewshot "
                           "instead."),
            (["--D", "D", "--where", "D > 1"], "For a single curve drop --D (each task's "
                                               "few-shot elbow is fitted)."),
            (["--D", "D", "--D0", "0.5"], "--D0 0.5: the log_power emergence law needs D0 > 1"),
            (["--y", "accuracy"], "options --y need DATA: the 'olmo' demonstration")):
        data = [] if "--y" in argv else [str(csv)]
        assert cli.main(["emergence", *data, *argv, "-q"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and wanted in err and not _PYTHON_OPTION.search(err), err


#: Python-only remedies the design warnings named to command-line users.
_PYTHON_REMEDY = re.compile(r"with jaxfit\.(fix|share)|use jaxfit\.sample|FitResult\.|"
                            r"`targets`|`ladder_runs`")


def test_ladder_design_warnings_name_what_the_command_line_can_do(capsys):
    """`jaxfit ladder` on 5 ladder runs (as many as step 1 has parameters) warned "Fix: add
    points, or fix parameters with jaxfit.fix (or share them across tasks with
    jaxfit.share, in a law module given as --law module:function)": a recipe has no
    --law, and jaxfit.fix is Python. A target that is also a ladder run was told to
    "Drop them from `targets` or from `ladder_runs`". Now the command names its flags
    (--ladder-runs, --targets) and says where the rest is (no flag; from Python); the
    Python API's message is unchanged."""
    from jaxfit import cli
    from jaxfit.inference.design import Issue, describe

    runs = ["190M-1xC", "190M-2xC", "370M-1xC", "370M-5xC", "760M-2xC"]
    assert cli.main(["ladder", "--tasks", "piqa_val", "--ladder-runs", *runs,
                     "--targets", "760M-2xC", "7B-4T", "-q"]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("warning:")]
    dof = [line for line in warned if "0 residual degrees of freedom" in line]
    assert len(dof) == 1 and dof[0].endswith(
        "Fix: add points (step 1 has one per ladder run: more runs in DATA, or name more "
        "with --ladder-runs), or fix or share parameters (no flag on the command line; from "
        "Python, on a refit of the recipe's points: jaxfit.fix, jaxfit.share). See the step1 "
        "table's design column (--out DIR or --json).")
    assert ("warning: ladder: target run(s) ['760M-2xC'] are also ladder runs: their points "
            "are fitted, so their predictions are not extrapolations and their errors measure "
            "the fit. Drop them from --targets or from --ladder-runs.") in warned
    assert not [line for line in warned if _PYTHON_REMEDY.search(line) or "--law" in line]
    # the library's own words are Python's
    assert describe(Issue("dof", (), None, 0.0), 5).endswith(
        "Fix: add points, or fix parameters with jaxfit.fix (or share them across tasks "
        "with jaxfit.share)")


def test_emergence_advice_keeps_the_bootstrap_only_where_one_was_drawn(monkeypatch, capsys):
    """`jaxfit emergence`'s advice for a NUTS posterior that failed its diagnostics said
    "drop the posterior with --no-posterior (the bootstrap remains)" and pointed at the
    table's bootstrap_converged column under --bootstrap 0 too, where no bootstrap ran:
    --no-posterior alone would leave no interval, and the column is not there. Now that
    advice follows the run: with a bootstrap as before; without one it says to draw
    bootstrap refits instead (--no-posterior --bootstrap 200). Nothing is fitted: the
    recipe returns a built result after `Posterior.warn`'s real warning."""
    import dataclasses

    from jaxfit import cli
    from jaxfit.inference.bayes import make_likelihood
    from jaxfit.recipes.emergence import EmergenceResult

    rng = np.random.default_rng(0)
    draws = {k: v * (1 + 0.01 * rng.normal(size=(1, 1, 400))) for k, v in CHINCHILLA.items()}
    draws["sigma"] = 0.01 * (1 + 0.01 * rng.normal(size=(1, 1, 400)))
    post = jf.Posterior(law=jf.models.chinchilla(), tasks=pd.Index([0]), draws=draws,
                        method="nuts", likelihood=make_likelihood("normal", "log"),
                        options=dict(y="loss", by=None, x={}))     # one chain: fails
    empty = pd.DataFrame()
    built = EmergenceResult(emergence=pd.DataFrame({"mle": [2.0]}), params=empty,
                            elbows=empty, curves=empty, points=empty, fit=None,
                            elbow_fit=None, posterior=post,
                            bootstrap=dataclasses.replace(post, method="bootstrap"),
                            options={})

    def recipe(**kwargs):
        post.warn()
        drawn = kwargs.get("bootstrap", 200) > 0           # the recipe's default: 200
        return built if drawn else dataclasses.replace(built, bootstrap=None)

    monkeypatch.setattr(cli, "_import", lambda spec: recipe)
    lines = {}
    for argv in ([], ["--bootstrap", "0"]):
        assert cli.main(["emergence", *argv, "-q"]) == 1          # the NUTS posterior failed
        err = capsys.readouterr().err.splitlines()
        (lines[bool(argv)],) = [line for line in err if line.startswith("warning: nuts: ")]
    assert ("Fix: drop the posterior with --no-posterior (the bootstrap remains), or add "
            "data;") in lines[False]
    assert lines[False].endswith("See the table's r_hat, divergences and bootstrap_converged "
                                 "columns (--out DIR or --json).")
    assert "bootstrap remains" not in lines[True] and "bootstrap_converged" not in lines[True]
    assert ("Fix: draw bootstrap refits instead of the posterior (--no-posterior --bootstrap "
            "200: this run had --bootstrap 0, so --no-posterior alone leaves no interval), or "
            "add data;") in lines[True]
    assert lines[True].endswith("See the table's r_hat and divergences columns (--out DIR or "
                                "--json).")
    flags = {s for a in cli._parser().commands.choices["emergence"]._actions
             for s in a.option_strings}
    for line in lines.values():
        assert set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line)) <= flags, line


def test_design_warnings_of_other_commands_name_their_flags(capsys):
    """The design warnings' "See FitResult.to_frame()['design']" and the bootstrap's "fix
    parameters with jaxfit.fix, or use jaxfit.sample" reached `jaxfit fit`, `sample`,
    `backtest` and the recipes as written for Python. Now `jaxfit fit` points at its
    table's design column, the other commands at jaxfit fit's, the bootstrap's advice at
    --law and NUTS's --method, and a recipe (no --law) says it has no flag (texts from
    the library's own functions; nothing is fitted)."""
    from types import SimpleNamespace

    from jaxfit import cli
    from jaxfit.inference.design import resample_message

    design = SimpleNamespace(message="1 task(s) [0] poorly identified: A has (almost) no "
                                     "effect. See FitResult.to_frame()['design'].")
    boot = SimpleNamespace(message=resample_message(
        [0], np.ones((10, 1, 3)), np.zeros((10, 1)), np.ones((1, 3)), np.ones((1, 3)), "log", 5))
    assert boot.message.endswith("fix parameters with jaxfit.fix, or use jaxfit.sample.")
    for words, fit, wanted in (
            ((), True, ["See the table's design column (--json: each task's \"design\")."]),
            ((), False, ["See the design column of jaxfit fit's table on the same data and "
                         "flags.",
                         "fix parameters with jaxfit.fix in a law module given as --law "
                         "module:function, or draw NUTS instead of bootstrap refits (jaxfit "
                         "sample --method nuts, jaxfit backtest --method nuts)."]),
            (cli._recipe_words("emergence"), False,
             ["See the design column of the recipe's fit tables (--out DIR or --json).",
              "fix parameters or draw an MCMC posterior (no flag on the command line; from "
              "Python, on a refit of the recipe's points: jaxfit.fix, jaxfit.sample)."])):
        cli._warnings([design, boot], words, fit=fit)
        lines = capsys.readouterr().err.splitlines()
        assert [line.endswith(w) for line, w in zip(lines, wanted)] == [True] * len(wanted)
        # jaxfit.fix stays named where --law takes a module that uses it
        forbidden = _PYTHON_REMEDY if words else re.compile(r"use jaxfit\.sample|FitResult\.")
        assert not [line for line in lines if forbidden.search(line)], lines


def test_every_x_hint_the_command_line_reaches_names_the_x_flag(capsys, tmp_path):
    """The --x errors a command can print, each before any fit, in the flag's words: a
    pair without '=' (refused by the command, so `jaxfit.checks._columns`'s "x=... must
    map law inputs to columns, e.g. x={'N': 'params'}" is never reached: --x always
    arrives as a mapping), a name that is not an input (`jaxfit.data.column_map`), a
    column that is not in DATA (`jaxfit.data.map_example`), in `fit` and `optimal`."""
    from jaxfit import cli

    path = tmp_path / "runs.csv"
    pd.DataFrame({"params": [1e8, 2e8], "tokens": [1e9, 2e9], "loss": [3.0, 2.9]}).to_csv(
        path, index=False)
    for argv, wanted in (
            (["fit", path, "--x", "N"], "--x expects NAME=VALUE pairs, got 'N'"),
            (["fit", path, "--x", "N=params", "D=tokens", "Q=loss"],
             "--x maps ['Q'], which are not inputs of law 'chinchilla'; its inputs are "
             "['N', 'D']."),
            (["fit", path, "--x", "N=params"], "Rename them or map them, e.g. --x D=COLUMN."),
            (["optimal", path, "--x", "N=params", "D=tokens", "Q=loss", "--budgets", "1e20"],
             "--x maps ['Q'], which are not inputs of law 'chinchilla'; its inputs are "
             "['N', 'D'].")):
        assert cli.main([str(a) for a in argv] + ["-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.endswith(wanted) and "x={" not in err and "x=[" not in err, err


def test_missing_column_example_quotes_a_name_with_spaces_for_the_shell():
    """A header ' loss' (spaces kept) made the example '--y  loss', which a shell reads as
    --y loss: following the hint failed again."""
    from jaxfit.cli import _cli_words

    assert _cli_words("Rename them or map them, e.g. x={'N': ' N'}, y=' loss'.") == \
        "Rename them or map them, e.g. --x 'N= N' --y ' loss'."
    assert _cli_words("Rename them or map them, e.g. x={'C': '<column>'}, y='loss'.") == \
        "Rename them or map them, e.g. --x C=COLUMN --y loss."


def test_jaxfit_sample_says_the_exponent_prior_warning_in_its_flags(capsys):
    """`jaxfit.sample`'s PriorWarning advises ``priors=`` and ``jaxfit.bootstrap`` (Python);
    `jaxfit sample` has neither, so it names a law module's Param(prior=...) and --method
    bootstrap (the library's own message on a one-task fit whose alpha is 0.05; nothing is
    sampled)."""
    import warnings

    import jaxfit as jf
    from jaxfit import cli
    from jaxfit.sample import warn_exponent_prior

    C = np.geomspace(1e18, 1e21, 12)
    df = pd.DataFrame({"C": C, "loss": 1.5 + 20.0 * C ** -0.05})
    law = jf.models.power_law("C")
    fit = jf.fit(law, df, y="loss")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert warn_exponent_prior(law, None, fit)
    assert "(priors=), or compare with jaxfit.bootstrap" in str(caught[0].message)
    cli._warnings(caught, cli._SAMPLE_WORDS)
    err = capsys.readouterr().err
    assert err.startswith("warning: the point fit's exponent lies outside") and err.rstrip().endswith(
        "Give a prior for the exponents you expect (Param(prior=...) in a law module given as "
        "--law module:function), or compare with --method bootstrap, which has no prior."), err


def _library_strings():
    """Every string constant of the jaxfit package but docstrings (f-strings' literal parts
    included) outside jaxfit/cli/__init__.py, the file of the translation tables."""
    import ast
    from pathlib import Path

    root = Path(jf.__file__).parent
    out = set()
    for path in sorted(root.rglob("*.py")):
        if path == root / "cli" / "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                     ast.AsyncFunctionDef))
                and node.body and isinstance(node.body[0], ast.Expr)}
        out |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                and isinstance(node.value, str) and id(node) not in docs}
    return out


#: Translated Python texts that no single string of the library holds: the pieces its
#: message is joined from (f-string values, concatenated strings, the ladder's
#: ``result_name``), each in the library's strings.
_ASSEMBLED = {
    "or calibrate=None (raw": ("or calibrate=None", " (raw"),                # backtest
    "Pass loss=<column> to name": ("Pass ", "loss=<column> to name"),       # flp._check
    "Pass domains=[<columns>] to name": ("Pass ", "domains=[<columns>] to name"),
    "suggest: give a jaxfit.Posterior (jf.sample or jf.bootstrap), got FitResult":
        ("suggest: give a jaxfit.Posterior (jf.sample or jf.bootstrap), got ", "FitResult"),
    "fix one of them with jaxfit.fix, or share it across tasks with jaxfit.share":
        ("fix ", "one of them", " with jaxfit.fix, or share it across tasks with jaxfit.share"),
    "fix it with jaxfit.fix, or share it across tasks with jaxfit.share":
        ("fix ", "it", " with jaxfit.fix, or share it across tasks with jaxfit.share"),
    "Fix: raise warmup/samples, ": ("Fix: ", "raise warmup/samples, "),  # posterior
    **{f"pass e.g. {t}_options={{'max_steps': ...}}. See result.{t}['status'].":
       ("pass e.g. ", t, "_options={'max_steps': ...}. See ", "result", ".", t,
        "['status'].") for t in ("step1", "step2")},                       # ladder._warn
    **{f"See result.{t}['design'].": ("See ", "result", ".", t, "['design'].")
       for t in ("step1", "step2")},
    **{f"pass e.g. {t}_options={{'max_steps': ...}}.":
       ("pass e.g. ", t, "_options={'max_steps': ...}.")
       for t in ("step1", "step2")},
    **{f"See result.ladder.{t}['{col}'].": ("See ", "result.ladder", ".", t, f"['{col}'].")
       for t in ("step1", "step2") for col in ("status", "design")},          # flp_vs_ladder
    "See result.predictions['bootstrap_converged'].":                      # ladder._warn_refits
        ("See ", "result", ".predictions['bootstrap_converged']."),
    **{f"Drop them from `targets` or from `{runs}`.":
       ("Drop them from `targets` or from `", runs, "`.")
       for runs in ("ladder_runs", "sampling_runs")},                 # ladder._warn_leak
}


def test_every_cli_translation_matches_a_library_message():
    """Each (Python text, command-line text) pair of the command line's translation
    tables names a text the library writes: `_CLI_WORDS` held "map them with x=." for a
    hint of `jaxfit.predict_chain` that no command reaches (the recipes build its frames;
    no command with --x calls it), and a reworded message would silently orphan its
    translation. A Python text is in one of the library's strings, or is listed in
    `_ASSEMBLED` with the pieces it is joined from, each in the library's strings."""
    from jaxfit import cli

    strings = _library_strings()
    joined = "\0".join(strings)
    tables = {"_CLI_WORDS": cli._CLI_WORDS, "_SAMPLE_WORDS": cli._SAMPLE_WORDS,
              "_RECIPE_WORDS": cli._RECIPE_WORDS, "_POINT_FIT_WORDS": cli._POINT_FIT_WORDS,
              "_EMERGENCE_WITHOUT_BOOTSTRAP": cli._EMERGENCE_WITHOUT_BOOTSTRAP,
              **{f"_RECIPE_OWN_WORDS[{k!r}]": v for k, v in cli._RECIPE_OWN_WORDS.items()}}
    orphans, used = [], set()
    for name, table in tables.items():
        for python, _ in table:
            if python in joined:
                continue
            pieces = _ASSEMBLED.get(python)
            used.add(python)
            if (pieces is None or "".join(pieces) != python
                    or not all(p in joined for p in pieces)):
                orphans.append((name, python))
    assert not orphans, orphans
    assert set(_ASSEMBLED) <= used, set(_ASSEMBLED) - used     # the list is not stale


def test_backtest_cuts_an_integer_inside_the_axis_range_is_not_read_as_a_count(
        capsys, monkeypatch, tmp_path):
    """`jaxfit backtest --axis N_M --cuts 200` on sizes in millions (10 to 500) read 200 as a
    count of cuts and ran all of them (200, 100, 50, 20, 10) without a word. Now that
    integer is refused as ambiguous, naming both spellings; 200.0 is the value, 3 outside
    the range stays a count, 1000 a value. No fit: `jf.backtest` records its cuts."""
    from jaxfit.cli import main

    path = tmp_path / "runs.csv"
    N_M = np.repeat([10, 20, 50, 100, 200, 500], 2)
    pd.DataFrame({"N_M": N_M, "N": N_M * 1e6, "D": np.tile([1e9, 2e9], 6),
                  "loss": np.linspace(3.0, 2.0, 12)}).to_csv(path, index=False)
    seen = []

    def fake(*args, cuts=None, **kwargs):
        seen.append(cuts)
        raise ValueError("stop here")

    monkeypatch.setattr(jf, "backtest", fake)
    base = ["backtest", str(path), "--axis", "N_M", "-q", "--cuts"]
    assert main(base + ["200"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and seen == [], err
    assert ("--cuts 200 is ambiguous: a count of cuts, or a cut value of --axis N_M (its "
            "values run from 10 to 500); for the cut value write --cuts 200.0; for 200 cuts "
            "as a count (the data allow 5) give their values: --cuts 200 100 50 20 10") in err
    assert main(base + ["20"]) == 2 and "--cuts 200 100 50 20 10" in capsys.readouterr().err
    for given, want in (["200.0"], [200.0]), (["3"], 3), (["1000"], [1000.0]), \
            (["2e2", "50"], [200.0, 50.0]):
        assert main(base + given) == 2 and "stop here" in capsys.readouterr().err
        got = seen.pop()
        assert got == want and type(got) is type(want)
    assert main(base + ["x"]) == 2
    assert "--cuts x: 'x' is not a number" in capsys.readouterr().err


def test_suggest_target_of_one_task_says_what_to_give_in_flags(capsys, tmp_path):
    """`jaxfit suggest post.nc --target fam=a N=.. D=..` of a two-task posterior: the fix
    said "give a target row for every task, or leave the 'fam' column out of the target"
    (a DataFrame's words); now it names --target. A hand-made posterior, no fit."""
    from jaxfit.cli import main
    from jaxfit.inference.bayes import make_likelihood

    rng = np.random.default_rng(0)
    draws = {n: v * (1 + 0.02 * rng.normal(size=(2, 2, 50))) for n, v in CHINCHILLA.items()}
    draws["sigma"] = np.full((2, 2, 50), 0.01)
    post = jf.Posterior(law=jf.models.chinchilla(), tasks=pd.Index(["a", "b"], name="fam"),
                        draws=draws, method="laplace",
                        likelihood=make_likelihood("normal", "log"),
                        options=dict(y="loss", by="fam", x={}))
    nc = jf.save(post, tmp_path / "post.nc")
    argv = ["suggest", str(nc), "--grid", "N=4e8,1e9", "D=1e10,4e10", "-q", "--target"]
    assert main(argv + ["fam=a", "N=7e10", "D=1.4e12"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert ("Fix: give --target one row per task (comma-separated values, one task each), or "
            "drop the 'fam' column from --target so that its point applies to every task, or "
            "fit only the tasks you target.") in err, err
    assert "out of the target" not in err
    # the fix it names works: one row per task
    assert main(argv + ["fam=a,b", "N=7e10,7e10", "D=1.4e12,1.4e12"]) == 0
