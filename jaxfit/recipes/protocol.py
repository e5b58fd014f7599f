"""The result protocol every recipe follows (ladder, FLP, FLP-M, Hitchhiker, emergence).

A recipe's result has

* ``table()``: its main result, tidy (one row per observation, e.g. task x target), in one
  unit per quantity: accuracy and its errors in **points** (0-100), losses in the data's
  units (nats, or bits per byte for the ladder's task loss), relative errors (``rel_error``,
  ``are``) as **fractions**, compute in FLOPs;
* ``summary()``: a short table (a few rows: per target or per family) for a terminal;
* ``frames()``: every table by name, ``table`` first (what ``jaxfit RECIPE --out DIR``
  writes, one CSV each, and ``--json`` prints);
* ``plot(**kwargs)``: the recipe's figure (a matplotlib ``Figure``);
* ``to_json()``: ``frames()`` as a JSON document (schema ``jaxfit.recipe_result/1``, whose
  ``options`` are every setting the recipe used; ``jaxfit RECIPE --json`` prints the same
  tables under ``jaxfit.recipe/1``, whose ``options`` are the flags given);
* ``unconverged()``: a label for each point fit behind its numbers that did not converge
  (``jaxfit RECIPE`` exits 1 when there is any, after writing its outputs);
* a short ``repr`` (the recipe, its tables with their shapes, the number of unconverged
  point fits) and a notebook display (``_repr_html_``: that header and ``summary()``).

The command line treats every recipe alike through it (`jaxfit.cli.recipes`).
"""

from __future__ import annotations

import importlib
import json
from typing import Any, ClassVar

import pandas as pd

