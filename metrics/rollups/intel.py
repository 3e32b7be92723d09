"""Refresh the intel rollups: indicators created per day and type, today's status counts, each
source's reports, totals and unique indicators, and the source overlap matrix.

This reads every indicator and provenance row (a few seconds at a million indicators), so it
runs at most every `TDP_METRICS_INTEL_REFRESH_MINUTES`, not on every tick.
"""

from datetime import date

from django.db import connection

_TYPE_CREATED = """
INSERT INTO metrics_indicatortypeday (day, type, created, has_snapshot, active, expired, revoked,
    allowlisted)
SELECT (created_at AT TIME ZONE 'UTC')::date, type, count(*), false, 0, 0, 0, 0
FROM intel_indicator GROUP BY 1, 2
ON CONFLICT (day, type) DO UPDATE SET created = EXCLUDED.created
"""
_TYPE_SNAPSHOT = """
INSERT INTO metrics_indicatortypeday (day, type, created, has_snapshot, active, expired, revoked,
    allowlisted)
SELECT %(today)s, type, 0, true, count(*) FILTER (WHERE status = 'active'),
       count(*) FILTER (WHERE status = 'expired'), count(*) FILTER (WHERE status = 'revoked'),
       count(*) FILTER (WHERE status = 'allowlisted')
FROM intel_indicator GROUP BY type
ON CONFLICT (day, type) DO UPDATE SET has_snapshot = true, active = EXCLUDED.active,
    expired = EXCLUDED.expired, revoked = EXCLUDED.revoked, allowlisted = EXCLUDED.allowlisted
"""
_SOURCE_REPORTED = """
INSERT INTO metrics_sourceintelday (day, source_id, reported, has_snapshot, indicators, active,
    "unique", unique_active)
SELECT (first_seen_at AT TIME ZONE 'UTC')::date, source_id, count(*), false, 0, 0, 0, 0
FROM intel_indicatorsource GROUP BY 1, 2
ON CONFLICT (day, source_id) DO UPDATE SET reported = EXCLUDED.reported
"""
# One row per reported indicator: its sources and whether it is active.
_PER_INDICATOR = """
CREATE TEMP TABLE metrics_indicator_sources ON COMMIT DROP AS
SELECT p.indicator_id, array_agg(p.source_id ORDER BY p.source_id) AS sources,
       bool_or(i.status = 'active') AS active
FROM intel_indicatorsource p JOIN intel_indicator i ON i.id = p.indicator_id
GROUP BY p.indicator_id
"""
_SOURCE_SNAPSHOT = """
INSERT INTO metrics_sourceintelday (day, source_id, reported, has_snapshot, indicators, active,
    "unique", unique_active)
SELECT %(today)s, s.source_id, 0, true, count(*), count(*) FILTER (WHERE active),
       count(*) FILTER (WHERE cardinality(sources) = 1),
       count(*) FILTER (WHERE cardinality(sources) = 1 AND active)
FROM metrics_indicator_sources CROSS JOIN LATERAL unnest(sources) AS s (source_id)
GROUP BY s.source_id
ON CONFLICT (day, source_id) DO UPDATE SET has_snapshot = true,
    indicators = EXCLUDED.indicators, active = EXCLUDED.active, "unique" = EXCLUDED."unique",
    unique_active = EXCLUDED.unique_active
"""
_OVERLAP = """
INSERT INTO metrics_sourceoverlap (source_a_id, source_b_id, shared)
SELECT a.source_id, b.source_id, count(*)
FROM metrics_indicator_sources
CROSS JOIN LATERAL unnest(sources) AS a (source_id)
CROSS JOIN LATERAL unnest(sources) AS b (source_id)
WHERE cardinality(sources) > 1 AND a.source_id <> b.source_id
GROUP BY 1, 2
"""


def refresh_intel(*, today: date) -> dict[str, int]:
    """Recount intel by day, type, status and source, and the overlap between sources."""
    counts = {}
    params = {"today": today}
    with connection.cursor() as cursor:
        # Creation counts are recounted whole (indicators can be deleted); snapshots stay.
        cursor.execute("UPDATE metrics_indicatortypeday SET created = 0 WHERE created <> 0")
        cursor.execute(_TYPE_CREATED)
        cursor.execute(_TYPE_SNAPSHOT, params)
        counts["indicatortypeday"] = cursor.rowcount
        cursor.execute("UPDATE metrics_sourceintelday SET reported = 0 WHERE reported <> 0")
        cursor.execute(_SOURCE_REPORTED)
        cursor.execute(
            'UPDATE metrics_sourceintelday SET indicators = 0, active = 0, "unique" = 0, '
            "unique_active = 0 WHERE day = %(today)s",
            params,
        )
        cursor.execute("DROP TABLE IF EXISTS metrics_indicator_sources")
        cursor.execute(_PER_INDICATOR)
        cursor.execute(_SOURCE_SNAPSHOT, params)
        counts["sourceintelday"] = cursor.rowcount
        cursor.execute("DELETE FROM metrics_sourceoverlap")
        cursor.execute(_OVERLAP)
        counts["sourceoverlap"] = cursor.rowcount
    return counts
