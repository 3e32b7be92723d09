"""File imports: open a file (plain or gzip), parse it, and ingest the rows.

The `import_intel` command, web uploads (inline or on RQ) and file-kind feeds all call
`import_stream`; web uploads are recorded as `IntelImport` rows so their progress and result
can be shown and a failed one retried (ingestion is idempotent, so a retry duplicates nothing).
"""

import logging
from typing import Any, BinaryIO

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from intel.ingest import INGESTED_FIELDS, IngestResult, IngestSpec, ingest
from intel.models import IntelImport, Source
from intel.parsers import ParseError, ParserOptions, parse
from tdp import audit

logger = logging.getLogger(__name__)

PARSER_OPTION_KEYS = ("format", "value_column", "type_column", "delimiter", "json_list_path")
SPEC_OPTION_KEYS = ("type", "confidence", "tlp", "severity", "tags", "ttl_days")


def get_or_create_source(name: str, kind: str = Source.Kind.FILE) -> Source:
    """The source named `name` (created on first use with `kind`)."""
    source, _ = Source.objects.get_or_create(name=name.strip()[:200], defaults={"kind": kind})
    return source


def import_stream(
    stream: BinaryIO,
    *,
    source: Source,
    options: dict[str, Any],
    filename: str = "",
    actor: Any = None,
) -> IngestResult:
    """Parse `stream` with `options` and ingest it from `source`.

    Raises ParseError when the file cannot be read at all (empty, binary, too large, not the
    format asked for); rows that are merely malformed are counted in the result instead.
    """
    parser_options = ParserOptions(
        **{key: options[key] for key in PARSER_OPTION_KEYS if options.get(key)},
        default_type=options.get("type") or None,
        wanted_fields=INGESTED_FIELDS,
    )
    spec = IngestSpec(
        source=source,
        type=options.get("type") or None,
        confidence=options.get("confidence"),
        tlp=options.get("tlp") or None,
        severity=options.get("severity") or "medium",
        tags=list(options.get("tags") or []),
        ttl_days=options.get("ttl_days"),
    )
    rows = parse(stream, parser_options, filename=filename)
    return ingest(rows, spec, actor=actor)


@transaction.atomic
def create_import(
    upload: UploadedFile, *, source: Source, options: dict[str, Any], actor: Any
) -> IntelImport:
    """Store an uploaded file as a queued import (the caller runs or enqueues it)."""
    record = IntelImport.objects.create(
        source=source,
        filename=(upload.name or "upload")[:255],
        size=upload.size or 0,
        options=options,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record.file.save(f"{record.pk}-{record.filename}", upload, save=True)
    audit.record("intel.import.create", record, actor=actor, changes={"options": [None, options]})
    return record


def run_import(record: IntelImport) -> IntelImport:
    """Run one queued (or failed, for a retry) import and store its result on the record.

    Claimed with a conditional UPDATE, so two workers never run the same import at once.
    """
    claimed = IntelImport.objects.filter(
        pk=record.pk, state__in=[IntelImport.State.QUEUED, IntelImport.State.FAILED]
    ).update(state=IntelImport.State.RUNNING, started_at=timezone.now(), error="")
    if not claimed:
        logger.info("import %s already running or done", record.pk)
        return record
    record.refresh_from_db()
    try:
        with record.file.open("rb") as stream:
            result = import_stream(
                stream,
                source=record.source,
                options=record.options,
                filename=record.filename,
                actor=record.created_by,
            )
    except ParseError as exc:
        record.state, record.error = IntelImport.State.FAILED, str(exc)
    except Exception as exc:
        logger.exception("import %s failed", record.pk)
        record.state, record.error = IntelImport.State.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        record.state, record.result = IntelImport.State.DONE, result.as_dict()
    record.finished_at = timezone.now()
    record.save(update_fields=["state", "result", "error", "finished_at"])
    if record.state == IntelImport.State.DONE:
        record.file.delete(save=True)  # the intel is stored; the raw upload is not kept
    return record
