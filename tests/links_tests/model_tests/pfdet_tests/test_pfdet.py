import itertools

import numpy as np
import pytest

import chainer

from chainercv.utils.testing import assert_is_detection_link

from pfdet.links import FrozenBatchNormalization
from pfdet.links import PFDet
from pfdet_stub import limit_proposals
from pfdet_stub import StubExtractor


def _imgs():
    rng = np.random.RandomState(0)
    return [rng.uniform(0, 255, (3, 48, 80)).astype(np.float32),
            rng.uniform(0, 255, (3, 70, 50)).astype(np.float32)]


def _tiny(**kwargs):
    kw = dict(min_size=64, max_size=96, head_fc_channels=16, fpn_channels=16)
    kw.update(kwargs)
    return limit_proposals(PFDet(3, **kw))


def _check_outputs(model, imgs, n_fg_class=3):
    bboxes, labels, scores = model.predict(imgs)
    assert len(bboxes) == len(labels) == len(scores) == len(imgs)
    for img, bbox, label, score in zip(imgs, bboxes, labels, scores):
        assert isinstance(bbox, np.ndarray) and bbox.dtype == np.float32
        assert bbox.ndim == 2 and bbox.shape[1] == 4
        assert label.dtype == np.int32 and score.dtype == np.float32
        assert len(label) == len(score) == len(bbox)
        if len(bbox):
            H, W = img.shape[1:]
            assert (bbox[:, :2] >= 0).all()
            assert (bbox[:, 2] <= H).all() and (bbox[:, 3] <= W).all()
            assert (bbox[:, 2:] > bbox[:, :2]).all()
            assert label.min() >= 0 and label.max() < n_fg_class
            assert (score >= 0).all() and (score <= 1).all()
            assert (np.diff(score) <= 0).all()
            assert len(bbox) <= model.max_n_detection
    return bboxes, labels, scores


@pytest.mark.parametrize(
    'psp,extra_fpn_scale,context_head,classifier,head_bn,suppression',
    list(itertools.product((False, True), (False, True), (False, True),
                           ('sigmoid', 'softmax'), (False, True),
                           ('nmw', 'nms'))))
def test_switch_combinations_tiny_backbone(
        psp, extra_fpn_scale, context_head, classifier, head_bn,
        suppression):
    np.random.seed(0)
    model = _tiny(psp=psp, extra_fpn_scale=extra_fpn_scale,
                  context_head=context_head, classifier=classifier,
                  head_bn=head_bn, suppression=suppression)
    # structure follows the switches
    ext = model.extractor
    assert len(ext.scales) == 5
    assert hasattr(ext, 'psp') == psp
    assert ext.extra_block == extra_fpn_scale
    assert model.bbox_head.n_pooled_level == (5 if extra_fpn_scale else 4)
    assert model.bbox_head.fc1.W.shape[1] == \
        16 * 49 * (2 if context_head else 1)
    assert hasattr(model.bbox_head, 'bn1') == head_bn
    n_conf = 3 if classifier == 'sigmoid' else 4
    assert model.bbox_head.conf.W.shape[0] == n_conf
    assert model.stride == 64
    model.use_preset('evaluate')
    limit_proposals(model, 100, 50)
    _check_outputs(model, _imgs()[:1])


def test_detection_link_api():
    model = PFDet(5, backbone=StubExtractor(), min_size=64, max_size=96,
                  head_fc_channels=8)
    limit_proposals(model)
    model.use_preset('evaluate')
    assert_is_detection_link(model, 5)


def test_original_coordinates():
    # an image and its 2x nearest-neighbour enlargement are resized to the
    # same network input (bilinear halving of repeated pixels is exact), so
    # the detections scale by exactly 2
    np.random.seed(1)
    model = PFDet(3, backbone=StubExtractor(), min_size=32, max_size=200,
                  head_fc_channels=8, suppression='nms')
    limit_proposals(model)
    model.score_thresh = 0
    img = _imgs()[0][:, :32, :48]
    big = img.repeat(2, axis=1).repeat(2, axis=2)
    x_small, s_small = model.prepare([img])
    x_big, s_big = model.prepare([big])
    np.testing.assert_allclose(x_small, x_big, atol=1e-3)
    assert s_small == [1.0] and s_big == [0.5]
    b1, l1, s1 = model.predict([img])
    b2, l2, s2 = model.predict([big])
    assert len(b1[0]) > 0
    np.testing.assert_array_equal(l1[0], l2[0])
    np.testing.assert_allclose(s1[0], s2[0], rtol=1e-4)
    np.testing.assert_allclose(b2[0], 2 * b1[0], rtol=1e-4, atol=1e-3)


