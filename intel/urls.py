"""Intel page URLs (`intel:<model>_<action>`)."""

from django.urls import path

from intel import views

app_name = "intel"

urlpatterns = [
    path("indicators/", views.indicator_list, name="indicator_list"),
    path("indicators/export", views.indicator_export, name="indicator_export"),
    path("indicators/add/", views.indicator_add, name="indicator_add"),
    path("indicators/detect", views.indicator_detect, name="indicator_detect"),
    path("indicators/<int:pk>/", views.indicator_detail, name="indicator_detail"),
    path("indicators/<int:pk>/edit", views.indicator_edit, name="indicator_edit"),
    path("indicators/<int:pk>/status", views.indicator_status, name="indicator_status"),
    path("paste/", views.paste, name="paste"),
    path("paste/commit", views.paste_commit, name="paste_commit"),
    path("imports/new/", views.upload, name="upload"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/retry", views.import_retry, name="import_retry"),
    path("allowlist/", views.allowlist, name="allowlist"),
    path("allowlist/<int:pk>/remove", views.allowlist_remove, name="allowlist_remove"),
]
