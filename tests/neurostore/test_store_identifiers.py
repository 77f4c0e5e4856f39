"""Normalisation of publication identifiers."""

from __future__ import annotations

import pytest

from neurostore.schemas.identifiers import normalize_doi, normalize_pmcid, normalize_pmid


@pytest.mark.parametrize(
    ("raw", "doi"),
    [
        ("10.1016/J.NeuroImage.2012.01.001", "10.1016/J.NeuroImage.2012.01.001"),
        ("https://doi.org/10.1093/cercor/bhs012", "10.1093/cercor/bhs012"),
        ("http://dx.doi.org/10.1093/cercor/bhs012", "10.1093/cercor/bhs012"),
        ("doi:10.1002/hbm.20345 ", "10.1002/hbm.20345"),
        ("", None),
        ("n/a", None),
        (None, None),
    ],
)
def test_doi(raw, doi):
    assert normalize_doi(raw) == doi


@pytest.mark.parametrize("raw", ["10.1/x", "doi", "11.1000/abc", "10.1000/a b"])
def test_bad_doi(raw):
    with pytest.raises(ValueError, match="not a DOI"):
        normalize_doi(raw)


def test_pmid_and_pmcid():
    assert normalize_pmid(" 0012345 ") == "12345"
    assert normalize_pmid(9876) == "9876"
    assert normalize_pmid("PMID: 42") == "42"
    assert normalize_pmcid("pmc0042") == "PMC42"
    assert normalize_pmcid("42") == "PMC42"
    for bad in ("12a", "0", "-1"):
        with pytest.raises(ValueError, match="not a PMID"):
            normalize_pmid(bad)
    with pytest.raises(ValueError, match="not a PMCID"):
        normalize_pmcid("PMCX1")
