"""The ``jaxfit`` command: fit, sample and predict laws on CSV/Parquet files or embedded data.

Subcommands: ``fit``, ``sample``, ``predict``, ``datasets list|show|export``, ``optimal``
and ``suggest`` (`jaxfit.cli.decide`), and one per
recipe (``ladder``, ...; see `jaxfit.cli.recipes`). Data is a CSV or Parquet file or an
embedded dataset's name; ``--x N=params D=tokens`` maps law inputs to columns, ``--y`` and
``--by`` name the target and task columns. ``--json`` prints a document whose schema is
in ``jaxfit/schema/`` (``jaxfit.fit/1``, ``jaxfit.posterior/1``, ``jaxfit.predict/1``,
``jaxfit.recipe/1``, ``jaxfit.datasets/1``).

Exit codes: 0 success; 1 a failed fit or failed diagnostics (a task that did not
converge, a point fit behind a recipe's numbers that did not converge, posterior
diagnostics that fail their thresholds); 2 bad input (unreadable
file, missing column, unknown law, invalid option, ...); 3 an internal error (a bug in
jaxfit or in a dependency). Codes 1-3 come with a one-line reason on stderr; ``--debug``
adds the traceback.

Startup: ``jaxfit --help`` imports neither JAX nor pandas (measured in
benchmarks/cli_startup.py). A ``module:function`` law is imported with the current
directory on the module path. Compilation cache: each command stores JAX's compiled
programs in a per-user directory (``$JAXFIT_CACHE_DIR``, else
``$XDG_CACHE_HOME/jaxfit/jax``, else ``~/.cache/jaxfit/jax``), so repeating a command
skips compilation; ``JAXFIT_NO_CACHE=1`` turns it off. This is set for the command
line's own process only: the library never changes JAX's configuration (Python users
opt in with ``jax.config.update("jax_compilation_cache_dir", path)``).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import re
import shlex
import sys
import warnings
from pathlib import Path
from typing import Self

from jaxfit import __version__, progress
from jaxfit.cli.recipes import RECIPES

__all__ = ["main", "LAWS", "register_law", "RECIPES", "BUILTIN_LAWS", "cache_dir",
           "EXIT_OK", "EXIT_FAILED", "EXIT_INPUT", "EXIT_INTERNAL"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

#: Laws registered by `jaxfit.io` at start-up (named in ``--help`` without importing it).
BUILTIN_LAWS = ("chinchilla", "power_law", "kaplan", "sigmoid", "linear",
                "broken_power_law", "ladder_step1", "ladder_step1_flops")

np = pd = None             # numpy and pandas: imported by `_heavy` once arguments parse


def _heavy() -> None:
    """Import numpy and pandas (not needed for ``--help`` or ``--version``)."""
    global np, pd
    import numpy
    import pandas

    np, pd = numpy, pandas


def __getattr__(name):
    if name in ("LAWS", "register_law"):
        from jaxfit import io

        return getattr(io, name)
    raise AttributeError(f"module 'jaxfit.cli' has no attribute {name!r}")


def cache_dir() -> str | None:
    """The command line's JAX compilation cache directory, or None when turned off
    (``JAXFIT_NO_CACHE`` set to anything but ``""``/``0``)."""
    if progress.env_flag("JAXFIT_NO_CACHE"):
        return None
    if os.environ.get("JAXFIT_CACHE_DIR"):
        return os.environ["JAXFIT_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxfit", "jax")


def _enable_compilation_cache() -> None:
    """Turn JAX's persistent compilation cache on for this process (the CLI's only)."""
    path = cache_dir()
    if path is None:
        return
    programs = os.path.join(path, "programs")      # jaxfit's traced programs
    try:
        # a file named 'programs' there made every command trace again, without a word
        os.makedirs(programs, exist_ok=True)
        import tempfile          # a read-only directory warned at every program it compiled

        fd, probe = tempfile.mkstemp(dir=programs, prefix=".probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        print(f"warning: compilation cache {path!r} not usable ({e}); running without it: set "
              "JAXFIT_CACHE_DIR to a writable directory, or JAXFIT_NO_CACHE=1",
              file=sys.stderr)
        return
    import jax

    from jaxfit.inference import cache

    cache.enable_persistent(programs)
    _cache_state.update(dir=path, damaged=False, unwritten=[])
    shown = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if not _cache_warning(str(message)):        # outside a command's caught warnings
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    jax.config.update("jax_compilation_cache_dir", path)
    # Cache every program: a fit compiles many small ones (default: only those > 1 s).
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


#: The start of JAX's warning about an entry of its compilation cache that it cannot read
#: (a file cut short by a full disk or a killed process). JAX then compiles the program
#: again but never rewrites the entry (its cache leaves an existing file alone), so every
#: later command printed the warning again and compiled again.
_DAMAGED = "Error reading persistent compilation cache entry"
#: ... and about one it could not write (a disk that filled up during the command): one
#: warning per program, several lines a command before.
_UNWRITTEN = "Error writing persistent compilation cache entry"
_cache_state: dict = {"dir": None, "damaged": False, "unwritten": []}


def _cache_warning(message: str) -> bool:
    """Record JAX's warning ``message`` if it is about the compilation cache (reported in
    one line after the command, `_repair_compilation_cache`); whether it was."""
    if message.startswith(_DAMAGED):
        _cache_state["damaged"] = True
        return True
    if message.startswith(_UNWRITTEN):
        _cache_state["unwritten"].append(message)
        return True
    return False


def _repair_compilation_cache() -> None:
    """After the command: one line for the entries of the compilation cache that could
    not be written; and if it met a damaged entry, delete the entries that cannot be
    decompressed, and say so in one line (the next command writes them again)."""
    path = _cache_state["dir"]
    unwritten, _cache_state["unwritten"] = _cache_state["unwritten"], []
    if unwritten and path is not None:
        first = unwritten[0].split(": ", 1)[-1]
        print(f"warning: {len(unwritten)} compiled program(s) could not be stored in the "
              f"compilation cache {path!r} ({first}); free space there, set JAXFIT_CACHE_DIR "
              "to another directory, or JAXFIT_NO_CACHE=1", file=sys.stderr)
    if not _cache_state["damaged"] or path is None:
        return
    _cache_state["damaged"] = False
    removed = 0
    try:
        from jax._src import compilation_cache as jax_cache

        for entry in Path(path).glob("*-cache"):
            try:
                jax_cache.decompress_executable(entry.read_bytes())
            except Exception:  # noqa: BLE001 - any unreadable entry is removed
                entry.unlink(missing_ok=True)
                removed += 1
    except (ImportError, AttributeError, OSError) as e:
        print(f"warning: the compilation cache {path!r} has damaged entries that could not "
              f"be removed ({e}); delete the directory, or set JAXFIT_NO_CACHE=1",
              file=sys.stderr)
        return
    print(f"warning: removed {removed} damaged entr{'y' if removed == 1 else 'ies'} of the "
          f"compilation cache {path!r} (the next command stores them again)", file=sys.stderr)


class InputError(Exception):
    """Bad input: exit code 2 with a one-line message."""


#: The library's hints in Python words -> the command line's flags. Each Python text is
#: in the library's source, whole or as the pieces its message is assembled from
#: (tests/test_cli.py::test_every_cli_translation_matches_a_library_message).
_CLI_WORDS = (
    # `jaxfit.recipes.flp._chance`: a --chance TASK=LEVEL for a task not fitted
    (": chance names ", ": --chance names "),
    ("give a level for those tasks, or name the task in tasks=[...]",
     "give TASK=LEVEL for those tasks, or name the task with --tasks"),
    ("use space='linear'", "use --space linear"),
    ("in space='linear'", "with --space linear"),
    ("use space='log'", "use --space log"),
    ("or give init= values", "or set --init"),
    # `jaxfit.data._input_not_target`: an input reading the target column (--x N=loss)
    (", which is also the target y=", ", which is also the target column, --y "),
    ("or pass the target column as y=.", "or name the target column with --y."),
    # `jaxfit.decide.optimal.input_pair` and `_check_law`: the law `optimal`/`suggest` need
    ("jf.models.chinchilla(), L = E + A/N^alpha + B/D^beta)",
     "--law chinchilla, L = E + A/N^alpha + B/D^beta)"),
    ("(jf.Law with fn calling ", "(a function in a law module given as --law module:function, "
                                 "calling "),
    ("pass load(path, law=...) with that law", "pass --law with that law's spec"),
    ("or calibrate=None (raw", "or --calibrate none (raw"),
    ("raise `max_steps`", "raise --max-steps"),
    ("Name them with y=, loss=, D=, by=, fewshot=.",
     "Name them with --y, --loss, --D, --by, --fewshot."),
    ("Mark few-shot rows with fewshot= instead.",
     "Mark few-shot rows with a 0/1 column named by --fewshot instead."),
    ("Pass loss=<column> to name", "Pass --loss COLUMN to name"),
    ("Name the tasks to fit with tasks=[...] (default:", "Name the tasks to fit with --tasks "
     "TASK ... (default:"),
    ("pass chance={task: level} (e.g. 1/number of choices) or one float for all.",
     "pass --chance TASK=LEVEL ... (e.g. 1/number of choices) or one level for all "
     "(--chance 0.25)."),
    ("if it is one, raise max_target_loss.", "if it is one, raise --max-target-loss."),
    ("pass by='task' to fit each task, or select one task first.",
     "pass --by task to fit each task, or select one task first (--where \"task == ...\")."),
    ("Pass domains=[<columns>] to name", "Pass --domains COLUMN [COLUMN ...] to name"),
    ("(`init=`, more `restarts`)", "(--init, more --restarts)"),
    ("x maps ", "--x maps "),
    # `jaxfit.data._distinct_columns`
    ("(an input not in x reads the column of its own name)",
     "(an input not in --x reads the column of its own name)"),
    (": pass axis=", ": pass --axis "),
    ("(cuts=None: every value but the largest), or lower min_points.",
     "(no --cuts: every value but the largest)."),
    ("be an integer >= 2, e.g. n=200.", "be an integer >= 2, e.g. --n 200."),
    # `jaxfit.backtest.bootstrap_n`: --n with --method nuts or laplace (no flag sets their
    # draws)
    ("; use method='bootstrap', n=", "; use method='bootstrap' n="),
    (", or drop n (the draws of ", ", or drop --n (the draws of "),
    (" are set in sample_options, e.g. sample_options={'samples': 1000}).",
     " are set in Python only: jaxfit.backtest(..., sample_options={'samples': 1000}))."),
    ("strip the names, df.columns = df.columns.str.strip()",
     "remove the spaces from the file's header"),
    ("or read the file with pd.read_csv(path, thousands=',')",
     "or save the file without thousands separators"),
    ("or read the file with pd.read_csv(path, decimal=',')",
     "or save the file with '.' as the decimal mark"),
    ("or fix some parameters with jaxfit.fix()",
     "or use a law with fewer free parameters (--law)"),
    ("share it across tasks with jaxfit.share",
     "share it across tasks with jaxfit.share, in a law module given as --law "
     "module:function"),
    ("share them across tasks with jaxfit.share)",
     "share them across tasks with jaxfit.share, in a law module given as --law "
     "module:function)"),
    (", or name one in sample_options={'likelihood': ...}", ""),
    ("Fix: raise max_steps or restarts (fit_options=), or give min_points= so small cuts "
     "are skipped.", "Fix: raise --restarts (or try --init grid), or give --cuts that leave "
     "out the small cuts."),
    ("suggest: give a jaxfit.Posterior (jf.sample or jf.bootstrap), got FitResult",
     "suggest: give a posterior (a .nc file from jaxfit sample --save), or DATA with "
     "--n-boot > 0, not a saved point fit"),
    ("drop or rename the duplicates, e.g. df.loc[:, ~df.columns.duplicated()]",
     "drop or rename the duplicates in the file"),
    ("(or module:function, or register one with jaxfit.io.register_law).",
     "(or --law module:function, a function in a Python file of the current directory)."),
    ("(see jaxfit.datasets.load_olmo_ladder() for the layout)",
     "(the layout: jaxfit datasets show olmo_ladder)"),
    # `jaxfit.recipes.points.select_runs`: a role label is set in the file
    ("(e.g. data.assign(role=...))", "in the file's role column"),
    ("For a single curve use jaxfit.recipes.emergence.fewshot_elbow.",
     "For a single curve drop --D (each task's few-shot elbow is fitted)."),
    ("(see jaxfit.datasets.load_hitchhiker())", "(the layout: jaxfit datasets show hitchhiker)"),
    ("(see jaxfit.recipes.flp.load_flp_data())",
     "(the layout: jaxfit datasets show olmo_ladder and olmo_ladder_val)"),
    # `jaxfit.inference.design`: the table `jaxfit fit` prints; a bootstrap's resamples
    # (`jaxfit sample --method bootstrap`, `backtest`, `optimal`/`suggest --n-boot`)
    ("See FitResult.to_frame()['design'].",
     "See the table's design column (--json: each task's \"design\")."),
    ("fix parameters with jaxfit.fix, or use jaxfit.sample.",
     "fix parameters with jaxfit.fix in a law module given as --law module:function, or "
     "draw NUTS instead of bootstrap refits (jaxfit sample --method nuts, jaxfit backtest "
     "--method nuts)."),
    # `jaxfit.posterior.noise_cause`: a Laplace/NUTS/SVI posterior's non-finite noise
    # (`jaxfit predict` of a saved posterior); jaxfit sample has no flag for sigma's prior
    # or Student-t's nu
    (": see Posterior.diagnostics)", ": see the diagnostics table jaxfit sample prints)"),
    ("use method='nuts' (the default), add data, or give sigma an informative prior "
     "(priors={'sigma': ...})",
     "sample again with --method nuts (the default) or with more data (a prior on sigma is "
     "set in Python only: jaxfit.sample(..., priors={'sigma': ...}))"),
    ("check Posterior.diagnostics and Posterior.flat('sigma'); add data, or give sigma an "
     "informative prior (priors={'sigma': ...})",
     "check the diagnostics table jaxfit sample prints; add data, or give sigma an "
     "informative prior (in Python only: jaxfit.sample(..., priors={'sigma': ...}))"),
    # `jaxfit.decide.suggest`: a posterior of too few draws (its error and its warning of
    # no narrowing candidate), or of non-finite draws
    ("jf.sample(..., samples=1000) or jf.bootstrap(..., n=400)",
     "jaxfit sample --samples 1000, or --method bootstrap --n 400 (or DATA as SOURCE with "
     "--n-boot 400)"),
    ("or use jf.sample.", "or draw the posterior with jaxfit sample --method nuts."),
    # `jaxfit.decide.suggest._target_draws`: --target with a task column for some tasks
    ("Fix: give a target row for every task, or leave ",
     "Fix: give --target one row per task (comma-separated values, one task each), or drop "),
    (" out of the target so that its rows apply to every task,",
     " from --target so that its point applies to every task,"),
    ("or with likelihood='studentt' a larger nu",
     "or with --likelihood studentt a larger nu (in Python only: jaxfit.sample(..., "
     "nu=...))"),
)


#: Library keyword arguments the command line sets with a flag of the same name (``_`` ->
#: ``-``): ``prob=1.5`` in a library message reads ``--prob 1.5`` on the command line.
_FLAG_KWARGS = ("prob", "chains", "warmup", "samples", "target_accept", "temper", "cuts",
                "per_task", "restarts", "max_steps", "delta", "space", "init", "likelihood",
                "loss", "method", "calibrate", "n_boot", "seed", "axis", "pooled", "n", "k",
                "budgets", "ratios", "inputs", "by", "D0", "stage2", "ladder_runs", "targets",
                "sampling_runs", "demo", "bootstrap",
                "min_sizes", "max_target_loss", "se_resamples")
_KWARG = re.compile(r"(?<![\w.\-'\[])(" + "|".join(_FLAG_KWARGS) +
                    r")=('[^']*'|\"[^\"]*\"|\([^()]*\)|\[[^\[\]]*\]|"
                    r"[-+]?(?:\d[\w.+-]*|inf|nan)\b|True\b|False\b|None\b)")


_MUST = re.compile(r"(?<![\w\-'])(" + "|".join(_FLAG_KWARGS) + r") must be\b")


def _kwarg_flag(m: re.Match) -> str:
    """``name=value`` (a library keyword argument) -> ``--name value`` (its flag)."""
    flag, value = "--" + m.group(1).replace("_", "-"), m.group(2)
    if value == "True":
        return flag
    if value in ("False", "None"):
        return f"no {flag}"
    if value[0] in "([":                 # a tuple or list: the flag's several values
        if m.group(1) == "init":         # Param(init=(a, b)): a law's own code, no flag
            return m.group(0)
        items = [v.strip().strip("'\"") for v in value[1:-1].split(",")]
        return f"{flag} {' '.join(v for v in items if v)}"
    return f"{flag} {value.strip(chr(39) + chr(34))}"


_NOT_NUMBERS = re.compile(r"convert it with pd\.to_numeric\(df\[('(?:[^'\\]|\\.)*'|"
                          r"\"(?:[^\"\\]|\\.)*\")\]\) or map another column")
_COMMA_FIX = re.compile(r"(?:convert it with )?pd\.to_numeric\(df\[.*?\]\.str\.replace"
                        r"\(',', '\.?'\)\), or ")
_COMPLEX = re.compile(r"pass df\[.*?\]\.to_numpy\(\)\.real if the imaginary parts are zero")


def _dropna_where(m: re.Match) -> str:
    return (f'e.g. --where "abs({_name(ast.literal_eval(m.group(1)))}) < inf" (keeps the '
            'rows where it is finite)')


def _name(col) -> str:
    """A column as a --where query names it (odd names in backticks)."""
    return col if isinstance(col, str) and col.isidentifier() else f"`{col}`"


def _fillna_where(m: re.Match) -> str:
    name = _name(ast.literal_eval(m.group(1)))
    return (f'Fill them in the file, or drop those rows, e.g. --where "{name} == {name}" '
            "(keeps the rows where it is not missing).")


def _shell(word: str) -> str:
    """``word`` as typed in a shell (quoted where it holds spaces), `map_example`'s
    ``<column>`` placeholder as COLUMN."""
    return shlex.quote(word.replace("<column>", "COLUMN"))


def _cli_words(text: str) -> str:
    """A library message with its hints in the command line's vocabulary."""
    for python, flag in _CLI_WORDS:
        text = text.replace(python, flag)
    # `jaxfit.data.map_example`: e.g. x={'C': 'compute'}, y='loss' -> --x C=compute --y loss
    # (a column name with spaces is quoted as a shell needs it: "--y ' loss'"); several
    # pairs (`jaxfit.data._distinct_columns`): --x N=params D=COLUMN
    text = re.sub(r"e\.g\. x=\{('[^']*': '[^']*'(?:, '[^']*': '[^']*')*)\}",
                  lambda m: "e.g. --x " + " ".join(
                      _shell(f"{k}={v}") for k, v in re.findall(r"'([^']*)': '([^']*)'", m[1])),
                  text)
    text = re.sub(r"(map them, e\.g\. --x (?:'[^']*'|\S+)), y='([^']*)'",
                  lambda m: f"{m[1]} --y {_shell(m[2])}", text)
    text = re.sub(r"(map them, e\.g\. )y='([^']*)'",
                  lambda m: f"{m[1]}--y {_shell(m[2])}", text)
    # `jaxfit.data.numeric_values`: df.dropna(subset=[col]) -> a --where filter (for
    # --at values, which no filter reaches: finite values)
    if text.startswith("--at"):
        return re.sub(r"; drop or fill them first, e\.g\. df\.dropna\(subset=\[.*?\]\)",
                      "; give finite values", text)
    # `jaxfit.decide.optimal._check_law`: the law's (model size, tokens) inputs
    text = re.sub(r"pass inputs=\('([^']*)', '([^']*)'\)", r"pass --inputs \1 \2", text)
    text = text.replace("pass inputs=(model size, tokens)", "pass --inputs SIZE TOKENS")
    # `jaxfit.recipes.emergence.emergence_or_elbow`: options a demonstration fixes
    text = re.sub(r"options \[([^\]]*)\] need data:",
                  lambda m: "options " + ", ".join(
                      "--" + n.strip(" '") for n in m.group(1).split(",")) + " need DATA:",
                  text)
    # `jaxfit.recipes.points.check_fraction`: accuracy in percent
    text = re.sub(r"divide by 100, e\.g\. data\.assign\(.*? / 100\)",
                  "divide the column by 100 in the file", text)
    # `jaxfit.data.numeric_dtype`: a column of text, commas or complex numbers
    text = _NOT_NUMBERS.sub(r"write numbers in the file's \1 column (e.g. 1e9, not 1B) or "
                            r"name another column", text)
    text = re.sub(r"convert it with df\[(.*?)\]\.astype\(float\) \(True -> 1\.0, False -> "
                  r"0\.0\) or map another column",
                  r"write 1 and 0 in the file's \1 column, not True and False, or name another "
                  r"column", text)
    text = _COMMA_FIX.sub("", text)
    # `jaxfit.checks.duplicate_rows`: rows that repeat another row exactly
    text = re.sub(r"drop them first: df\.drop_duplicates\(subset=\[.*?\]\); (if they are real "
                  r"repeated measurements, ignore this warning) \(jaxfit\.warnings\."
                  r"DuplicateWarning\)", r"remove the repeated rows from the file first; \1",
                  text)
    text = _COMPLEX.sub("save the real parts in the file if the imaginary parts are zero",
                        text)
    text = re.sub(r"Rename (?:your columns|yours), e\.g\. df\.rename\(columns=\{[^}]*\}\)",
                  "Rename the file's columns", text)
    # `jaxfit.data`: a by column with missing values, or named as a result's column
    text = re.sub(r"Fill them, e\.g\. df\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]"
                  r"\.fillna\('unknown'\)\.", _fillna_where, text)
    text = re.sub(r"rename the by column \(e\.g\. df\.rename\(columns=\{(.*?): 'task'\}\)\)",
                  r"rename the by column in the file (e.g. \1 to 'task')", text)
    # `jaxfit.recipes.emergence`: rows with missing task labels or values
    text = re.sub(r"drop or label those rows, e\.g\. df\.dropna\(subset=\["
                  r"('(?:[^'\\]|\\.)*')\]\)\.",
                  lambda m: _fillna_where(m).replace("Fill them in the file, or drop those rows",
                                                     "drop or label those rows"), text)
    text = re.sub(r"drop them first, e\.g\. df\.dropna\(subset=\[('[^']*'), ('[^']*')\]\)",
                  lambda m: "drop them from the file, or select the other rows with --where "
                  "(missing values: e.g. \"{0} == {0} and {1} == {1}\")".format(
                      *(_name(ast.literal_eval(g)) for g in m.groups())), text)
    # `jaxfit.io.load` given a --law other than the file's
    text = re.sub(r"pass the law it was saved from, e\.g\. (.+?)\.(?=\s|$)",
                  r"drop --law (the file rebuilds its own law), or give the law it was saved "
                  r"from: a --law module:function returning \1.", text)
    text = re.sub(r"pass the law it was saved from\.(?=\s|$)",
                  "drop --law (the file rebuilds its own law), or give the law it was saved "
                  "from.", text)
    # `jaxfit.backtest.check_pooled`: the Python call beside the command line's flag
    text = re.sub(r"another label, summary\(pooled='[^']*'\) \(jaxfit backtest (--pooled "
                  r"[^)]*)\)", r"another label (\1)", text)
    # keyword arguments the command line sets with a flag: prob=1.5 -> --prob 1.5
    text = _KWARG.sub(_kwarg_flag, text)
    text = _MUST.sub(lambda m: "--" + m.group(1).replace("_", "-") + " must be", text)
    return re.sub(r"e\.g\. df\.dropna\(subset=\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]\)",
                  _dropna_where, text)


