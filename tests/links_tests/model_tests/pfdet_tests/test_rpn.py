import itertools

import numpy as np
import pytest

import chainer

from pfdet.links.model.pfdet.rpn import _decode_boxes
from pfdet.links.model.pfdet.rpn import _encode_boxes
from pfdet.links.model.pfdet.rpn import RPN
from pfdet.links.model.pfdet.rpn import rpn_loss


SCALES = (1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64)
FEAT_SIZES = [(16, 12), (8, 6), (4, 3), (2, 2), (1, 1)]


def _hs(n_channel=8, batch=2):
    return [np.random.uniform(-1, 1, (batch, n_channel, H, W)).astype(
        np.float32) for H, W in FEAT_SIZES]


@pytest.mark.parametrize('anchor_scales,anchor_ratios', [
    ((1,), (0.5, 1, 2)),
    ((1, 2 ** (1 / 3), 2 ** (2 / 3)), (0.5, 1, 2)),
    ((1, 11 / 8, 14 / 8), (0.1, 0.5, 1, 2, 4, 8)),
])
def test_forward_shapes(anchor_scales, anchor_ratios):
    rpn = RPN(SCALES, anchor_scales=anchor_scales,
              anchor_ratios=anchor_ratios, mid_channels=8, in_channels=8)
    A = len(anchor_scales) * len(anchor_ratios)
    assert rpn.n_anchor == A
    locs, confs = rpn(_hs())
    anchors = rpn.anchors(FEAT_SIZES)
    for l, (H, W) in enumerate(FEAT_SIZES):
        assert locs[l].shape == (2, H * W * A, 4)
        assert confs[l].shape == (2, H * W * A)
        assert anchors[l].shape == (H * W * A, 4)
        assert anchors[l].dtype == np.float32


def test_anchors_exact_ratio_and_area():
    ratios = (0.1, 0.5, 1, 2, 4, 8)
    scales = (1, 11 / 8, 14 / 8)
    rpn = RPN(SCALES, anchor_scales=scales, anchor_ratios=ratios)
    assert rpn.n_anchor == 18
    for l in range(len(SCALES)):
        hw = rpn.anchor_hw(l)
        for k, (s, a) in enumerate(itertools.product(scales, ratios)):
            S = 32 * 2 ** l * s
            h, w = hw[k]
            assert abs(h / w - a) <= 1e-6 * a
            assert abs(h * w - S ** 2) <= 1e-6 * S ** 2

        # the float32 boxes agree to float32 precision, centred on the grid
        anchor = rpn.anchors(FEAT_SIZES)[l].astype(np.float64)
        H, W = FEAT_SIZES[l]
        anchor = anchor.reshape(H, W, 18, 4)
        h = anchor[..., 2] - anchor[..., 0]
        w = anchor[..., 3] - anchor[..., 1]
        np.testing.assert_allclose(h, np.broadcast_to(hw[:, 0], h.shape),
                                   rtol=1e-5)
        np.testing.assert_allclose(w, np.broadcast_to(hw[:, 1], w.shape),
                                   rtol=1e-5)
        stride = 1 / SCALES[l]
        cy = (anchor[..., 0] + anchor[..., 2]) / 2
        cx = (anchor[..., 1] + anchor[..., 3]) / 2
        np.testing.assert_allclose(
            cy[:, 0, 0], (np.arange(H) + 0.5) * stride, rtol=1e-6)
        np.testing.assert_allclose(
            cx[0, :, 0], (np.arange(W) + 0.5) * stride, rtol=1e-6)


def test_anchors_not_rounded_like_chainercv():
    # ChainerCV gives 24x48 for ratio 0.5 at P2 (stack.md 3.3); exact is
    # 22.63 x 45.25.
    hw = RPN(SCALES).anchor_hw(0)
    np.testing.assert_allclose(hw[0], (32 / np.sqrt(2), 32 * np.sqrt(2)))


def test_bad_anchor_settings():
    with pytest.raises(ValueError):
        RPN(SCALES, anchor_ratios=())
    with pytest.raises(ValueError):
        RPN(SCALES, anchor_scales=(1, -1))


