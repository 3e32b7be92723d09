"""Intel API URLs, mounted under /api/v1/."""

from django.urls import path

from intel import api

urlpatterns = [
    path("indicators", api.IndicatorListAPI.as_view(), name="api_indicator_list"),
    path("indicators/<int:pk>", api.IndicatorDetailAPI.as_view(), name="api_indicator_detail"),
]
