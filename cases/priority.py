"""Priority and SLA rules: how urgent a hit is, and when a case of that priority is due.

The rule's severity sets the base priority; the indicator's confidence moves it one step (a
confident indicator is more urgent, a doubtful one less). A case takes the most urgent
priority of its hits; its SLA clock starts when the case opens.
"""

from datetime import datetime, timedelta

from cases.models import Priority, TriageConfig

BASE_PRIORITY = {"critical": 1, "high": 2, "medium": 3, "low": 4, "info": 4}
CONFIDENT = 80
DOUBTFUL = 40


def hit_priority(severity: str, confidence: int) -> int:
    """The priority (1 most urgent .. 4) of a hit of a rule of ``severity`` on an indicator of
    ``confidence`` (0-100)."""
    priority = BASE_PRIORITY.get(severity, 3)
    if confidence >= CONFIDENT:
        priority -= 1
    elif confidence < DOUBTFUL:
        priority += 1
    return min(max(priority, Priority.P1), Priority.P4)


def sla_due(opened_at: datetime, priority: int, config: TriageConfig | None = None) -> datetime:
    """When a case of ``priority`` opened at ``opened_at`` must be resolved."""
    config = config or TriageConfig.load()
    return opened_at + timedelta(hours=config.sla_hours(priority))