def _call(fn, *args, **kwargs):
    """Run ``fn``; its ValueError/TypeError (bad input) becomes an `InputError`."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError, KeyError) as e:
        raise InputError(str(e)) from None


def _import(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def _law(spec: str):
    from jaxfit.io import get_law

    try:
        law = _call(get_law, spec)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - a user's law module failing is bad input
        raise InputError(f"--law {spec!r} could not be built: {type(e).__name__}: {e}") \
            from None
    if ":" not in spec and spec.partition("(")[0].strip() in BUILTIN_LAWS:
        # a law built from jaxfit's own source: its programs may be stored across
        # processes (`jaxfit.inference.cache.enable_persistent`)
        object.__setattr__(law, "cache_token", ("law", "".join(spec.split())))
    return law


# ------------------------------------------------------------------------------ input

_PARQUET = ("Parquet needs pyarrow (or fastparquet): pip install 'jaxfit-scaling[parquet]', "
            "or use a CSV file")


#: File suffixes that are not tables jaxfit reads, and what they are.
_NOT_TABLES = {".json": "a JSON file", ".nc": "a netCDF file", ".xlsx": "an Excel workbook",
               ".xls": "an Excel workbook", ".ods": "an OpenDocument spreadsheet"}
_NOT_TABLE_FIX = {
    "a JSON file": "a fit saved with --save is read by jaxfit predict FIT.json",
    "a netCDF file": "a posterior saved with --save is read by jaxfit predict POST.nc"}


def _duplicate_header(path: Path, df: pd.DataFrame, source: str) -> None:
    """InputError when the file's header names a column twice. pandas reads the second
    'N' as 'N.1', so the command line used the first without a word (``jaxfit.fit``
    refuses duplicated columns)."""
    names = [str(c) for c in df.columns]
    if not any(re.fullmatch(r"(.+)\.\d+", c) and re.fullmatch(r"(.+)\.\d+", c).group(1)
               in names for c in names):
        return
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    fields = header.iloc[0].tolist()
    dup = next((f for f in fields if f and fields.count(f) > 1), None)
    if dup is not None:
        at = [i + 1 for i, f in enumerate(fields) if f == dup]
        raise InputError(f"{source!r} names column {dup!r} {len(at)} times (header fields "
                         f"{at}); rename or drop the duplicates in the file (the second would "
                         f"be read as {dup + '.1'!r})")


#: `jaxfit.io.saved_kind`'s kinds as `_NOT_TABLES` names them.
_SAVED_FILE = {"fit": _NOT_TABLES[".json"], "posterior": _NOT_TABLES[".nc"]}


def _saved_file(path: Path) -> str | None:
    """"a JSON file" or "a netCDF file" when ``path`` holds a result `jaxfit.io.save`
    wrote (`jaxfit.io.saved_kind`), whatever its name; else None. ``--save`` takes any
    file name, so ``--save fit.out`` was read as a CSV when given as DATA or SOURCE:
    "missing column(s) ... the data has columns ['{']"."""
    from jaxfit.io import saved_kind

    return _SAVED_FILE.get(saved_kind(path))


def _read(source: str) -> pd.DataFrame:
    from jaxfit import datasets

    if source in datasets.names():
        return datasets.load(source)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source!r} is neither a file nor an embedded dataset "
                         f"({', '.join(datasets.names())})")
    kind = _NOT_TABLES.get(path.suffix.lower()) or _saved_file(path)
    if kind:
        # before: read as CSV, a saved fit gave "the data has columns ['{']" and a
        # workbook a UnicodeDecodeError
        raise InputError(f"{source!r} is {kind}, not data: DATA is a CSV or Parquet file or "
                         f"an embedded dataset; {_NOT_TABLE_FIX.get(kind, 'save it as CSV')}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        df = pd.read_csv(path)
        _duplicate_header(path, df, source)
        if len(df.columns) == 1:
            sep = next((c for c in (";", "\t", "|") if c in str(df.columns[0])), None)
            if sep:
                raise InputError(f"{source!r} reads as one column {str(df.columns[0])!r}: its "
                                 f"fields are separated by {sep!r}, not commas; save it as a "
                                 "comma-separated CSV")
        return df
    except InputError:
        raise
    except ImportError:
        raise InputError(f"cannot read {source!r}: {_PARQUET}") from None
    except Exception as e:  # noqa: BLE001 - any reader failure is bad input
        raise InputError(f"cannot read {source!r}: {type(e).__name__}: {e}") from None


def _pairs(pairs, flag: str) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise InputError(f"{flag} expects NAME=VALUE pairs, got {pair!r}")
        if name in out:
            raise InputError(f"{flag} gives {name} twice ({name}={out[name]}, {pair}); give "
                             f"each name once, several values comma-separated: "
                             f"{name}={out[name]},{value}")
        out[name] = value
    return out


def _empty_cells(df: pd.DataFrame, where: str) -> str:
    """Why a True/False column that ``where`` names is not one: a CSV column of True and
    False with empty cells reads as object (True, False, NaN), and ``not col`` fails with
    "bad operand type for unary ~: 'float'"."""
    from jaxfit.data import row_labels

    for c in df.columns:
        name = _name(c)
        if not re.search(rf"(?<![\w`]){re.escape(name)}(?![\w`])", where):
            continue
        s = df[c]
        if s.dtype == object and s.isna().any():
            bad = s.isna().to_numpy()
            return (f"; column {c!r} has {int(bad.sum())} empty cell(s) (rows "
                    f"{row_labels(df, bad)}), so its values are not all True/False: fill "
                    f"them in the file, or compare, e.g. --where \"{name} == True\" or "
                    f"\"{name} != True\"")
    return ""


def _assign_fix(where: str) -> str:
    """The fix of a --where condition written with ``=`` (an assignment) for ``==``, or ""
    when it has none (an ``=`` in quoted text or a backticked column name is kept)."""
    parts = re.split(r"""('[^']*'|"[^"]*"|`[^`]*`)""", where)
    fixed = "".join(p if i % 2 else re.sub(r"(?<![=!<>])=(?!=)", "==", p)
                    for i, p in enumerate(parts))
    return f"; = assigns, == compares: write --where {fixed!r}" if fixed != where else ""


