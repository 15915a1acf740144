"""Sharpening restores detail lost by enlarging a real face, and never touches flat areas with unsharp."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from convert_fixtures import face_crops, frames  # noqa: F401 (fixtures)

from twoface.convert.sharpen import SHARPENERS, sharpen
from twoface.errors import TwofaceError


def _detail(img):
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


@pytest.fixture
def enlarged(face_crops):
    """A 64 px face enlarged to 256 px: what a small model's output looks like in the frame."""
    small = cv2.resize(face_crops["a"], (64, 64), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (256, 256), interpolation=cv2.INTER_LINEAR)


@pytest.mark.parametrize("method", ["box", "gaussian", "unsharp"])
def test_sharpening_adds_detail_and_more_with_amount(enlarged, method):
    base = _detail(enlarged)
    low = _detail(sharpen(enlarged, method, amount=0.5, radius=2))
    high = _detail(sharpen(enlarged, method, amount=2.0, radius=2))
    assert base < low < high
    out = sharpen(enlarged, method, 1.0, 2)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_none_and_zero_amount_return_the_image(enlarged):
    assert sharpen(enlarged, "none") is enlarged
    assert sharpen(enlarged, "gaussian", amount=0) is enlarged


def test_unsharp_spares_low_contrast_detail(enlarged):
    flat = np.full((64, 64, 3), 0.5, np.float32)
    flat[::2, ::2] += 1.0 / 255.0  # faint noise below the threshold
    assert np.array_equal(sharpen(flat, "unsharp", 2.0, 1.0), flat)
    assert not np.array_equal(sharpen(flat, "gaussian", 2.0, 1.0), flat)


def test_unknown_method_is_a_user_error(enlarged):
    assert set(SHARPENERS) == {"none", "box", "gaussian", "unsharp"}
    with pytest.raises(TwofaceError, match="unsharp"):
        sharpen(enlarged, "laplace")
