"""Closed-form cases of stack.md section 4.1 and other_systems.md 2.3-2.4."""
import numpy as np
import pytest

from pfdet.utils import adj_nms
from pfdet.utils import box_voting
from pfdet.utils import concatenate_models
from pfdet.utils import non_maximum_suppression
from pfdet.utils import non_maximum_weighted
from pfdet.utils import soft_nms


# stack.md 4.1, converted from normalised xyxy to (y_min, x_min, y_max,
# x_max): model 1 has A (.9) and C (.5), model 2 has B (.8); IoU(A, B) = .8.
A = [0., 0., .4, .4]
B = [0., 0., .5, .4]
C = [.6, .6, .9, .9]


def abc(weights=None):
    return concatenate_models(
        [np.array([A, C]), np.array([B])], [np.array([.9, .5]),
                                            np.array([.8])],
        [np.array([0, 0]), np.array([0])], weights)


def test_nms():
    bbox, score, label, _ = abc()
    out_bbox, out_score, out_label = non_maximum_suppression(
        bbox, score, label, 0.5)
    np.testing.assert_array_equal(out_bbox, [A, C])
    np.testing.assert_array_equal(out_score, [.9, .5])
    np.testing.assert_array_equal(out_label, [0, 0])


def test_soft_nms_gaussian_returns_decayed_scores():
    bbox, score, label, _ = abc()
    out_bbox, out_score, _ = soft_nms(bbox, score, label, sigma=0.5,
                                      score_thresh=0.001)
    # ensemble-boxes returns B with .8 (undecayed); the decayed score is
    # .8 * exp(-.8 ** 2 / .5) = .222
    np.testing.assert_array_equal(out_bbox, [A, C, B])
    np.testing.assert_allclose(out_score, [.9, .5, .8 * np.exp(-1.28)],
                               rtol=1e-12)
    assert abs(out_score[2] - 0.2224) < 1e-4
    out_bbox, out_score, _ = soft_nms(bbox, score, label, sigma=0.5,
                                      score_thresh=0.45)
    np.testing.assert_array_equal(out_bbox, [A, C])


def test_soft_nms_linear():
    bbox, score, label, _ = abc()
    _, out_score, _ = soft_nms(bbox, score, label, iou_thresh=0.5,
                               method='linear')
    np.testing.assert_allclose(out_score, [.9, .5, .8 * (1 - .8)],
                               rtol=1e-12)
    # IoU .8 is not above .85: no decay
    _, out_score, _ = soft_nms(bbox, score, label, iou_thresh=0.85,
                               method='linear')
    np.testing.assert_allclose(out_score, [.9, .8, .5])


@pytest.mark.parametrize('weights, y_max', [
    (None, .441558),   # (.9 * .4 + .8 * .8 * .5) / (.9 + .64)
    ([2, 1], .426230),  # weights -> [1, .5]; (.36 + .4 * .8 * .5) / 1.22
])
def test_nmw(weights, y_max):
    bbox, score, label, weight = abc(weights)
    out_bbox, out_score, out_label, index = non_maximum_weighted(
        bbox, score, label, 0.55, weight=weight, return_index=True)
    np.testing.assert_allclose(out_bbox, [[0, 0, y_max, .4], C], atol=1e-6)
    np.testing.assert_allclose(out_score, [.9, .5])
    np.testing.assert_array_equal(index, [0, 1])


def test_nmw_ties_go_to_the_first_head():
    # two heads (IoU 0) and a box with the same IoU (.2) with both
    bbox = np.array([[0, 0, 10, 10], [0, 20, 10, 30], [0, 5, 10, 25]], float)
    out_bbox, out_score, _ = non_maximum_weighted(
        bbox, np.array([.9, .8, .7]), np.zeros(3, int), iou_thresh=0.15)
    w = .7 * .2
    np.testing.assert_allclose(out_bbox, [
        (.9 * bbox[0] + w * bbox[2]) / (.9 + w), bbox[1]])
    np.testing.assert_allclose(out_score, [.9, .8])


def test_adj_nms():
    # other_systems.md 2.3: IoU(A, B) = .6, IoU(A, C) = 1/3
    bbox = np.array([[0, 0, 10, 10], [0, 0, 10, 6], [0, 5, 10, 15]], float)
    score = np.array([.9, .8, .7])
    out_bbox, out_score, _, index = adj_nms(bbox, score, np.zeros(3, int),
                                            return_index=True)
    np.testing.assert_array_equal(index, [0, 2])
    np.testing.assert_allclose(out_score, [.9, .7 * np.exp(-(1 / 9) / .5)])
    assert abs(out_score[1] - 0.5605) < 1e-4


