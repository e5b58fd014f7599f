"""The data layer: every bad input is rejected before tracing with a message that names the
column, how many values, which rows and the fix, and the user's DataFrame is never modified.

Each rejection is checked through both entry points, `jaxfit.data.make_batch` and `jaxfit.fit`
(which must validate before it compiles anything). Row labels in messages are the DataFrame's
own index labels, so the frames here use a non-default index (100, 101, ...).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest

import jaxfit as jf
from jaxfit.data import bucket, make_batch

TRUTH = dict(A=406.4, B=410.7, E=1.69, alpha=0.34, beta=0.28)


def _chinchilla_frame(n: int = 24, seed: int = 0) -> pd.DataFrame:
    """Chinchilla-form losses at log-uniform (N, D), indexed 100, 101, ... with attrs set."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 12, n)
    loss = TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"]
    df = pd.DataFrame({"N": N, "D": D, "loss": loss}, index=pd.RangeIndex(100, 100 + n))
    df.attrs["source"] = {"note": "synthetic", "seed": seed}
    return df


def _tasks(df: pd.DataFrame, sizes: dict) -> pd.DataFrame:
    """Add a task column 'g' with the given number of consecutive rows per label."""
    labels = [k for k, n in sizes.items() for _ in range(n)]
    assert len(labels) == len(df)
    return df.assign(g=labels)


ENTRY_POINTS = ["make_batch", "fit"]


def _call(entry: str, df, law, **kw):
    if entry == "make_batch":
        return make_batch(df, law, y=kw.pop("y", "loss"), **kw)
    return jf.fit(law, df, y=kw.pop("y", "loss"), restarts=2, warn=False, **kw)


def _assert_unchanged(df: pd.DataFrame, before: pd.DataFrame, attrs: dict):
    pd.testing.assert_frame_equal(df, before, check_exact=True)
    assert df.attrs == attrs
    assert list(df.columns) == list(before.columns)
    assert df.index.equals(before.index)


def _rejects(entry, df, match, law=None, exc=ValueError, **kw) -> str:
    """Assert the call raises ``exc`` matching ``match`` and leaves ``df`` as it was."""
    law = jf.models.chinchilla() if law is None else law
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    with pytest.raises(exc, match=match) as info:
        _call(entry, df, law, **kw)
    _assert_unchanged(df, before, attrs)
    return str(info.value)


# ----------------------------------------------------------------------------- rejections


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_missing_input_column(entry):
    df = _chinchilla_frame().drop(columns="D")
    _rejects(entry, df, r"missing column\(s\) \['D'\] \(input 'D'\) for law 'chinchilla'; "
                        r"the data has columns \['N', 'loss'\]\. Rename them or map them, "
                        r"e\.g\. x=")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("kwargs, column, role", [
    (dict(y="acc"), "acc", "target y"),
    (dict(by="family"), "family", "task column (by)"),
    (dict(weights="w"), "w", "weights"),
    (dict(x={"N": "params"}), "params", "input 'N'"),
])
def test_missing_other_columns(entry, kwargs, column, role):
    df = _chinchilla_frame()
    _rejects(entry, df, re.escape(f"missing column(s) ['{column}'] ({role})") + r".*"
             + re.escape("['N', 'D', 'loss']"), **kwargs)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_nan_in_input(entry):
    df = _chinchilla_frame()
    df.loc[[103, 117], "N"] = np.nan
    _rejects(entry, df, r"column 'N' \(input 'N'\) has 2 NaN or infinite values at rows "
                        r"\[103, 117\]; drop or fill them first, e\.g\. "
                        r"df\.dropna\(subset=\['N'\]\)")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_pandas_na_in_nullable_column(entry):
    df = _chinchilla_frame()
    df["D"] = pd.array(list(df["D"].iloc[:-1]) + [None], dtype="Float64")
    _rejects(entry, df, r"column 'D' \(input 'D'\) has 1 NaN or infinite values at rows "
                        r"\[123\]; drop or fill")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_inf_in_target(entry):
    df = _chinchilla_frame()
    df.loc[105, "loss"] = np.inf
    df.loc[110, "loss"] = -np.inf
    _rejects(entry, df, r"column 'loss' \(target y\) has 2 NaN or infinite values at rows "
                        r"\[105, 110\]; drop or fill them first, e\.g\. "
                        r"df\.dropna\(subset=\['loss'\]\)")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_more_bad_rows_than_shown_are_counted_and_truncated(entry):
    df = _chinchilla_frame()
    df.loc[100:111, "D"] = np.nan                      # 12 rows, 10 listed
    msg = _rejects(entry, df, r"column 'D' \(input 'D'\) has 12 NaN or infinite values at "
                              r"rows \[100, 101, 102, 103, 104, 105, 106, 107, 108, 109\] "
                              r"\(first 10 shown\)")
    assert "110" not in msg


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("column, bad", [("N", 0.0), ("N", -3e8), ("D", 0.0), ("D", -1e10)])
def test_non_positive_input_under_log(entry, column, bad):
    df = _chinchilla_frame()
    df.loc[[102, 108], column] = bad
    _rejects(entry, df, re.escape(f"column '{column}' (input '{column}') has 2 values <= 0 "
                                  f"at rows [102, 108] (e.g. {bad:g}); law 'chinchilla' takes "
                                  f"log({column}), so every value must be > 0: remove those "
                                  "rows (the law is not defined there), or check the column's "
                                  "units."))


