"""A clinic's self-trials pooled per comparison: numbers only (words: ``wording``).

For each comparison (what B changes, :func:`backtrack.clinic_trials.comparison_key`)
the analysed trials (``analysed``: over, with an effect and its standard error; a
running trial is never pooled) go through :func:`backtrack.pooling.pool_effects`
(random effects; effects A − B in points, + = less pain with B), and, with enough
trials (:data:`backtrack.pooling.MIN_MODERATOR`), each moderator of :data:`MODERATORS`
through :func:`backtrack.pooling.meta_regression`, Bonferroni-counted over the
moderators tried. Definitions: ``docs/analysis.md``, *Pooled self-trials*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .clinic_trials import json_rows, json_value, trial_flow
from .pooling import MIN_DF, PooledEffects, meta_regression, pool_effects
from .units import Result

MODERATORS = {
    "baseline_pain": ("baseline pain", "point"),
    "adherence": ("adherence during the trial", "10 percentage points"),
}
"""The moderators tried per comparison: key → (what it is, its unit). Baseline pain is
the log's baseline (points, the mean of the first 7 rated days); adherence the mean dose
credit of the trial's A and B blocks, in tens of percentage points (so a slope reads per
10% more of the prescribed dose)."""


@dataclass(frozen=True)
class ComparisonPooled:
    """One comparison: its key, the CENT ``flow`` row (:func:`trial_flow`), the pooled
    analysed trials (patients named by folder), the moderators' slopes (points of effect
    per moderator unit; a ``why_null`` when there are too few trials) and the analysed
    trials ``not_pooled`` (patient → why: too few pairs for the pooling's t errors)."""

    comparison: str
    flow: Mapping[str, Any]
    pooled: PooledEffects
    moderators: Mapping[str, Result]
    not_pooled: Mapping[str, str]


def _moderator_values(rows: pd.DataFrame, name: str) -> np.ndarray:
    if name == "adherence":
        return (
            rows[["adherence_a", "adherence_b"]].mean(axis=1, skipna=False).to_numpy(dtype=float)
            * 10
        )
    return rows[name].to_numpy(dtype=float)


def pool_comparisons(records: pd.DataFrame) -> list[ComparisonPooled]:
    """Every comparison of the clinic's ``records``
    (:func:`backtrack.clinic_trials.trial_records`), in the flow's order (by key)."""
    flow = trial_flow(records)
    analysed = records["analysed"].fillna(False).astype(bool)
    result = []
    for row in flow.to_dict("records"):
        rows = records[(records["comparison"] == row["comparison"]) & analysed]
        few = rows["df"].astype(float) < MIN_DF
        not_pooled = {
            str(p): f"{int(d) + 1} complete pairs: pooling needs {MIN_DF + 1} or more"
            for p, d in zip(rows.loc[few, "patient"], rows.loc[few, "df"], strict=True)
        }
        rows = rows[~few]
        pooled = pool_effects(
            rows["effect"].to_numpy(dtype=float),
            rows["se"].to_numpy(dtype=float),
            rows["df"].to_numpy(dtype=float),
            names=[str(p) for p in rows["patient"]],
        )
        moderators = {}
        for name in MODERATORS:
            values = _moderator_values(rows, name)
            known = np.isfinite(values)
            moderators[name] = meta_regression(
                rows["effect"].to_numpy(dtype=float)[known],
                rows["se"].to_numpy(dtype=float)[known],
                values[known],
                dfs=rows["df"].to_numpy(dtype=float)[known],
                comparisons=len(MODERATORS),
            )
        result.append(
            ComparisonPooled(
                str(row["comparison"]),
                {str(k): v for k, v in row.items()},
                pooled,
                moderators,
                not_pooled,
            )
        )
    return result


def _result(result: Result) -> dict[str, Any]:
    return {
        "estimate": json_value(result.estimate),
        "low": json_value(result.low),
        "high": json_value(result.high),
        "n": result.n,
        "p": json_value(result.p),
        "why_null": result.why_null,
        **{k: json_value(v) for k, v in result.extra.items()},
    }


def pooled_record(comparison: ComparisonPooled) -> dict[str, Any]:
    """One comparison as JSON-ready numbers (points, A − B, + = less pain with B)."""
    pooled = comparison.pooled
    patients = pooled.patients.reset_index()
    return {
        "comparison": comparison.comparison,
        "trials_pooled": pooled.k,
        "not_pooled": dict(comparison.not_pooled),
        "method": pooled.method,
        "variances": pooled.variances,
        "mean": _result(pooled.mean),
        "tau": _result(pooled.tau),
        "prediction_low": json_value(pooled.prediction_low),
        "prediction_high": json_value(pooled.prediction_high),
        "i2": json_value(pooled.i2),
        "moderators": {k: _result(r) for k, r in comparison.moderators.items()},
        "patients": json_rows(patients),
    }
