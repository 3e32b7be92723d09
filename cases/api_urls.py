"""Triage API URLs, mounted under /api/v1/."""

from django.urls import path

from cases import api

urlpatterns = [
    path("cases", api.CaseListAPI.as_view(), name="api_case_list"),
    path("cases/next", api.CaseNextAPI.as_view(), name="api_case_next"),
    path("cases/<int:pk>", api.CaseDetailAPI.as_view(), name="api_case_detail"),
    path("cases/<int:pk>/label", api.CaseLabelAPI.as_view(), name="api_case_label"),
    path("hits/<int:pk>/label", api.HitLabelAPI.as_view(), name="api_hit_label"),
]
