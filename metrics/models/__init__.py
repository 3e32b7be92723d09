"""Metrics models: rollup tables the scheduled refresh fills, its run log and weekly reports.

Every rollup row is derived data: `metrics.rollups.refresh` recomputes it from hits, labels,
cases, intel and playbook runs, so a row can always be thrown away and rebuilt
(`manage.py refresh_metrics --full`). Days are UTC days.
"""

from metrics.models.automation import ActionDay, PlaybookDay
from metrics.models.detection import (
    CountedLabel,
    HitDay,
    IndicatorDay,
    IndicatorWindow,
    RuleDay,
    SourceDay,
)
from metrics.models.intel import IndicatorTypeDay, SourceIntelDay, SourceOverlap
from metrics.models.operations import AnalystDay, CaseDay
from metrics.models.runs import RollupRun, WeeklyReport

__all__ = [
    "ActionDay",
    "AnalystDay",
    "CaseDay",
    "CountedLabel",
    "HitDay",
    "IndicatorDay",
    "IndicatorTypeDay",
    "IndicatorWindow",
    "PlaybookDay",
    "RollupRun",
    "RuleDay",
    "SourceDay",
    "SourceIntelDay",
    "SourceOverlap",
    "WeeklyReport",
]
