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
* ``to_json()``: ``frames()`` as a JSON document (schema ``jaxfit.recipe/1``).

The command line treats every recipe alike through it (`jaxfit.cli.recipes`).
"""

from __future__ import annotations

import importlib
import json
from typing import Any, ClassVar

import pandas as pd

__all__ = ["RecipeResult", "flat", "records"]


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
    implements ``table``, ``summary`` and ``_tables`` (the other tables by name).
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

    def to_json(self) -> str:
        """`frames` as a JSON document: ``{"schema": "jaxfit.recipe/1", "recipe",
        "options", "tables": {name: records}}``."""
        options = json.loads(json.dumps(getattr(self, "options", {}) or {}, default=str))
        return json.dumps({"schema": "jaxfit.recipe/1", "recipe": self.recipe,
                           "options": options,
                           "tables": {k: records(v) for k, v in self.frames().items()}},
                          allow_nan=False)
