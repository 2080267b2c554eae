#!/usr/bin/env bash
# `make monitoring-check`: the alert rules and the Prometheus config through promtool, the Alertmanager config
# through amtool (Debian's prometheus and prometheus-alertmanager packages). Without promtool: a skip with the
# reason, or a failure when REQUIRE_PROMTOOL is set (.ci/run sets it). amtool is best-effort everywhere.
set -euo pipefail
cd "$(dirname "$0")"
if command -v promtool >/dev/null 2>&1; then
  promtool check rules alerts.yml
  promtool test rules alerts_test.yml
  promtool check config --syntax-only prometheus.yml
elif [[ -n "${REQUIRE_PROMTOOL:-}" ]]; then
  echo "promtool is missing and REQUIRE_PROMTOOL is set: install Debian's prometheus package" >&2
  exit 1
else
  echo "SKIPPED: promtool is missing (Debian's prometheus package provides it); the alert rules were not checked"
fi
if command -v amtool >/dev/null 2>&1; then
  amtool check-config alertmanager.yml
else
  echo "SKIPPED: amtool is missing (Debian's prometheus-alertmanager package provides it)"
fi