def _select(df: pd.DataFrame, where: str | None,
            mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """The rows of ``df`` that ``--where`` selects; ``mapping``: the --x mapping (law
    input -> column), to say so when the condition names a mapped input."""
    if not where:
        return df
    try:
        mask = df.eval(where)
        if not (isinstance(mask, pd.Series) and pd.api.types.is_bool_dtype(mask)
                and mask.index.equals(df.index)):
            # df.query takes any other values as row labels: a 0/1 column ("--where
            # final") selected rows 0 and 1 over and over, and the fit ran on those copies
            what = f"{mask.dtype} values" if isinstance(mask, pd.Series) else \
                f"a {type(mask).__name__}"
            # an assignment ("task = 'x'") gives a frame: before, the fix said "task = 'x'
            # == 1"
            fix = _assign_fix(where) if isinstance(mask, pd.DataFrame) else (
                _empty_cells(df, where) or f"; write a comparison, e.g. --where \"{where} == 1\"")
            raise InputError(f"--where {where!r} is not a condition: it gives {what}, not "
                             f"True or False for each row{fix}")
        out = df[mask]
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001
        cols = ""
        if type(e).__name__ == "UndefinedVariableError":
            from jaxfit.data import did_you_mean

            m = re.search(r"name '(.+?)' is not defined", str(e))
            near = did_you_mean([m.group(1)], df.columns) if m else ""
            name = m.group(1) if m else None
            tip = " (quote odd names in backticks, e.g. `my col` > 1)"
            if name in (mapping or {}) and mapping[name] in df.columns:
                # --x N=params --where "N > 1e8": the law's name, not the file's column
                # every mapped input at once (no chains: --x N=D D=tokens), a name that
                # is a column of the file kept, an odd column name in backticks
                names = {k: v if v.isidentifier() else f"`{v}`" for k, v in mapping.items()
                         if v in df.columns and k not in df.columns}
                fixed = re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")\b",
                               lambda g: names[g[1]], where)
                near = (f"; --where reads the data's columns, and --x {name}={mapping[name]} "
                        f"reads {name} from {mapping[name]!r}: write --where {fixed!r}")
                tip = ""
            cols = f"; the data has columns {list(df.columns)}{near}{tip}"
        elif fix := _assign_fix(where):
            # "task = 'x' and N > 1": "NotImplementedError: cannot evaluate scalar only bool
            # ops", no fix
            cols = fix
        elif isinstance(e, SyntaxError):
            # before: "failed: SyntaxError: invalid syntax (<unknown>, line 1)", no fix
            cols = ("; --where takes a pandas condition on the data's columns, e.g. --where "
                    "\"N > 1e8 and task == 'piqa_val'\" (text quoted)")
        raise InputError(f"--where {where!r} failed: {type(e).__name__}: {e}{cols}"
                         f"{_empty_cells(df, where)}") from None
    if len(out) == 0:
        raise InputError(f"--where {where!r} selected no rows (of {len(df)}); check the "
                         "condition and the column's values")
    return out


def _value(v: str):
    try:
        return float(v)
    except ValueError:
        return v


def _at(pairs, law, mapping, flag: str = "--at") -> pd.DataFrame | None:
    """``--at N=7e9,7e10 D=4e12,1e13`` (or ``--target``) -> rows; law input names map to
    their columns."""
    if not pairs:
        return None
    cols = {}
    for name, values in _pairs(pairs, flag).items():
        cols[mapping.get(name, name)] = [_value(v) for v in values.split(",")]
    lengths = {len(v) for v in cols.values()}
    if len(lengths - {1}) > 1:
        raise InputError(f"{flag}: give every name the same number of comma-separated values, "
                         f"got {{{', '.join(f'{k}: {len(v)}' for k, v in cols.items())}}}")
    n = max(lengths)
    return pd.DataFrame({k: v * n if len(v) == 1 else v for k, v in cols.items()})


def _by(by):
    return by if not by or len(by) > 1 else by[0]


class _UserPath(str):
    """A path option's value with a leading ``~`` (``~user``) expanded to the home
    directory: the string is the path the command reads or writes, its ``repr`` (which the
    error messages quote) the text as given. A shell expands ``~`` only at the start of a
    word, so ``--save=~/fit.json`` reached the command as typed, and it read or wrote a
    directory named ``~`` in the working directory (or refused it: "directory '~' does not
    exist")."""

    given: str

    def __new__(cls, text: str) -> Self:
        self = super().__new__(cls, os.path.expanduser(text))
        self.given = text
        return self

    def __repr__(self) -> str:
        return repr(self.given)


def _given(path):
    """A path option's value as the user gave it (`_UserPath.given`; else ``path``), for
    messages that name it unquoted."""
    return getattr(path, "given", path)


#: argparse ``type=`` of every option and argument that names a file or directory (DATA,
#: MODEL, SOURCE, --save, --plot, --out, ...).
_path = _UserPath


#: Arguments of the commands that name files they read (DATA, MODEL, --candidates).
_INPUT_ARGS = ("data", "model", "source", "candidates")


def _inputs(args) -> list[str]:
    """The existing files a command reads (its DATA, MODEL or --candidates arguments)."""
    names = (getattr(args, a, None) for a in _INPUT_ARGS)
    return [n for n in names if isinstance(n, str) and n and Path(n).is_file()]


def _writable(path: str | None, flag: str, inputs=()) -> None:
    """Fail (exit 2) before any fitting when ``path`` cannot be written, or is one of the
    files the command reads (``inputs``: writing there would replace the user's data)."""
    if not path:
        return
    import tempfile

    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag} {path!r} is a directory; give a file path")
    if path.endswith(("/", os.sep)):
        # before: `--save results/` wrote a file named 'results'
        raise InputError(f"{flag} {path!r} ends in {path[-1]!r}, so it names a directory; "
                         "give a file path")
    same = next((i for i in inputs if p.exists() and os.path.samefile(p, i)), None)
    if same is not None:
        raise InputError(f"{flag} {path!r} is the input file {same!r}: writing it would "
                         "replace your data; give another path, e.g. "
                         f"{flag} {_other_name(p, flag)}")
    if not p.parent.is_dir():
        base = next((a for a in p.parents if a.exists()), None)
        if base is not None and not base.is_dir():
            # before: "directory 'runs.csv' does not exist; create it first", of a file
            raise InputError(f"{flag} {path!r}: {str(base)!r} is a file, not a directory; "
                             "give a path in a directory")
        raise InputError(f"{flag} {path!r}: directory {str(p.parent)!r} does not exist; "
                         "create it first")
    if flag in _FIGURE_FLAGS:
        _figure_format(Path(_given(path)), flag)
    try:
        with tempfile.TemporaryFile(dir=p.parent):
            pass
        if p.exists() and not os.access(p, os.W_OK):
            raise PermissionError(f"{path!r} is read-only")
    except OSError as e:
        raise InputError(f"{flag} {path!r} is not writable ({e}); choose another path") from None


#: The flags that name a figure's file (`_figure_format`).
_FIGURE_FLAGS = ("--plot", "--residuals", "--pairs")


