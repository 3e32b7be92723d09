#!/usr/bin/env bash
# Run the whole system in the foreground until Ctrl-C: web (gunicorn), one RQ worker with the
# scheduler for delayed jobs, and the RQ cron scheduler for recurring jobs (tdp/cron.py).
set -euo pipefail
cd "$(dirname "$0")/.."
BIND=${TDP_BIND:-127.0.0.1:8000}
PY=.venv/bin/python
pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "==> stopping"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

.venv/bin/gunicorn tdp.wsgi --bind "$BIND" --workers "${WEB_CONCURRENCY:-3}" --access-logfile - &
pids+=($!)
$PY manage.py rqworker high default low --with-scheduler &
pids+=($!)
$PY manage.py rqcron tdp/cron.py &
pids+=($!)

cat <<MSG

  TDP is running at http://$BIND/
  Demo logins (password: tdp-demo-password):
    analyst   analyst, triage and intel
    analyst2  analyst, cleared for TLP:RED
    lead      lead, cleared
    admin     admin, cleared
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
