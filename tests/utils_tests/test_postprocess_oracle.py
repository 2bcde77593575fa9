"""pfdet.utils post-processing against independent oracles.

Oracles: ensemble-boxes 1.0.9 (NMS, Soft-NMS, NMW), ChainerCV's
non_maximum_suppression (per class), and a naive sequential Soft-NMS written
here. Inputs are seeded random boxes with continuous scores and coordinates
(no score ties, no IoU exactly at a threshold).
"""
import sys
import warnings

import numpy as np
import pytest

from chainercv.utils import non_maximum_suppression as chainercv_nms

from pfdet.utils import concatenate_models
from pfdet.utils import non_maximum_suppression
from pfdet.utils import non_maximum_weighted
from pfdet.utils import soft_nms
from pfdet.utils.postprocess import _common

eb = pytest.importorskip('ensemble_boxes')

SIZE = 200.


def random_models(seed, n_model=3, n_class=4, n_object=12, copies=4):
    """Jittered copies of a few objects per model, (y, x, y, x) pixels."""
    rng = np.random.RandomState(seed)
    center = rng.uniform(20, SIZE - 20, (n_object, 2))
    hw = rng.uniform(8, 80, (n_object, 2))
    obj_label = rng.randint(0, n_class, n_object)
    bboxes, scores, labels = [], [], []
    for _ in range(n_model):
        obj = np.repeat(np.arange(n_object), copies)
        c = center[obj] + rng.randn(len(obj), 2) * 0.1 * hw[obj]
        s = hw[obj] * np.exp(rng.randn(len(obj), 2) * 0.1)
        bbox = np.clip(np.concatenate((c - s / 2, c + s / 2), axis=1),
                       0, SIZE)
        # a few stray boxes
        extra = rng.uniform(0, SIZE - 30, (5, 2))
        bbox = np.concatenate((bbox, np.concatenate(
            (extra, extra + rng.uniform(5, 30, (5, 2))), axis=1)))
        bboxes.append(bbox)
        scores.append(rng.uniform(0.01, 1, len(bbox)))
        labels.append(np.r_[obj_label[obj], rng.randint(0, n_class, 5)])
    return bboxes, scores, labels


def to_eb(bboxes):
    return [b[:, [1, 0, 3, 2]] / SIZE for b in bboxes]


def match(eb_box, eb_score, eb_label, bbox, score, label):
    """Input indices of ensemble-boxes' returned boxes (exact copies)."""
    key = {(tuple(b[[1, 0, 3, 2]] / SIZE), s, int(lb)): i
           for i, (b, s, lb) in enumerate(zip(bbox, score, label))}
    return sorted(key[(tuple(b), s, int(lb))]
                  for b, s, lb in zip(eb_box, eb_score, eb_label))


def naive_soft_nms(bbox, score, label, method, iou_thresh, sigma, thresh):
    """Sequential per-class Soft-NMS (Bodla's loop), for decayed scores."""
    out = {}
    for c in np.unique(label):
        idx = list(np.flatnonzero(label == c))
        s = {i: score[i] for i in idx}
        while idx:
            i = max(idx, key=lambda k: s[k])
            idx.remove(i)
            if s[i] < thresh:
                break
            out[i] = s[i]
            for j in idx:
                a, b = bbox[i], bbox[j]
                h = max(0., min(a[2], b[2]) - max(a[0], b[0]))
                w = max(0., min(a[3], b[3]) - max(a[1], b[1]))
                inter = h * w
                iou = inter / ((a[2] - a[0]) * (a[3] - a[1])
                               + (b[2] - b[0]) * (b[3] - b[1]) - inter)
                if method == 'gaussian':
                    s[j] *= np.exp(-iou * iou / sigma)
                elif iou > iou_thresh:
                    s[j] *= 1 - iou
    return out


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('iou_thresh', [0.3, 0.5, 0.7])
def test_nms_equals_ensemble_boxes_and_chainercv(seed, iou_thresh):
    bboxes, scores, labels = random_models(seed)
    bbox, score, label, _ = concatenate_models(bboxes, scores, labels)
    out = non_maximum_suppression(bbox, score, label, iou_thresh,
                                  strict=True, return_index=True)
    eb_out = eb.nms(to_eb(bboxes), scores, labels, iou_thr=iou_thresh)
    assert sorted(out[3].tolist()) == match(*eb_out, bbox, score, label)
    np.testing.assert_array_equal(out[0], bbox[out[3]])
    np.testing.assert_array_equal(out[1], score[out[3]])

    _, _, _, index = non_maximum_suppression(bbox, score, label, iou_thresh,
                                             return_index=True)
    expected = []
    for c in np.unique(label):
        m = np.flatnonzero(label == c)
        expected.extend(m[chainercv_nms(bbox[m], iou_thresh, score[m])])
    assert sorted(index.tolist()) == sorted(expected)
    # sorted by label, then descending score
    key = np.lexsort((-score[index], label[index]))
    np.testing.assert_array_equal(key, np.arange(len(index)))


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('method, eb_method', [('gaussian', 2),
                                               ('linear', 1)])
