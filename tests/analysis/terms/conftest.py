"""Shared fixtures of the term engine's tests."""

import pytest

from analysis.meta import Mask
from analysis.terms import ActivationMatrix
from tests.analysis.meta.fixtures import neurosynth_rows, to_inputs

from .fixtures import nimare_dataset, subset_weights


@pytest.fixture(scope="session")
def mask():
    """The default MNI152 2 mm brain mask."""
    return Mask.default()


@pytest.fixture(scope="session")
def inputs():
    """Foci of the Neurosynth 20-study subset."""
    return to_inputs(neurosynth_rows())


@pytest.fixture(scope="session")
def activation(inputs, mask):
    """The subset's activation matrix (MKDA spheres of 10 mm)."""
    return ActivationMatrix.build(inputs, mask)


@pytest.fixture(scope="session")
def weights(activation):
    """The subset's tf-idf weights, rows in the activation matrix's order."""
    return subset_weights().reindex(activation.study_ids)


@pytest.fixture(scope="session")
def dataset(weights):
    """The same studies and weights as a NiMARE Dataset."""
    return nimare_dataset(weights)
