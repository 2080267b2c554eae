"""Prometheus metrics. With PROMETHEUS_MULTIPROC_DIR set (several server worker processes)
values are aggregated across processes."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

ACTIONS_INGESTED = Counter(
    "tokenloop_actions_ingested_total",
    "Actions received by ingest, by outcome (stored or duplicate) and path (api or import).",
    ["outcome", "path"],
)
ACTIONS_REJECTED = Counter(
    "tokenloop_action_batches_rejected_total",
    "Ingest batches rejected by validation.",
    ["path"],
)


def render_metrics() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(DEFAULT_REGISTRY), CONTENT_TYPE_LATEST


WALLET_DRIFT = Gauge(
    "tokenloop_wallet_drift_players",
    "Players whose balance disagreed with the ledger at the last reconciliation, by store.",
    ["store"],
)

# Player protection in figures (design brief section 6): what the rules held back, per day with Prometheus'
# increase(...[1d]); the KPI dashboard shows them beside the players under each safeguard.
PROPOSALS_SUPPRESSED = Counter(
    "tokenloop_proposals_suppressed_total",
    "Proposals the protection rules removed from a recommendation, by proposal type and rule.",
    ["type", "rule"],
)
PUSHES_SUPPRESSED = Counter(
    "tokenloop_pushes_suppressed_total",
    "Pushes held back by the protection rules or the marketing cap, by kind and reason.",
    ["kind", "reason"],
)
REALITY_CHECKS = Counter("tokenloop_reality_checks_total", "Reality checks that fell due, handed to the notifications.")
# Limits (issue 13, item 3): what a bound left out.
IMPRESSIONS_OVER_CAP = Counter(
    "tokenloop_impressions_over_cap_total",
    "Served proposals not recorded as impressions: past the player's RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY.",
)
