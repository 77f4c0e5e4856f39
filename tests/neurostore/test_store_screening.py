"""Screening a studyset through the service: adding studies, decisions with reasons kept in
the studyset's versioned metadata, PRISMA-style counts and the included studies."""

from __future__ import annotations

import pytest

from neurostore.services import screening
from neurostore.services.errors import Invalid, PermissionDenied, RevisionConflict
from tests.support.factories import study_payload


@pytest.fixture
def studies(services, alice):
    return [r.id for r in services.studies.create_many(
        alice, [study_payload(seed=n) for n in range(1, 6)])]


def test_adding_studies_appends_new_ones_only(services, alice, studies):
    ss = services.studysets.create(alice, {"name": "s", "studies": studies[:2]})
    record, added = services.studysets.add_studies(alice, ss.id, [studies[1], *studies[2:4],
                                                                  studies[2]])
    assert added == 2 and record.state["studies"] == studies[:4]
    again, added = services.studysets.add_studies(alice, ss.id, studies[:2])
    assert added == 0 and again.version == record.version
    with pytest.raises(Invalid) as err:
        services.studysets.add_studies(alice, ss.id, ["no-such-study"])
    assert "no-such-study" in err.value.detail
    assert services.studysets.get(alice, ss.id).version == record.version


def test_decisions_counts_and_included_studies(services, alice, studies):
    ss = services.studysets.create(alice, {"name": "s", "studies": studies})
    with pytest.raises(Invalid) as err:
        services.studysets.screen(alice, ss.id, studies[:1], "excluded", "  ")
    assert "reason" in err.value.field_errors
    with pytest.raises(Invalid):
        services.studysets.screen(alice, ss.id, ["stranger"], "included")
    with pytest.raises(Invalid):
        services.studysets.screen(alice, ss.id, studies[:1], "maybe")
    ss = services.studysets.screen(alice, ss.id, studies[:2], "excluded", "wrong population",
                                   if_match=ss.version)
    ss = services.studysets.screen(alice, ss.id, studies[2:3], "excluded", "duplicate")
    ss = services.studysets.screen(alice, ss.id, studies[3:4], "included")
    counts = screening.counts(ss.state)
    assert (counts.identified, counts.duplicates, counts.screened, counts.excluded,
            counts.included, counts.pending) == (5, 1, 4, {"wrong population": 2}, 2, 1)
    assert services.studysets.included_study_ids(alice, ss.id) == studies[3:]
    # Clearing a decision puts the study back to "not screened" (and so included).
    ss = services.studysets.screen(alice, ss.id, studies[:1], None)
    assert services.studysets.included_study_ids(alice, ss.id) == [studies[0], *studies[3:]]
    # Every decision is a revision; a stale one is refused.
    assert len(services.studysets.revisions(alice, ss.id)) == ss.version
    with pytest.raises(RevisionConflict):
        services.studysets.screen(alice, ss.id, studies[:1], "included", if_match=1)


def test_removed_studies_are_not_counted_and_others_may_not_screen(services, alice, bob,
                                                                   studies):
    ss = services.studysets.create(alice, {"name": "s", "studies": studies})
    services.studysets.screen(alice, ss.id, studies[:1], "excluded", "wrong task or contrast")
    ss = services.studysets.remove_studies(alice, ss.id, studies[:1])
    assert screening.counts(ss.state).excluded == {}
    with pytest.raises(PermissionDenied):
        services.studysets.screen(bob, ss.id, studies[1:2], "excluded", "mine now")


def test_malformed_screening_metadata_reads_as_no_decision(services, alice, studies):
    ss = services.studysets.create(alice, {"name": "s", "studies": studies[:3], "metadata": {
        "screening": {"decisions": {studies[0]: "excluded",
                                    studies[1]: {"status": "excluded"},
                                    studies[2]: {"status": "excluded", "reason": "off topic"}}}}})
    assert services.studysets.included_study_ids(alice, ss.id) == studies[:2]
    assert screening.counts(ss.state).pending == 2
