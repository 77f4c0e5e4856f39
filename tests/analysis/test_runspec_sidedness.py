"""The run spec carries the combination tests' sidedness (NiMARE's ``two_sided``) to the engine."""

import pytest

from analysis import runspec
from analysis.runcatalogue import catalogue


@pytest.mark.parametrize("estimator", ["Fishers", "Stouffers"])
def test_two_sided_defaults_to_true_and_reaches_the_estimator(estimator):
    spec = runspec.validate({"estimator": estimator}, None)
    assert spec["parameters"]["two_sided"] is True
    assert runspec.build(spec).two_sided is True
    one_sided = runspec.validate({"estimator": estimator, "parameters": {"two_sided": False}}, None)
    assert runspec.build(one_sided).params()["two_sided"] is False


def test_two_sided_is_listed_and_checked():
    listed = {e["name"]: e["parameters"] for e in catalogue()["estimators"]}
    assert {"name": "two_sided", "type": "bool", "default": True}.items() <= next(
        p for p in listed["Fishers"] if p["name"] == "two_sided"
    ).items()
    with pytest.raises(runspec.SpecInvalid, match="parameters.two_sided"):
        runspec.validate({"estimator": "Stouffers", "parameters": {"two_sided": "yes"}}, None)
