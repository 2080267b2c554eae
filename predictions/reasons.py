"""A score's reasons: the features that pushed it up most, from the model's own contributions (docs/predictions.md).

Each feature's contribution to the raw score (log-odds for churn, log of the mean for the Tweedie LTV) plus the bias,
per player, read off the model's own trees along each player's decision paths: every split on a player's path credits
its feature with the change of the node value it makes (the path, or "Saabas", attribution; they sum to the raw score
as TreeSHAP's do). XGBoost computes it itself (``pred_contribs=True, approx_contribs=True``); for LightGBM the same
is computed here from its leaf indices (``pred_leaf=True``) and its trees' node values (``dump_model``):
``PathContributions``. Exact TreeSHAP (LightGBM ``pred_contrib=True``, XGBoost ``pred_contribs=True``) costs about a
millisecond a player on two cores with these models, 20-50 times more, past the scoring budget of a million players.

The reasons are the three largest positive contributions, largest first, stored as ``[[feature, value,
contribution], ...]`` (value None when the feature is missing). Picked with numpy over the whole matrix, and put in
words per locale through ``texts``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from predictions.features import GROUP_ORDINAL, RISK_ORDINAL
from predictions.messages import REASON_MESSAGES
from texts.catalog import text_render

TOP = 3
Reason = list[Any]  # [feature, value | None, contribution]

_GROUP_NAMES = {v: k for k, v in GROUP_ORDINAL.items()}
_RISK_NAMES = {v: k for k, v in RISK_ORDINAL.items()}
_DECIMAL = {"app_trend", "purchases_per_30d"}
_DAYS = {"days_since_app", "days_since_any", "tenure_days", "days_since_purchase", "days_since_first_purchase"}


class PathContributions:
    """LightGBM's path contributions: per tree a table (leaves, k) of what each feature adds along the path to that
    leaf, summed over the trees for each player's leaves; the bias is the sum of the trees' root values."""

    def __init__(self, model: dict[str, Any], k: int) -> None:
        self.tables: list[npt.NDArray[np.float64]] = []
        self.bias = 0.0
        for tree in model["tree_info"]:
            root = tree["tree_structure"]
            if "split_feature" not in root:  # a tree of one leaf
                self.tables.append(np.zeros((1, k)))
                self.bias += float(root.get("leaf_value", 0.0))
                continue
            table = np.zeros((int(tree["num_leaves"]), k))
            self.bias += float(root["internal_value"])
            stack: list[tuple[dict[str, Any], npt.NDArray[np.float64]]] = [(root, np.zeros(k))]
            while stack:
                node, path = stack.pop()
                for child in (node["left_child"], node["right_child"]):
                    step = path.copy()
                    value = child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                    step[int(node["split_feature"])] += float(value) - float(node["internal_value"])
                    if "leaf_index" in child:
                        table[int(child["leaf_index"])] = step
                    else:
                        stack.append((child, step))
            self.tables.append(table)

    def __call__(self, leaves: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.float64]:
        """(n, k + 1): the features' contributions then the bias, for players whose leaf in tree t is leaves[:, t]."""
        n, k = len(leaves), self.tables[0].shape[1] if self.tables else 0
        out = np.zeros((n, k + 1))
        for t, table in enumerate(self.tables):
            out[:, :k] += table[leaves[:, t]]
        out[:, k] = self.bias
        return out


def reasons_top(
    contributions: npt.NDArray[np.floating[Any]], values: npt.NDArray[np.float32], names: tuple[str, ...]
) -> list[list[Reason]]:
    """Per row, up to three ``[feature, value, contribution]`` with positive contributions, largest first.
    ``contributions`` is (n, k + 1): the k features' then the bias (as both libraries give them)."""
    k = len(names)
    contrib = np.asarray(contributions[:, :k], dtype=np.float64)
    ranked = np.where(contrib > 0, contrib, -np.inf)
    top = min(TOP, k)
    idx = np.argpartition(-ranked, top - 1, axis=1)[:, :top] if k > top else np.tile(np.arange(k), (len(contrib), 1))
    picked = np.take_along_axis(ranked, idx, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    vals = np.take_along_axis(values.astype(np.float64), idx, axis=1)
    out: list[list[Reason]] = []
    for row_idx, row_c, row_v in zip(idx.tolist(), picked.tolist(), vals.tolist(), strict=True):
        out.append(
            [
                [names[j], None if math.isnan(v) else round(v, 4), round(c, 5)]
                for j, c, v in zip(row_idx, row_c, row_v, strict=True)
                if c != -math.inf
            ]
        )
    return out


def value_text(feature: str, value: float | None) -> str:
    """A feature's value as a player reads it: counts and tokens whole, days whole, the trend with one decimal."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if feature == "rfm_group":
        return _GROUP_NAMES.get(round(value), "-")
    if feature == "risk_profile":
        return _RISK_NAMES.get(round(value), "-")
    if feature in ("night_share_30d", "purchase_recency_share"):
        return str(round(value * 100))
    if feature in _DECIMAL:
        return f"{value:.1f}"
    if feature in _DAYS:
        return f"{math.floor(value):,}"
    return f"{round(value):,}"


def reason_text(feature: str, value: float | None, locale: str) -> str:
    """The reason in words, in ``locale`` (ko or en; the operator's wording when set)."""
    return text_render(REASON_MESSAGES[feature], locale, value=value_text(feature, value))


def reasons_words(reasons: list[Reason]) -> list[dict[str, Any]]:
    """Stored reasons as the API gives them: each with its text in ko and en."""
    return [
        {
            "feature": feature,
            "value": value,
            "contribution": contribution,
            "text": {locale: reason_text(feature, value, locale) for locale in ("ko", "en")},
        }
        for feature, value, contribution in reasons
        if feature in REASON_MESSAGES
    ]
