"""Bad values are refused with a clear error naming the field, and nothing is written."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from neurostore.models import BaseStudy, Point, Revision, Study
from neurostore.services.actors import ANONYMOUS
from neurostore.services.errors import Conflict, Invalid, Unauthenticated
from tests.support.factories import study_payload


def _counts(session_factory) -> tuple[int, int, int, int]:
    with session_factory() as s:
        return tuple(
            s.execute(select(func.count()).select_from(m)).scalar()
            for m in (Study, Point, BaseStudy, Revision)
        )


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda p: p["analyses"][0]["points"][0].update(coordinates=[math.nan, 1, 2]),
         "coordinates", "finite"),
        (lambda p: p["analyses"][0]["points"][0].update(coordinates=[math.inf, 1, 2]),
         "coordinates", "finite"),
        (lambda p: p["analyses"][0]["points"][0].update(coordinates=[1, 2]),
         "coordinates", "three"),
        (lambda p: p["analyses"][0]["points"][0].update(space="FOO"), "space", "unknown space"),
        (lambda p: p.update(doi="not-a-doi"), "doi", "not a DOI"),
        (lambda p: p.update(pmid="12ab"), "pmid", "not a PMID"),
        (lambda p: p.update(pmcid="PMCX"), "pmcid", "not a PMCID"),
        (lambda p: p.update(name="   "), "name", "blank"),
        (lambda p: p.update(year=99999), "year", ""),
        (lambda p: p["analyses"][0].update(weights=[1.0, 2.0]), "weights", "one weight"),
        (lambda p: p["analyses"][0].update(images=[{"value_type": "banana"}]),
         "value_type", "unknown value_type"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(
    services, alice, session_factory, mutate, field, words
):
    before = _counts(session_factory)
    payload = study_payload(seed=1)
    mutate(payload)
    with pytest.raises(Invalid) as err:
        services.studies.create(alice, payload)
    assert field in str(err.value.field_errors)
    assert words in err.value.detail
    assert _counts(session_factory) == before


def test_a_bad_item_in_a_batch_writes_nothing(services, alice, session_factory):
    before = _counts(session_factory)
    good, bad = study_payload(seed=1), study_payload(seed=2)
    bad["analyses"][1]["points"][3]["coordinates"] = [1, None, 3]
    with pytest.raises(Invalid) as err:
        services.studies.create_many(alice, [good, bad])
    assert "1.analyses.1.points.3.coordinates" in err.value.field_errors
    assert _counts(session_factory) == before


def test_identifiers_are_normalised_and_shared_by_versions(services, alice, bob):
    a = services.studies.create(alice, study_payload(
        seed=1, doi="https://doi.org/10.1016/J.NEUROIMAGE.2020.1", pmid="PMID: 0012345",
        pmcid="123"))
    # A DOI keeps its case, and names the same paper whatever its case.
    assert (a.state["doi"], a.state["pmid"], a.state["pmcid"]) == (
        "10.1016/J.NEUROIMAGE.2020.1", "12345", "PMC123")
    b = services.studies.create(bob, study_payload(seed=2, pmid="12345"))
    c = services.studies.create(bob, study_payload(seed=3, doi="doi:10.1016/j.neuroimage.2020.1"))
    assert a.state["base_study"] == b.state["base_study"] == c.state["base_study"]


def test_duplicate_pmid_on_two_active_base_studies_is_refused(services, alice, curator,
                                                               session_factory):
    a = services.studies.create(alice, study_payload(seed=1, pmid="111"))
    b = services.studies.create(alice, study_payload(seed=2, pmid="222"))
    with pytest.raises(Conflict) as err:
        services.base_studies.update(curator, b.state["base_study"], {"pmid": "111"})
    assert "pmid" in err.value.field_errors
    assert services.base_studies.get(curator, b.state["base_study"]).state["pmid"] == "222"
    # The database refuses it too, whatever the code path.
    with session_factory() as s, pytest.raises(IntegrityError):
        s.execute(
            text("UPDATE base_studies SET pmid = '111' WHERE id = :id"),
            {"id": b.state["base_study"]},
        )
        s.commit()
    assert a.state["base_study"] != b.state["base_study"]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE points SET x = 'NaN'",
        "UPDATE points SET y = 'Infinity'",
        "UPDATE points SET space = 'FOO'",
        "UPDATE base_studies SET doi = 'nonsense'",
        "UPDATE base_studies SET pmid = ' '",
        "UPDATE studies SET source = ''",
        "UPDATE images SET value_type = 'banana'",
    ],
)
def test_database_checks_refuse_what_must_never_be_stored(services, alice, session_factory, sql):
    payload = study_payload(seed=1, doi="10.1000/abc", pmid="5")
    payload["analyses"][0]["images"] = [{"url": "https://example.org/a.nii.gz", "value_type": "T"}]
    services.studies.create(alice, payload)
    with session_factory() as s, pytest.raises(IntegrityError):
        s.execute(text(sql))
        s.commit()


def test_anonymous_cannot_write(services):
    with pytest.raises(Unauthenticated):
        services.studies.create(ANONYMOUS, study_payload())


def test_ids_of_another_study_are_refused(services, alice):
    a = services.studies.create(alice, study_payload(seed=1))
    b = services.studies.create(alice, study_payload(seed=2))
    body = dict(b.state)
    body["analyses"] = [a.state["analyses"][0]]
    with pytest.raises(Invalid) as err:
        services.studies.replace(alice, b.id, body)
    assert "another study" in err.value.detail
    assert services.studies.get(alice, b.id).state == b.state


def test_merged_duplicate_points_to_the_survivor(services, alice, curator):
    a = services.studies.create(alice, study_payload(seed=1, pmid="111"))
    b = services.studies.create(alice, study_payload(seed=2, doi="10.1000/dup"))
    survivor, duplicate = a.state["base_study"], b.state["base_study"]
    merged = services.base_studies.merge(curator, survivor, duplicate)
    assert merged.id == survivor
    assert services.base_studies.get(alice, duplicate).id == survivor
    assert services.studies.get(alice, b.id).state["base_study"] == survivor
    # The survivor adopted the duplicate's DOI, so later records with it join the survivor.
    assert services.base_studies.get(alice, survivor).state["doi"] == "10.1000/dup"
    c = services.studies.create(alice, study_payload(seed=3, doi="10.1000/dup"))
    assert c.state["base_study"] == survivor