def _figure_format(p: Path, flag: str) -> None:
    """Fail before any fitting when a figure's file name ``p`` (as the user gave it) has no
    format matplotlib writes.
    Before, ``--plot fit.pgn`` failed after the fit (and after ``--save`` wrote its file),
    and ``--plot fit`` wrote ``fit.png`` while saying "wrote fit"."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    ext = p.suffix[1:].lower()
    if ext not in formats:
        what = f"format {ext!r}" if ext else "no format (no file extension)"
        raise InputError(f"{flag} {str(p)!r} names {what}; give one of {', '.join(formats)}, "
                         f"e.g. {flag} {p.with_suffix('.png') if ext else str(p) + '.png'}")


def _distinct_outputs(outputs: dict) -> None:
    """Fail before any fitting when two output flags (flag -> path or None) name one file:
    the later output would replace the earlier one. Before, ``--plot fit.png --residuals
    fit.png`` (or ``--save fit.png --plot fit.png``) said "wrote fit.png" twice and kept
    only the last."""
    seen = {}
    for flag, path in outputs.items():
        if not path:
            continue
        key = Path(path).resolve()
        if key in seen:
            first = seen[key]
            raise InputError(f"{flag} {path!r} is the file {first} {outputs[first]!r} writes: "
                             f"the one would replace the other; give each its own path, e.g. "
                             f"{flag} {_other_name(Path(_given(path)), flag)}")
        seen[key] = flag


def _other_name(p: Path, flag: str) -> str:
    """A path beside ``p`` for ``flag``'s output (``runs.csv`` -> ``runs_out.csv``)."""
    suffix = {"--save": p.suffix or ".json", "--plot": ".png", "--residuals": ".png",
              "--pairs": ".png"}.get(flag, p.suffix or ".csv")
    return str(p.with_name(f"{p.stem}_{flag.lstrip('-')}{suffix}"))


def _writable_dir(path: str | None, flag: str) -> None:
    """Fail before any work when directory ``path`` cannot be created or written."""
    if not path:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{flag} {path!r} exists and is not a directory")
    if not p.exists() and p.suffix.lower() in (".csv", ".json", ".parquet", ".pq", ".tsv"):
        # before: a directory named res.csv, holding table.csv, predictions.csv, ...
        raise InputError(f"{flag} {path!r} names a file, but {flag} is a directory that gets "
                         f"one CSV per table ({p.with_suffix('') / 'table.csv'}, ...); give "
                         f"a directory, e.g. {flag} {p.with_suffix('')}, or --json > "
                         f"{p.with_suffix('.json')} for every table in one file")
    base = p
    while not base.exists():
        base = base.parent
    if not base.is_dir() or not os.access(base, os.W_OK):
        raise InputError(f"{flag} {path!r}: {str(base)!r} is not a writable directory")


def _checked_points(pairs, law, mapping, flag: str = "--at", by=()) -> pd.DataFrame | None:
    """``--at`` (or ``--target``) rows, validated before any fitting: known names only,
    every law input given, numbers, finite (> 0 for inputs the law takes the log of)."""
    from jaxfit.checks import prediction_inputs

    at = _at(pairs, law, mapping, flag)
    if at is None:
        return None
    cols = {mapping.get(n, n): n for n in law.inputs}
    extra = [c for c in at.columns if c not in cols and c not in (by or [])]
    if extra:
        raise InputError(f"{flag} names {extra}, which are not inputs of law {law.name!r} "
                         f"(its inputs: {list(law.inputs)})")
    missing = [n for c, n in cols.items() if c not in at.columns]
    if missing:
        example = " ".join(f"{n}=VALUE" for n in law.inputs)
        raise InputError(f"{flag}: missing value(s) for input(s) {missing} of law "
                         f"{law.name!r}; give every input, e.g. {flag} {example}")
    given = _pairs(pairs, flag)
    for c, n in cols.items():
        text = [v for v in at[c] if isinstance(v, str)]
        if text:
            # the pair as typed, and the value in it ("--at N=1e9,": before, "--at N= is not
            # a number", of a trailing comma)
            raw = given.get(n, given.get(c, text[0]))
            what = (f"{flag} {n}={text[0]}" if raw == text[0] else
                    f"{flag} {n}={raw}: {text[0]!r}" + (" (an empty value: a trailing or "
                                                        "doubled comma)" if not
                                                        text[0].strip() else ""))
            raise InputError(f"{what} is not a number; give a number, e.g. {flag} {n}=1e10 "
                             "(comma-separated for several rows)")
    _call(prediction_inputs, law, at, mapping, where=flag)
    return at


def _checked_at(args, law, mapping) -> pd.DataFrame | None:
    """``--at`` rows of ``args``, validated (`_checked_points`)."""
    return _checked_points(args.at, law, mapping, "--at", args.by)


