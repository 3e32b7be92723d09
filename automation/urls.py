"""Automation page URLs (`automation:<name>`)."""

from django.urls import path

from automation import views

app_name = "automation"

urlpatterns = [
    path("playbooks/", views.playbook_list, name="playbook_list"),
    path("playbooks/save", views.playbook_save, name="playbook_save"),
    path("playbooks/export", views.playbook_export, name="playbook_export"),
    path("playbooks/switch", views.kill_switch, name="kill_switch"),
    path("playbooks/<int:pk>/", views.playbook_detail, name="playbook_detail"),
    path("playbooks/<int:pk>/toggle", views.playbook_toggle, name="playbook_toggle"),
    path("runs/", views.run_list, name="run_list"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/retry", views.run_retry, name="run_retry"),
    path("failures/", views.failures, name="failures"),
    path("events/<int:pk>/retry", views.event_retry, name="event_retry"),
    path("enrich/indicator/<int:pk>", views.reenrich_indicator, name="reenrich_indicator"),
    path("enrich/case/<int:pk>", views.reenrich_case, name="reenrich_case"),
]
