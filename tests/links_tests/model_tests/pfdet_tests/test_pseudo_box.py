"""pseudo_box_ignore_mask: the co-occurrence ignores narrowed to pseudo-boxes."""

import numpy as np
import pytest

from chainercv.utils import bbox_iou

from pfdet.links.model.pfdet.cooccurrence import pseudo_box_ignore_mask

FACE, WHEEL, OTHER = range(3)

FACE_ROI = [10, 10, 30, 30]
NEAR_MISS = [10, 20, 30, 40]      # IoU 1/3 with FACE_ROI
TIGHT = [12, 12, 30, 30]          # IoU 0.81 with FACE_ROI
FAR = [60, 10, 80, 30]            # overlaps none of the above


def _call(rois, roi_indices, ignore, scores, **kwargs):
    return pseudo_box_ignore_mask(
        np.array(ignore, bool), np.array(scores, np.float32),
        np.array(rois, np.float32), np.array(roi_indices, np.int32), **kwargs)


def test_near_miss_of_the_best_candidate_becomes_negative():
    rois = [FACE_ROI, NEAR_MISS, TIGHT, FAR]
    ignore = np.zeros((4, 3), bool)
    ignore[:, FACE] = True
    scores = np.zeros((4, 3), np.float32)
    scores[:, FACE] = [0.9, 0.6, 0.3, 0.1]
    out = _call(rois, [0] * 4, ignore, scores)
    assert out.dtype == bool and out.shape == (4, 3)
    # FACE_ROI: the pseudo-box; TIGHT: IoU 0.81 with it; FAR: a pseudo-box of its own
    # (nothing overlaps it); NEAR_MISS: suppressed by FACE_ROI, IoU 1/3 < 0.5
    assert out[:, FACE].tolist() == [True, False, True, True]
    assert not out[:, [WHEEL, OTHER]].any()
    # a lower IoU threshold keeps the near miss ignored
    out = _call(rois, [0] * 4, ignore, scores, iou_thresh=0.3)
    assert out[:, FACE].tolist() == [True, True, True, True]


def test_the_order_of_scores_decides_which_box_is_the_pseudo_box():
    rois = [FACE_ROI, NEAR_MISS, TIGHT]
    ignore = np.ones((3, 1), bool)
    out = _call(rois, [0] * 3, ignore, [[0.2], [0.7], [0.1]])
    # NEAR_MISS is now the pseudo-box: FACE_ROI and TIGHT (IoU 1/3 each) are
    # negatives; logits give the same answer as probabilities
    assert out[:, 0].tolist() == [False, True, False]
    logits = np.log(np.array([[0.2], [0.7], [0.1]]) / (1 - np.array([[0.2], [0.7], [0.1]])))
    assert _call(rois, [0] * 3, ignore, logits)[:, 0].tolist() == [False, True, False]


def test_suppressed_boxes_do_not_suppress_two_instances_each_get_one():
    # two wheels and a box spanning both that scores between them: greedy NMS keeps
    # both wheels (the spanning box is suppressed by the first and cannot suppress the
    # second), where a plain local-maximum rule would lose the second wheel
    w1, w2, span = [0, 0, 20, 20], [0, 50, 20, 70], [0, 0, 20, 70]
    ignore = np.zeros((3, 3), bool)
    ignore[:, WHEEL] = True
    scores = np.zeros((3, 3), np.float32)
    scores[:, WHEEL] = [0.8, 0.7, 0.75]
    out = _call([w1, w2, span], [0] * 3, ignore, scores)
    assert out[:, WHEEL].tolist() == [True, True, False]


def test_images_and_classes_are_separate_and_non_candidates_untouched():
    rois = [FACE_ROI, NEAR_MISS, NEAR_MISS, FACE_ROI]
    roi_indices = [0, 0, 1, 1]
    ignore = np.array([[True, True, False],
                       [True, False, False],
                       [True, True, False],
                       [False, False, False]])
    scores = np.array([[0.9, 0.1, 0.0],
                       [0.6, 0.9, 0.0],     # WHEEL: not a candidate, its score is inert
                       [0.99, 0.5, 0.0],
                       [1.0, 1.0, 1.0]], np.float32)
    out = _call(rois, roi_indices, ignore, scores)
    # image 0: FACE_ROI suppresses NEAR_MISS for FACE; WHEEL's only candidate is row 0.
    # image 1: NEAR_MISS is alone among candidates (row 3 is not one): a pseudo-box.
    expected = np.array([[True, True, False],
                         [False, False, False],
                         [True, True, False],
                         [False, False, False]])
    np.testing.assert_array_equal(out, expected)
    # per-level lists are concatenated like the mask's rows
    out = pseudo_box_ignore_mask(
        ignore, scores, [np.array(rois[:1], np.float32), np.array(rois[1:], np.float32)],
        [np.array(roi_indices[:1], np.int32), np.array(roi_indices[1:], np.int32)])
    np.testing.assert_array_equal(out, expected)


