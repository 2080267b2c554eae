"""A score's reasons: the features that pushed it up most, from the model's own contributions (docs/predictions.md).

Each feature's contribution to the raw score (log-odds for churn, log of the mean for the Tweedie LTV) plus the bias,
per player, read off the model's own trees along each player's decision paths: every split on a player's path credits
its feature with the change of the node value it makes (the path, or "Saabas", attribution; they sum to the raw score
as TreeSHAP's do). Both models' are computed here the same way (``PathContributions``), from each player's leaves
(``pred_leaf=True``, the one tree walk scoring needs) and the trees' node values (LightGBM's ``dump_model``; XGBoost's
JSON dump, whose node means are what XGBoost's own ``pred_contribs=True, approx_contribs=True`` uses, and equal to it,
tested); the raw scores come from the same leaves. Exact TreeSHAP (LightGBM ``pred_contrib=True``, XGBoost
``pred_contribs=True``) costs about a millisecond a player on two cores with these models, 20-50 times more, past the
scoring budget of a million players.

The reasons are the three largest positive contributions, largest first, stored as ``[[feature, value,
contribution], ...]`` (value None when the feature is missing). Picked with numpy over the whole matrix, and put in
words per locale through ``texts``.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from predictions.features import GROUP_ORDINAL, RISK_ORDINAL
from predictions.messages import REASON_MESSAGES
from texts.catalog import text_render

if TYPE_CHECKING:  # the model libraries load with a model, not with the API's reasons in words (a web worker's start)
    import lightgbm as lgb
    import xgboost as xgb

TOP = 3
Reason = list[Any]  # [feature, value | None, contribution]

_GROUP_NAMES = {v: k for k, v in GROUP_ORDINAL.items()}
_RISK_NAMES = {v: k for k, v in RISK_ORDINAL.items()}
_DECIMAL = {"app_trend", "purchases_per_30d"}
_DAYS = {"days_since_app", "days_since_any", "tenure_days", "days_since_purchase", "days_since_first_purchase"}


class PathContributions:
    """A tree ensemble's raw scores and path contributions, from each player's leaves (``pred_leaf``).

    Per tree a table (nodes, k) of what each feature adds along the path to each leaf, and each leaf's value. All
    trees' tables are stacked, and a player's leaves become one row of a sparse 0/1 matrix (one 1 per tree), so the
    contributions are one sparse product (``leaves x tables``, in float32: they only rank the reasons) and the raw
    score another (``leaves x leaf values``, in float64: it is the score). A dense gather of every tree's table per
    player costs five times more at a million players (docs/performance.md, "Predictions").

    ``lightgbm`` reads LightGBM's node values (``dump_model``: ``internal_value``); ``xgboost`` computes XGBoost's
    (the cover-weighted mean of the leaves below a node, as XGBoost's own ``approx_contribs`` does) from its JSON
    dump with statistics. The bias (the trees' root values, and XGBoost's base margin) is what every player starts
    from; it is no reason.
    """

    ROWS = 50_000  # players per sparse product

    def __init__(self, tables: list[npt.NDArray[np.float64]], leaf_values: list[npt.NDArray[np.float64]], bias: float):
        sizes = [len(t) for t in tables]
        self.offsets = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.k = tables[0].shape[1] if tables else 0
        self.table = np.vstack(tables).astype(np.float32) if tables else np.zeros((0, 0), np.float32)
        self.leaf_value = np.concatenate(leaf_values) if leaf_values else np.zeros(0)
        self.bias = bias

    @classmethod
    def lightgbm(cls, booster: lgb.Booster, k: int) -> PathContributions:
        tables, leaf_values, bias = [], [], 0.0
        for tree in booster.dump_model()["tree_info"]:
            root = tree["tree_structure"]
            if "split_feature" not in root:  # a tree of one leaf: its value is all bias
                tables.append(np.zeros((1, k)))
                leaf_values.append(np.zeros(1))
                bias += float(root.get("leaf_value", 0.0))
                continue
            table, values = np.zeros((int(tree["num_leaves"]), k)), np.zeros(int(tree["num_leaves"]))
            root_value = float(root["internal_value"])
            bias += root_value
            stack: list[tuple[dict[str, Any], npt.NDArray[np.float64]]] = [(root, np.zeros(k))]
            while stack:
                node, path = stack.pop()
                for child in (node["left_child"], node["right_child"]):
                    step = path.copy()
                    value = child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                    step[int(node["split_feature"])] += float(value) - float(node["internal_value"])
                    if "leaf_index" in child:
                        table[int(child["leaf_index"])] = step
                        values[int(child["leaf_index"])] = float(value) - root_value
                    else:
                        stack.append((child, step))
            tables.append(table)
            leaf_values.append(values)
        return cls(tables, leaf_values, bias)

    @classmethod
    def xgboost(cls, booster: xgb.Booster, names: tuple[str, ...]) -> PathContributions:
        index = {name: i for i, name in enumerate(names)}
        k = len(names)
        tables, leaf_values, bias = [], [], 0.0
        for dumped in booster.get_dump(dump_format="json", with_stats=True):
            root = json.loads(dumped)
            nodes: dict[int, dict[str, Any]] = {}
            stack = [root]
            while stack:
                node = stack.pop()
                nodes[int(node["nodeid"])] = node
                stack.extend(node.get("children", ()))
            mean: dict[int, float] = {}
            for node_id in sorted(nodes, reverse=True):  # children have higher ids than their parent
                node = nodes[node_id]
                if "leaf" in node:
                    mean[node_id] = float(node["leaf"])
                else:
                    kids = node["children"]
                    cover = sum(float(c["cover"]) for c in kids)
                    mean[node_id] = sum(mean[int(c["nodeid"])] * float(c["cover"]) for c in kids) / cover
            size = max(nodes) + 1
            table, values = np.zeros((size, k)), np.zeros(size)
            root_mean = mean[int(root["nodeid"])]
            bias += root_mean
            paths: list[tuple[dict[str, Any], npt.NDArray[np.float64]]] = [(root, np.zeros(k))]
            while paths:
                node, path = paths.pop()
                if "leaf" in node:
                    table[int(node["nodeid"])] = path
                    values[int(node["nodeid"])] = mean[int(node["nodeid"])] - root_mean
                    continue
                for child in node["children"]:
                    step = path.copy()
                    step[index[node["split"]]] += mean[int(child["nodeid"])] - mean[int(node["nodeid"])]
                    paths.append((child, step))
            tables.append(table)
            leaf_values.append(values)
        paths_of = cls(tables, leaf_values, bias)
        # The base margin (the Tweedie's log of its base score) is the one part not in the trees: what the booster's
        # own margin for a player adds to the trees' sum.
        import xgboost

        nothing = xgboost.DMatrix(np.full((1, k), np.nan, dtype=np.float32), missing=np.nan, feature_names=list(names))
        margin = float(booster.predict(nothing, output_margin=True)[0])
        raw, _ = paths_of(np.asarray(booster.predict(nothing, pred_leaf=True)).reshape(1, -1))
        paths_of.bias += margin - float(raw[0])
        return paths_of

    def __call__(self, leaves: npt.NDArray[np.integer[Any]]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        """For players whose leaf in tree t is ``leaves[:, t]``: the raw scores (n,) and the features'
        contributions (n, k), which with the bias sum to the raw scores (to float32's precision)."""
        import scipy.sparse as sp

        n, trees = leaves.shape
        raw, contributions = np.empty(n), np.empty((n, self.k), np.float32)
        for start in range(0, n, self.ROWS):  # bounds the sparse matrix's memory: 16 MB per tree per block
            block = leaves[start : start + self.ROWS]
            rows = len(block)
            columns = (block.astype(np.int32) + self.offsets.astype(np.int32)).ravel()
            onehot = sp.csr_matrix(
                (np.ones(rows * trees, np.float32), columns, np.arange(0, rows * trees + 1, trees, dtype=np.int32)),
                shape=(rows, len(self.table)),
            )
            raw[start : start + rows] = self.bias + self.leaf_value[columns].reshape(rows, trees).sum(axis=1)
            contributions[start : start + rows] = onehot @ self.table
        return raw, contributions


def reasons_top(
    contributions: npt.NDArray[np.floating[Any]], values: npt.NDArray[np.float32], names: tuple[str, ...]
) -> list[list[Reason]]:
    """Per row, up to three ``[feature, value, contribution]`` with positive contributions, largest first (value
    rounded to 4 decimals, None when missing; contribution to 5). ``contributions`` is (n, k), or (n, k + 1) with the
    bias last (as both libraries give them), which is no reason. Ranked and rounded in numpy; only the lists are
    built per row."""
    k = len(names)
    contrib = np.asarray(contributions[:, :k])
    ranked = np.where(contrib > 0, contrib, -np.inf)
    top = min(TOP, k)
    idx = np.argpartition(-ranked, top - 1, axis=1)[:, :top] if k > top else np.tile(np.arange(k), (len(contrib), 1))
    picked = np.take_along_axis(ranked, idx, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    picked = np.round(np.take_along_axis(picked, order, axis=1).astype(np.float64), 5)
    vals = np.round(np.take_along_axis(values, idx, axis=1).astype(np.float64), 4)
    inf = -math.inf
    return [
        [[names[j], None if v != v else v, c] for j, c, v in zip(row_idx, row_c, row_v, strict=True) if c != inf]
        for row_idx, row_c, row_v in zip(idx.tolist(), picked.tolist(), vals.tolist(), strict=True)
    ]


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
