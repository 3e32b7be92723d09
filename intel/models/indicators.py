"""Intel models: one row per (type, normalised value), its provenance, the allowlist, imports.

An `Indicator` is the deduplicated fact "this value is bad"; each `IndicatorSource` row says
which source reported it, when, with what confidence and where in that source (file line, STIX
id). `AllowlistEntry` values are never active intel. `Source` is where intel comes from: a
person's manual entry, an uploaded file, an import command or (later) a configured feed.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone

from intel.normalize import TYPES
from tdp.roles import is_cleared


class IndicatorType(models.TextChoices):
    """Kinds of indicator TDP understands; values match `intel.normalize.TYPES`."""

    URL = "url", "URL"
    DOMAIN = "domain", "Domain"
    IPV4 = "ipv4", "IPv4"
    IPV6 = "ipv6", "IPv6"
    CIDR = "cidr", "CIDR"
    MD5 = "md5", "MD5"
    SHA1 = "sha1", "SHA-1"
    SHA256 = "sha256", "SHA-256"
    PDQ = "pdq", "PDQ hash"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    ACCOUNT = "account", "Account"
    HASHTAG = "hashtag", "Hashtag"
    KEYWORD = "keyword", "Keyword"
    CRYPTO_WALLET = "crypto_wallet", "Crypto wallet"


assert tuple(IndicatorType.values) == TYPES, "IndicatorType must list intel.normalize.TYPES"


class Status(models.TextChoices):
    """Lifecycle of an indicator; only `active` ones are matched."""

    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    ALLOWLISTED = "allowlisted", "Allowlisted"


class TLP(models.TextChoices):
    """Traffic Light Protocol 2.0 labels, least to most restrictive."""

    CLEAR = "CLEAR", "TLP:CLEAR"
    GREEN = "GREEN", "TLP:GREEN"
    AMBER = "AMBER", "TLP:AMBER"
    AMBER_STRICT = "AMBER+STRICT", "TLP:AMBER+STRICT"
    RED = "RED", "TLP:RED"


TLP_ORDER = {value: rank for rank, value in enumerate(TLP.values)}


class Severity(models.TextChoices):
    """How bad content matching the indicator is."""

    INFO = "info", "Info"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Default time-to-live per type in days: infrastructure churns fast, hashes do not.
DEFAULT_TTL_DAYS = {
    "url": 30,
    "domain": 90,
    "ipv4": 30,
    "ipv6": 30,
    "cidr": 90,
    "md5": 365,
    "sha1": 365,
    "sha256": 365,
    "pdq": 365,
    "email": 180,
    "phone": 180,
    "account": 180,
    "hashtag": 90,
    "keyword": 365,
    "crypto_wallet": 365,
}


class Source(models.Model):
    """Where intel comes from; every indicator keeps one provenance row per source."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual entry"
        FILE = "file", "File import"
        FEED = "feed", "Feed"
        API = "api", "API"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    description = models.TextField(blank=True)
    default_confidence = models.PositiveSmallIntegerField(default=50)
    default_tlp = models.CharField(max_length=16, choices=TLP.choices, default=TLP.AMBER)
    ttl_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the per-type default expiry."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IndicatorQuerySet(models.QuerySet):
    """Reusable filters; TLP restriction goes through `visible_to` on every surface."""

    def visible_to(self, user: object) -> "IndicatorQuerySet":
        """Hide TLP:RED indicators from users who are not cleared."""
        return self if is_cleared(user) else self.exclude(tlp=TLP.RED)

    def active(self) -> "IndicatorQuerySet":
        """Indicators the matcher uses."""
        return self.filter(status=Status.ACTIVE)

    def due_to_expire(self, now: object = None) -> "IndicatorQuerySet":
        """Active indicators whose expiry time has passed."""
        return self.active().filter(expires_at__lte=now or timezone.now())


class Indicator(models.Model):
    """One deduplicated piece of intel: a (type, normalised value) pair and its lifecycle.

    Re-reports only touch `last_seen_at`, `expires_at` and `updated_at`, which are deliberately
    not indexed: with the table's fillfactor (see migration 0001) such updates are HOT and skip
    rewriting the trigram index, which keeps re-importing a million-row feed cheap.
    """

    type = models.CharField(max_length=16, choices=IndicatorType.choices)
    value = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    confidence = models.PositiveSmallIntegerField(default=50)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    tlp = models.CharField(max_length=16, choices=TLP.choices, default=TLP.AMBER)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    description = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IndicatorQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["type", "value"],
                name="indicator_type_value_uniq",
                violation_error_message="This indicator already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__lte=100), name="indicator_confidence_range"
            ),
        ]
        indexes = [
            # A larger pending list lets bulk imports append trigrams and merge them in bulk.
            GinIndex(
                OpClass(Upper("value"), name="gin_trgm_ops"),
                name="indicator_value_trgm",
                gin_pending_list_limit=32768,
            ),
            GinIndex(fields=["tags"], name="indicator_tags_gin"),
            # The list sorted by confidence (ties newest first) reads its first page off this
            # index instead of sorting every row a common substring matches.
            models.Index(fields=["confidence", "id"], name="indicator_confidence_id"),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"

    def get_absolute_url(self) -> str:
        return reverse("intel:indicator_detail", args=[self.pk])


class IndicatorSource(models.Model):
    """Provenance: one source's report of one indicator (re-reports update `last_seen_at`).

    Keyed by (indicator, source) itself: a million-row import writes one index entry per row
    instead of three (id, the pair, the source).
    """

    pk = models.CompositePrimaryKey("indicator_id", "source_id")
    indicator = models.ForeignKey(
        Indicator,
        on_delete=models.CASCADE,
        related_name="provenance",
        db_index=False,
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.CASCADE,
        related_name="provenance",
        db_index=False,
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    confidence = models.PositiveSmallIntegerField(default=50)
    reference = models.TextField(blank=True, help_text="Where in the source: line, STIX id, …")

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.indicator} from {self.source}"


class AllowlistEntry(models.Model):
    """A value that must never be active intel (our own domains, partners, known-good hashes)."""

    class Kind(models.TextChoices):
        DOMAIN = "domain", "Domain and its subdomains"
        URL_PREFIX = "url_prefix", "URL prefix"
        IP = "ip", "IP address or CIDR"
        HASH = "hash", "File or media hash"
        ACCOUNT = "account", "Account handle"
        EMAIL = "email", "Email address"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=2048)
    reason = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="allowlist_entries",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name_plural = "allowlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                name="allowlist_kind_value_uniq",
                violation_error_message="This value is already allowlisted.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def get_absolute_url(self) -> str:
        return reverse("intel:allowlist")


def default_expiry(indicator_type: str, ttl_days: int | None = None, now: object = None) -> object:
    """When an indicator of this type reported now should expire (per-source TTL overrides)."""
    days = ttl_days if ttl_days is not None else DEFAULT_TTL_DAYS.get(indicator_type, 90)
    return (now or timezone.now()) + timedelta(days=days)


class IntelImport(models.Model):
    """One file import (web upload), its options and outcome; large files run on RQ."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="imports")
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    size = models.BigIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="intel_imports",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename}"

    def get_absolute_url(self) -> str:
        return reverse("intel:import_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
