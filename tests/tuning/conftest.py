"""Tuning fixtures: a fresh matcher per test, and labelled hits made the way triage makes them."""

import itertools

import pytest

from cases.models import Case
from cases.triage import label_case, label_hit
from detection.scan import forget_matcher
from tests.factories import make_case

_authors = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_matcher() -> None:
    """The matcher is cached per process; a previous test's intel must not leak into this one."""
    forget_matcher()


def label_hits(indicator, *, tp: int = 0, fp: int = 0, user) -> Case:
    """A case of ``tp + fp`` hits on ``indicator`` (one author), ``fp`` of them labelled false
    positive and ``tp`` true positive, through `cases.triage`."""
    case = make_case(indicator=indicator, events=tp + fp, author=f"author{next(_authors)}")
    if fp:
        label_case(case.pk, user=user, disposition="false_positive", reason="benign_site")
    else:
        label_case(case.pk, user=user, disposition="true_positive")
    if fp and tp:
        for hit in case.hits.order_by("id")[:tp]:
            label_hit(hit.pk, user=user, disposition="true_positive")
    return case