def test_small_images_are_upscaled_and_empty_predictions():
    model = PFDet(3, backbone=StubExtractor(), min_size=64, max_size=96,
                  head_fc_channels=8)
    limit_proposals(model)
    img = np.random.uniform(0, 255, (3, 10, 15)).astype(np.float32)
    x, scales = model.prepare([img])
    assert scales == [64 / 10] and x.shape == (1, 3, 64, 128)
    model.use_preset('evaluate')
    _check_outputs(model, [img])
    model.score_thresh = 1.1
    assert model.bbox_head.score_thresh == 1.1
    bboxes, labels, scores = model.predict([img, img])
    for b, l, s in zip(bboxes, labels, scores):
        assert b.shape == (0, 4) and b.dtype == np.float32
        assert l.shape == (0,) and l.dtype == np.int32
        assert s.shape == (0,) and s.dtype == np.float32
    assert model.predict([]) == ([], [], [])


@pytest.mark.parametrize('img', [
    np.zeros((48, 64), np.float32), np.zeros((1, 48, 64), np.float32),
    np.zeros((3, 0, 64), np.float32)])
def test_bad_images(img):
    model = PFDet(3, backbone=StubExtractor(), head_fc_channels=8)
    good = np.zeros((3, 8, 8), np.float32)
    with pytest.raises(ValueError, match='image 1'):
        model.predict([good, img])


def test_bad_arguments():
    with pytest.raises(ValueError):
        PFDet(0, backbone=StubExtractor())
    with pytest.raises(ValueError, match='multi_node'):
        PFDet(3, backbone=StubExtractor(), bn='multi_node')
    with pytest.raises(ValueError):
        PFDet(3, backbone=StubExtractor(), bn='sync')
    with pytest.raises(ValueError):
        PFDet(3, backbone='resnet9000')
    with pytest.raises(ValueError, match='never downloads'):
        PFDet(3, backbone=StubExtractor(), pretrained_model='imagenet')
    with pytest.raises(ValueError):
        PFDet(3, backbone=StubExtractor(), classifier='focal')


def test_anchor_settings():
    model = PFDet(3, backbone=StubExtractor(), min_size=64, max_size=96,
                  head_fc_channels=8, anchor_scales=(1, 11 / 8, 14 / 8),
                  anchor_ratios=(0.1, 0.5, 1, 2, 4, 8))
    limit_proposals(model)
    assert model.rpn.n_anchor == 18
    assert model.rpn.conf.W.shape[0] == 18
    assert model.rpn.loc.W.shape[0] == 72
    _check_outputs(model, _imgs())


def test_stub_extractor_extra_scale_pools_last_level():
    model = PFDet(3, backbone=StubExtractor(), extra_fpn_scale=True)
    assert model.bbox_head.n_pooled_level == 5
    model = PFDet(3, backbone=StubExtractor())
    assert model.bbox_head.n_pooled_level == 4


def test_bn_modes():
    frozen = _tiny(bn='frozen')
    assert frozen.bn == 'frozen'
    assert any(isinstance(l, FrozenBatchNormalization)
               for l in frozen.extractor.links())
    local = _tiny(bn='local')
    bns = [l for l in local.extractor.links()
           if type(l) is chainer.links.BatchNormalization]
    assert len(bns) > 0


def test_pretrained_model_roundtrip(tmp_path):
    np.random.seed(0)
    model = _tiny(context_head=True)
    path = str(tmp_path / 'model.npz')
    chainer.serializers.save_npz(path, model)
    np.random.seed(1)
    loaded = _tiny(context_head=True, pretrained_model=path)
    for (name, a), (_, b) in zip(sorted(model.namedparams()),
                                 sorted(loaded.namedparams())):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)
    limit_proposals(loaded)
    model.use_preset('evaluate')
    loaded.use_preset('evaluate')
    imgs = _imgs()
    for a, b in zip(model.predict(imgs), loaded.predict(imgs)):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    # another configuration cannot load it
    with pytest.raises(ValueError):
        _tiny(context_head=False, pretrained_model=path)
    with pytest.raises(IOError):
        _tiny(pretrained_model=str(tmp_path / 'missing.npz'))


def test_multi_node_bn_builds_with_a_communicator():
    chainermn = pytest.importorskip('chainermn')
    pytest.importorskip('mpi4py')
    comm = chainermn.create_communicator('naive')
    model = _tiny(bn='multi_node', comm=comm)
    mnbn = [l for l in model.extractor.links() if isinstance(
        l, chainermn.links.MultiNodeBatchNormalization)]
    assert len(mnbn) > 0
    model.use_preset('evaluate')
    _check_outputs(model, _imgs()[:1])
