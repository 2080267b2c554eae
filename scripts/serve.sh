#!/usr/bin/env bash
# Serve API, admin and docs through granian, the server production uses: WEB_WORKERS processes, each running the
# WSGI application on WEB_THREADS threads. With CELERY_BROKER_URL set, a Celery worker and beat run beside it.
# `serve.sh --dev` serves with Django's runserver instead (one process, reloads on code changes): development only.
#
# Environment: DJANGO_SETTINGS_MODULE (`make run` sets config.settings.local), HOST (127.0.0.1), PORT (8000),
# WEB_WORKERS (2: one per core of a 2-core machine), WEB_THREADS (4; docs/performance.md), PY (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
WEB_WORKERS=${WEB_WORKERS:-2}
WEB_THREADS=${WEB_THREADS:-4}
DEV=0
if [[ "${1:-}" == "--dev" ]]; then DEV=1; fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $DEV == 0 && -z "${PROMETHEUS_MULTIPROC_DIR:-}" ]]; then
  # Several worker processes: each writes its Prometheus metrics to files here, and /metrics sums them.
  export PROMETHEUS_MULTIPROC_DIR=var/prometheus-$PORT
  rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
if [[ -n "${CELERY_BROKER_URL:-}" ]]; then
  "$PY" -m celery -A config worker --loglevel INFO --concurrency 2 & pids+=($!)
  "$PY" -m celery -A config beat --loglevel INFO & pids+=($!)
  # The broker's scheme only: its URL may hold a password.
  echo "Celery worker and beat started (broker: ${CELERY_BROKER_URL%%://*})."
fi
if [[ $DEV == 1 ]]; then
  server="Django's development server (runserver)"
else
  server="granian, $WEB_WORKERS workers x $WEB_THREADS threads"
fi
manage="DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.production} $PY manage.py"
cat <<TXT

  TokenLoop is up:   http://${HOST}:${PORT}/   ($server, ${DJANGO_SETTINGS_MODULE:-config.settings.production})
    API docs         http://${HOST}:${PORT}/api/docs/
    Admin            http://${HOST}:${PORT}/admin/   (staff user printed above)
    Health           http://${HOST}:${PORT}/readyz
  A service key:     $manage create_api_key my-service --all-scopes
  A player token:    $manage issue_player_token 1
  Stop with Ctrl-C.

TXT
if [[ $DEV == 1 ]]; then
  "$PY" manage.py runserver "${HOST}:${PORT}" & pids+=($!)
else
  # In a session of its own: Ctrl-C reaches this script, which stops granian; granian then stops its workers with
  # one signal each (a worker sent both the terminal's SIGINT and granian's SIGTERM can miss them).
  setsid "$PY" -m granian --interface wsgi config.wsgi:application --host "$HOST" --port "$PORT" \
    --workers "$WEB_WORKERS" --blocking-threads "$WEB_THREADS" --respawn-failed-workers \
    --workers-kill-timeout 10 & pids+=($!)
fi
# Until any of them stops (or Ctrl-C / SIGTERM); then the others are stopped too. A granian worker that still does
# not stop is killed after 10 s (--workers-kill-timeout).
wait -n
