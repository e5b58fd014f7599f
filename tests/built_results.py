"""Recipe results built by hand (nothing fitted), for tests of what the recipes and the
command line do with them (`flp_vs_ladder` with `flp` and `ladder` monkeypatched), and
`round_trip`, the pickle check of a recipe result."""

import dataclasses
import pickle

import pandas as pd

from jaxfit.recipes.protocol import RecipeResult


def round_trip(res):
    """``res`` pickled and unpickled, after checking that its tables and each point fit's
    parameters survived; a recipe result whose laws did not pickle raised here."""
    back = pickle.loads(pickle.dumps(res))
    assert type(back) is type(res)
    pd.testing.assert_frame_equal(back.table(), res.table())
    pd.testing.assert_frame_equal(back.summary(), res.summary())
    fits = getattr(res, "fits", {})
    for name in fits if isinstance(fits, dict) else range(len(fits)):
        if hasattr(fits[name], "params"):                  # a FitResult (not FLP-M's MLP)
            pd.testing.assert_frame_equal(back.fits[name].params, fits[name].params)
    return back


def built_flp(fits, sampling_runs=("a",), targets=("7B-4T",)):
    """A one-row FLP prediction table, an empty frame and an `FLPResult` built from them
    with point fits ``fits`` (name -> FitResult)."""
    from jaxfit.recipes.flp import FLPResult

    pred = pd.DataFrame({"task": ["piqa_val"], "target": ["7B-4T"], "C": [1e22],
                         "actual_loss": [3.0], "pred_loss": [3.1], "actual_acc": [0.8],
                         "pred_acc": [0.79], "abs_error": [1.0], "stage2_pred_acc": [0.8],
                         "baseline_pred_acc": [0.7], "baseline_abs_error": [10.0],
                         "rel_error": [-0.0125]})
    empty = pd.DataFrame()
    res = FLPResult(predictions=pred, stage1=empty, stage2=empty, baseline=empty,
                    stage1_data=empty, stage2_data=empty, curves=empty, fits=dict(fits),
                    options={"tasks": ["piqa_val"], "sampling_runs": list(sampling_runs),
                             "targets": list(targets), "target_last_n": 5})
    return pred, empty, res


@dataclasses.dataclass(frozen=True, eq=False)
class OneTable(RecipeResult):
    """A recipe result of one table (also its summary) and the options it ran with."""

    frame: pd.DataFrame
    options: dict
    recipe: str = "ladder"

    def table(self):
        return self.frame

    def summary(self):
        return self.frame