__all__ = ["RecipeResult", "flat", "records", "point_fits"]


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (its repr without ``np.str_(...)``)."""
    return value.item() if hasattr(value, "item") else value


def point_fits(obj: Any, name: str = "", depth: int = 4) -> list[tuple[str, Any]]:
    """(name, `jaxfit.FitResult`) pairs held by ``obj`` (a recipe result): in its dataclass
    fields, dict values and list items, nested up to ``depth`` levels. A name is the path
    to the fit: field names and dict keys (``fits`` left out; a number key, a backtest's
    cut, as ``at cut 3.2e+08``), ``fit i`` for the i-th item of a list, e.g. ``step1`` or
    ``calibration at cut 3.2e+08 fit 1``."""
    import dataclasses

    from jaxfit.result import FitResult

    if isinstance(obj, FitResult):
        return [(name or "fit", obj)]
    if depth == 0:
        return []
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    elif isinstance(obj, dict):
        items = [(f"at cut {k:g}" if isinstance(k, float) else str(k), v)
                 for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        items = [(f"fit {i + 1}", v) for i, v in enumerate(obj)]
    else:
        return []
    out = []
    for key, value in items:
        path = name if key == "fits" else " ".join(p for p in (name, key) if p)
        out += point_fits(value, path, depth - 1)
    return out


def flat(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with named index levels as columns (an unnamed default index dropped) and
    MultiIndex columns joined by '|': one header row, no index column in a CSV."""
    df = df.copy()
    if isinstance(df.columns, pd.MultiIndex):
        df.columns = ["|".join(map(str, c)) for c in df.columns]
    if any(n is not None for n in df.index.names) or not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()
    return df


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON records (`flat`, column names as strings, non-finite numbers as
    null)."""
    from jaxfit.io import _jsonable

    df = flat(df)
    df.columns = [str(c) for c in df.columns]
    return [_jsonable(r) for r in df.to_dict(orient="records")]


class RecipeResult:
    """Mixin of the recipe results: `table`, `summary`, `frames`, `plot`, `to_json`.

    A subclass sets ``recipe`` (its name), ``plot_function`` (``"module:function"``) and
    implements ``table``, ``summary`` and ``_tables`` (the other tables by name). A
    dataclass subclass is declared with ``repr=False``, so that it keeps this class's short
    ``__repr__`` (the generated one printed every table: ~8,600 characters for
    `jaxfit.recipes.flp.flp_vs_ladder` on the OLMo ladder).
    """

    recipe: ClassVar[str] = ""
    plot_function: ClassVar[str] = ""

    def table(self) -> pd.DataFrame:
        raise NotImplementedError

    def summary(self) -> pd.DataFrame:
        raise NotImplementedError

    def _tables(self) -> dict[str, pd.DataFrame | None]:
        return {}

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name, ``table`` first (None entries left out)."""
        out = {"table": self.table(), **self._tables()}
        return {k: v for k, v in out.items() if v is not None}

    def plot(self, **kwargs):
        """The recipe's figure (``plot_function`` applied to this result)."""
        module, name = self.plot_function.split(":")
        return getattr(importlib.import_module(module), name)(self, **kwargs)

    def unconverged(self) -> list[str]:
        """A label for each task of a point fit behind this result that did not converge
        (`point_fits`), with its status: ``"step1 task 'piqa_val' (max_steps)"``; empty
        when every fit converged. ``jaxfit RECIPE`` exits 1 when it is not empty."""
        from jaxfit.inference.status import Status

        return [f"{name} task {_plain(task)!r} ({Status(int(code)).name.lower()})"
                for name, res in point_fits(self)
                for task, code, ok in zip(res.tasks, res.status, res.converged) if not ok]

    def _header(self) -> str:
        """One line: the recipe, each table of `frames` with its shape (rows x columns),
        the number of unconverged point fits, and where to look next."""
        try:
            tables = ", ".join(f"{k} {v.shape[0]}x{v.shape[1]}"
                               for k, v in self.frames().items())
        except Exception as e:  # noqa: BLE001 - a display never raises: it says what failed
            tables = f"unavailable ({type(e).__name__}: {e})"
        try:
            bad = len(self.unconverged())
            fits = (f"{bad} unconverged point fit(s) (.unconverged())" if bad
                    else "every point fit converged")
        except Exception as e:  # noqa: BLE001 - as above
            fits = f"point fits unavailable ({type(e).__name__}: {e})"
        text = (f"{type(self).__name__}(recipe={self.recipe!r}; tables: {tables}; {fits}; "
                "see .summary(), .table(), .frames())")
        return text if len(text) < 900 else text[:895] + " ...)"

    def __repr__(self) -> str:
        """`_header`: short, whatever the size of the tables (under 1,000 characters)."""
        return self._header()

    def _repr_html_(self) -> str:
        """A notebook's display: the header line and `summary` as an HTML table."""
        import html

        try:
            body = self.summary().to_html(float_format="{:.6g}".format)
        except Exception as e:  # noqa: BLE001 - as `_header`: it shows what failed
            body = f"<p>summary() unavailable: {html.escape(f'{type(e).__name__}: {e}')}</p>"
        return (f"<p><b>{html.escape(type(self).__name__)}: recipe "
                f"{html.escape(self.recipe)}</b><br>{html.escape(self._header())}</p>{body}")

    def to_json(self) -> str:
        """`frames` as a JSON document: ``{"schema": "jaxfit.recipe_result/1", "recipe",
        "options", "tables": {name: records}}``, ``options`` the result's own (every
        setting used, defaults included; ``jaxfit/schema/recipe_result.json``).

        Not ``jaxfit.recipe/1``, the name of ``jaxfit RECIPE --json``'s document, whose
        ``options`` are only the flags given on the command line (before, both forms
        carried that one name with different ``options``)."""
        from jaxfit.io import _jsonable

        # as the tables: numpy values as Python's, a non-finite number as null (before,
        # an option such as max_target_loss=inf made json.dumps(allow_nan=False) raise)
        options = _jsonable(dict(getattr(self, "options", {}) or {}))
        return json.dumps({"schema": "jaxfit.recipe_result/1", "recipe": self.recipe,
                           "options": options,
                           "tables": {k: records(v) for k, v in self.frames().items()}},
                          allow_nan=False)
