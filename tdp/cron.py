"""Recurring jobs for RQ's cron scheduler: `python manage.py rqcron tdp/cron.py`.

Each entry names a thin job function and the queue it runs on. Delayed one-off jobs use the
worker's own scheduler (`rqworker --with-scheduler`) instead.
"""

from rq import cron

from automation.jobs import kick_automation
from detection.jobs import maintain_event_partitions_job, requeue_stale_batches_job
from intel.jobs import enqueue_due_feeds_job, expire_indicators_job
from metrics.jobs import refresh_metrics_job
from tuning.jobs import refresh_suggestions_job

cron.register(expire_indicators_job, queue_name="low", interval=300, job_timeout=600)
# Each feed has its own schedule; this tick queues the ones that are due.
cron.register(enqueue_due_feeds_job, queue_name="high", interval=60, job_timeout=60)
# Content events: one partition per day, created ahead and dropped after the retention period.
cron.register(maintain_event_partitions_job, queue_name="low", interval=3600, job_timeout=300)
# Intake API batches that never reached Redis, or whose worker died, are queued again.
cron.register(requeue_stale_batches_job, queue_name="default", interval=300, job_timeout=120)
# Automation events wait in Postgres when Redis was down or a worker died: drain them.
cron.register(kick_automation, queue_name="high", interval=60, job_timeout=60)
# Tuning: false-positive suggestions follow the hit labels.
cron.register(refresh_suggestions_job, queue_name="low", interval=900, job_timeout=600)
# Metrics rollups (recent days; a full rebuild daily), then last week's report when due.
cron.register(refresh_metrics_job, queue_name="low", interval=300, job_timeout=1800)
