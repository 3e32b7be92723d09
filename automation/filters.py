"""Filters for the playbook run list."""

import django_filters

from automation.models import Playbook, PlaybookRun, Trigger


class PlaybookRunFilter(django_filters.FilterSet):
    """Runs by playbook, trigger, status and object."""

    playbook = django_filters.ModelChoiceFilter(queryset=Playbook.objects.all())
    trigger = django_filters.ChoiceFilter(choices=Trigger.choices)
    status = django_filters.ChoiceFilter(choices=PlaybookRun.Status.choices)
    object_type = django_filters.ChoiceFilter(
        choices=[(v, v) for v in ("case", "hit", "indicator", "feed_run")], label="Object type"
    )
    object_id = django_filters.NumberFilter(label="Object id")

    class Meta:
        model = PlaybookRun
        fields = ["playbook", "trigger", "status", "object_type", "object_id"]
