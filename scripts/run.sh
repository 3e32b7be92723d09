#!/usr/bin/env bash
# Run the whole system in the foreground until Ctrl-C: web (gunicorn), one RQ worker with the
# scheduler for delayed jobs, and the RQ cron scheduler for recurring jobs (tdp/cron.py).
set -euo pipefail
cd "$(dirname "$0")/.."
BIND=${TDP_BIND:-127.0.0.1:8000}
mkdir -p var
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
$PY manage.py rqworker default low --with-scheduler &
pids+=($!)
# Automation drains: short jobs of our own code, cheaper without a fork per job.
$PY manage.py rqworker high --worker-class rq.worker.SimpleWorker &
pids+=($!)
# Content scans: a worker that does not fork, so the matcher stays built between batches.
$PY manage.py rqworker scan --worker-class rq.worker.SimpleWorker &
pids+=($!)
$PY manage.py rqcron tdp/cron.py &
pids+=($!)
# A synthetic content stream (a few events a second, some carrying demo intel) fills the hits.
if [ "${TDP_DEMO_STREAM:-1}" = "1" ]; then
  $PY manage.py demo_stream --rate "${TDP_DEMO_STREAM_RATE:-5}" > var/demo_stream.log 2>&1 &
  pids+=($!)
fi

cat <<MSG

  TDP is running at http://$BIND/
  Demo logins (password: tdp-demo-password):
    analyst   analyst, triage and intel
    analyst2  analyst, cleared for TLP:RED
    lead      lead, cleared
    admin     admin, cleared
  A demo content stream submits a few events a second (log: var/demo_stream.log;
  TDP_DEMO_STREAM=0 turns it off).
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