def _precheck(args, law, mapping, df: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Everything the command line can check before a fit: output paths, ``--at`` (with
    ``df``, the data to fit: that its task columns name tasks of the data), ``--prob``."""
    outputs = {f"--{flag}": getattr(args, flag, None)
               for flag in ("save", "plot", "residuals", "pairs")}
    for flag, path in outputs.items():
        _writable(path, flag, _inputs(args))
    _distinct_outputs(outputs)
    if getattr(args, "prob", None) is not None:
        from jaxfit.posterior import _check_prob

        _call(_check_prob, args.prob)
    at = _checked_at(args, law, mapping)
    if at is not None and df is not None:
        _check_at_tasks(at, df, args.by)
    return at


def _check_at_tasks(at: pd.DataFrame, df: pd.DataFrame, by) -> None:
    """``--at`` rows that give the ``--by`` column(s) name tasks of ``df``: a typo there
    failed only after the fit, which was then neither printed nor saved."""
    from jaxfit.data import task_columns
    from jaxfit.predictions import task_positions, task_rows

    cols = task_columns(_by(by))
    if not cols or not all(c in df.columns for c in cols):
        return
    tasks = df.groupby(cols if len(cols) > 1 else cols[0], sort=True, observed=True).size().index
    if not all(c in at.columns for c in cols):
        # rows with some of several --by columns: refused by predict, after the fit
        _call(task_rows, tasks, _by(by), at, "--at")
        return
    try:
        task_positions(tasks, at, _by(by), where="--at")
    except ValueError as e:
        text = (str(e).replace("rows name tasks that were not fitted",
                               "row(s) name tasks that are not in the data")
                .replace("fitted tasks:", "the data's tasks:").rstrip("."))
        first = tasks[0] if isinstance(tasks[0], tuple) else (tasks[0],)
        example = " ".join(f"{c}={v}" for c, v in zip(cols, first))
        raise InputError(f"{text}; give one of them, e.g. --at ... {example}") from None


def _save(result, path: str | None, spec: str | None) -> None:
    if not path:
        return
    from jaxfit.io import save

    try:
        save(result, path, law_spec=spec)
    except OSError as e:
        raise InputError(f"cannot write --save {path!r}: {e}") from None
    print(f"wrote {path}", file=sys.stderr)          # as --plot, --out


# ------------------------------------------------------------------------------ output

def _print_frame(df: pd.DataFrame, title: str | None = None) -> None:
    with pd.option_context("display.width", 160, "display.max_columns", 30,
                           "display.max_rows", 200, "display.float_format", "{:.6g}".format):
        if title:
            print(title)
        print(df.to_string())


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    from jaxfit.recipes.protocol import flat

    return flat(df)


def _records(df: pd.DataFrame) -> list[dict]:
    from jaxfit.recipes.protocol import records

    return records(df)


#: `Posterior.warn`'s advice in `jaxfit sample`'s flags, or where a Python-only option is
#: (only there: a recipe's posterior has other flags, `_RECIPE_WORDS`).
_SAMPLE_WORDS = (
    ("use chains >= 2, 4 is usual", "use --chains 2 or more, 4 is usual"),
    ("raise warmup/samples", "raise --warmup/--samples"),
    ("(sample's extend=)", "(jaxfit sample does so itself)"),
    ("the poorly identified parameters (priors=)",
     ("the poorly identified parameters (Param(prior=...) in a law module given as --law "
      "module:function)")),
    ("raise max_steps, or use starts='restarts' (multi-start refits)",
     ("raise max_steps or use starts='restarts' (multi-start refits) of jaxfit.bootstrap in "
      "Python (the command line has no flags for them), or use --method nuts")),
    ("See Posterior.diagnostics.",
     "See the diagnostics table (--json: each task's \"diagnostics\")."),
    # `Posterior.warn`'s non-finite draws (each parameter's count precedes it)
    ("; see Posterior.flat)", "; the summary table shows them as inf or NaN)"),
    # `jaxfit.sample.warn_exponent_prior`
    ("Give a prior for the exponents you expect (priors=), or compare with "
     "jaxfit.bootstrap, which has no prior.",
     "Give a prior for the exponents you expect (Param(prior=...) in a law module given as "
     "--law module:function), or compare with --method bootstrap, which has no prior."),
)


#: Where the recipes' Python-only remedies are (`_RECIPE_WORDS`).
_RECIPE_PYTHON = ("no flag on the command line; from Python, on a refit of the recipe's "
                  "points")

#: `Posterior.warn`'s and the recipes' advice in a recipe command's words: the recipes'
#: draws, priors and solvers are options of their Python functions, with no flag (the
#: generic words read "raise warmup/samples", "(priors=)", "See result.step1['status']").
_RECIPE_WORDS = (
    ("raise warmup/samples, add data or informative priors on the poorly identified "
     "parameters (priors=), or fit a law with fewer parameters",
     "add data; more draws (sample_options={'warmup': ..., 'samples': ...}) and priors "
     "(priors=...) are arguments of the recipe's Python function (jaxfit.recipes), with no "
     "flag on the command line"),
    ("use chains >= 2, 4 is usual", "4 chains are usual, set in sample_options= of the "
                                    "recipe's Python function, with no flag on the command "
                                    "line"),
    ("raise max_steps, or use starts='restarts' (multi-start refits)",
     "add data; the refits' solver (max_steps, starts='restarts') is set in Python only "
     "(jaxfit.bootstrap), with no flag on the command line"),
    ("(see result.are['status'])", "(see the table's status column)"),
    *((f"pass e.g. {t}_options={{'max_steps': ...}}. See result.{t}['status'].",
       f"its step cap is an argument of the recipe's Python function (jaxfit.recipes.ladder."
       f"ladder({t}_options={{'max_steps': ...}})), with no flag on the command line. See "
       f"the {t} table's status column (--out DIR or --json).") for t in ("step1", "step2")),
    *((f"See result.{t}['design'].", f"See the {t} table's design column (--out DIR or "
                                     "--json).") for t in ("step1", "step2")),
    ("See Posterior.diagnostics.", "See the posterior's diagnostics in the tables (--out DIR "
                                   "or --json)."),
    # `Posterior.warn`'s chains continued (before: "(sample's extend=)", a Python option of
    # jaxfit.sample, in `jaxfit emergence`'s warning)
    ("(sample's extend=)", "(the recipe's sampler does so itself)"),
    # `jaxfit.inference.design`'s advice (a recipe has no --law: the generic words, "in a
    # law module given as --law module:function", named a flag the recipes lack)
    ("fix parameters with jaxfit.fix (or share them across tasks with jaxfit.share)",
     f"fix or share parameters ({_RECIPE_PYTHON}: jaxfit.fix, jaxfit.share)"),
    ("fix one of them with jaxfit.fix, or share it across tasks with jaxfit.share",
     f"fix or share one of them ({_RECIPE_PYTHON}: jaxfit.fix, jaxfit.share)"),
    ("fix it with jaxfit.fix, or share it across tasks with jaxfit.share",
     f"fix it or share it across tasks ({_RECIPE_PYTHON}: jaxfit.fix, jaxfit.share)"),
    ("fix parameters with jaxfit.fix, or use jaxfit.sample.",
     f"fix parameters or draw an MCMC posterior ({_RECIPE_PYTHON}: jaxfit.fix, "
     "jaxfit.sample)."),
    ("See FitResult.to_frame()['design'].", "See the design column of the recipe's fit "
                                            "tables (--out DIR or --json)."),
)
#: ... and those of one recipe, applied first.
_RECIPE_OWN_WORDS = {
    # `jaxfit.recipes.ladder`: step 1 has one point per ladder run; a target that is also a
    # ladder run (`_warn_leak`)
    "ladder": (
        ("Fix: add points, or fix parameters", "Fix: add points (step 1 has one per ladder "
                                               "run: more runs in DATA, or name more with "
                                               "--ladder-runs), or fix parameters"),
        ("Drop them from `targets` or from `ladder_runs`.",
         "Drop them from --targets or from --ladder-runs."),
        # `_warn_refits`, with --intervals
        ("See result.predictions['bootstrap_converged'].",
         "See the predictions table's bootstrap_converged column (--out DIR or --json)."),
        # the calibration's backtest (`ladder_backtest`): the generic words named --restarts,
        # --init and --cuts, flags jaxfit ladder does not have
        ("Fix: raise max_steps or restarts (fit_options=), or give min_points= so small cuts "
         "are skipped.", "Fix: the calibration's fits take the steps' options, arguments of "
         "the recipe's Python function (jaxfit.recipes.ladder.ladder(step1_options="
         "{'max_steps': ...}, step2_options=...)), with no flag on the command line; or "
         "--calibrate none for the raw intervals."),
    ),
    # `jaxfit flp` runs the ladder on its sampling runs (--sampling-runs), through
    # `jaxfit.recipes.flp.flp_vs_ladder`, which takes the ladder's step options and holds
    # its result as `ladder`, whose step tables it writes as ladder_step1 and ladder_step2
    # (before, the generic words sent a user to jaxfit.recipes.ladder.ladder(step1_options=
    # ...), which flp_vs_ladder did not pass on, and to a step1 table jaxfit flp did not
    # write; then to jaxfit ladder, as jaxfit flp wrote no table of the ladder's steps)
    "flp": (
        ("Fix: add points, or fix parameters", "Fix: add points (stage 1 and the ladder's "
                                               "step 1 have one per sampling run: more runs "
                                               "in DATA, or name more with --sampling-runs), "
                                               "or fix parameters"),
        ("Drop them from `targets` or from `sampling_runs`.",
         "Drop them from --targets or from --sampling-runs."),
        *((f"pass e.g. {t}_options={{'max_steps': ...}}.",
           f"the ladder's step cap is an argument of the recipe's Python function "
           f"(jaxfit.recipes.flp.flp_vs_ladder({t}_options={{'max_steps': ...}})), with no "
           "flag on the command line; --no-ladder drops the comparison.") for t in
          ("step1", "step2")),
        *((f"See result.ladder.{t}['{col}'].",
           f"See the ladder_{t} table's {col} column (--out DIR or --json).")
          for t in ("step1", "step2") for col in ("status", "design")),
    ),
    "emergence": (
        ("Fix: raise warmup/samples, ", "Fix: drop the posterior with --no-posterior (the "
                                        "bootstrap remains), or raise warmup/samples, "),
        ("See Posterior.diagnostics.", "See the table's r_hat, divergences and "
                                       "bootstrap_converged columns (--out DIR or --json)."),
    ),
}
#: `jaxfit emergence --bootstrap 0`'s, in place of ``_RECIPE_OWN_WORDS["emergence"]``: no
#: bootstrap ran, so --no-posterior alone would leave no interval at all, and the table has
#: no bootstrap_converged column (before, its NUTS warning said "drop the posterior with
#: --no-posterior (the bootstrap remains)" all the same).
_EMERGENCE_WITHOUT_BOOTSTRAP = (
    ("Fix: raise warmup/samples, ", "Fix: draw bootstrap refits instead of the posterior "
                                    "(--no-posterior --bootstrap 200: this run had "
                                    "--bootstrap 0, so --no-posterior alone leaves no "
                                    "interval), or raise warmup/samples, "),
    ("See Posterior.diagnostics.", "See the table's r_hat and divergences columns (--out "
                                   "DIR or --json)."),
)


def _recipe_words(recipe: str, bootstrap: bool = True) -> tuple:
    """The (Python text, command-line text) pairs for the warnings of ``recipe``;
    ``bootstrap``: whether the run drew a bootstrap (``jaxfit emergence --bootstrap 0``
    draws none, and its advice then says so: `_EMERGENCE_WITHOUT_BOOTSTRAP`)."""
    own = _RECIPE_OWN_WORDS.get(recipe, ())
    if recipe == "emergence" and not bootstrap:
        own = _EMERGENCE_WITHOUT_BOOTSTRAP
    return own + _RECIPE_WORDS


def _options_json(kwargs: dict) -> dict:
    """A recipe's options as JSON values: numbers, strings, lists; a non-finite number
    (``--max-target-loss inf``) as null, as in the tables (before: json.dumps with
    allow_nan=False raised after the recipe had run, and nothing was printed)."""
    from jaxfit.io import _jsonable

    return _jsonable(kwargs)


def _emit_json(doc: dict) -> None:
    print(json.dumps(doc, indent=2, allow_nan=False))


def _savefig(fig, path: str) -> None:
    try:
        fig.savefig(path, dpi=max(150, fig.dpi))     # jaxfit.plot_style.DPI or more
    except (OSError, ValueError) as e:
        raise InputError(f"cannot write plot {path!r}: {e}") from None
    print(f"wrote {path}", file=sys.stderr)


def _title(law) -> str:
    """``name: formula``, or the name alone for a law without a formula."""
    return f"{law.name}: {law.formula}" if law.formula else law.name


#: A point fit's `Status` advice in the commands other than ``jaxfit fit``: they have no
#: --max-steps, and their --method chooses the posterior or the optimum, not the solver
#: (the generic translation read "raise --max-steps", "try `--method lbfgs`").
_POINT_FIT_WORDS = (
    ("raise `max_steps` or give better starts (`init=`, more `restarts`)",
     "refit the same data with jaxfit fit and raise its --max-steps or give better starts "
     "(--init, more --restarts)"),
    ("try `method='lbfgs'`, another `loss`, or fix a poorly identified parameter",
     "refit the same data with jaxfit fit --method lbfgs or another --loss, or fix a poorly "
     "identified parameter"),
    # `jaxfit.fit.warn_design` of `jaxfit sample`'s full-data fit, whose table is not shown
    ("See FitResult.to_frame()['design'].", "See the design column of jaxfit fit's table "
                                            "on the same data and flags."),
)


def _warnings(caught, words=(), fit: bool = False) -> None:
    """Print each caught warning once, one line, in the command line's words (``words``:
    the command's own (Python text, flag text) pairs, applied first; ``fit``: the command
    is ``jaxfit fit``, whose flags set the point fit's solver, else `_POINT_FIT_WORDS`)."""
    seen = set()
    words = tuple(words) + (() if fit else _POINT_FIT_WORDS)
    for w in caught:
        msg = " ".join(str(w.message).split())
        if _cache_warning(msg):                 # one line at the end (_repair_compilation_cache)
            continue
        for python, flag in words:
            msg = msg.replace(python, flag)
        msg = _cli_words(msg)
        if msg not in seen:
            seen.add(msg)
            print(f"warning: {msg}", file=sys.stderr)


# ------------------------------------------------------------------------------ commands

def _data_and_law(args):
    law = _law(args.law)
    mapping = _pairs(args.x, "--x")
    return _select(_read(args.data), args.where, mapping), law, mapping


def _cmd_fit(args) -> int:
    import jaxfit as jf
    from jaxfit.io import fit_to_dict

    _fit_flags(args, args.loss == "huber", f"--loss {args.loss}", seeds_starts_only=True)
    df, law, mapping = _data_and_law(args)
    at = _precheck(args, law, mapping, df)
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"fitting {law.name} ({len(df)} rows)", args.quiet):
        warnings.simplefilter("always")
        res = _call(jf.fit, law, df, y=args.y, by=_by(args.by), x=mapping, loss=args.loss,
                    delta=args.delta, space=args.space, init=args.init,
                    restarts=args.restarts, seed=args.seed, method=args.method,
                    max_steps=args.max_steps)
    _warnings(caught, fit=True)
    # the fit's own warning named any task that did not converge: not again at --at
    pred = _call(res.predict, at, warn=False) if at is not None else None
    if args.json:
        _emit_json(fit_to_dict(res, args.law))
        _json_without_at(args, "jaxfit.fit/1, the file --save writes")
    else:
        _print_frame(res.to_frame(), f"{_title(law)}  ({len(df)} rows, "
                                     f"{len(res.tasks)} task(s))")
        if pred is not None:
            _print_frame(_long(at, pred, args.y, _by_list(args.by)), "\npredictions:")
    _save(res, args.save, args.law)
    if args.plot or args.residuals:         # matplotlib only when a figure is asked for
        from jaxfit.plot import plot_fit, plot_residuals
    with warnings.catch_warnings():
        # the fit's own warning named any task that did not converge: not again per figure
        # (before: a Python warning with its source line, once per curve drawn)
        warnings.filterwarnings("ignore", jf.warnings.UNCONVERGED, jf.warnings.ConvergenceWarning)
        if args.plot:
            _savefig(_call(plot_fit, res, df, at=at), args.plot)
        if args.residuals:
            _savefig(_call(plot_residuals, res, df), args.residuals)
    return 0 if res.converged.all() else 1


def _json_without_at(args, schema: str) -> None:
    """With ``--json``, ``--at`` predictions are printed nowhere: say where to get them."""
    if args.at:
        print(f"note: the --at predictions are not in the --json document ({schema}); as "
              f"JSON: --save FILE, then jaxfit predict FILE --at {' '.join(args.at)} --json",
              file=sys.stderr)


def _posterior_doc(post, spec: str, prob: float) -> dict:
    from jaxfit.io import _jsonable, _label, _law_block
    from jaxfit.result import task_rows

    summ = post.summary(prob=prob)
    diag = post.diagnostics
    tasks = []
    for i, task in enumerate(post.tasks):
        rows = task_rows(summ, task)
        params = {name: {k: _jsonable(v) for k, v in rows.loc[name].items()}
                  for name in rows.index}      # the drawn ones, then any fixed ones
        tasks.append({"task": _label(task), "params": params,
                      "diagnostics": {k: _jsonable(v) for k, v in diag.iloc[i].items()}})
    return {"schema": "jaxfit.posterior/1", "law": _law_block(post.law, spec),
            "method": post.method, "prob": prob, "options": _jsonable(dict(post.options)),
            "tasks": tasks}


def _temper(value: str):
    """``--temper``: "sandwich", "none" or a number (validated by `jaxfit.sample`)."""
    if value in ("sandwich", "none"):
        return value
    try:
        return float(value)
    except ValueError:
        return value        # jaxfit.sample names the option and the choices


#: `jaxfit sample`'s options of the samplers (NUTS, SVI, Laplace) and of the bootstrap,
#: with their defaults. Each defaults to None in the parser, so that `_sample_flags` tells
#: an option given (even at its default value) from one not given: an option of the other
#: kind given is refused, not silently ignored; then the defaults here are filled in.
_SAMPLER = {"chains": 4, "warmup": 1000, "samples": 1000, "likelihood": "huber",
            "target_accept": 0.95, "temper": "sandwich"}
_BOOTSTRAP = {"n": 1000}
#: ... of them, NUTS's own: SVI and Laplace draw ``chains * samples`` independent draws,
#: with no warm-up and no acceptance rate.
_NUTS_ONLY = ("warmup", "target_accept")


def _sample_flags(args) -> None:
    """Refuse a `jaxfit sample` option that ``--method`` does not use (e.g. ``--method
    bootstrap --samples 4000``, which drew the default 1,000 resamples; ``--method laplace
    --warmup 5000``, which has no warm-up), given at any value: at its default value too
    (``--method laplace --n 1000`` and ``--method bootstrap --likelihood huber`` passed
    unnoticed before). Then fills in the defaults (`_SAMPLER`, `_BOOTSTRAP`) of the options
    not given."""
    boot = args.method == "bootstrap"
    unused = (_SAMPLER if boot else
              {**_BOOTSTRAP, **{k: _SAMPLER[k] for k in _NUTS_ONLY if args.method != "nuts"}})

    def why(dest: str, value: str) -> str:
        if dest in _NUTS_ONLY and not boot:
            return (f"does not apply to --method {args.method} (NUTS's "
                    f"{'warm-up' if dest == 'warmup' else 'target acceptance rate'}: "
                    f"{args.method} draws --chains x --samples independent draws); "
                    "drop it, or use --method nuts")
        if boot:
            fix = (f"the bootstrap's resamples are --n (e.g. --n {value})" if dest == "samples"
                   else "drop it, or use --method nuts, svi or laplace")
            return ("does not apply to --method bootstrap (a bootstrap refits the point "
                    f"fit's loss); {fix}")
        return (f"is the bootstrap's resamples and does not apply to --method {args.method}; "
                f"use --method bootstrap --n {value}, or set the draws with --chains and "
                "--samples (draws per chain)")

    _unused(args, unused, why)
    _fill_defaults(args, {**_SAMPLER, **_BOOTSTRAP})


