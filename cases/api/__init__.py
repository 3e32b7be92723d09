"""Triage REST API: the case queue, one case with its hits, "get next", and labels.

`GET /api/v1/cases` takes the queue page's filters (`cases.filters.CaseFilter`: `status`
defaults to open cases, `policy`, `assignee` `me`, `none` or a username, `sla`, `age`; here
`priority` may also be P1-P4 and `rule` a rule's exact name) and pages in queue order with an
opaque cursor (`next`/`previous` links).
`GET /api/v1/cases/{id}` shows a case with its hits and their labels. `POST /api/v1/cases/next`
claims the most urgent unassigned case (204 when there is none). `POST /api/v1/cases/{id}/label`
resolves a case and `POST /api/v1/hits/{id}/label` labels one hit; both carry the case
`version` the caller saw, and a stale one is refused with 409 and the case as it is now.

Everything goes through `Case.objects.visible_to` (TLP:RED cases are for cleared users only:
others get 404) and the `cases.triage` service functions; all endpoints need the analyst role.
"""

from cases.api.views import (
    CaseDetailAPI,
    CaseLabelAPI,
    CaseListAPI,
    CaseNextAPI,
    HitLabelAPI,
)

__all__ = ["CaseDetailAPI", "CaseLabelAPI", "CaseListAPI", "CaseNextAPI", "HitLabelAPI"]