def test_the_input_domain_rule_reads_the_same_for_fit_and_predict():
    """One rule and one text for inputs outside the law's domain (`data.check_input_domain`):
    before, the fit's data and the prediction inputs had their own copies ("column 'N' has
    1 non-positive values" for a fit, "column 'N' (input 'N') has 1 values <= 0" for a
    prediction). Only the fix differs: drop the rows to fit, predict elsewhere."""
    from jaxfit.checks import prediction_inputs

    law = jf.models.chinchilla()
    df = pd.DataFrame({"N": [7e10, -1.0], "D": [1.4e12, 1e12], "loss": [2.0, 2.1]})
    common = ("column 'N' (input 'N') has 1 values <= 0 at rows [1] (e.g. -1); law "
              "'chinchilla' takes log(N), so ")
    with pytest.raises(ValueError) as fit:
        make_batch(df, law, y="loss")
    assert str(fit.value) == common + ("every value must be > 0: remove those rows (the law "
                                       "is not defined there), or check the column's units.")
    with pytest.raises(ValueError) as predict:
        prediction_inputs(law, df)
    assert str(predict.value) == "predict: " + common + "predict only at N > 0."


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("bad", [0.0, -0.5])
def test_non_positive_target_in_log_space(entry, bad):
    df = _chinchilla_frame()
    df.loc[121, "loss"] = bad
    _rejects(entry, df, rf"column 'loss' has 1 non-positive values at rows \[121\] "
                        rf"\(e\.g\. {bad:g}\); residuals are taken in log space "
                        r"\(space='log'\), so every value must be > 0: remove those rows or "
                        r"use space='linear'")


def test_non_positive_target_is_fine_in_linear_space():
    law = jf.models.linear()
    df = pd.DataFrame({"L": [1.0, 2.0, 3.0, 4.0], "acc": [0.5, 0.0, -0.5, -1.0]})
    batch = make_batch(df, law, y="acc", space="linear")
    np.testing.assert_array_equal(batch.y[0, :4], [0.5, 0.0, -0.5, -1.0])
    with pytest.raises(ValueError, match=r"column 'acc' has 3 non-positive values at rows "
                                         r"\[1, 2, 3\]"):
        make_batch(df, law, y="acc", space="log")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_task_with_fewer_points_than_free_parameters(entry):
    df = _tasks(_chinchilla_frame(), {"big": 16, "small": 4, "tiny": 4})
    _rejects(entry, df, r"2 task\(s\) have fewer points than the law's 5 free parameters "
                        r"\('small': 4, 'tiny': 4; points with weight > 0\); drop those tasks, "
                        r"give them more points, or fix some parameters with jaxfit\.fix\(\)", by="g")


def test_fixing_parameters_lowers_the_points_needed():
    df = _tasks(_chinchilla_frame(), {"big": 20, "small": 4})
    law = jf.fix(jf.models.chinchilla(), alpha=0.34, beta=0.28)    # 3 free parameters
    batch = make_batch(df, law, y="loss", by="g")
    np.testing.assert_array_equal(batch.n_points, [20, 4])
    with pytest.raises(ValueError, match=r"1 task\(s\) have fewer points than the law's 5 "
                                         r"free parameters \('small': 4;"):
        make_batch(df, jf.models.chinchilla(), y="loss", by="g")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_task_with_too_few_positively_weighted_points(entry):
    # Task 'b' has 12 rows but only 2 carry weight: 2 points cannot determine 5 parameters.
    # (Zero-weight rows already count as "no points" for the empty-task check.)
    df = _tasks(_chinchilla_frame(), {"a": 12, "b": 12})
    df["w"] = [1.0] * 12 + [1.0, 1.0] + [0.0] * 10
    _rejects(entry, df, r"1 task\(s\) have fewer points than the law's 5 free parameters "
                        r"\('b': 2; points with weight > 0\)", by="g", weights="w")


def test_unused_category_of_the_task_column_is_no_task():
    """by= a categorical column with a category no row holds (after filtering a frame):
    the used categories are fitted, in category order, and the unused one is no task,
    not even among the task index's categories. Before, every category was a task and
    the fit was refused ("2 task(s) ['b', 'c'] have no points" for an unused 'b': 'c',
    which has rows, was named too). The user's frame is not modified."""
    df = _chinchilla_frame()
    df["g"] = pd.Categorical(["c"] * 12 + ["a"] * 12, categories=["c", "b", "a"])
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    batch = make_batch(df, jf.models.chinchilla(), y="loss", by="g")
    assert list(batch.tasks) == ["c", "a"] and batch.tasks.name == "g"
    assert list(batch.tasks.categories) == ["c", "a"]
    np.testing.assert_array_equal(batch.n_points, [12, 12])
    np.testing.assert_allclose(batch.y[1, :12], df.loss.iloc[12:])      # task "a"
    res = jf.fit(jf.models.chinchilla(), df, y="loss", by="g", restarts=2, warn=False)
    _assert_unchanged(df, before, attrs)
    assert list(df.g.cat.categories) == ["c", "b", "a"]
    assert list(res.tasks) == ["c", "a"]
    used = jf.fit(jf.models.chinchilla(), df.assign(g=df.g.cat.remove_unused_categories()),
                  y="loss", by="g", restarts=2, warn=False)
    np.testing.assert_array_equal(res.values, used.values)
    assert res.predict(df.iloc[[0, 12]]).prediction.notna().all()


