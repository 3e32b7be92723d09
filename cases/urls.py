"""Triage page URLs (`cases:<name>`)."""

from django.urls import path

from cases.views import case, lead, queue

app_name = "cases"

urlpatterns = [
    path("", queue.queue, name="queue"),
    path("next", queue.get_next, name="get_next"),
    path("bulk", queue.bulk, name="bulk"),
    path("views/", queue.saved_view_create, name="saved_view_create"),
    path("views/<int:pk>/delete", queue.saved_view_delete, name="saved_view_delete"),
    path("preferences", case.reveal_preference, name="reveal_preference"),
    path("<int:pk>/", case.case_detail, name="case_detail"),
    path("<int:pk>/claim", case.case_claim, name="case_claim"),
    path("<int:pk>/label", case.case_label, name="case_label"),
    path("<int:pk>/escalate", case.case_escalate, name="case_escalate"),
    path("<int:pk>/assign", case.case_assign, name="case_assign"),
    path("<int:pk>/priority", case.case_priority, name="case_priority"),
    path("<int:pk>/comment", case.case_comment, name="case_comment"),
    path("<int:pk>/hits/<int:hit_pk>/label", case.hit_label, name="hit_label"),
    path("health/", lead.queue_health, name="queue_health"),
    path("qa/", lead.qa_queue, name="qa_queue"),
    path("qa/<int:pk>", lead.qa_review, name="qa_review"),
    path("settings/", lead.triage_settings, name="triage_settings"),
]