def _cmd_sample(args) -> int:
    from jaxfit.sample import bootstrap, sample
    from jaxfit.warnings import FAILED_DIAGNOSTICS, DiagnosticWarning

    _sample_flags(args)
    boot = args.method == "bootstrap"
    # the point fit's loss, and (but in a bootstrap) the Huber likelihood, take --delta
    _fit_flags(args, args.loss == "huber" or (not boot and args.likelihood == "huber"),
               f"--loss {args.loss}" + ("" if boot else f" with --likelihood {args.likelihood}"))
    df, law, mapping = _data_and_law(args)
    at = _precheck(args, law, mapping, df)
    common = dict(y=args.y, by=_by(args.by), x=mapping, space=args.space, seed=args.seed,
                  restarts=args.restarts, init=args.init)
    if args.method == "bootstrap":
        what = f"bootstrap: {args.n} refits"
        run = lambda: bootstrap(law, df, n=args.n, loss=args.loss, delta=args.delta,  # noqa
                                **common)
    else:
        what = f"{args.method}: {args.chains} chains x {args.warmup}+{args.samples}"
        run = lambda: sample(law, df, method=args.method, chains=args.chains,  # noqa: E731
                             warmup=args.warmup, samples=args.samples,
                             likelihood=args.likelihood, target_accept=args.target_accept,
                             temper=_temper(args.temper), loss=args.loss, delta=args.delta,
                             **common)
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"{what} draws ({law.name}, {len(df)} rows)", args.quiet):
        warnings.simplefilter("always")
        post = _call(run)
        # the draws' own warning (just caught) named tasks that failed their diagnostics:
        # not again for --at (`Posterior.predict`'s, only that one)
        warnings.filterwarnings("ignore", FAILED_DIAGNOSTICS, DiagnosticWarning)
        # inside the catch: a row without a predictive interval is a warning line too
        pred = _call(post.predict, at, prob=args.prob) if at is not None else None
    _warnings(caught, _SAMPLE_WORDS)
    if args.json:
        _emit_json(_posterior_doc(post, args.law, args.prob))
        _json_without_at(args, "jaxfit.posterior/1, the posterior's summary")
    else:
        _print_frame(post.summary(prob=args.prob),
                     f"{_title(law)}  ({post.method}, {post.n_draws} draws per "
                     f"task, {len(post.tasks)} task(s); {args.prob:g} intervals)")
        _print_frame(post.diagnostics, "\ndiagnostics:")
        if pred is not None:
            _print_frame(_long(at, pred, None, _by_list(args.by)), "\npredictions:")
    _save(post, args.save, args.law)
    if args.plot or args.pairs:
        from jaxfit.plot import plot_fit, plot_pairs
    if args.plot:
        _savefig(_call(plot_fit, post, df, at=at, prob=args.prob), args.plot)
    if args.pairs:
        _savefig(_call(plot_pairs, post, task=post.tasks[0]), args.pairs)
    # Non-finite draws fail the diagnostics: the library's warning (printed above) names
    # each parameter's count (`Posterior.warn`; before, a line of this command's own said
    # it again). A bootstrap's NaN noise scale, where a task has no residual degrees of
    # freedom, fails its points-per-parameter check.
    return 0 if post.diagnostics["ok"].to_numpy().all() else 1


def _long(rows: pd.DataFrame, pred: pd.DataFrame, y: str | None, by=()) -> pd.DataFrame:
    """A prediction frame (`jaxfit.predictions`: input columns, then predictions) as a flat
    table: the (task, row) index of a fan-out becomes columns (``row_`` where an input
    column is already called ``row``; a task of several ``by`` columns, one column each),
    and a point fit's
    ``prediction`` is named ``<y>_pred`` (never an input column's name)."""
    out = pred
    if y is not None:
        key = "prediction_pred" if "prediction" in rows.columns else "prediction"
        new = f"{y}_pred"
        while new in rows.columns:
            new += "_pred"
        out = out.rename(columns={key: new})
    if isinstance(out.index, pd.MultiIndex):
        # every task for every row: the (task, row) levels become columns, beside (never
        # over) input columns of the same name, which get a trailing "_"
        names, taken = [], set(out.columns)
        for name in out.index.names:
            while name in taken:
                name = f"{name}_"
            names.append(name)
            taken.add(name)
        out = out.rename_axis(names).reset_index()
        if by and len(by) > 1:
            # tasks of several by columns: the task tuple becomes one column per by column
            # (its own name is free again: a by column called "task" stays "task", not
            # "task_")
            taken.discard(names[0])
            cols = []
            for name in by:
                while name in taken:
                    name = f"{name}_"
                cols.append(name)
                taken.add(name)
            keys = pd.DataFrame(out.pop(names[0]).tolist(), columns=cols, index=out.index)
            out = pd.concat([keys, out], axis=1)
        return out
    return out.reset_index(drop=True)


def _warn_failed_diagnostics(post, rows: pd.DataFrame) -> None:
    """One warning line when a predicted task of a saved posterior failed its diagnostics
    (`Posterior.diagnostics["ok"]`; `jaxfit sample` exited 1 on it). Before, its intervals
    came back without a word (exit 0), where a saved fit that did not converge is named."""
    from jaxfit.predictions import task_rows

    ok = post.diagnostics["ok"].to_numpy(bool)
    idx = task_rows(post.tasks, post.options.get("by"), rows.reset_index(drop=True))
    used = np.unique(idx) if idx is not None else np.arange(len(post.tasks))
    bad = used[~ok[used]]
    if bad.size:
        print(f"warning: predict: {bad.size} task(s) {list(post.tasks[bad][:10])} of this "
              f"posterior ({post.method}) failed their diagnostics when it was drawn, so "
              "their intervals may be unreliable; see the diagnostics table of jaxfit sample "
              "(--json: each task's \"diagnostics\"), and draw it again (jaxfit sample's "
              "warning says what to change)", file=sys.stderr)


#: File suffixes of data (DATA), never of a saved fit or posterior (MODEL).
_DATA_SUFFIXES = (".csv", ".parquet", ".pq", ".tsv", ".txt")


def _model_not_data(model: str, data: str | None) -> None:
    """InputError when ``jaxfit predict``'s MODEL is data: an embedded dataset's name or a
    table file that holds no saved result (the arguments swapped: ``jaxfit predict runs.csv
    fit.json``). Before, the first said "load: no file 'chinchilla'" and the second that
    'runs.csv' "is truncated or corrupted: save the result again"."""
    from jaxfit import datasets
    from jaxfit.io import saved_kind

    path = Path(model)
    if path.is_file():
        if path.suffix.lower() not in _DATA_SUFFIXES or saved_kind(path):
            return
        what = f"{_given(model)!r} is a data file"
    elif model in datasets.names():
        what = f"{model!r} is an embedded dataset"
    else:
        return
    swapped = (f": the order is MODEL then DATA, jaxfit predict {_given(data)} {_given(model)}"
               if data and Path(data).is_file() and saved_kind(data) else
               ", e.g. jaxfit predict fit.json runs.csv")
    raise InputError(f"predict: MODEL {what}, not a saved fit or posterior; MODEL is the file "
                     f"jaxfit fit --save (.json) or jaxfit sample --save (.nc) wrote, DATA "
                     f"the new inputs{swapped}")


def _cmd_predict(args) -> int:
    from jaxfit.io import _law_block, load
    from jaxfit.posterior import Posterior
    from jaxfit.warnings import FAILED_DIAGNOSTICS, DiagnosticWarning

    law = _law(args.law) if args.law else None
    _model_not_data(args.model, args.data)
    result = _call(load, args.model, law=law)
    is_post = isinstance(result, Posterior)
    if not is_post:
        # before: accepted and ignored (a point fit's prediction has no interval); and
        # checked before --prob's range, so --prob 1.5 is not first called out of range
        _unused(args, ("prob", "seed"), f"applies to a posterior (.nc), and {args.model!r} "
                "is a point fit, whose predictions have no interval; drop it, or predict "
                "from a posterior saved by jaxfit sample --save post.nc", prefix="predict: ")
    mapping = result.options.get("x") or {}
    args.by = _by_list(result.options.get("by"))
    at = _precheck(args, result.law, mapping)
    if args.data and at is not None:
        raise InputError(f"predict: give new inputs either as DATA ({args.data!r}) or as --at, "
                         "not both; drop one, or add the --at rows to the file")
    if args.data:
        rows = _select(_read(args.data), args.where, mapping)
    elif args.where:
        raise InputError(f"predict: --where {args.where!r} selects rows of DATA, and no DATA "
                         "was given; drop --where or give a file of new inputs")
    elif at is not None:
        rows = at
    else:
        raise InputError("predict needs new inputs: a CSV/Parquet file or dataset name, or "
                         "--at N=7e9 D=4e12")
    _fill_defaults(args, {"prob": 0.9, "seed": 0})
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"predicting {len(rows)} row(s)", args.quiet):
        warnings.simplefilter("always")
        # a predicted task that failed its diagnostics: said below in this command's words
        # (`_warn_failed_diagnostics`), not twice
        warnings.filterwarnings("ignore", FAILED_DIAGNOSTICS, DiagnosticWarning)
        pred = (_call(result.predict, rows.reset_index(drop=True), prob=args.prob,
                      seed=args.seed) if is_post
                else _call(result.predict, rows.reset_index(drop=True)))
    _warnings(caught)           # e.g. rows with no predictive interval, and why
    if is_post:
        _warn_failed_diagnostics(result, rows)
    out = _long(rows, pred, None if is_post else result.options.get("y", "loss"),
                _by_list(result.options.get("by")))
    if args.json:
        _emit_json({"schema": "jaxfit.predict/1", "law": _law_block(result.law, None),
                    "source": "posterior" if is_post else "fit",
                    "prob": args.prob if is_post else None, "rows": _records(out)})
    else:
        _print_frame(out, _title(result.law)
                          + (f"  ({args.prob:g} intervals)" if is_post else ""))
    added = [c for c in pred.columns if c not in rows.columns]      # the predicted columns
    bad = int((~np.isfinite(pred[added].select_dtypes("number").to_numpy())).sum())
    if bad:
        print(f"warning: {bad} predicted values are not finite (a task whose fit failed, or "
              "a law undefined at these inputs)", file=sys.stderr)
    return 0 if not bad else 1


def _by_list(by) -> list:
    from jaxfit.data import task_columns

    return task_columns(by)


def _datasets_flags(args) -> None:
    """Refuse what `jaxfit datasets ACTION` would not use (before, each was accepted and
    ignored: ``show NAME -o x.csv`` wrote nothing, ``show --json`` and ``export --json``
    printed text, ``list NAME`` listed them all), and an export path that is neither CSV
    nor Parquet (``-o data.xlsx`` wrote CSV text under that name, which ``jaxfit fit``
    then refused as "an Excel workbook")."""
    act = f"datasets {args.action}"
    if args.action == "list" and args.name:
        raise InputError(f"{act} takes no dataset name ({args.name!r}); drop it, or use "
                         f"jaxfit datasets show {args.name}")
    if args.output and args.action != "export":
        raise InputError(f"-o {_given(args.output)} applies to datasets export only; use "
                         f"jaxfit datasets export NAME -o {_given(args.output)}")
    if args.json and args.action != "list":
        raise InputError(f"--json applies to datasets list only; drop it (datasets "
                         f"{args.action} writes " + ("a table" if args.action == "show" else
                                                     "a CSV or Parquet file") + ")")
    if args.output and Path(args.output).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputError(f"-o {_given(args.output)}: datasets export writes CSV or Parquet; "
                         "name the file .csv, .parquet or .pq")