def test_two_categorical_task_columns_make_only_the_pairs_the_rows_hold():
    """by=["family", "task"], both categorical, family "b" without task "y": the pair
    ("b", "y") was a task with no points, refused with advice (remove unused categories)
    that did not apply. The tasks are the pairs the rows hold; a category no row holds
    is no task either (`test_unused_category_of_the_task_column_is_no_task`)."""
    df = _chinchilla_frame().assign(
        family=pd.Categorical(["a"] * 16 + ["b"] * 8, categories=["b", "a"]),
        task=pd.Categorical(["x"] * 8 + ["y"] * 8 + ["x"] * 8))
    batch = make_batch(df, jf.models.chinchilla(), y="loss", by=["family", "task"])
    assert list(batch.tasks) == [("b", "x"), ("a", "x"), ("a", "y")]
    assert batch.tasks.names == ["family", "task"]
    np.testing.assert_array_equal(batch.n_points, [8, 8, 8])
    np.testing.assert_allclose(batch.y[0, :8], df.loss.iloc[16:])      # ("b", "x")
    extra = df.assign(task=df.task.cat.add_categories(["z"]))     # no row holds "z"
    again = make_batch(extra, jf.models.chinchilla(), y="loss", by=["family", "task"])
    assert list(again.tasks) == list(batch.tasks)
    np.testing.assert_array_equal(again.y, batch.y)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_empty_task_from_zero_weights(entry):
    df = _tasks(_chinchilla_frame(), {"a": 12, "b": 12})
    df["w"] = [1.0] * 12 + [0.0] * 12
    _rejects(entry, df, r"1 task\(s\) \['b'\] \(by='g'\) have no points with positive "
                        r"weight; drop them or give them data", by="g", weights="w")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_all_zero_weights_name_the_weights(entry):
    """Before: "1 task(s) [0] (by=None) have no points with positive weight; drop them (for
    a categorical column, df[col].cat.remove_unused_categories()) or give them data": a
    task to drop, when the weights column is the problem."""
    df = _chinchilla_frame().assign(w=0.0)
    _rejects(entry, df, r"^column 'w' \(weights\) is 0 on all 24 rows, so no point would be "
                        r"fitted; give the rows to fit a weight > 0", weights="w")
    _rejects(entry, df, r"^the weights are 0 on all 24 rows", weights=np.zeros(24))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("missing", [None, np.nan, "categorical"])
def test_missing_value_in_task_column(entry, missing):
    df = _tasks(_chinchilla_frame(), {"a": 12, "b": 12})
    if missing == "categorical":
        df["g"] = pd.Categorical(df["g"])
        df.loc[[104, 119], "g"] = np.nan
    else:
        df["g"] = df["g"].astype(object)
        df.loc[[104, 119], "g"] = missing
    _rejects(entry, df, r"column 'g' \(task column, by\) has 2 missing values at rows "
                        r"\[104, 119\]; those rows would belong to no task\. Fill them, e\.g\. "
                        r"df\['g'\]\.fillna\('unknown'\)", by="g")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("label, fix", [([1, 2], "map(tuple)"), ({"k": 1}, "astype(str)")])
def test_unhashable_task_values_are_named(entry, label, fix):
    """by= a column of lists or dicts: pandas' groupby raised a bare "TypeError:
    unhashable type: 'list'" naming no column; now the column, rows and fix are named."""
    df = _tasks(_chinchilla_frame(), {"a": 12, "b": 12})
    df["g"] = df["g"].astype(object)
    df.loc[[104, 119], "g"] = pd.Series([label, label], index=[104, 119], dtype=object)
    _rejects(entry, df, rf"^column 'g' \(task column, by\) holds 2 unhashable values "
                        rf"\({type(label).__name__}\) at rows \[104, 119\], e\.g\. .*; a task "
                        rf"label must be a string, number or tuple\. Convert them first, e\.g\. "
                        rf"df\['g'\] = df\['g'\]\.{re.escape(fix)}\.$", by="g")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("convert, dtype", [
    (lambda s: s.astype(str), "str"),
    (lambda s: s.astype(object), "object"),
    (lambda s: pd.Categorical(s.round(-6)), "category"),
])
def test_non_numeric_column(entry, convert, dtype):
    df = _chinchilla_frame()
    df["N"] = convert(df["N"])
    _rejects(entry, df, rf"column 'N' \(input 'N'\) has dtype {dtype}, not numbers; convert "
                        r"it with pd\.to_numeric\(df\['N'\]\) or map another column")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_object_column_of_decimals_is_not_called_missing(entry):
    """Decimal values (a SQL NUMERIC column read with pd.read_sql). Before: "24 missing,
    non-finite or non-numeric entries at rows [...], e.g. Decimal('...'); drop or fill
    them", advice to drop every row; pd.to_numeric converts them."""
    from decimal import Decimal

    df = _chinchilla_frame()
    dec = df.assign(N=[Decimal(repr(v)) for v in df["N"]])
    dec.loc[105, "N"] = Decimal("NaN")
    msg = _rejects(entry, dec, r"column 'N' \(input 'N'\) has dtype object, not numbers; "
                               r"convert it with pd\.to_numeric\(df\['N'\]\) or map another "
                               r"column \(1 missing, non-finite or non-numeric entries at rows "
                               r"\[105\], e\.g\. Decimal\('NaN'\)")
    assert "24 missing" not in msg
    np.testing.assert_array_equal(pd.to_numeric(dec["N"]).drop(index=105), df["N"].drop(index=105))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("dtype", ["bool", "boolean"])
