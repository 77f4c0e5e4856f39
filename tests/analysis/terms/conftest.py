"""Shared fixtures of the term engine's tests."""

import pytest

from analysis.terms import ActivationMatrix

from .fixtures import nimare_dataset, subset_weights


@pytest.fixture(scope="session")
def activation(neurosynth_inputs, mask):
    """The Neurosynth 20-study subset's activation matrix (MKDA spheres of 10 mm)."""
    return ActivationMatrix.build(neurosynth_inputs, mask)


@pytest.fixture(scope="session")
def weights(activation):
    """The subset's tf-idf weights, rows in the activation matrix's order."""
    return subset_weights().reindex(activation.study_ids)


@pytest.fixture(scope="session")
def dataset(weights):
    """The same studies and weights as a NiMARE Dataset."""
    return nimare_dataset(weights)
