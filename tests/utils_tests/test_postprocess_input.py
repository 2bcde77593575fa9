"""Empty, degenerate and bad input for every post-processing function."""
import numpy as np
import pytest

from pfdet.utils import adj_nms
from pfdet.utils import box_voting
from pfdet.utils import concatenate_models
from pfdet.utils import non_maximum_suppression
from pfdet.utils import non_maximum_weighted
from pfdet.utils import soft_nms

FUNCS = [non_maximum_suppression, soft_nms, non_maximum_weighted, adj_nms,
         box_voting]


def _boxes():
    bbox = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]],
                    np.float32)
    return bbox, np.array([.9, .8, .7], np.float32), np.array([0, 0, 1],
                                                               np.int32)


@pytest.mark.parametrize('func', FUNCS)
def test_empty(func):
    out = func(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
               np.zeros(0, np.int32), return_index=True)
    assert [a.shape for a in out] == [(0, 4), (0,), (0,), (0,)]
    assert [a.dtype for a in out] == [np.float32, np.float32, np.int32,
                                      np.int32]


@pytest.mark.parametrize('func', FUNCS)
def test_dtypes_and_no_label(func):
    bbox, score, label = _boxes()
    out_bbox, out_score, out_label, index = func(bbox, score, label,
                                                 return_index=True)
    assert out_bbox.dtype == np.float32 and out_score.dtype == np.float32
    assert out_label.dtype == np.int32 and index.dtype == np.int32
    # label=None: one class, None returned in place of the labels
    out = func(bbox.astype(np.float64), score.astype(np.float64), None)
    assert out[2] is None
    assert out[0].dtype == np.float64
    # integral float labels (as ensemble-boxes returns them) are accepted
    out = func(bbox, score, label.astype(np.float32))
    assert out[2].dtype == np.int32


def test_zero_area_boxes_are_kept():
    # documented: IoU 0 with every box, never suppressed, never suppress
    bbox = np.array([[0, 0, 10, 10], [5, 5, 5, 8], [5, 5, 5, 8],
                     [0, 0, 0, 0]], np.float32)
    score = np.array([.9, .8, .7, .6], np.float32)
    label = np.zeros(4, np.int32)
    for func in (non_maximum_suppression, soft_nms, non_maximum_weighted,
                 adj_nms):
        _, out_score, _, index = func(bbox, score, label, return_index=True)
        assert sorted(index.tolist()) == [0, 1, 2, 3], func.__name__
        np.testing.assert_allclose(out_score, score)
    out_bbox, _, _ = non_maximum_weighted(bbox, score, label)
    np.testing.assert_array_equal(out_bbox, bbox)


@pytest.mark.parametrize('func', FUNCS)
def test_bad_input(func):
    bbox, score, label = _boxes()
    name = func.__name__
    with pytest.raises(ValueError, match=name + r'.*score\[1\] = nan'):
        func(bbox, np.array([.9, np.nan, .7]), label)
    with pytest.raises(ValueError, match=r'bbox\[2\] is not finite'):
        b = bbox.copy()
        b[2, 3] = np.inf
        func(b, score, label)
    with pytest.raises(ValueError, match=r'bbox\[0\].*y_max < y_min'):
        func(bbox[:, [2, 1, 0, 3]], score, label)
    with pytest.raises(ValueError, match=r'score must have shape \(R,\) = '
                       r'\(3,\), got \(2,\)'):
        func(bbox, score[:2], label)
    with pytest.raises(ValueError, match=r'label must have shape'):
        func(bbox, score, label[:2])
    with pytest.raises(ValueError, match=r'bbox must have shape \(R, 4\)'):
        func(bbox[:, :3], score, label)
    with pytest.raises(ValueError, match='label must hold integers'):
        func(bbox, score, np.array([0, .5, 1]))
    with pytest.raises(ValueError, match='iou_thresh'):
        func(bbox, score, label, iou_thresh=1.5)


def test_bad_parameters():
    bbox, score, label = _boxes()
    with pytest.raises(ValueError, match='iou_thresh must be in'):
        non_maximum_suppression(bbox, score, label, 0.)
    with pytest.raises(ValueError, match='method'):
        soft_nms(bbox, score, label, method='hard')
    with pytest.raises(ValueError, match='sigma'):
        soft_nms(bbox, score, label, sigma=0)
    with pytest.raises(ValueError, match='sigma'):
        adj_nms(bbox, score, label, sigma=-1)
    with pytest.raises(ValueError, match='suppression'):
        box_voting(bbox, score, label, suppression='wbf')
    with pytest.raises(ValueError, match='n_voter'):
        box_voting(bbox, score, label, n_voter=0)
    with pytest.raises(ValueError, match=r'weight must have shape \(3,\)'):
        non_maximum_weighted(bbox, score, label, weight=np.ones(2))
    with pytest.raises(ValueError, match='weight must be finite and >= 0'):
        non_maximum_weighted(bbox, score, label, weight=-np.ones(3))


def test_concatenate_models():
    b = [np.zeros((2, 4)), np.ones((1, 4))]
    s = [np.array([.5, .6]), np.array([.7])]
    lab = [np.array([0, 1]), np.array([1])]
    bbox, score, label, weight = concatenate_models(b, s, lab, [2., 1.])
    assert bbox.shape == (3, 4)
    np.testing.assert_array_equal(label, [0, 1, 1])
    np.testing.assert_allclose(weight, [1, 1, .5])
    _, _, _, weight = concatenate_models(b, s, lab, [2., 1.], 'sum')
    np.testing.assert_allclose(weight, [2 / 3, 2 / 3, 1 / 3])
    # per model and class: normalised by the best model of each class
    w = np.array([[1., 4.], [2., 2.]])
    _, _, _, weight = concatenate_models(b, s, lab, w)
    np.testing.assert_allclose(weight, [.5, 1., .5])
    _, _, _, weight = concatenate_models(b, s, lab)
    np.testing.assert_array_equal(weight, [1, 1, 1])
    with pytest.raises(ValueError, match='model 1 has 1 boxes, 2 scores'):
        concatenate_models(b, [s[0], s[0]], lab)
    with pytest.raises(ValueError, match='label 1 .*no weight column'):
        concatenate_models(b, s, lab, np.ones((2, 1)))
    with pytest.raises(ValueError, match='weights must have shape'):
        concatenate_models(b, s, lab, [1.])
    with pytest.raises(ValueError, match='normalize'):
        concatenate_models(b, s, lab, [1., 1.], normalize='mean')


@pytest.mark.gpu
@pytest.mark.parametrize('func', FUNCS)
def test_cupy_in_cupy_out(func):
    cupy = pytest.importorskip('cupy')
    bbox, score, label = _boxes()
    ref = func(bbox, score, label)
    out = func(cupy.asarray(bbox), cupy.asarray(score), cupy.asarray(label))
    for a, b in zip(out, ref):
        assert isinstance(a, cupy.ndarray)
        np.testing.assert_array_equal(cupy.asnumpy(a), b)
