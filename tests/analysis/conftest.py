"""Shared fixtures of the engine tests (meta-analysis and terms): the mask and the small real
datasets as engine inputs."""

import pytest

from analysis.meta import Mask
from tests.support.datasets import neurosynth_rows, nimads_rows, to_inputs


@pytest.fixture(scope="session")
def mask():
    """The default MNI152 2 mm brain mask."""
    return Mask.default()


@pytest.fixture(scope="session")
def neurosynth_inputs():
    """Neurosynth 20-study subset, with seeded sample sizes."""
    return to_inputs(neurosynth_rows())


@pytest.fixture(scope="session")
def nimads_inputs():
    """Included analyses of the NIMADS example studyset, with seeded sample sizes."""
    return to_inputs(nimads_rows())