def _cmd_datasets(args) -> int:
    from jaxfit import datasets

    _datasets_flags(args)
    if args.action == "list":
        if args.json:
            _emit_json({"schema": "jaxfit.datasets/1", "datasets": [
                {k: v for k, v in vars(datasets.info(n)).items() if k != "rename"}
                for n in datasets.names()]})
        else:
            for name in datasets.names():
                print(f"{name}: {datasets.info(name).description}")
        return 0
    if not args.name:
        raise InputError(f"datasets {args.action} needs a dataset name: {datasets.names()}")
    info = _call(datasets.info, args.name)
    df = datasets.load(args.name)
    if args.action == "show":
        print(f"{info.name}: {info.description}\nsource: {info.source}\n"
              f"cite: {info.citation}\nlicense: {info.license}\n")
        _print_frame(df.head(10))
        print(f"... {len(df)} rows, columns {list(df.columns)}")
    else:
        out = args.output or f"{args.name}.csv"
        _writable(out, "-o")            # before: "cannot write ...", naming no flag nor fix
        try:
            df.to_parquet(out, index=False) if out.lower().endswith((".parquet", ".pq")) \
                else df.to_csv(out, index=False)
        except ImportError:
            raise InputError(f"cannot write {out!r}: {_PARQUET}") from None
        except OSError as e:
            raise InputError(f"cannot write {out!r}: {e}") from None
        print(f"wrote {len(df)} rows to {out}")
    return 0


def _recipe_flags(args, recipe) -> None:
    """Refuse a recipe option given without the option it needs (``ladder --calibrate
    width`` without ``--intervals``, which ran uncalibrated point predictions), at any value
    (``--calibrate ratio``, its default, passed unnoticed before), as `_sample_flags` does
    for `jaxfit sample`. Then fills in the command line's defaults (`Arg.default`) of the
    options not given, but not of an option whose needed option is not given either: it
    stays None, so the recipe does not get it and ``--json``'s options do not list it
    (before, ``jaxfit ladder --json`` reported ``"calibrate": "ratio"`` of a run without
    --intervals, which calibrated nothing)."""
    by_dest = {a.dest: a for a in recipe.args}

    def used(a) -> bool:                 # the option it needs (if any) is given
        needed = by_dest.get(a.requires)
        return needed is None or bool(getattr(args, needed.dest) or needed.default)

    for a in recipe.args:
        value = getattr(args, a.dest)
        if value is None or used(a):
            continue
        need = by_dest[a.requires].flag
        raise InputError(f"{a.flag} {value} applies only with {need} (without it nothing "
                         f"uses it); add {need}, or drop {a.flag}")
    _fill_defaults(args, {a.dest: a.default for a in recipe.args
                          if a.default is not None and used(a)})


def _unused(args, dests, why, prefix: str = "") -> None:
    """InputError for the first of ``dests`` given (its value not None) where nothing uses
    it: ``{prefix}--dest-with-dashes VALUE {why}`` (a list value joined by spaces);
    ``why`` is the rest of the message, or a function of the dest and the shown value
    that returns it."""
    for dest in dests:
        value = getattr(args, dest)
        if value is None:
            continue
        shown = " ".join(map(str, value)) if isinstance(value, list) else str(value)
        rest = why(dest, shown) if callable(why) else why
        raise InputError(f"{prefix}--{dest.replace('_', '-')} {shown} {rest}")


def _fill_defaults(args, defaults: dict) -> None:
    """Set each option of ``defaults`` (dest -> value) that was not given (None) to its
    default: the options whose parser default is None so that one given at its default
    value can be told from one not given (`_sample_flags`, `_recipe_flags`, the saved-source
    options of optimal/suggest)."""
    for dest, default in defaults.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)


def _text_labels(df: pd.DataFrame, columns) -> pd.DataFrame:
    """``df`` with those of ``columns`` that hold integers as text (a new frame; others as
    given): the options that name their values are text (`Recipe.labels`). Before, a file
    with task ids 0, 1, ... had no way in: ``--tasks 0 1`` was refused ("tasks ['0', '1']
    are not in data['task'] (available: [np.int64(0), ...])"), as were ``--families 1``
    and ``--chance 0=0.25``. Applied after --where, which compares them as numbers."""
    ints = [c for c in columns if c in df.columns and pd.api.types.is_integer_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]
    return df.assign(**{c: df[c].astype(str) for c in ints}) if ints else df


def _cmd_recipe(args) -> int:
    recipe = RECIPES[args.recipe]
    _recipe_flags(args, recipe)
    kwargs = {a.dest: _call(a.convert, v) if a.convert else v for a in recipe.args
              if (v := getattr(args, a.dest)) is not None}
    data = getattr(args, "data", None)
    _writable_dir(args.out, "--out")
    _writable(args.plot, "--plot", _inputs(args))
    call = [_text_labels(_select(_read(data), args.where), recipe.labels)] if data else []
    with warnings.catch_warnings(record=True) as caught, \
            progress.running(f"{args.command} recipe", args.quiet):
        warnings.simplefilter("always")
        result = _call(_import(recipe.run), *call, **kwargs)
    # the emergence recipe's result holds its bootstrap, None under --bootstrap 0
    _warnings(caught, _recipe_words(args.recipe, getattr(result, "bootstrap", 1) is not None))
    tables = result.frames()
    if args.json:
        _emit_json({"schema": "jaxfit.recipe/1", "recipe": args.recipe,
                    "options": _options_json(kwargs),
                    "tables": {k: _records(v) for k, v in tables.items()}})
    else:
        _print_frame(result.summary(), f"{args.command}: summary (full tables: --out DIR "
                                       "or --json)")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        # DIR/NAME.csv must not be the DATA file (`--out .` beside a DATA named table.csv)
        clash = {k: i for k in tables for i in _inputs(args)
                 if (out / f"{k}.csv").exists() and os.path.samefile(out / f"{k}.csv", i)}
        for k, v in tables.items():
            if k not in clash:
                _flat(v).to_csv(out / f"{k}.csv", index=False)
        print(f"wrote {len(tables) - len(clash)} tables to {out}/", file=sys.stderr)
        if clash:
            k, i = next(iter(clash.items()))
            raise InputError(f"--out {args.out!r}: the table {k!r} ({out / f'{k}.csv'}) would "
                             f"replace the input file {i!r}, so it was not written (the "
                             f"others were); give another directory, e.g. --out "
                             f"{out / 'tables'}")
    if args.plot:
        _savefig(result.plot(), args.plot)
    # Point fits behind the recipe's numbers that did not converge, and MCMC posteriors
    # whose chains fail their checks (r_hat, ESS, divergences, too few points), make the
    # run fail, as in `jaxfit fit` and `jaxfit sample`: a script that checks the exit code
    # never takes a number from a failed fit without being told (the outputs are written
    # first, each fit's status in its table); bootstrap refits that did not converge are
    # reported by the recipes' own warnings and tables.
    code = 0
    unconverged = result.unconverged()
    if unconverged:
        more = f", and {len(unconverged) - 3} more" if len(unconverged) > 3 else ""
        print(f"{args.command}: {len(unconverged)} point fit(s) did not converge: "
              f"{'; '.join(unconverged[:3])}{more}; the outputs are written, the warnings "
              "above say more; exit status 1, as `jaxfit fit`.", file=sys.stderr)
        code = 1
    failed = [name for name, post in _posteriors(result)
              if post.method == "nuts" and not post.diagnostics["ok"].all()]
    if failed:
        print(f"{args.command}: the NUTS posterior(s) {failed} fail their diagnostics (see "
              "the warnings above); exit status 1, as `jaxfit sample`.", file=sys.stderr)
        code = 1
    return code


def _posteriors(result, name: str = "result", depth: int = 2):
    """(name, Posterior) pairs held by a recipe's result: its fields, dict values, nested
    up to ``depth`` levels."""
    import dataclasses

    from jaxfit.posterior import Posterior

    if isinstance(result, Posterior):
        return [(name, result)]
    if depth == 0:
        return []
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        items = [(f.name, getattr(result, f.name)) for f in dataclasses.fields(result)]
    elif isinstance(result, dict):
        items = [(str(k), v) for k, v in result.items()]
    else:
        return []
    return [pair for k, v in items for pair in _posteriors(v, k, depth - 1)]


# ------------------------------------------------------------------------------ parser

#: How a recipe's exit status is decided (every recipe's --help).
_RECIPE_EXIT = ("Exit status 1, after the outputs are written, when a point fit behind the "
                "numbers did not converge (one stderr line names how many and the first "
                "few; hitchhiker: any fitted configuration, as its ARE enters median_are "
                "and the findings, each with its status in the table) or a NUTS posterior "
                "fails its diagnostics.")


#: The point fit's options that another option can leave unused (``--delta`` with a loss
#: and likelihood that are not Huber, ``--restarts`` with ``--init grid``), with their
#: defaults. Each defaults to None in the parser, so that `_fit_flags` tells one given (at
#: its default value too) from one not given.
_FIT_DEFAULTS = {"delta": 1e-3, "restarts": 64, "seed": 0}


def _fit_flags(args, huber: bool, what: str, seeds_starts_only: bool = False) -> None:
    """Refuse ``--delta`` where no Huber loss or likelihood uses it (``huber`` False;
    ``what``: the options that are not Huber, e.g. ``--loss squared``) and ``--restarts``
    with ``--init grid``, whose starts are the law's grid (and ``--seed`` with it where
    ``seeds_starts_only``: `jaxfit fit`, whose only random draws are those starts); then
    fill in `_FIT_DEFAULTS`.
    Before, ``jaxfit fit --loss squared --delta 0.1`` and ``--init grid --restarts 256``
    ran with the option silently unused, exit 0."""
    if args.delta is not None and not huber:
        raise InputError(f"--delta {args.delta:g} is the Huber threshold and does not apply "
                         f"to {what}, which is not Huber; drop it, or use --loss huber")
    if args.init == "grid":
        _unused(args, ("restarts",), "sets the random or Sobol starts and does not apply to "
                "--init grid (the law's own grid of starts); drop it, or use --init random "
                "or --init sobol")
        _unused(args, ("seed",) if seeds_starts_only else (), "seeds the random or Sobol "
                "starts and does not apply to --init grid (the law's own grid of starts, the "
                "same every run); drop it, or use --init random or --init sobol")
    _fill_defaults(args, _FIT_DEFAULTS)


def _data_args(p: argparse.ArgumentParser, targets: bool = True) -> None:
    """DATA and the options shared by the data commands; ``targets``: also ``--at`` and
    ``--save`` (commands that fit once and can predict and save)."""
    p.add_argument("data", type=_path, help="CSV/Parquet file or embedded dataset name")
    p.add_argument("--law", default="chinchilla",
                   help="registered law, NAME(key=value,...), or module:function (a module "
                        f"in the current directory works; registered: "
                        f"{', '.join(sorted(BUILTIN_LAWS))})")
    p.add_argument("--x", nargs="+", metavar="NAME=COLUMN",
                   help="map law inputs to columns, e.g. N=params D=tokens (default: "
                        "columns named like the inputs)")
    p.add_argument("--y", default="loss", help="target column")
    p.add_argument("--by", nargs="+", help="task column(s): each value is fitted as its own "
                                           "task (default: one task)")
    p.add_argument("--where", help="pandas query selecting rows, e.g. 'not outlier'")
    p.add_argument("--loss", default="huber", choices=["huber", "squared", "absolute"],
                   help="elementwise loss on the residuals")
    # --delta and --restarts default to None (`_fit_flags`: given where nothing uses them,
    # at any value, they are refused); their defaults are `_FIT_DEFAULTS`
    p.add_argument("--delta", type=float, help=f"Huber threshold (Hoffmann et al. 2022), of "
                                               f"a Huber loss or likelihood only (default: "
                                               f"{_FIT_DEFAULTS['delta']:g})")
    p.add_argument("--space", default="log", choices=["log", "linear"],
                   help="residuals of log(y) or of y")
    p.add_argument("--init", default="random", help="starts: random, sobol or grid (the "
                                                    "law's grid, e.g. Hoffmann's 4,500)")
    p.add_argument("--restarts", type=int, help=f"random or Sobol starts per task, not with "
                                                f"--init grid (default: "
                                                f"{_FIT_DEFAULTS['restarts']})")
    p.add_argument("--seed", type=int, help=f"random seed (fit: of the random or Sobol "
                                            f"starts, not with --init grid) (default: "
                                            f"{_FIT_DEFAULTS['seed']})")
    if targets:
        p.add_argument("--at", nargs="+", metavar="NAME=VALUE[,VALUE...]",
                       help="target point(s) to predict and plot, e.g. N=7e9 D=4e12")
        p.add_argument("--save", metavar="PATH", type=_path,
                       help="save the result (fit: .json, posterior: .nc)")
        p.add_argument("--plot", metavar="PNG", type=_path,
                       help="plot data, curves and targets")


