import numpy as np
import pytest

import chainer
from chainer import gradient_check

from chainercv.experimental.links.model.pspnet.pspnet import \
    PyramidPoolingModule

from pfdet.links.model.pfdet.psp import adaptive_average_pooling_2d
from pfdet.links.model.pfdet.psp import PSP


def _adaptive_pool_loop(x, oh, ow):
    # Independent oracle: the definition, one window at a time.
    B, C, H, W = x.shape
    y = np.empty((B, C, oh, ow), dtype=np.float64)
    for i in range(oh):
        y0, y1 = (i * H) // oh, -(-((i + 1) * H) // oh)
        for j in range(ow):
            x0, x1 = (j * W) // ow, -(-((j + 1) * W) // ow)
            y[:, :, i, j] = x[:, :, y0:y1, x0:x1].mean(axis=(2, 3))
    return y


@pytest.mark.parametrize('in_size,outsize', [
    ((6, 6), (3, 3)),
    ((7, 5), (3, 2)),
    ((13, 9), (6, 6)),
    ((2, 3), (6, 6)),
    ((1, 1), (2, 3)),
    ((25, 42), (1, 1)),
])
def test_adaptive_average_pooling(in_size, outsize):
    x = np.random.RandomState(0).normal(
        size=(2, 3) + in_size).astype(np.float32)
    y = adaptive_average_pooling_2d(x, outsize)
    assert y.shape == (2, 3) + outsize
    assert y.dtype == np.float32
    np.testing.assert_allclose(
        y.array, _adaptive_pool_loop(x, *outsize), rtol=1e-5, atol=1e-6)


def test_adaptive_average_pooling_backward():
    rng = np.random.RandomState(1)
    x = rng.normal(size=(2, 2, 7, 5))
    gy = rng.normal(size=(2, 2, 3, 2))
    gradient_check.check_backward(
        lambda x: adaptive_average_pooling_2d(x, (3, 2)), x, gy,
        dtype=np.float64, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize('in_size', [(1, 1), (2, 3), (5, 7), (13, 6),
                                     (25, 42)])
def test_psp_shapes(in_size):
    psp = PSP(16)
    assert psp.mid_channels == 4 and psp.out_channels == 32
    x = np.random.RandomState(2).normal(
        size=(2, 16) + in_size).astype(np.float32)
    y = psp(x)
    assert y.shape == (2, 32) + in_size
    np.testing.assert_array_equal(y.array[:, :16], x)
    # The 1-bin branch is a constant map.
    b1 = y.array[:, 16:20]
    np.testing.assert_allclose(b1, b1[:, :, :1, :1] * np.ones_like(b1))


def test_psp_bins():
    psp = PSP(12, bins=(1, 2))
    assert psp.mid_channels == 6 and psp.out_channels == 24
    assert len(psp.convs) == 2
    psp = PSP(12, bins=(1, 3), mid_channels=5)
    assert psp.out_channels == 22
    with pytest.raises(ValueError):
        PSP(12, bins=(0, 2))


def _identity_convs(psp):
    for conv in psp.convs:
        W = conv.conv.W.array
        W[...] = 0
        W[np.arange(W.shape[0]), np.arange(W.shape[0]), 0, 0] = 1


def test_psp_closed_form():
    # With identity 1x1 convs and BN in test mode (mean 0, var 1), each
    # branch is relu(pool(x)) / sqrt(1 + eps), upsampled.
    psp = PSP(4, bins=(1, 5), mid_channels=4)
    _identity_convs(psp)
    x = np.random.RandomState(3).uniform(0, 1, (2, 4, 5, 5)).astype(
        np.float32)
    with chainer.using_config('train', False):
        y = psp(x).array
    scale = 1 / np.sqrt(1 + 2e-5)
    np.testing.assert_allclose(
        y[:, 4:8], np.broadcast_to(
            x.mean(axis=(2, 3), keepdims=True) * scale, x.shape),
        rtol=1e-5)
    # 5 bins on a 5x5 map: pooling and resizing are identities.
    np.testing.assert_allclose(y[:, 8:12], x * scale, rtol=1e-5, atol=1e-6)


def test_psp_equals_chainercv_on_divisible_sizes():
    # ChainerCV's fixed-size module is exact when bins divide the size.
    psp = PSP(8)
    ref = PyramidPoolingModule(8, (12, 12), (1, 2, 3, 6))
    x = np.random.RandomState(4).normal(size=(2, 8, 12, 12)).astype(
        np.float32)
    with chainer.using_config('train', False):
        psp(x)
        ref(x)
    rng = np.random.RandomState(5)
    for mine, theirs in zip(psp.convs, ref):
        W = rng.normal(size=mine.conv.W.shape).astype(np.float32)
        mine.conv.W.array[...] = W
        theirs.conv.W.array[...] = W
    with chainer.using_config('train', False):
        y = psp(x).array
        y_ref = ref(x).array
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)


def test_psp_backward():
    psp = PSP(8)
    x = chainer.Variable(np.random.RandomState(6).normal(
        size=(2, 8, 5, 7)).astype(np.float32))
    y = psp(x)
    chainer.functions.sum(y * y).backward()
    assert x.grad is not None and np.isfinite(x.grad).all()
    for conv in psp.convs:
        assert conv.conv.W.grad is not None