def test_true_false_column_says_astype_float(entry, dtype):
    """Weights of True/False (which rows to use). Before, the fix given was
    pd.to_numeric(df['w']), which returns the bool column unchanged: refused again."""
    df = _chinchilla_frame().assign(w=lambda d: (d.N > 1e8).astype(dtype))
    _rejects(entry, df, rf"^column 'w' \(weights\) has dtype {dtype}, not numbers; convert it "
                        r"with df\['w'\]\.astype\(float\) \(True -> 1\.0, False -> 0\.0\) or "
                        r"map another column\.$", weights="w")
    fixed = df.assign(w=df["w"].astype(float))
    np.testing.assert_array_equal(make_batch(fixed, jf.models.chinchilla(), y="loss",
                                             weights="w").w[0, :24], fixed["w"])


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_negative_weights_column(entry):
    df = _chinchilla_frame()
    df["w"] = 1.0
    df.loc[[107, 113, 114], "w"] = -0.5
    _rejects(entry, df, r"column 'w' \(weights\) has 3 negative values at rows \[107, 113, 114\]; weights "
                        r"must be >= 0", weights="w")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_negative_weights_array(entry):
    df = _chinchilla_frame()
    w = np.ones(len(df))
    w[5] = -1.0
    w_before = w.copy()
    _rejects(entry, df, r"weights have 1 negative values at rows \[105\]; weights must be "
                        r">= 0", weights=w)
    np.testing.assert_array_equal(w, w_before)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("weights, why", [
    (np.ones(23), r"; got shape \(23,\)"),
    # before: no word of which rows
    (np.r_[np.ones(22), np.nan, np.inf], r"; 2 are NaN or infinite at rows \[122, 123\]: drop "
                                         r"those rows or give them a weight")])
def test_bad_weights_array(entry, weights, why):
    _rejects(entry, _chinchilla_frame(), r"weights must be 24 finite numbers, one per row" + why,
             weights=weights)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("wrap", [pd.Series, list])
def test_weights_of_numeric_strings_are_refused_as_a_columns_are(entry, wrap):
    """weights="w" of '1', '0.5' is refused with a pd.to_numeric hint, as input and
    target columns are; the same values given as a Series or a list were converted by
    np.asarray(..., float64), silently. Now they are refused the same way."""
    df = _chinchilla_frame()
    text = [f"{v:g}" for v in np.linspace(0.5, 2.0, len(df))]
    w = pd.Series(text, index=df.index) if wrap is pd.Series else wrap(text)
    _rejects(entry, df, r"^weights has dtype (str|object), not numbers; convert it with "
                        r"pd\.to_numeric\(weights\)\.$", weights=w)
    _rejects(entry, df.assign(w=text), r"^column 'w' \(weights\) has dtype (str|object), not "
                                       r"numbers; convert it with pd\.to_numeric\(df\['w'\]\)",
             weights="w")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_weights_name_a_column_by_any_label_as_y_and_by_do(entry):
    """weights= reads a column by any label the data's columns hold, as y=, by= and x= do:
    an integer (a CSV read with header=None) or a tuple of MultiIndex columns. Before, only
    a string was read as a column: weights=3 was refused as "got shape ()", and
    weights=('w', '') raised numpy's "could not convert string to float: 'w'"."""
    law = jf.models.chinchilla()
    df = _chinchilla_frame().assign(w=np.linspace(0.5, 2.0, 24))
    want = make_batch(df, law, y="loss", weights="w").w
    ints = df.set_axis(["N", "D", 2, 3], axis=1)
    multi = df.set_axis(pd.MultiIndex.from_tuples([(c, "") for c in df.columns]), axis=1)
    for data, kw in [(ints, dict(y=2, weights=3)),
                     (multi, dict(y=("loss", ""), x={"N": ("N", ""), "D": ("D", "")},
                                  weights=("w", "")))]:
        before = data.copy(deep=True)
        if entry == "make_batch":
            np.testing.assert_array_equal(make_batch(data, law, **kw).w, want)
        else:
            res = _call(entry, data, law, **kw)
            ref = _call(entry, df, law, weights="w")
            np.testing.assert_allclose(res.values, ref.values, rtol=1e-10)
        pd.testing.assert_frame_equal(data, before)
    # True is not the label 1 (True == 1): refused as a weight of shape (), as before
    _rejects(entry, ints.rename(columns={3: 1}), r"^weights must be 24 finite numbers, one "
                                                 r"per row; got shape \(\)", y=2, weights=True)
    # a column of negative weights is named as a column, by its label
    _rejects(entry, ints.assign(**{"3": -1.0}).drop(columns=3).rename(columns={"3": 3}),
             r"^column 3 \(weights\) has 24 negative values", y=2, weights=3)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("weights", [("w", "x"), {"a": 1.0}])
