"""Talairach <-> MNI: the store's search and the meta-analyses use one published transform."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from analysis.meta import space as meta_space
from neurostore.models.search import MNI_XY_POINT, TAL_TO_MNI
from neurostore.services.coordinates import tal_to_mni

MIGRATIONS = Path(__file__).parents[2] / "migrations" / "versions"

#: Lancaster JL et al. (2007), Bias between MNI and Talairach coordinates analyzed using the
#: ICBM-152 brain template, Hum Brain Mapp 28:1194-1205: the ``icbm_other2tal`` affine
#: (MNI -> Talairach for data normalised with software other than SPM or FSL), as BrainMap
#: distributes it (``icbm_other2tal.m``) and GingerALE applies it.
LANCASTER_2007_ICBM_OTHER2TAL = np.array([
    [0.9357, 0.0029, -0.0072, -1.0423],
    [-0.0065, 0.9396, -0.0726, -1.3940],
    [0.0103, 0.0752, 0.8967, 3.6475],
    [0.0, 0.0, 0.0, 1.0],
])
POINTS = [(0.0, 0.0, 0.0), (-42.0, 18.0, 26.0), (60.0, -80.0, 40.0), (-5.0, 64.0, -30.0)]


def test_the_meta_analyses_use_lancasters_published_matrix():
    np.testing.assert_array_equal(meta_space.ICBM_OTHER_TO_TAL, LANCASTER_2007_ICBM_OTHER2TAL)


def test_the_search_matrix_is_its_inverse_to_eight_significant_digits():
    """The store cannot import analysis (nor the reverse): its matrix is the inverse of the
    one source, written to the digits the migrated search index holds."""
    inverse = np.linalg.inv(meta_space.ICBM_OTHER_TO_TAL)[:3]
    assert tuple(tuple(float(f"{v:.8g}") for v in row) for row in inverse) == TAL_TO_MNI
    forward = np.vstack([TAL_TO_MNI, (0.0, 0.0, 0.0, 1.0)])
    np.testing.assert_allclose(forward @ LANCASTER_2007_ICBM_OTHER2TAL, np.eye(4), atol=1e-6)


@pytest.mark.parametrize("xyz", POINTS)
def test_search_and_meta_analyses_convert_talairach_alike(xyz):
    np.testing.assert_allclose(tal_to_mni(xyz), meta_space.tal_to_mni(xyz)[0], atol=1e-5)
    np.testing.assert_allclose(tal_to_mni(meta_space.mni_to_tal(xyz)[0]), xyz, atol=1e-5)


def test_the_index_expression_is_the_migrated_one():
    """The matrix prints as the literals the migrations built the index with."""
    path = MIGRATIONS / "0007_point_study_ids.py"
    spec = importlib.util.spec_from_file_location("migration_0007", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.MNI_XY == MNI_XY_POINT
