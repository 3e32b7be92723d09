"""The triage app: cases grouping hits, the analyst queue, labels and lead review."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Triage"
    default_auto_field = "django.db.models.BigAutoField"
