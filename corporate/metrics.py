"""Company A's webhook in figures (issue 13, item 4), in ``core.metrics``' style: registered with prometheus_client's
default registry, so ``/metrics`` serves them (aggregated across processes in multiprocess mode)."""

from __future__ import annotations

import re
import threading

from prometheus_client import Counter

WEBHOOK_EVENTS_IGNORED = Counter(
    "tokenloop_webhook_events_ignored_total",
    "Company A events of a type we do not handle, accepted (2xx) and ignored, by type (bounded: ignored_type_label).",
    ["type"],
)
WEBHOOK_ID_CONFLICTS = Counter(
    "tokenloop_webhook_id_conflicts_total",
    "Company A deliveries refused (409): webhook-id applied already to another event, by the new event's type.",
    ["type"],
)

# The type is the sender's text: each process gives its own label to the first IGNORED_TYPE_LABELS_MAX types it sees
# (sanitised to [a-z0-9._-], at most IGNORED_TYPE_LABEL_MAX_LENGTH characters) and counts any later one as "other", so
# the series stay few whatever arrives. The log line of each ignored event keeps the type as sent.
IGNORED_TYPE_LABELS_MAX = 20
IGNORED_TYPE_LABEL_MAX_LENGTH = 40
OTHER_LABEL = "other"
_UNSAFE = re.compile(r"[^a-z0-9._-]")
_labels: set[str] = set()
_labels_lock = threading.Lock()


def ignored_type_label(event_type: str) -> str:
    """The ``type`` label an ignored event is counted under: bounded in length, alphabet and number."""
    label = _UNSAFE.sub("_", event_type[:IGNORED_TYPE_LABEL_MAX_LENGTH].lower())[:IGNORED_TYPE_LABEL_MAX_LENGTH]
    if not label:
        return OTHER_LABEL
    with _labels_lock:
        if label in _labels:
            return label
        if len(_labels) < IGNORED_TYPE_LABELS_MAX:
            _labels.add(label)
            return label
    return OTHER_LABEL
