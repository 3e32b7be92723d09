"""Intel page URLs (`intel:<model>_<action>`)."""

from django.urls import path

from intel.views import allowlist, feeds, indicators, intake

app_name = "intel"

urlpatterns = [
    path("indicators/", indicators.indicator_list, name="indicator_list"),
    path("indicators/export", indicators.indicator_export, name="indicator_export"),
    path("indicators/add/", intake.indicator_add, name="indicator_add"),
    path("indicators/detect", intake.indicator_detect, name="indicator_detect"),
    path("indicators/<int:pk>/", indicators.indicator_detail, name="indicator_detail"),
    path("indicators/<int:pk>/edit", indicators.indicator_edit, name="indicator_edit"),
    path("indicators/<int:pk>/status", indicators.indicator_status, name="indicator_status"),
    path("paste/", intake.paste, name="paste"),
    path("paste/commit", intake.paste_commit, name="paste_commit"),
    path("imports/new/", intake.upload, name="upload"),
    path("imports/<int:pk>/", intake.import_detail, name="import_detail"),
    path("imports/<int:pk>/retry", intake.import_retry, name="import_retry"),
    path("allowlist/", allowlist.allowlist, name="allowlist"),
    path("allowlist/<int:pk>/remove", allowlist.allowlist_remove, name="allowlist_remove"),
    path("feeds/", feeds.feed_list, name="feed_list"),
    path("feeds/new/", feeds.feed_create, name="feed_create"),
    path("feeds/<int:pk>/", feeds.feed_detail, name="feed_detail"),
    path("feeds/<int:pk>/edit/", feeds.feed_edit, name="feed_edit"),
    path("feeds/<int:pk>/delete", feeds.feed_delete, name="feed_delete"),
    path("feeds/<int:pk>/pull", feeds.feed_pull, name="feed_pull"),
    path("feeds/<int:pk>/test", feeds.feed_test, name="feed_test"),
]
