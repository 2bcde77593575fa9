import numpy as np
import pytest

import chainer
from chainer import gradient_check
import chainer.functions as F
from chainer.utils import type_check

from pfdet.functions import roi_average_align_2d


def _random_rois(rng, n_roi, height, width, spatial_scale):
    """RoIs in input-image coordinates: random, tiny, at and beyond borders."""
    img_h, img_w = height / spatial_scale, width / spatial_scale
    y_min = rng.uniform(-0.3 * img_h, img_h, n_roi)
    x_min = rng.uniform(-0.3 * img_w, img_w, n_roi)
    h = rng.exponential(img_h / 3, n_roi)
    w = rng.exponential(img_w / 3, n_roi)
    rois = np.stack((y_min, x_min, y_min + h, x_min + w), axis=1)
    fixed = np.array([
        [0, 0, img_h, img_w],                  # the whole map
        [0, 0, 0.2, 0.3],                      # tiny, floored to 1x1
        [-3 * img_h, -3 * img_w, -2 * img_h, -2 * img_w],  # fully outside
        [img_h - 0.5, img_w - 0.5, img_h + 4, img_w + 4],  # bottom right
        [-1.5, -1.5, 2.5, 2.5],                # top-left, below -1
        [5, 5, 3, 2],                          # inverted (malformed)
        [img_h / 2, img_w / 2, img_h / 2, img_w / 2],      # zero size
    ])
    rois[:len(fixed)] = fixed
    return rois.astype(np.float32)


def _inputs(seed, n_img=2, n_channel=3, height=9, width=11, n_roi=14,
            spatial_scale=0.5):
    rng = np.random.RandomState(seed)
    x = rng.randn(n_img, n_channel, height, width).astype(np.float32)
    rois = _random_rois(rng, n_roi, height, width, spatial_scale)
    roi_indices = rng.randint(0, n_img, n_roi).astype(np.int32)
    return rng, x, rois, roi_indices


CASES = [
    (3, None, 0.5),
    ((2, 4), None, 0.5),
    (3, 2, 0.5),
    ((2, 4), 1, 1.0),
    (3, (1, 3), 0.5),
    (2, (4, 2), 1.0),      # more samples than pixels: merged taps
    (1, None, 0.25),       # large bins: adaptive grid up to 9 samples
    ((4, 3), (3, None), 0.5),
]


@pytest.mark.parametrize('outsize, sampling_ratio, spatial_scale', CASES)
def test_forward_backward_equal_chainer(outsize, sampling_ratio,
                                        spatial_scale):
    rng, x, rois, roi_indices = _inputs(
        len(str(outsize)) + 7 * (sampling_ratio is None),
        spatial_scale=spatial_scale)
    args = (outsize, spatial_scale, sampling_ratio)

    x_ref = chainer.Variable(x.copy())
    y_ref = F.roi_average_align_2d(x_ref, rois, roi_indices, *args)
    x_our = chainer.Variable(x.copy())
    y_our = roi_average_align_2d(x_our, rois, roi_indices, *args)

    assert y_our.dtype == np.float32
    assert y_our.shape == y_ref.shape
    np.testing.assert_allclose(y_our.array, y_ref.array, rtol=0, atol=1e-5)
    # the RoI fully outside the map pools to zeros
    assert np.all(y_our.array[2] == 0)

    gy = rng.randn(*y_ref.shape).astype(np.float32)
    y_ref.grad = gy
    y_ref.backward()
    y_our.grad = gy.copy()
    y_our.backward()
    np.testing.assert_allclose(x_our.grad, x_ref.grad, rtol=0, atol=1e-5)


def test_roi_indices_and_dtypes():
    _, x, rois, roi_indices = _inputs(3, n_img=3, n_roi=9)
    ref = F.roi_average_align_2d(x, rois, roi_indices, 2, 0.5, 2).array
    out = roi_average_align_2d(
        x.astype(np.float64), rois.astype(np.float64),
        roi_indices.astype(np.int64), 2, 0.5, 2)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.array, ref, atol=1e-5)
    out16 = roi_average_align_2d(x.astype(np.float16), rois, roi_indices,
                                 2, 0.5, 2)
    assert out16.dtype == np.float16
    np.testing.assert_allclose(out16.array, ref, atol=1e-2)


def test_linear_map_closed_form():
    # Bilinear interpolation is exact on a linear map, so for a RoI whose
    # samples stay inside the map, each bin averages to its centre value.
    height, width = 20, 30
    yy, xx = np.mgrid[:height, :width]
    x = (2. * yy + 0.5 * xx + 1.)[None, None].astype(np.float32)
    rois = np.array([[2., 3., 12.5, 19.], [4., 1., 5., 2.5]], np.float32)
    out = roi_average_align_2d(x, rois, np.zeros(2, np.int32), (3, 4),
                               1., 2).array
    for r, (y0, x0, y1, x1) in enumerate(rois):
        cy = y0 + (np.arange(3) + .5) * max(y1 - y0, 1.) / 3
        cx = x0 + (np.arange(4) + .5) * max(x1 - x0, 1.) / 4
        expected = 2 * cy[:, None] + 0.5 * cx[None, :] + 1
        np.testing.assert_allclose(out[r, 0], expected, rtol=1e-6)


