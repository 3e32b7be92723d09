"""What an ingestion takes (IngestSpec) and gives back (IngestResult)."""

from dataclasses import dataclass, field
from typing import Any

from intel.models import Severity, Source

MAX_ERROR_SAMPLES = 20


@dataclass
class IngestSpec:
    """What the caller says about a batch: its source and the defaults for its indicators."""

    source: Source
    type: str | None = None  # force every row to this type (e.g. pdq, which looks like sha256)
    confidence: int | None = None
    tlp: str | None = None
    severity: str = Severity.MEDIUM
    tags: list[str] = field(default_factory=list)
    ttl_days: int | None = None
    description: str = ""
    # A snapshot is the source's whole current list: its indicators missing from the batch
    # (and reported by no other source) expire.
    snapshot: bool = False


@dataclass
class IngestResult:
    """Counts of one ingestion, as the CLI prints them and FeedRun rows keep them."""

    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    allowlisted: int = 0
    expired: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    indicator_ids: list[int] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        """Count a rejected row and keep a sample of the first reasons."""
        self.rejected += 1
        if len(self.errors) < MAX_ERROR_SAMPLES:
            self.errors.append({"line": line, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary (the contract of `import_intel`'s last line)."""
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "allowlisted": self.allowlisted,
            "expired": self.expired,
            "errors": self.errors,
        }
