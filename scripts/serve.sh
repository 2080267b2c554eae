#!/usr/bin/env bash
# Serve API, admin and docs. With CELERY_BROKER_URL set, a Celery worker and beat run beside it.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
if [[ -n "${CELERY_BROKER_URL:-}" ]]; then
  "$PY" -m celery -A config worker --loglevel INFO --concurrency 2 & pids+=($!)
  "$PY" -m celery -A config beat --loglevel INFO & pids+=($!)
  echo "Celery worker and beat started (broker ${CELERY_BROKER_URL%%@*}...)."
fi
cat <<TXT

  TokenLoop is up:   http://127.0.0.1:${PORT}/
    API docs         http://127.0.0.1:${PORT}/api/docs/
    Admin            http://127.0.0.1:${PORT}/admin/   (staff user printed above)
    Health           http://127.0.0.1:${PORT}/readyz
  A service key:     .venv/bin/python manage.py create_api_key my-service
  A player token:    .venv/bin/python manage.py issue_player_token 1
  Stop with Ctrl-C.

TXT
"$PY" manage.py runserver "127.0.0.1:${PORT}" --noreload