def test_encode_decode_roundtrip():
    src = np.array([[0, 0, 10, 20], [5, 5, 25, 15]], dtype=np.float64)
    dst = np.array([[1, 2, 12, 18], [0, 4, 30, 20]], dtype=np.float64)
    loc = _encode_boxes(src, dst, (0.1, 0.2))
    np.testing.assert_allclose(_decode_boxes(src, loc, (0.1, 0.2)), dst,
                               atol=1e-9)


@pytest.mark.parametrize('train', [False, True])
def test_decode(train):
    np.random.seed(0)
    rpn = RPN(SCALES, mid_channels=8, in_channels=8)
    hs = _hs()
    locs, confs = rpn(hs)
    anchors = rpn.anchors(FEAT_SIZES)
    sizes = [(64, 48), (40, 30)]
    with chainer.using_config('train', train):
        rois, roi_indices = rpn.decode(
            locs, confs, anchors, (2, 3, 64, 48), sizes)
    assert rois.dtype == np.float32 and roi_indices.dtype == np.int32
    assert rois.shape == (len(roi_indices), 4)
    assert set(np.unique(roi_indices)) == {0, 1}
    for i, (H, W) in enumerate(sizes):
        r = rois[roi_indices == i]
        assert (r[:, :2] >= 0).all()
        assert (r[:, 2] <= H).all() and (r[:, 3] <= W).all()
        assert (r[:, 2:] > r[:, :2]).all()
        limit = 2000 if train else 1000
        assert len(r) <= limit


def _loss_inputs(seed=0):
    rng = np.random.RandomState(seed)
    rpn = RPN(SCALES)
    anchors = rpn.anchors(FEAT_SIZES)
    n = [len(a) for a in anchors]
    locs = [chainer.Variable(rng.normal(0, 0.5, (2, k, 4)).astype(
        np.float32)) for k in n]
    confs = [chainer.Variable(rng.normal(0, 1, (2, k)).astype(np.float32))
             for k in n]
    bboxes = [np.array([[4, 6, 30, 40], [20, 2, 60, 20]], dtype=np.float32),
              np.zeros((0, 4), dtype=np.float32)]
    return locs, confs, anchors, [(64, 48), (60, 40)], bboxes


def test_loss_zero_logits_closed_form():
    # all logits 0: every sampled anchor costs log(2), so the per-image mean
    # is log(2) whatever the sampling; zero offsets never make loc negative.
    locs, confs, anchors, sizes, bboxes = _loss_inputs()
    confs = [chainer.Variable(np.zeros(c.shape, np.float32)) for c in confs]
    np.random.seed(0)
    loc_loss, conf_loss = rpn_loss(locs, confs, anchors, sizes, bboxes)
    np.testing.assert_allclose(conf_loss.array, np.log(2), rtol=1e-6)
    assert loc_loss.array > 0


def test_loss_no_boxes():
    locs, confs, anchors, sizes, bboxes = _loss_inputs()
    bboxes = [np.zeros((0, 4), np.float32)] * 2
    np.random.seed(0)
    loc_loss, conf_loss = rpn_loss(locs, confs, anchors, sizes, bboxes)
    assert float(loc_loss.array) == 0
    assert np.isfinite(conf_loss.array) and conf_loss.array > 0
    conf_loss.backward()
    assert np.isfinite(confs[0].grad).all()


def test_loss_golden():
    # Regression goldens: computed once with this implementation under the
    # fixed seeds below (not an independent oracle); they pin the sampling
    # and the normalisation.
    locs, confs, anchors, sizes, bboxes = _loss_inputs(seed=1)
    np.random.seed(3)
    loc_loss, conf_loss = rpn_loss(locs, confs, anchors, sizes, bboxes)
    np.testing.assert_allclose(
        [float(loc_loss.array), float(conf_loss.array)],
        GOLDEN_RPN_LOSS, rtol=1e-5)


GOLDEN_RPN_LOSS = [0.0796025321, 0.7830318213]


def test_loss_gradient_flows_to_sampled_only():
    locs, confs, anchors, sizes, bboxes = _loss_inputs()
    np.random.seed(0)
    loc_loss, conf_loss = rpn_loss(locs, confs, anchors, sizes, bboxes,
                                   n_sample=16)
    (loc_loss + conf_loss).backward()
    n_nonzero = sum(int((c.grad != 0).sum()) for c in confs)
    assert 0 < n_nonzero <= 32
