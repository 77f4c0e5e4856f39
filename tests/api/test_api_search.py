"""Lists, keyset pages, filters, the boolean search truth table and radius search."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from neurostore.services.coordinates import tal_to_mni
from tests.support.factories import study_payload

WORDS = ("amygdala", "hippocampus", "insula")


def _ids(client, query, headers=None):
    seen, cursor = [], None
    while True:
        url = f"/api/studies?limit=7&{query}" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.json
        seen += [s["id"] for s in r.json["results"]]
        cursor = r.json["metadata"]["next"]
        if cursor is None:
            assert r.json["metadata"]["total_count"] == len(seen)
            return seen


@pytest.fixture
def corpus(services, alice):
    """One study per subset of WORDS (in the title), plus a phrase pair."""
    payloads = []
    for n, present in enumerate(itertools.product((False, True), repeat=3)):
        title = " ".join(w for w, on in zip(WORDS, present, strict=True) if on) or "nothing"
        payloads.append(study_payload(0, 0, name=f"Study of the {title}", year=2000 + n))
    payloads.append(study_payload(0, 0, name="working memory load", authors="Smith A"))
    payloads.append(study_payload(0, 0, name="memory of working days", publication="Cortex"))
    records = services.studies.create_many(alice.actor, payloads)
    return {r.state["name"]: r.id for r in records}


def _truth(expr, words):
    # Python evaluation of the same query over the set of words in a title.
    return eval(expr, {}, {w: w in words for w in WORDS})  # noqa: S307


@pytest.mark.parametrize("query,python", [
    ("amygdala", "amygdala"),
    ("amygdala hippocampus", "amygdala and hippocampus"),
    ("amygdala AND hippocampus", "amygdala and hippocampus"),
    ("amygdala OR insula", "amygdala or insula"),
    ("NOT amygdala", "not amygdala"),
    ("amygdala NOT insula", "amygdala and not insula"),
    ("amygdala OR hippocampus insula", "amygdala or (hippocampus and insula)"),
    ("(amygdala OR hippocampus) insula", "(amygdala or hippocampus) and insula"),
    ("NOT (amygdala OR hippocampus)", "not (amygdala or hippocampus)"),
    ("NOT amygdala OR NOT insula", "(not amygdala) or (not insula)"),
    ("amygdala AND (hippocampus OR NOT insula)", "amygdala and (hippocampus or not insula)"),
])
def test_boolean_search_truth_table(client, corpus, query, python):
    expected = {
        sid for name, sid in corpus.items()
        if name.startswith("Study of") and _truth(python, set(name.split()))
    }
    found = set(_ids(client, "search=" + query.replace(" ", "%20")))
    assert found - {corpus["working memory load"], corpus["memory of working days"]} == expected


def test_phrases_stemming_and_other_fields(client, corpus):
    assert _ids(client, 'search="working memory"') == [corpus["working memory load"]]
    assert set(_ids(client, "search=working%20memory")) == {
        corpus["working memory load"], corpus["memory of working days"]}
    assert _ids(client, "search=smith") == [corpus["working memory load"]]
    assert _ids(client, "search=cortex") == [corpus["memory of working days"]]
    assert set(_ids(client, "search=AMYGDALAS")) == {
        i for n, i in corpus.items() if "amygdala" in n}


def test_keyset_pages_cover_everything_once_in_order(client, corpus):
    by_year = _ids(client, "sort=year&desc=false&year_min=2002&year_max=2005")
    assert len(by_year) == 4
    years = [client.get(f"/api/studies/{i}").json["year"] for i in by_year]
    assert years == sorted(years) == [2002, 2003, 2004, 2005]
    everything = _ids(client, "sort=name")
    assert len(everything) == len(set(everything)) == len(corpus)
    names = [client.get(f"/api/studies/{i}").json["name"] for i in everything]
    assert names == sorted(names, reverse=True)
    assert len(_ids(client, "sort=created_at")) == len(corpus)


def test_filters(client, services, alice, bob):
    with_images = study_payload(1, 2, pmid="123", doi="10.1000/ABC", source="neurovault")
    with_images["analyses"][0]["images"] = [{"url": "http://x/t.nii.gz", "value_type": "T",
                                             "space": "MNI152NLin2009cAsym"}]
    a = services.studies.create(alice.actor, with_images).id
    talairach = study_payload(1, 2)
    for point in talairach["analyses"][0]["points"]:
        point["space"] = "TAL"
    b = services.studies.create(bob.actor, talairach).id
    c = services.studies.create(bob.actor, study_payload(0, 0)).id
    assert _ids(client, "pmid=PMID:123") == [a]
    assert _ids(client, "doi=https://doi.org/10.1000/abc") == [a]
    assert _ids(client, "has_images=true") == [a]
    assert set(_ids(client, "has_images=false")) == {b, c}
    assert set(_ids(client, "has_coordinates=true")) == {a, b}
    assert _ids(client, "has_coordinates=false") == [c]
    assert _ids(client, "value_type=T") == [a]
    assert _ids(client, "space=MNI") == [a]
    assert _ids(client, "space=TAL") == [b]
    assert client.get("/api/studies?space=talairach").status_code == 400
    assert _ids(client, "source=neurovault") == [a]
    assert set(_ids(client, f"user_id={bob.actor.id}")) == {b, c}
    base = client.get(f"/api/studies/{a}").json["base_study"]
    r = client.get("/api/base-studies?pmid=123&nested=true").json["results"]
    assert [x["id"] for x in r] == [base] and r[0]["versions"][0]["id"] == a
    assert client.get(f"/api/base-studies/{base}").json["versions"] == [a]
    assert [x["id"] for x in client.get("/api/base-studies?has_images=true").json["results"]] \
        == [base]


def test_radius_search_matches_brute_force_with_talairach_converted(client, services, alice):
    rng = random.Random(7)
    studies, peaks = [], {}
    for n in range(40):
        space = "TAL" if n % 3 == 0 else "MNI"
        coords = [[rng.uniform(-60, 60), rng.uniform(-90, 60), rng.uniform(-40, 70)]
                  for _ in range(rng.randint(1, 6))]
        payload = study_payload(0, 0, name=f"s{n}")
        payload["analyses"] = [{"name": "a", "points": [
            {"coordinates": c, "space": space} for c in coords]}]
        studies.append(payload)
        peaks[n] = [tal_to_mni(c) if space == "TAL" else tuple(c) for c in coords]
    ids = [r.id for r in services.studies.create_many(alice.actor, studies)]
    for _ in range(12):
        centre = (rng.uniform(-50, 50), rng.uniform(-70, 50), rng.uniform(-30, 60))
        radius = rng.choice((5.0, 12.0, 20.0, 35.0))
        expected = {ids[n] for n, pts in peaks.items()
                    if any(math.dist(centre, p) <= radius for p in pts)}
        query = "x={}&y={}&z={}&radius={}".format(*centre, radius)
        assert set(_ids(client, query)) == expected, (centre, radius)
    tal = studies[0]["analyses"][0]["points"][0]["coordinates"]
    stored = client.get(f"/api/studies/{ids[0]}?nested=true").json
    assert stored["analyses"][0]["points"][0]["coordinates"] == pytest.approx(tal)
    assert stored["analyses"][0]["points"][0]["space"] == "TAL"
    mni = tal_to_mni(tal)
    found = _ids(client, "x={}&y={}&z={}&radius=0.01".format(*mni))
    assert ids[0] in found


@pytest.mark.parametrize("search", [
    "(" * 400 + "a" + ")" * 400,
    "NOT " * 240 + "a",
])
def test_deeply_nested_search_is_a_bad_request(client, search):
    response = client.get("/api/studies", query_string={"search": search})
    assert response.status_code == 400
    assert "nested" in response.get_json()["errors"]["search"][0]


@pytest.mark.parametrize("search", ["a " * 499, "a OR " * 199 + "a", '"a" ' * 240])
def test_long_flat_search_is_answered(client, search):
    assert client.get("/api/studies", query_string={"search": search}).status_code == 200


def test_neurostore_style_page_numbers_and_trailing_slashes(client, services, alice):
    services.studies.create_many(alice.actor, [study_payload(0, 0, name=f"paged {n}")
                                               for n in range(7)])
    everything = [s["id"] for s in client.get("/api/studies?limit=100&sort=name&desc=false")
                  .json["results"]]
    page2 = client.get("/api/studies/?page=2&page_size=3&sort=name&desc=false").json
    assert [s["id"] for s in page2["results"]] == everything[3:6]
    assert page2["metadata"]["total_count"] == 7
    rest = client.get(f"/api/studies?sort=name&desc=false&limit=3"
                      f"&cursor={page2['metadata']['next']}").json
    assert [s["id"] for s in rest["results"]] == everything[6:]
    searched = client.get("/api/studies/?search=paged&page=3&page_size=3").json
    assert len(searched["results"]) == 1 and searched["metadata"]["total_count"] == 7
    assert client.get("/api/studies?page=9&page_size=3").json["results"] == []
    r = client.get(f"/api/studies?page=2&cursor={page2['metadata']['next']}")
    assert r.status_code == 400 and "page" in r.json["errors"]
    assert client.get("/api/studies?page=0").status_code == 400
    assert client.get(f"/api/studies/{everything[0]}/").json["id"] == everything[0]


def test_neurostore_field_filters(client, services, alice):
    services.studies.create_many(alice.actor, [
        study_payload(0, 0, name="Pain and 100% attention", authors="Doe J",
                      publication="NeuroImage", description="thermal stimuli"),
        study_payload(0, 0, name="Reward", authors="Roe R", publication="Cortex"),
    ])

    def names(query):
        r = client.get(f"/api/studies?{query}")
        assert r.status_code == 200, r.json
        return sorted(s["name"] for s in r.json["results"])

    assert names("name=PAIN") == ["Pain and 100% attention"]
    assert names("name=100%25") == ["Pain and 100% attention"]
    assert names("name=_") == []
    assert names("authors=roe") == ["Reward"]
    assert names("journal=neuro&description=thermal") == ["Pain and 100% attention"]
    assert client.get("/api/base-studies?journal=cortex").json["metadata"]["total_count"] == 1