def test_border_closed_form():
    # One sample per bin (sampling_ratio 1) on a 4x4 map with values 0..15.
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    rois = np.array([
        [-2.2, 0., -1.2, 1.],   # sample y = -1.7 < -1: zero
        [-1.5, 0., -0.5, 1.],   # y = -1: clamped to row 0, x = 0.5
        [3.2, 0., 4.2, 1.],     # y = 3.7 in [H - 1, H]: row 3
        [4.6, 0., 5.6, 1.],     # y = 5.1 > H: zero
        [3.5, 0., 4.5, 1.],     # y = 4 = H exactly: row 3
        [0., 2.5, 1., 3.5],     # y = 0.5, x = 3 = W - 1: column 3
    ], np.float32)
    out = roi_average_align_2d(x, rois, np.zeros(6, np.int32), 1, 1., 1)
    np.testing.assert_allclose(out.array.ravel(),
                               [0., 0.5, 12.5, 0., 12.5, 5.], rtol=1e-6)


@pytest.mark.parametrize('roi, sampling_ratio', [
    ([1., 1., 5., 5.], 1),  # samples on rows/columns 2, 4
    ([1., 1., 9., 9.], 2),  # samples on 2, 4, 6, 8
])
def test_zero_weight_nan_not_sampled(roi, sampling_ratio):
    # Samples land exactly on pixel rows/columns: their neighbours 3 and 5
    # get weight zero and, as in Chainer, are never read.
    x = np.ones((1, 1, 12, 12), np.float32)
    x[0, 0, 3, :] = np.nan
    x[0, 0, :, 5] = np.inf
    rois = np.array([roi], np.float32)
    idx = np.zeros(1, np.int32)
    out = roi_average_align_2d(x, rois, idx, 2, 1., sampling_ratio).array
    ref = F.roi_average_align_2d(x, rois, idx, 2, 1., sampling_ratio).array
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(out, np.ones((1, 1, 2, 2)))


def test_gradient_check_float64():
    rng, x, rois, roi_indices = _inputs(5, n_img=2, n_channel=2, height=6,
                                        width=7, n_roi=8)
    x = x.astype(np.float64)
    rois = rois.astype(np.float64)

    def f(x):
        return roi_average_align_2d(x, rois, roi_indices, (2, 3), 0.5, None)

    gy = rng.randn(8, 2, 2, 3)
    gradient_check.check_backward(f, x, gy, dtype=np.float64,
                                  atol=1e-6, rtol=1e-5)
    ggx = rng.randn(*x.shape)
    gradient_check.check_double_backward(f, x, gy, ggx, dtype=np.float64,
                                         atol=1e-6, rtol=1e-5)


def test_no_rois():
    x = np.ones((1, 3, 4, 4), np.float32)
    xv = chainer.Variable(x)
    y = roi_average_align_2d(xv, np.zeros((0, 4), np.float32),
                             np.zeros(0, np.int32), 2, 1., None)
    assert y.shape == (0, 3, 2, 2)
    F.sum(y).backward()
    np.testing.assert_array_equal(xv.grad, np.zeros_like(x))


def test_bad_input():
    x = np.ones((2, 1, 4, 4), np.float32)
    rois = np.array([[0, 0, 2, 2], [0, 0, np.nan, 2]], np.float32)
    with pytest.raises(ValueError, match='RoI 1'):
        roi_average_align_2d(x, rois, np.zeros(2, np.int32), 2, 1.)
    rois = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match=r'roi_indices\[1\] = 2'):
        roi_average_align_2d(x, rois, np.array([0, 2], np.int32), 2, 1.)
    with pytest.raises(type_check.InvalidType):
        roi_average_align_2d(x, rois, np.zeros(3, np.int32), 2, 1.)
    with pytest.raises(type_check.InvalidType):
        roi_average_align_2d(x[0], rois, np.zeros(2, np.int32), 2, 1.)
    for kwargs in ({'outsize': 0}, {'outsize': (2, 1.5)},
                   {'spatial_scale': -1.}, {'sampling_ratio': 0},
                   {'sampling_ratio': (2, 1.)}):
        args = dict(outsize=2, spatial_scale=1., sampling_ratio=None)
        args.update(kwargs)
        with pytest.raises(TypeError):
            roi_average_align_2d(x, rois, np.zeros(2, np.int32), **args)


@pytest.mark.gpu
def test_gpu_delegates_to_chainer():
    cupy = pytest.importorskip('cupy')
    _, x, rois, roi_indices = _inputs(11)
    ref = F.roi_average_align_2d(x, rois, roi_indices, 3, 0.5, 2).array
    out = roi_average_align_2d(cupy.asarray(x), cupy.asarray(rois),
                               cupy.asarray(roi_indices), 3, 0.5, 2)
    assert isinstance(out.array, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(out.array), ref, atol=1e-5)