def test_min_score_counts_only_confident_pseudo_boxes():
    rois = [FACE_ROI, NEAR_MISS, FAR, TIGHT]
    ignore = np.zeros((4, 3), bool)
    ignore[:, FACE] = True
    scores = np.zeros((4, 3), np.float32)
    scores[:, FACE] = [0.9, 0.6, 0.3, 0.2]
    # FACE_ROI is a confident pseudo-box: its near miss becomes a negative, TIGHT stays;
    # FAR is a pseudo-box below 0.5 and overlaps no confident one: it stays ignored
    out = _call(rois, [0] * 4, ignore, scores, min_score=0.5)
    assert out[:, FACE].tolist() == [True, False, True, True]
    assert not out[:, [WHEEL, OTHER]].any()
    # no pseudo-box reaches 0.95: PFDet's rule, every candidate stays ignored
    np.testing.assert_array_equal(_call(rois, [0] * 4, ignore, scores, min_score=0.95), ignore)
    # a near miss suppressed by an unconfident pseudo-box stays ignored as well
    scores[:, FACE] = [0.4, 0.3, 0.3, 0.2]
    assert _call(rois, [0] * 4, ignore, scores, min_score=0.5)[:, FACE].all()
    # logits with the logit of the threshold (0 for 0.5) give the same answer
    logits = np.zeros((4, 3), np.float32)
    p = np.array([0.9, 0.6, 0.3, 0.2])
    logits[:, FACE] = np.log(p / (1 - p))
    out = _call(rois, [0] * 4, ignore, logits, min_score=0.)
    assert out[:, FACE].tolist() == [True, False, True, True]


def _greedy_oracle(rois, roi_indices, ignore, scores, iou_thresh, min_score=None):
    """Straightforward per-image, per-class greedy NMS (a loop, as an independent check)."""
    out = np.zeros_like(ignore)
    iou = bbox_iou(rois, rois)
    for i in np.unique(roi_indices):
        for c in range(ignore.shape[1]):
            cand = np.where((roi_indices == i) & ignore[:, c])[0]
            kept = []
            for r in cand[np.argsort(-scores[cand, c], kind='stable')]:
                if not any(iou[r, k] > 0 and scores[k, c] > scores[r, c] for k in kept):
                    kept.append(r)
            if min_score is not None:
                kept = [k for k in kept if scores[k, c] >= min_score]
            for r in cand:
                out[r, c] = any(iou[r, k] >= iou_thresh - 1e-6 for k in kept) or \
                    not any(iou[r, k] > 0 for k in kept)
    return out


@pytest.mark.parametrize('seed', range(5))
def test_matches_a_greedy_nms_oracle(seed):
    rng = np.random.RandomState(seed)
    n = 60
    tl = rng.uniform(0, 100, (n, 2))
    rois = np.concatenate([tl, tl + rng.uniform(4, 30, (n, 2))], axis=1).astype(np.float32)
    roi_indices = rng.randint(0, 3, n).astype(np.int32)
    ignore = rng.uniform(size=(n, 4)) < 0.6
    # a few ties on purpose
    scores = np.round(rng.uniform(size=(n, 4)), 1).astype(np.float32)
    for t, m in ((0.5, None), (0.3, None), (0.5, 0.5), (0.3, 0.8)):
        out = pseudo_box_ignore_mask(ignore, scores, rois, roi_indices, iou_thresh=t,
                                     min_score=m)
        np.testing.assert_array_equal(
            out, _greedy_oracle(rois, roi_indices, ignore, scores, t, m))
        assert not (out & ~ignore).any()


def test_empty_and_errors():
    rois = np.array([FACE_ROI], np.float32)
    out = pseudo_box_ignore_mask(np.zeros((1, 3), bool), np.zeros((1, 3), np.float32),
                                 rois, np.zeros(1, np.int32))
    assert not out.any()
    with pytest.raises(ValueError, match='disagree'):
        pseudo_box_ignore_mask(np.zeros((1, 3), bool), np.zeros((1, 2), np.float32),
                               rois, np.zeros(1, np.int32))
    with pytest.raises(ValueError, match='iou_thresh'):
        pseudo_box_ignore_mask(np.zeros((1, 3), bool), np.zeros((1, 3), np.float32),
                               rois, np.zeros(1, np.int32), iou_thresh=0)
    with pytest.raises(ValueError, match='min_score'):
        pseudo_box_ignore_mask(np.zeros((1, 3), bool), np.zeros((1, 3), np.float32),
                               rois, np.zeros(1, np.int32), min_score=float('nan'))