def _common(p: argparse.ArgumentParser, schema: str) -> None:
    p.add_argument("--json", action="store_true", help=f"print JSON (schema {schema})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="print the traceback of an error")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default (unless its help already names it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or default is None or default is False
                or default == argparse.SUPPRESS or not action.option_strings):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})"


class _Once(argparse._StoreAction):
    """argparse's store of one value, refusing the option given twice with two values.
    Before, the last one was kept and the first dropped without a word: ``--where "N >
    1e8" --where "D > 1e9"`` fitted every row with D > 1e9."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # id(namespace) -> (a weak reference to it, the value given): a parser reused for
        # another parse never mistakes a new namespace at a freed one's address for it
        self._given: dict[int, tuple] = {}

    def __call__(self, parser, namespace, values, option_string=None):
        import weakref

        ref, first = self._given.get(id(namespace), (None, values))
        if ref is None or ref() is not namespace:
            self._given[id(namespace)] = (weakref.ref(namespace), values)
            first = values
        if first != values:
            both = (f"; for both conditions write --where \"({first}) and ({values})\""
                    if option_string == "--where" else "")
            parser.error(f"{option_string} given twice ({first!r}, then {values!r}); give it "
                         f"once{both}")
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), like every other bad input, and every
    subcommand's help showing defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        """As argparse's; an option of one or more values (``nargs="+"``) with no default
        collects the values of each time it is given (``--x N=params --x D=tokens`` maps
        both; ``--at N=1 D=1 --at N=2 D=2`` names N twice, refused by `_pairs`), and one
        of one value given twice with two values is refused (`_Once`). Before, argparse
        kept the last one only: the first mapping, target rows, budgets (``optimal
        --budgets 1e20 --budgets 1e21``) or ``--where`` were dropped without a word."""
        option = bool(args) and args[0].startswith("-")
        if (kwargs.get("nargs") == "+" and kwargs.get("default") is None
                and kwargs.get("action") is None and option):
            kwargs["action"] = "extend"
        elif option and kwargs.get("action") is None:
            # one value, or a fixed number (``--inputs N D``): given twice is refused
            kwargs["action"] = _Once
        return super().add_argument(*args, **kwargs)

    def add_subparsers(self, **kwargs):
        """As argparse's; the action is kept as ``commands`` (subcommand name -> parser in
        ``commands.choices``), so an error can be reported by its subcommand."""
        self.commands = super().add_subparsers(**kwargs)
        return self.commands

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}"
                     f"{_command_hint(message)} (see {self.prog} --help)\n")


#: A subcommand a user may expect, and where it is (`jaxfit.bootstrap`, `jaxfit.sample`'s
#: methods are options of `jaxfit sample`).
_COMMAND_HINTS = {m: f"jaxfit sample --method {m}" for m in ("bootstrap", "nuts", "svi",
                                                           "laplace")}


def _command_hint(message: str) -> str:
    """``; ...`` naming where an unknown subcommand is (``jaxfit bootstrap``: ``jaxfit sample
    --method bootstrap``) or the close choice (``jaxfit fti``: ``fit``; ``--method
    boostrap``: ``bootstrap``); "" for other errors. Before, only the list of choices."""
    m = re.match(r"argument (\{[^}]*\}|[^:]*): invalid choice: '([^']*)' \(choose from "
                 r"(.*)\)$", " ".join(message.split()))
    if not m:
        return ""
    given = m.group(2)
    if m.group(1).startswith("{") and given in _COMMAND_HINTS:
        return f"; for a {given} posterior use {_COMMAND_HINTS[given]}"
    import difflib

    close = difflib.get_close_matches(given, re.findall(r"'([^']*)'", m.group(3)), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="jaxfit", description=__doc__.splitlines()[0],
                epilog="exit codes: 0 ok, 1 failed fit or diagnostics, 2 bad input, 3 "
                       "internal error (--debug for the traceback). Compiled programs are "
                       "cached in $JAXFIT_CACHE_DIR or ~/.cache/jaxfit/jax "
                       "(JAXFIT_NO_CACHE=1: off).")
    p.add_argument("--version", action="version", version=f"jaxfit {__version__}")
    p.add_argument("--debug", action="store_true", help="print the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    f = sub.add_parser("fit", help="fit a law (multi-start, all tasks in one call)")
    _data_args(f)
    f.add_argument("--method", default="newton", choices=["newton", "lbfgs"],
                   help="solver: exact-Hessian damped Newton, or optax L-BFGS")
    f.add_argument("--max-steps", type=int, default=1000,
                   help="iteration cap per restart and continuation stage (reported steps "
                        "add up the stages)")
    f.add_argument("--residuals", metavar="PNG", type=_path, help="plot residuals")
    _common(f, "jaxfit.fit/1")
    f.set_defaults(run=_cmd_fit)

    s = sub.add_parser("sample", help="posterior draws per task (NUTS, SVI, Laplace, bootstrap)")
    _data_args(s)
    s.add_argument("--method", default="nuts", choices=["nuts", "svi", "laplace", "bootstrap"],
                   help="NUTS (MCMC), SVI, Laplace, or a bootstrap of refits")
    # the options one --method uses (_SAMPLER, _BOOTSTRAP) default to None, so that
    # _sample_flags tells an option given at its default value (--method laplace --n 1000)
    # from one not given; each help shows the default _sample_flags fills in
    s.add_argument("--chains", type=int,
                   help=f"chains (default: {_SAMPLER['chains']}; not with bootstrap)")
    s.add_argument("--warmup", type=int,
                   help=f"NUTS warm-up iterations per chain (default: {_SAMPLER['warmup']})")
    s.add_argument("--samples", type=int,
                   help=f"draws per chain (default: {_SAMPLER['samples']}; not with bootstrap)")
    s.add_argument("--n", type=int,
                   help=f"bootstrap resamples (default: {_BOOTSTRAP['n']}; bootstrap only)")
    s.add_argument("--likelihood",
                   choices=["huber", "normal", "studentt", "beta", "truncnormal"],
                   help=f"the likelihood (default: {_SAMPLER['likelihood']}, whose maximum is "
                        "the Huber fit; not with bootstrap)")
    s.add_argument("--target-accept", type=float,
                   help=f"NUTS target acceptance probability (default: "
                        f"{_SAMPLER['target_accept']})")
    s.add_argument("--temper",
                   help=f"power on the Huber likelihood: {_SAMPLER['temper']} (default: per "
                        "task, so the posterior's spread is the fit's robust sandwich "
                        "covariance), none, or a number in (0, 1]; not with bootstrap")
    s.add_argument("--prob", type=float, default=0.9, help="interval probability")
    s.add_argument("--pairs", metavar="PNG", type=_path,
                   help="pair plot of the first task's posterior")
    _common(s, "jaxfit.posterior/1")
    s.set_defaults(run=_cmd_sample)

    r = sub.add_parser("predict", help="predict from a saved fit (.json) or posterior (.nc)")
    r.add_argument("model", type=_path,
                   help="file written by --save (or `jaxfit fit --json > fit.json`)")
    r.add_argument("data", nargs="?", type=_path,
                   help="CSV/Parquet file or dataset of new inputs")
    r.add_argument("--at", nargs="+", metavar="NAME=VALUE[,VALUE...]",
                   help="new inputs on the command line, e.g. N=7e9 D=4e12")
    r.add_argument("--where", help="pandas query selecting rows of DATA")
    r.add_argument("--law", help="rebuild the law from this spec instead of the file's")
    r.add_argument("--prob", type=float,
                   help="interval probability (default: 0.9; a posterior (.nc) only)")
    r.add_argument("--seed", type=int,
                   help="seed of predictive noise draws (default: 0; a posterior (.nc) only)")
    _common(r, "jaxfit.predict/1")
    r.set_defaults(run=_cmd_predict)

    d = sub.add_parser("datasets", help="list, show or export embedded datasets")
    d.add_argument("action", choices=["list", "show", "export"],
                   help="list the datasets, show one, or export one to a file")
    d.add_argument("name", nargs="?", help="dataset name (show, export)")
    d.add_argument("-o", "--output", type=_path,
                   help="export path, .csv or .parquet (default NAME.csv)")
    d.add_argument("--json", action="store_true", help="list as JSON (jaxfit.datasets/1)")
    d.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="print the traceback of an error")
    d.set_defaults(run=_cmd_datasets)

    from jaxfit.cli.backtest import add_parser as add_backtest_parser
    from jaxfit.cli.decide import add_parsers as add_decide_parsers

    add_decide_parsers(sub)                            # optimal, suggest
    add_backtest_parser(sub)                           # backtest
    for key, recipe in RECIPES.items():
        # a recipe named with "_" (flp_m) is the command flp-m, as the paper names the
        # method and as every flag is spelt; the "_" spelling is accepted, not listed
        name = key.replace("_", "-")
        q = sub.add_parser(name, help=recipe.help,
                           description=(f"{recipe.help}. DATA: {recipe.columns}."
                                        if recipe.columns else f"{recipe.help}.")
                           + " " + _RECIPE_EXIT)
        if recipe.takes_data:
            q.add_argument("data", nargs="?", type=_path,
                           help="CSV/Parquet file or dataset (default: the recipe's embedded "
                                "data)")
            q.add_argument("--where", help="pandas query selecting rows of DATA")
        for arg in recipe.args:
            q.add_argument(arg.flag, dest=arg.dest, **arg.kwargs)
        q.add_argument("--out", metavar="DIR", type=_path,
                       help="write every table as DIR/NAME.csv")
        q.add_argument("--plot", metavar="PNG", type=_path, help="the recipe's figure")
        _common(q, "jaxfit.recipe/1")
        q.set_defaults(run=_cmd_recipe, recipe=key)
        if key != name:
            sub.choices[key] = q            # no help line of its own: listed once
    sub.metavar = "{" + ",".join(a.dest for a in sub._choices_actions) + "}"
    return p


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed fit or diagnostics,
    2 bad input, 3 internal error).

    Args:
        argv: the arguments; None (the ``jaxfit`` program and ``python -m jaxfit``) reads
            ``sys.argv``, turns on the compilation cache for this process (see the
            module docstring) and ends the process with the exit code (`_exit`) instead
            of returning. A call from Python with ``argv`` given leaves JAX's
            configuration as it is and returns.
    """
    program = argv is None
    code = _run(argv, program)
    if program:
        _exit(code)
    return code


def _exit(code: int) -> None:
    """End the command's own process with ``code``, skipping the interpreter's teardown.

    With its programs cached, a ``jaxfit fit`` of Chinchilla took ~1.5 s, of which ~0.25 s
    came after the command had returned (2-core CPU, benchmarks/cli_startup.py): the
    interpreter's teardown, which frees the ~1,500 imported modules, JAX's backend and its
    loaded executables object by object, for a process that is about to end. The rest of
    a normal exit is kept: other threads are waited for, stdout and stderr flushed (an
    output that cannot be written exits 120 with a message, as Python does; a closed pipe,
    ``jaxfit ... | head``, quietly) and the ``atexit`` handlers run (logging, JAX's
    clean-up). The commands close every file they write before they return.
    """
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            pass
        except (OSError, ValueError) as e:
            if stream is sys.stdout:
                print(f"jaxfit: error: cannot write the output: {e}", file=sys.stderr)
                code = 120
    atexit._run_exitfuncs()
    os._exit(code)


def _run(argv, program: bool) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:          # the subcommand's own error, pointing at its --help
        parser.commands.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    debug = getattr(args, "debug", False)
    try:
        _heavy()
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())          # --law my_module:my_law in the cwd
        if program and args.command not in ("datasets",):
            _enable_compilation_cache()
        try:
            return args.run(args)
        finally:
            _repair_compilation_cache()
    except InputError as e:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"jaxfit: error: {_cli_words(' '.join(str(e).split()))}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:                 # `jaxfit ... | head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - avoid a second error at exit
        return EXIT_OK
    except KeyboardInterrupt:
        print("jaxfit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - anything else is a bug: exit 3, one line
        if debug:
            import traceback

            traceback.print_exc()
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        print(f"jaxfit: internal error: {msg[:300]} (a bug; rerun with --debug for the "
              "traceback and report it)", file=sys.stderr)
        return EXIT_INTERNAL