def test_weights_neither_column_nor_numbers_are_named(entry, weights):
    """weights that are neither a column's label nor numbers: a ValueError naming weights
    and the data's columns (before: numpy's "could not convert string to float: 'w'", or
    a TypeError "float() argument must be a string or a real number, not 'dict'")."""
    df = _chinchilla_frame().assign(w=1.0)
    msg = _rejects(entry, df, r"^weights must be a column name or 24 numbers, one per row; "
                              rf"got {type(weights).__name__} ", weights=weights)
    assert "['N', 'D', 'loss', 'w']" in msg


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_weights_series_on_another_index(entry):
    """A weights Series is used row for row only when its index is the data's. Before: a
    Series of the unsorted frame given with the sorted one (same length) was read by
    position, each row silently taking another row's weight."""
    df = _chinchilla_frame()
    w = pd.Series(np.linspace(0.5, 2.0, len(df)), index=df.index)
    msg = _rejects(entry, df.sort_values("N"), r"weights is a Series whose index is not the "
                   r"data's index \(first difference: label \d+ at row 0\)", weights=w)
    assert "w.reindex(df.index)" in msg and "w.to_numpy()" in msg
    batch = make_batch(df, jf.models.chinchilla(), y="loss", weights=w)   # aligned: fine
    np.testing.assert_array_equal(batch.w[0, :len(df)], w.to_numpy())


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_nan_weights_column(entry):
    df = _chinchilla_frame()
    df["w"] = 1.0
    df.loc[111, "w"] = np.nan
    _rejects(entry, df, r"column 'w' \(weights\) has 1 NaN or infinite values at rows \[111\]",
             weights="w")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("make", [
    lambda df: df.to_dict(orient="list"),
    lambda df: df.to_numpy(),
    lambda df: df["loss"],
])
def test_not_a_dataframe(entry, make):
    data = make(_chinchilla_frame())
    before = copy.deepcopy(data)
    with pytest.raises(TypeError, match=rf"data must be a pandas DataFrame, got "
                                        rf"{type(data).__name__}\."):
        _call(entry, data, jf.models.chinchilla())
    if isinstance(data, pd.Series):
        pd.testing.assert_series_equal(data, before)
    elif isinstance(data, np.ndarray):
        np.testing.assert_array_equal(data, before)
    else:
        assert data == before


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_no_rows(entry):
    df = _chinchilla_frame().iloc[:0]
    _rejects(entry, df, r"the data has no rows; give at least one observation per task")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_duplicate_column_names(entry):
    # Two columns called 'N': which one is the input is ambiguous; this must be a clear
    # ValueError naming the column, not an AttributeError from deep inside pandas.
    df = _chinchilla_frame()
    df = pd.concat([df, df[["N"]] * 2], axis=1)
    _rejects(entry, df, r"(?i)column 'N'.*(duplicate|more than once|2 columns)")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_top_level_of_multiindex_columns(entry):
    """df.groupby([...]).agg({"loss": ["mean", "std"]}).reset_index() has columns
    ('N', ''), ('D', ''), ('loss', 'mean'), ('loss', 'std'); y='loss' names two. Before:
    AttributeError: 'DataFrame' object has no attribute 'dtype'."""
    df = _chinchilla_frame()
    agg = df.assign(sd=0.01)
    agg.columns = pd.MultiIndex.from_tuples([("N", ""), ("D", ""), ("loss", "mean"),
                                             ("loss", "std")])
    _rejects(entry, agg, re.escape(
        "column 'loss' is a level of the data's MultiIndex columns, above 2 column(s) "
        "([('loss', 'mean'), ('loss', 'std')]); name one in full, e.g. ('loss', 'mean'), or "
        "flatten the columns first"))
    batch = make_batch(agg, jf.models.chinchilla(), y=("loss", "mean"))
    np.testing.assert_array_equal(batch.y[0, :24], df["loss"].to_numpy())


def test_unknown_input_in_x_mapping():
    df = _chinchilla_frame()
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    with pytest.raises(ValueError, match=r"x maps \['Q'\], which are not inputs of law "
                                         r"'chinchilla'; its inputs are \['N', 'D'\]"):
        make_batch(df, jf.models.chinchilla(), y="loss", x={"Q": "N"})
    _assert_unchanged(df, before, attrs)


def test_two_inputs_mapped_to_one_column():
    """``x={'N': 'params', 'D': 'params'}`` (two law inputs read from one column, almost
    always a typo) was fitted without a word, the law getting N = D; so was ``x={'N':
    'D'}``, which leaves input D reading its own column D too. Both are refused at the
    public boundary, naming the inputs, the column and the fix; a swap is fine."""
    df = _chinchilla_frame().assign(params=lambda d: d["N"])
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    law = jf.models.chinchilla()
    both = ("x maps inputs 'N' and 'D' of law 'chinchilla' to the same column 'params', so "
            "they would read the same values: almost always a typo. Map each input to its "
            "own column, e.g. x={'N': 'params', 'D': '<column>'}; for a law that takes one "
            "quantity twice, copy the column under a second name and map one of the inputs "
            "to the copy.")
    with pytest.raises(ValueError) as e:
        make_batch(df, law, y="loss", x={"N": "params", "D": "params"})
    assert str(e.value) == both
    with pytest.raises(ValueError, match=r"^x maps inputs 'N' and 'D' of law 'chinchilla' "
                                         r"to the same column 'params'"):
        jf.fit(law, df, y="loss", x={"N": "params", "D": "params"})
    with pytest.raises(ValueError) as e:
        make_batch(df, law, y="loss", x={"N": "D"})
    assert str(e.value).startswith(
        "x maps input 'N' of law 'chinchilla' to column 'D', which its input 'D' reads too "
        "(an input not in x reads the column of its own name), so they would read the same "
        "values: almost always a typo. Map each input to its own column, e.g. "
        "x={'N': '<column>'};")
    _assert_unchanged(df, before, attrs)
    swapped = make_batch(df, law, y="loss", x={"N": "D", "D": "N"})
    np.testing.assert_array_equal(swapped.x["N"][0, :24], df["D"].to_numpy())
    np.testing.assert_array_equal(swapped.x["D"][0, :24], df["N"].to_numpy())