def test_adj_nms_decay_floor():
    # After NMS at .5 every pairwise IoU is <= .5: one decay is >= e^-.5.
    rng = np.random.RandomState(0)
    for _ in range(20):
        yx = rng.uniform(0, 50, (2, 2))
        hw = rng.uniform(5, 30, (2, 2))
        bbox = np.concatenate((yx, yx + hw), axis=1)
        _, out_score, _, index = adj_nms(bbox, np.array([.9, .8]),
                                         np.zeros(2, int), return_index=True)
        if len(index) == 2:
            assert out_score[1] / .8 >= np.exp(-0.5) - 1e-12


VOTE_P = [0, 0, 10, 10]
VOTERS = [[1, 1, 11, 11], [0, 0, 10, 10], [0, 2, 10, 12], [2, 0, 12, 10]]


def test_box_voting_four_voters():
    bbox = np.array([VOTE_P] + VOTERS, float)
    score = np.array([.9, .8, .6, .5, .4])
    out_bbox, out_score, out_label, index = box_voting(
        bbox, score, np.zeros(5, int), return_index=True)
    np.testing.assert_array_equal(index, [0])
    np.testing.assert_allclose(out_score, [1.015])
    np.testing.assert_allclose(out_bbox, [[.225, .225, 10.225, 10.225]])


@pytest.mark.parametrize('pad, expected', [
    (True, [.075, .075, 10.075, 10.075]),
    (False, [.075, .075, 7.825, 7.825]),
])
def test_box_voting_one_voter(pad, expected):
    bbox = np.array([VOTE_P, VOTERS[0]], float)
    out_bbox, out_score, _ = box_voting(bbox, np.array([.9, .8]),
                                       np.zeros(2, int), pad=pad)
    np.testing.assert_allclose(out_bbox, [expected])
    np.testing.assert_allclose(out_score, [.9 + .05 * .8])


def test_box_voting_voters_by_iou_and_label():
    # P's voters come from its own label only, highest IoU first
    bbox = np.array([VOTE_P, [0, 0, 10, 11], [0, 0, 10, 21], [30, 30, 40, 40],
                     [0, 0, 10, 10.5]], float)
    score = np.array([.9, .3, .2, .1, .4])
    label = np.array([0, 0, 0, 0, 1])
    out_bbox, out_score, out_label, index = box_voting(
        bbox, score, label, n_voter=2, return_index=True)
    # label 0: P suppresses [0, 0, 10, 11]; survivors P, box 2, box 3
    np.testing.assert_array_equal(index, [0, 2, 3, 4])
    # P's voters: box 1 (IoU 10/11), box 2 (IoU 10/21), not box 4
    np.testing.assert_allclose(out_score[0], .9 + .05 * (.3 + .2))
    np.testing.assert_allclose(
        out_bbox[0], .7 * bbox[0] + .15 * (bbox[1] + bbox[2]))
    # with an IoU floor of .6 only box 1 votes; the rest is padding
    out_bbox, out_score, _ = box_voting(bbox, score, label, n_voter=2,
                                        voter_iou_thresh=.6)
    np.testing.assert_allclose(out_score[0], .9 + .05 * .3)
    np.testing.assert_allclose(
        out_bbox[0], .7 * bbox[0] + .15 * (bbox[1] + bbox[0]))
    # box 4 is alone in label 1: no voter, padded with itself
    np.testing.assert_allclose(out_bbox[3], bbox[4])
    np.testing.assert_allclose(out_score[3], .4)


def test_box_voting_with_adj_nms():
    bbox = np.array([[0, 0, 10, 10], [0, 0, 10, 6], [0, 5, 10, 15]], float)
    score = np.array([.9, .8, .7])
    _, out_score, _, index = box_voting(
        bbox, score, np.zeros(3, int), n_voter=1, suppression='adj_nms',
        return_index=True)
    np.testing.assert_array_equal(index, [0, 2])
    # P = A: voter B (IoU .6); P = C (decayed .5605): voter A (IoU 1/3)
    np.testing.assert_allclose(
        out_score, [.9 + .05 * .8, .7 * np.exp(-(1 / 9) / .5) + .05 * .9])