@pytest.mark.parametrize('thresh', [0.001, 0.2])
def test_soft_nms_equals_ensemble_boxes(seed, method, eb_method, thresh):
    bboxes, scores, labels = random_models(seed + 10)
    bbox, score, label, _ = concatenate_models(bboxes, scores, labels)
    out_box, out_score, out_label, index = soft_nms(
        bbox, score, label, 0.4, 0.5, method, thresh, return_index=True)
    eb_box, eb_score, eb_label = eb.soft_nms(
        to_eb(bboxes), scores, labels, method=eb_method, iou_thr=0.4,
        sigma=0.5, thresh=thresh)
    # same kept boxes; ensemble-boxes returns the undecayed input scores
    assert sorted(index.tolist()) == match(eb_box, eb_score, eb_label, bbox,
                                           score, label)
    np.testing.assert_array_equal(out_box, bbox[index])
    np.testing.assert_array_equal(out_label, label[index])
    # our scores are the decayed ones
    ref = naive_soft_nms(bbox, score, label, method, 0.4, 0.5, thresh)
    assert sorted(ref) == sorted(index.tolist())
    np.testing.assert_allclose(out_score, [ref[i] for i in index],
                               rtol=1e-12)
    assert np.all(out_score <= score[index])
    assert np.any(out_score < score[index])


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('iou_thresh', [0.4, 0.55, 0.7])
@pytest.mark.parametrize('crowded_path', [False, True])
def test_nmw_equals_ensemble_boxes(seed, iou_thresh, crowded_path,
                                   monkeypatch):
    if crowded_path:  # the pair-based path used for crowded labels
        monkeypatch.setattr(
            sys.modules['pfdet.utils.postprocess.non_maximum_weighted'],
            '_DENSE_LIMIT', 0)
    bboxes, scores, labels = random_models(seed + 20)
    rng = np.random.RandomState(seed)
    weights = rng.uniform(0.5, 2, len(bboxes))
    bbox, score, label, weight = concatenate_models(
        bboxes, scores, labels, weights)
    out_box, out_score, out_label, index = non_maximum_weighted(
        bbox, score, label, iou_thresh, weight=weight, score_thresh=0.05,
        return_index=True)
    eb_box, eb_score, eb_label = eb.non_maximum_weighted(
        to_eb(bboxes), scores, labels, weights=list(weights),
        iou_thr=iou_thresh, skip_box_thr=0.05)
    assert len(out_box) == len(eb_box)
    o1 = np.lexsort((-out_score, out_label))
    o2 = np.lexsort((-eb_score, eb_label))
    np.testing.assert_array_equal(out_label[o1], eb_label[o2])
    np.testing.assert_allclose(out_score[o1], eb_score[o2], rtol=1e-6)
    np.testing.assert_allclose(out_box[o1] / SIZE,
                               eb_box[o2][:, [1, 0, 3, 2]], rtol=0,
                               atol=1e-5)
    # heads are the boxes kept by strict NMS on the weighted scores
    valid = score >= 0.05
    _, _, _, nms_index = non_maximum_suppression(
        bbox[valid], (score * weight)[valid], label[valid], iou_thresh,
        strict=True, return_index=True)
    assert sorted(index.tolist()) == sorted(
        np.flatnonzero(valid)[nms_index].tolist())
    np.testing.assert_array_equal(out_score, (score * weight)[index])


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('strict', [False, True])
def test_greedy_nms_rounds_and_pair_solver_agree(seed, strict):
    # A crowded single class: many kept boxes, long keep/suppress chains.
    rng = np.random.RandomState(seed)
    n = 600
    y = rng.uniform(0, 40, n)
    x = np.sort(rng.uniform(0, 1500, n))
    bbox = np.stack((y, x, y + rng.uniform(20, 60, n),
                     x + rng.uniform(20, 60, n)), axis=1)
    score = rng.rand(n)
    label = rng.randint(0, 2, n)
    order = _common.rank_order(score, label)
    bb, lb = bbox[order], label[order].astype(np.int64)
    results = [_common.greedy_nms(bb, lb, 0.3, strict, max_rounds=r)
               for r in (0, 3, 10 ** 6)]
    expected = np.zeros(n, bool)
    for c in (0, 1):
        m = np.flatnonzero(label == c)
        expected[m[chainercv_nms(bbox[m], 0.3, score[m])]] = True
    if not strict:  # ChainerCV suppresses at >=; ties have measure zero
        np.testing.assert_array_equal(expected[order], results[0])
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    assert results[0].sum() > 50
    assert (~results[0]).sum() > 50
