"""Feed pages: list with health, detail with run history, configure (admins), test, pull now.

Everyone with the analyst role reads; only admins change feeds, test them or pull them.
"""

from django.contrib import messages
from django.db.models import F, Prefetch, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intel.feed_config import FeedConfigError, apply_feed_config, clean_feed_config, delete_feed
from intel.feeds import preview
from intel.forms import FeedForm
from intel.jobs import enqueue_pull
from intel.models import TLP, Feed, FeedRun
from intel.tables import FeedRunTable, FeedTable
from tdp.roles import ADMIN, ANALYST, is_cleared, role_required
from tdp.tables import render_list, wants_partial

SPARKLINE_RUNS = 20


def _feeds_with_recent_runs() -> list[Feed]:
    """Feeds, each with `recent_runs` (oldest first, at most SPARKLINE_RUNS), in two queries."""
    ranked = FeedRun.objects.annotate(
        rank=Window(RowNumber(), partition_by=F("feed_id"), order_by=F("started_at").desc())
    ).filter(rank__lte=SPARKLINE_RUNS)
    feeds = list(
        Feed.objects.select_related("source").prefetch_related(
            Prefetch("runs", queryset=ranked, to_attr="latest_runs")
        )
    )
    for feed in feeds:
        feed.recent_runs = sorted(feed.latest_runs, key=lambda run: run.started_at)
    return feeds


@require_GET
@role_required(ANALYST)
def feed_list(request: HttpRequest) -> HttpResponse:
    """All feeds and their health; the table refreshes itself every 15 s with htmx."""
    return render_list(
        request,
        table=FeedTable(_feeds_with_recent_runs()),
        template="intel/feed_list.html",
        partial_template="intel/_feed_results.html",
    )


@require_GET
@role_required(ANALYST)
def feed_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One feed: its configuration (no secrets), run history and the last run's rejects."""
    feed = get_object_or_404(Feed.objects.select_related("source"), pk=pk)
    runs = FeedRunTable(feed.runs.all())
    last_run = feed.runs.first()
    return render_list(
        request,
        table=runs,
        template="intel/feed_detail.html",
        partial_template="intel/_feed_runs.html",
        context={"feed": feed, "last_run": last_run},
    )


def _save_feed(request: HttpRequest, form: FeedForm, feed: Feed | None) -> Feed | None:
    """Validate the form through the same rules as import_feeds, then save; None on errors.

    Nothing is written until everything is valid. A secret left empty keeps the stored one.
    """
    if not form.is_valid():
        return None
    try:
        values = clean_feed_config(form.config())
    except FeedConfigError as exc:
        form.add_error(None, str(exc))
        return None
    clash = Feed.objects.filter(name=values["name"])
    if feed is not None:
        clash = clash.exclude(pk=feed.pk)
    if clash.exists():
        form.add_error(
            "name",
            "A feed with this name exists already."
            if feed is None
            else "Another feed has this name.",
        )
        return None
    saved, _ = apply_feed_config(values, actor=request.user, feed=feed)
    upload = form.cleaned_data.get("file")
    if upload:
        saved.file.save(upload.name, upload)
    if saved.kind == Feed.Kind.FILE and not saved.file:
        messages.warning(request, "Upload the feed's file before its first pull.")
    return saved


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def feed_create(request: HttpRequest) -> HttpResponse:
    """Configure a new feed."""
    form = FeedForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        feed = _save_feed(request, form, None)
        if feed is not None:
            messages.success(request, f"Feed {feed.name} saved; it is pulled at the next tick.")
            return redirect(feed)
    return render(request, "intel/feed_form.html", {"form": form, "feed": None})


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def feed_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a feed's configuration."""
    feed = get_object_or_404(Feed, pk=pk)
    form = FeedForm(request.POST or None, request.FILES or None, initial=FeedForm.initial_for(feed))
    if request.method == "POST":
        saved = _save_feed(request, form, feed)
        if saved is not None:
            messages.success(request, f"Feed {saved.name} saved.")
            return redirect(saved)
    return render(request, "intel/feed_form.html", {"form": form, "feed": feed})


@require_POST
@role_required(ADMIN)
def feed_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a feed (its indicators stay, with their provenance)."""
    feed = get_object_or_404(Feed, pk=pk)
    delete_feed(feed, actor=request.user)
    messages.success(request, f"Feed {feed.name} deleted.")
    return redirect("intel:feed_list")


@require_POST
@role_required(ADMIN)
def feed_pull(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a pull now ("force" ignores the ETag)."""
    feed = get_object_or_404(Feed, pk=pk)
    enqueue_pull(feed, force=bool(request.POST.get("force")), user=request.user)
    messages.info(request, f"A pull of {feed.name} is queued; its run appears below.")
    return redirect(feed)


@require_POST
@role_required(ADMIN)
def feed_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Fetch and parse the feed now and show its first rows and rejects; nothing is saved."""
    feed = get_object_or_404(Feed, pk=pk)
    result = preview(feed)
    # A TLP:RED feed's values are TLP:RED intel: only cleared users see them, others the counts.
    show_values = feed.tlp != TLP.RED or is_cleared(request.user)
    template = "intel/_feed_test.html" if wants_partial(request) else "intel/feed_test.html"
    return render(request, template, {"feed": feed, "preview": result, "show_values": show_values})
