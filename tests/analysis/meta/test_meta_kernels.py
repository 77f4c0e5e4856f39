"""The ALE kernel is scipy's Gaussian filter of an impulse, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from analysis.meta.kernels import _impulse_response, gaussian_support


@pytest.mark.parametrize("sigma", np.linspace(0.8, 6.0, 60))
def test_the_separable_impulse_response_equals_filtering_the_cube(sigma):
    cube = np.zeros((31, 31, 31))
    cube[15, 15, 15] = 1.0
    expected = ndimage.gaussian_filter(cube, sigma, mode="constant")
    assert np.array_equal(_impulse_response(sigma), expected)


def test_supports_are_shared_and_read_only():
    first = gaussian_support(np.float64(10.5), (2.0, 2.0, 2.0))
    assert gaussian_support(10.5, np.array([2.0, 2.0, 2.0], dtype=np.float32)) is first
    with pytest.raises(ValueError):
        first.values[0] = 0
    assert gaussian_support(10.6, (2.0, 2.0, 2.0)) is not first