def test_input_reading_the_target_column():
    """``x={'N': 'loss'}, y='loss'`` (an input reading the target column, a typo) was
    fitted without a word: the law predicted the target from itself. Refused at the
    public boundary, naming the input, the column and the fix; so is an input whose own
    column is the target."""
    df = _chinchilla_frame()
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    law = jf.models.chinchilla()
    with pytest.raises(ValueError) as e:
        make_batch(df, law, y="loss", x={"N": "loss"})
    assert str(e.value) == (
        "x maps input 'N' of law 'chinchilla' to column 'loss', which is also the target "
        "y='loss': the law would predict the target from itself (almost always a typo). "
        "Map 'N' to its own column, e.g. x={'N': '<column>'}, or pass the target column "
        "as y=.")
    with pytest.raises(ValueError, match=r"^x maps input 'N' of law 'chinchilla' to column "
                                         r"'loss', which is also the target"):
        jf.fit(law, df, y="loss", x={"N": "loss"})
    with pytest.raises(ValueError, match=r"^input 'D' of law 'chinchilla' reads the column "
                                         r"of its own name, which is also the target y='D'"):
        make_batch(df, law, y="D")
    _assert_unchanged(df, before, attrs)


# ----------------------------------------------------------------------------- padding


def test_bucket_lengths():
    assert [bucket(n) for n in (1, 8)] == [8, 8]
    sizes = [8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    for lo, hi in zip(sizes, sizes[1:]):
        # every n in (lo, hi] goes to hi: the smallest bucket >= n
        assert bucket(lo) == lo
        assert bucket(lo + 1) == hi
        assert bucket(hi) == hi
    ns = np.arange(1, 2000)
    b = np.array([bucket(int(n)) for n in ns])
    assert np.all(b >= ns)
    assert np.all(np.diff(b) >= 0)
    assert np.all(b <= np.maximum(8, 1.5 * ns))            # padding wastes at most a third
    assert len(np.unique(b)) == 17                          # 1..1999: 17 shapes, 8 to 2048
    assert bucket(3, minimum=4) == 4


def test_padding_is_masked_and_ragged_tasks_are_placed_by_row():
    df = _chinchilla_frame(n=27)
    # interleaved, unsorted labels: tasks of 13, 9 and 5 points
    labels = np.array(["c"] * 5 + ["a"] * 13 + ["b"] * 9)
    perm = np.random.default_rng(1).permutation(len(df))
    df["g"] = labels[perm]
    df["w"] = np.linspace(0.5, 2.0, len(df))
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    batch = make_batch(df, jf.models.chinchilla(), y="loss", by="g", weights="w")
    _assert_unchanged(df, before, attrs)

    assert list(batch.tasks) == ["a", "b", "c"] and batch.tasks.name == "g"
    np.testing.assert_array_equal(batch.n_points, [13, 9, 5])
    T, P = 3, bucket(13)
    assert P == 16
    for arr in (batch.y, batch.w, batch.rows, batch.x["N"], batch.x["D"]):
        assert arr.shape == (T, P)
    assert batch.y.dtype == batch.w.dtype == batch.x["N"].dtype == np.float64

    real = np.arange(P)[None, :] < batch.n_points[:, None]
    assert np.all(batch.w[~real] == 0.0)
    assert np.all(batch.rows[~real] == -1)
    # padding repeats the task's first point (inputs and target), so a law only sees data
    for arr in (batch.y, batch.x["N"], batch.x["D"]):
        np.testing.assert_array_equal(arr[~real], np.broadcast_to(arr[:, :1], arr.shape)[~real])
    assert np.all(batch.w[real] > 0)

    # each row of df appears exactly once, in its own task, in the original row order
    assert sorted(batch.rows[real].tolist()) == list(range(len(df)))
    for t, label in enumerate(batch.tasks):
        rows = batch.rows[t, : batch.n_points[t]]
        np.testing.assert_array_equal(rows, np.flatnonzero(df["g"].to_numpy() == label))
        sub = df.iloc[rows]
        np.testing.assert_array_equal(batch.y[t, : len(rows)], sub["loss"].to_numpy())
        np.testing.assert_array_equal(batch.w[t, : len(rows)], sub["w"].to_numpy())
        np.testing.assert_array_equal(batch.x["N"][t, : len(rows)], sub["N"].to_numpy())
        np.testing.assert_array_equal(batch.x["D"][t, : len(rows)], sub["D"].to_numpy())


def test_zero_weight_rows_are_kept_with_zero_weight():
    df = _chinchilla_frame(n=20)     # padded to 24
    w = np.ones(len(df))
    w[[0, 5]] = 0.0
    batch = make_batch(df, jf.models.chinchilla(), y="loss", weights=w)
    assert batch.n_points[0] == len(df)
    np.testing.assert_array_equal(batch.w[0, : len(df)], w)
    assert batch.w.sum() == len(df) - 2
    # padding copies the first point of positive weight (row 1), not the zero-weight row 0
    pad = slice(len(df), None)
    assert batch.w.shape[1] > len(df) and np.all(batch.w[0, pad] == 0.0)
    assert np.all(batch.y[0, pad] == df["loss"].iloc[1])
    assert np.all(batch.x["N"][0, pad] == df["N"].iloc[1])
    assert np.all(batch.x["D"][0, pad] == df["D"].iloc[1])


def test_single_task_and_x_mapping():
    df = _chinchilla_frame().rename(columns={"N": "params", "D": "tokens"})
    batch = make_batch(df, jf.models.chinchilla(), y="loss", x={"N": "params", "D": "tokens"})
    assert batch.tasks.equals(pd.Index([0], name="task"))
    np.testing.assert_array_equal(batch.x["N"][0, :24], df["params"].to_numpy())
    np.testing.assert_array_equal(batch.x["D"][0, :24], df["tokens"].to_numpy())
    np.testing.assert_array_equal(batch.rows[0, :24], np.arange(24))


def test_multi_column_by_gives_multiindex():
    df = _chinchilla_frame(n=36)
    df["family"] = ["x"] * 18 + ["w"] * 18
    df["size"] = np.tile([2, 1], 18)
    batch = make_batch(df, jf.models.chinchilla(), y="loss", by=["family", "size"])
    assert isinstance(batch.tasks, pd.MultiIndex)
    assert list(batch.tasks.names) == ["family", "size"]
    assert list(batch.tasks) == [("w", 1), ("w", 2), ("x", 1), ("x", 2)]
    np.testing.assert_array_equal(batch.n_points, [9, 9, 9, 9])
    for t, (fam, size) in enumerate(batch.tasks):
        rows = batch.rows[t, :9]
        assert (df["family"].iloc[rows] == fam).all() and (df["size"].iloc[rows] == size).all()


def test_integer_column_labels_as_task_column(tmp_path):
    """A CSV read with header=None has columns 0, 1, 2, ...: ``by=0`` names one column (as
    ``y=3`` and ``x={"N": 1}`` do), in the batch, in predictions and after a save and
    load. Before: TypeError "'int' object is not iterable"."""
    df = _tasks(_chinchilla_frame(), {"x": 12, "w": 12})
    df = df[["g", "N", "D", "loss"]].set_axis([0, 1, 2, 3], axis=1)
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    batch = make_batch(df, jf.models.chinchilla(), y=3, by=0, x={"N": 1, "D": 2})
    assert batch.tasks.equals(pd.Index(["w", "x"], name=0))
    _assert_unchanged(df, before, attrs)
    law = jf.models.chinchilla()
    res = jf.FitResult(
        law=law, tasks=batch.tasks, values=np.array([[TRUTH[n] for n in law.param_names]] * 2),
        objective=np.zeros(2), status=np.zeros(2, np.int32), steps=np.ones(2, np.int64),
        grad_norm=np.zeros(2), at_bound=np.zeros((2, 5), bool), identified=np.ones(2, bool),
        options=dict(y=3, by=0, x={"N": 1, "D": 2}))
    back = jf.load(jf.save(res, tmp_path / "fit.json"))
    assert back.tasks.equals(res.tasks)
    rows = df.iloc[[0, 13]]
    for r in (res, back):
        pred = r.predict(rows)
        truth = TRUTH["E"] + TRUTH["A"] / rows[1] ** TRUTH["alpha"] + \
            TRUTH["B"] / rows[2] ** TRUTH["beta"]
        np.testing.assert_allclose(pred["prediction"], truth, rtol=1e-12)


def test_task_column_that_is_also_an_index_level():
    """df.set_index(["g", ...], drop=False) keeps g as a column and an index level. Before:
    jf.fit, jf.sample and jf.bootstrap raised pandas' "'g' is both an index level and a
    column label, which is ambiguous"; the column is the one by= names."""
    df = _tasks(_chinchilla_frame(), {"x": 12, "w": 12})
    df = df.set_index(["g", df.index], drop=False)
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    batch = make_batch(df, jf.models.chinchilla(), y="loss", by="g")
    _assert_unchanged(df, before, attrs)
    assert batch.tasks.equals(pd.Index(["w", "x"], name="g"))
    np.testing.assert_array_equal(batch.rows[:, :12], [np.arange(12, 24), np.arange(12)])
    two = make_batch(df.assign(h=1), jf.models.chinchilla(), y="loss", by=["g", "h"])
    assert list(two.tasks) == [("w", 1), ("x", 1)] and two.tasks.names == ["g", "h"]


def test_batch_does_not_alias_the_dataframe():
    df = _chinchilla_frame()
    df["w"] = 1.0
    before = df.copy(deep=True)
    batch = make_batch(df, jf.models.chinchilla(), y="loss", weights="w")
    batch.x["N"][:] = -1.0
    batch.y[:] = -1.0
    batch.w[:] = -1.0
    pd.testing.assert_frame_equal(df, before, check_exact=True)


def test_successful_fit_leaves_dataframe_unchanged():
    law = jf.models.power_law("N")
    rng = np.random.default_rng(3)
    n = 30
    df = pd.DataFrame({
        "params": np.tile(np.logspace(6, 10, 10), 3),
        "fam": pd.Categorical(np.repeat(["p", "q", "r"], 10)),
        "w": rng.uniform(0.5, 1.5, n),
    }, index=pd.Index(np.arange(n)[::-1] * 3, name="run"))
    E = np.repeat([1.5, 1.7, 1.9], 10)
    df["loss"] = E + 200.0 * df["params"] ** -0.3
    df.attrs["provenance"] = ["synthetic", {"seed": 3}]
    before, attrs = df.copy(deep=True), copy.deepcopy(df.attrs)
    res = jf.fit(law, df, y="loss", by="fam", x={"N": "params"}, weights="w", restarts=8,
                 warn=False)
    _assert_unchanged(df, before, attrs)
    assert list(res.tasks) == ["p", "q", "r"]
    np.testing.assert_allclose(res.params["E"].to_numpy(), [1.5, 1.7, 1.9], rtol=1e-6)
    pred = res.predict(df)
    _assert_unchanged(df, before, attrs)
    np.testing.assert_allclose(pred["prediction"].to_numpy(), df["loss"].to_numpy(), rtol=1e-8)
    assert pred.index.equals(df.index)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_text_column_names_the_entry_that_is_not_a_number(entry):
    """A CSV column with one bad cell reads as text (pandas 3: dtype str); the message
    names that cell, not only the dtype."""
    df = _chinchilla_frame()
    df["loss"] = df["loss"].map(repr).astype(str)
    df.loc[103, "loss"] = "oops"
    _rejects(entry, df, r"column 'loss' \(target y\) has dtype str, not numbers; convert it "
                        r"with pd\.to_numeric\(df\['loss'\]\) or map another column \(1 missing, "
                        r"non-finite or non-numeric entries at rows \[103\], e\.g\. 'oops'")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("write, message", [
    ("{:,.0f}", r"its entries use ',' as a thousands separator \(e\.g\. '[\d,]+'\); convert "
                r"it with pd\.to_numeric\(df\['N'\]\.str\.replace\(',', ''\)\), or read the "
                r"file with pd\.read_csv\(path, thousands=','\)\.$"),
    ("{:.4e}", None),
])
def test_numbers_written_with_commas_say_how_to_read_them(entry, write, message):
    """A CSV column of "1,960,668,711" reads as text. Before: "convert it with
    pd.to_numeric" (which fails on it) and "drop or fill them" (every row)."""
    df = _chinchilla_frame()
    text = df["N"].map(write.format).astype(str)
    if message is None:                              # decimal commas: 2,3810e+09
        text, message = text.str.replace(".", ",", regex=False), (
            r"its entries use ',' as the decimal mark \(e\.g\. '[\d,]+e\+\d+'\); convert "
            r"it with pd\.to_numeric\(df\['N'\]\.str\.replace\(',', '\.'\)\), or read the "
            r"file with pd\.read_csv\(path, decimal=','\)\.$")
    _rejects(entry, df.assign(N=text), r"column 'N' \(input 'N'\) has dtype str, not "
                                       r"numbers: " + message)
    np.testing.assert_allclose(pd.to_numeric(text.str.replace(",", "" if "thousands" in message
                                                              else ".")), df["N"], rtol=1e-3)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_missing_column_in_other_letter_case_says_rename(entry):
    """Before: no hint (difflib finds no likeness between 'Loss' and 'loss')."""
    df = _chinchilla_frame().rename(columns={"loss": "Loss"})
    _rejects(entry, df, re.escape("the data has columns ['N', 'D', 'Loss'] (the data's column "
                                  "'Loss' is 'loss' in other letter case). Rename them or map "
                                  "them, e.g. y='Loss'."))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_missing_column_that_is_an_index_level_says_reset_index(entry):
    """by='g' on a frame indexed by g (after a groupby or set_index). Before: only
    "missing column(s) ['g']" and the columns, which do not show the index."""
    df = _tasks(_chinchilla_frame(), {"x": 12, "w": 12}).set_index("g")
    _rejects(entry, df, re.escape("(['g'] is the data's index, not a column: pass "
                                  "df.reset_index())"), by="g")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_missing_column_names_a_close_column(entry):
    df = _chinchilla_frame().rename(columns={"D": "tokens"})
    _rejects(entry, df, re.escape("missing column(s) ['tokns'] (input 'D') for law 'chinchilla'; "
                                  "the data has columns ['N', 'tokens', 'loss'] (the data's "
                                  "column 'tokens' is close to 'tokns'). Rename them"),
             x={"D": "tokns"})


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_missing_column_names_a_column_with_spaces(entry):
    """A header written "N, D, loss" keeps the spaces. Before: only 'close to'."""
    df = _chinchilla_frame().rename(columns={"D": " D", "loss": " loss "})
    _rejects(entry, df, re.escape("(the data's column ' D' is 'D' with spaces, ' loss ' is "
                                  "'loss' with spaces: strip the names, df.columns = "
                                  "df.columns.str.strip())"))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_law_given_by_name_is_refused(entry):
    _rejects(entry, _chinchilla_frame(), r"law must be a jaxfit\.Law, e\.g\. "
             r"jaxfit\.models\.chinchilla\(\), got str 'chinchilla'; .*jaxfit\.io\.get_law",
             law="chinchilla", exc=TypeError)


@pytest.mark.parametrize("call", [jf.sample, jf.bootstrap])
def test_law_given_by_name_is_refused_by_sample_and_bootstrap(call):
    with pytest.raises(TypeError, match="law must be a jaxfit.Law"):
        call("chinchilla", _chinchilla_frame())


def test_missing_column_example_uses_the_laws_own_input_and_a_close_column():
    """The example was always ``x={'N': 'params'}, y='loss'``, also for power_law('C') on
    data whose compute column is 'c'; now it names the law's first missing input and the
    data's column closest to it ('<column>' when none is), and the command line still
    writes it as --x C=c."""
    from jaxfit.cli import _cli_words

    law = jf.models.power_law("C")
    df = pd.DataFrame({"c": [1e18, 1e19, 1e20], "loss": [3.0, 2.8, 2.6]})
    with pytest.raises(ValueError, match=r"\['c', 'loss'\] \(the data's column 'c' is 'C' in "
                       r"other letter case\)\. Rename them or map them, e\.g\. x=\{'C': 'c'\}"
                       r"\.$") as close:
        make_batch(df, law, y="loss")
    assert _cli_words(str(close.value)).endswith("map them, e.g. --x C=c.")
    with pytest.raises(ValueError, match=r"map them, e\.g\. x=\{'C': '<column>'\}, "
                       r"y='loss'\.$") as none:
        make_batch(df.rename(columns={"c": "flops"}), law, y="Loss")
    assert _cli_words(str(none.value)).endswith("map them, e.g. --x C=COLUMN --y loss.")
