"""Detection page URLs (`detection:<model>_<action>`)."""

from django.urls import path

from detection import views

app_name = "detection"

urlpatterns = [
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/test", views.rule_test, name="rule_test"),
    path("rules/why-not", views.rule_why_not, name="rule_why_not"),
    path("rules/<int:pk>/", views.rule_detail, name="rule_detail"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/toggle", views.rule_toggle, name="rule_toggle"),
]
