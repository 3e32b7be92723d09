"""Tuning page URLs (`tuning:<model>_<action>`)."""

from django.urls import path

from tuning.views import backtests, missed, suggestions

app_name = "tuning"

urlpatterns = [
    path("suggestions/", suggestions.suggestion_list, name="suggestion_list"),
    path("suggestions/refresh", suggestions.suggestion_refresh, name="suggestion_refresh"),
    path("suggestions/<int:pk>/apply", suggestions.suggestion_apply, name="suggestion_apply"),
    path("suggestions/<int:pk>/dismiss", suggestions.suggestion_dismiss, name="suggestion_dismiss"),
    path("missed/", missed.missed_list, name="missed_list"),
    path("missed/new/", missed.missed_create, name="missed_create"),
    path("missed/<int:pk>/", missed.missed_detail, name="missed_detail"),
    path("backtests/", backtests.backtest_list, name="backtest_list"),
    path("backtests/<int:pk>/", backtests.backtest_detail, name="backtest_detail"),
]
