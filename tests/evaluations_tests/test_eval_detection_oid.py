import importlib

import numpy as np
import pytest

from pfdet.evaluations import ap_from_entries
from pfdet.evaluations import calc_detection_oid_entries
from pfdet.evaluations import eval_detection_oid
eval_module = importlib.import_module('pfdet.evaluations.eval_detection_oid')


def _b(*boxes):
    return np.array(boxes, dtype=np.float32).reshape(-1, 4)


def _l(*labels):
    return np.array(labels, dtype=np.int32)


def _one(pred_bbox, pred_label, pred_score, gt_bbox, gt_label, gt_group,
         img_label, n_class=None):
    return eval_detection_oid(
        [pred_bbox], [pred_label], [np.array(pred_score, dtype=np.float32)],
        [gt_bbox], [gt_label], [np.array(gt_group, dtype=bool)], [img_label],
        n_class=n_class)


# ------------------------------------------------------------ §3 examples --

def test_e1_ranking():
    r = _one(_b((0, 0, .5, .5), (0, .5, .5, 1), (.5, .5, 1, 1)), _l(0, 0, 0),
             [.9, .8, .7], _b((0, 0, .5, .5), (.5, .5, 1, 1)), _l(0, 0),
             [0, 0], _l(0))
    assert abs(r['ap'][0] - (.5 * 1 + .5 * 2 / 3)) < 1e-9
    assert abs(r['map'] - 5 / 6) < 1e-9


def test_e2_iou_exactly_half_is_inclusive():
    r = _one(_b((0, 0, 1, .5)), _l(0), [.9], _b((0, 0, 1, 1)), _l(0), [0],
             _l(0))
    assert abs(r['map'] - 1.0) < 1e-9


def test_e2b_iou_below_half():
    r = _one(_b((0, 0, 1, .49)), _l(0), [.9], _b((0, 0, 1, 1)), _l(0), [0],
             _l(0))
    assert abs(r['map'] - 0.0) < 1e-9


def test_e3_no_fallback_to_second_best():
    r = _one(_b((0, 0, .5, .5), (0, .03, .5, .53)), _l(0, 0), [.9, .8],
             _b((0, 0, .5, .5), (0, .1, .5, .6)), _l(0, 0), [0, 0], _l(0))
    assert abs(r['map'] - 0.5) < 1e-9


def test_e4_group_of_takes_max_score():
    r = _one(_b((.55, .55, .6, .6), (.7, .7, .8, .8), (0, 0, .1, .1)),
             _l(0, 0, 0), [.3, .9, .5], _b((.5, .5, 1, 1)), _l(0), [1], _l(0))
    # entries (.9, TP) and (.5, FP), one positive
    assert abs(r['map'] - 1.0) < 1e-9


def test_e5_ioa_exactly_half_is_inclusive():
    r = _one(_b((.25, .25, .5, .75)), _l(0), [.6], _b((0, 0, .5, .5)), _l(0),
             [1], _l(0))
    assert abs(r['map'] - 1.0) < 1e-9


def test_e5b_ioa_below_half():
    r = _one(_b((.25, .25, .5, .76)), _l(0), [.6], _b((0, 0, .5, .5)), _l(0),
             [1], _l(0))
    assert abs(r['map'] - 0.0) < 1e-9


def test_e6_unmatched_group_of_is_false_negative():
    r = _one(_b((0, 0, .5, .5)), _l(0), [.9],
             _b((0, 0, .5, .5), (.5, .5, 1, 1)), _l(0, 0), [0, 1], _l(0))
    assert abs(r['map'] - 0.5) < 1e-9


def test_e7_duplicate_absorbed_by_group_of():
    r = _one(_b((.5, .5, .7, .7), (.5, .5, .7, .7)), _l(0, 0), [.9, .8],
             _b((.5, .5, .7, .7), (.5, .5, 1, 1)), _l(0, 0), [0, 1], _l(0))
    assert abs(r['map'] - 1.0) < 1e-9


def test_e8_two_group_of_boxes():
    r = _one(_b((.1, .1, .2, .2), (.45, .45, .55, .55), (.7, .7, .8, .8)),
             _l(0, 0, 0), [.8, .7, .6],
             _b((0, 0, .4, .4), (.6, .6, 1, 1), (0, .6, .4, 1)), _l(0, 0, 0),
             [1, 1, 0], _l(0))
    assert abs(r['map'] - (1 / 3 + 1 / 3 * 2 / 3)) < 1e-9


def _e9(i1_labels, with_i3=False):
    pred_bboxes = [_b((0, 0, .5, .5), (.5, .5, 1, 1)), _b((0, 0, .5, .5))]
    pred_labels = [_l(0, 1), _l(1)]
    pred_scores = [np.array([.9, .8]), np.array([.7])]
    gt_bboxes = [_b((0, 0, .5, .5)), _b((0, 0, .5, .5))]
    gt_labels = [_l(0), _l(1)]
    gt_groups = [np.zeros(1, bool), np.zeros(1, bool)]
    img_labels = [i1_labels, _l(1)]
    if with_i3:
        pred_bboxes.append(_b((0, 0, 1, 1), (0, 0, 1, 1)))
        pred_labels.append(_l(0, 1))
        pred_scores.append(np.array([.99, .99]))
        gt_bboxes.append(_b())
        gt_labels.append(_l())
        gt_groups.append(np.zeros(0, bool))
        img_labels.append(_l())
    return eval_detection_oid(pred_bboxes, pred_labels, pred_scores,
                              gt_bboxes, gt_labels, gt_groups, img_labels)


def test_e9a_unverified_class_ignored():
    r = _e9(_l(0))
    np.testing.assert_allclose(r['ap'], [1, 1], atol=1e-9)
    assert abs(r['map'] - 1.0) < 1e-9


def test_e9b_verified_negative_class_scored():
    r = _e9(_l(0, 1))
    np.testing.assert_allclose(r['ap'], [1, .5], atol=1e-9)
    assert abs(r['map'] - 0.75) < 1e-9


def test_e9c_image_without_ground_truth_ignored():
    r = _e9(_l(0), with_i3=True)
    np.testing.assert_allclose(r['ap'], [1, 1], atol=1e-9)
    assert abs(r['map'] - 1.0) < 1e-9


def test_e10a_predictions_not_expanded():
    # classes: 0 Car, 1 Land vehicle, 2 Vehicle
    box = (0, 0, .5, .5)
    r = _one(_b(box), _l(0), [.9], _b(box, box, box), _l(0, 1, 2), [0, 0, 0],
             _l(0, 1, 2))
    np.testing.assert_allclose(r['ap'], [1, 0, 0], atol=1e-9)
    assert abs(r['map'] - 1 / 3) < 1e-9


def test_e10b_model_emits_parents():
    box = (0, 0, .5, .5)
    r = _one(_b(box, box, box), _l(0, 1, 2), [.9, .9, .9], _b(box, box, box),
             _l(0, 1, 2), [0, 0, 0], _l(0, 1, 2))
    assert abs(r['map'] - 1.0) < 1e-9


def test_e11a_invalid_box_dropped():
    r = _one(_b((.6, .6, .6, .9), (0, 0, .5, .5)), _l(0, 0), [.95, .9],
             _b((0, 0, .5, .5)), _l(0), [0], _l(0))
    assert abs(r['map'] - 1.0) < 1e-9


def test_e11b_valid_false_positive_ranked_first():
    r = _one(_b((.6, .6, .7, .9), (0, 0, .5, .5)), _l(0, 0), [.95, .9],
             _b((0, 0, .5, .5)), _l(0), [0], _l(0))
    assert abs(r['map'] - 0.5) < 1e-9


def test_e12_nan_and_zero():
    r = _one(_b((0, 0, .5, .5), (0, 0, 1, 1)), _l(0, 2), [.9, .9],
             _b((0, 0, .5, .5), (.5, .5, 1, 1)), _l(0, 1), [0, 0],
             _l(0, 1, 2), n_class=3)
    assert r['ap'].dtype == np.float64 and r['ap'].shape == (3,)
    assert abs(r['ap'][0] - 1) < 1e-9
    assert abs(r['ap'][1] - 0) < 1e-9
    assert np.isnan(r['ap'][2])
    assert abs(r['map'] - 0.5) < 1e-9


def test_e13a_score_zero_group_of_gives_no_entry():
    r = _one(_b((0, 0, .5, .5)), _l(0), [0.], _b((0, 0, .5, .5)), _l(0), [1],
             _l(0))
    assert abs(r['map'] - 0.0) < 1e-9


def test_e13b_score_zero_normal_box_is_tp():
    r = _one(_b((0, 0, .5, .5)), _l(0), [0.], _b((0, 0, .5, .5)), _l(0), [0],
             _l(0))
    assert abs(r['map'] - 1.0) < 1e-9


def test_e14_monotone_precision():
    r = _one(_b((.6, .6, .9, .9), (0, 0, .5, .5)), _l(0, 0), [.9, .8],
             _b((0, 0, .5, .5)), _l(0), [0], _l(0))
    assert abs(r['map'] - 0.5) < 1e-9


@pytest.mark.parametrize('order', [(0, 1), (1, 0)])
def test_e15_ties_do_not_crash(order):
    boxes = [(0, 0, .5, .5), (.6, .6, .9, .9)]
    r = _one(_b(*[boxes[i] for i in order]), _l(0, 0), [.9, .9],
             _b((0, 0, .5, .5)), _l(0), [0], _l(0))
    assert r['map'] in (0.5, 1.0)
    r = eval_detection_oid(
        [_b(boxes[0]), _b(boxes[1])], [_l(0), _l(0)],
        [np.array([.9]), np.array([.9])], [_b((0, 0, .5, .5))] * 2,
        [_l(0)] * 2, [np.zeros(1, bool)] * 2, [_l(0)] * 2)
    assert 0 <= r['map'] <= 1


# -------------------------------------------------- other closed forms --

def test_score_floor_of_official_nms():
    # np_box_list_ops.non_max_suppression keeps scores > -10 only.
    r = _one(_b((0, 0, .5, .5)), _l(0), [-10.], _b((0, 0, .5, .5)), _l(0),
             [0], _l(0))
    assert r['map'] == 0
    r = _one(_b((0, 0, .5, .5)), _l(0), [-9.99], _b((0, 0, .5, .5)), _l(0),
             [0], _l(0))
    assert r['map'] == 1


def test_cap_of_10000_detections_per_class_and_image():
    # 10,000 FPs scored above the TP push it out of the image's cap.
    n = 10000
    fp = np.tile(np.array([[.6, .6, .9, .9]]), (n, 1))
    bbox = np.concatenate([fp, [[0, 0, .5, .5]]])
    score = np.concatenate([np.linspace(.9, .5, n), [.1]])
    r = _one(bbox, np.zeros(n + 1, np.int32), score, _b((0, 0, .5, .5)),
             _l(0), [0], _l(0))
    assert r['map'] == 0
    r = _one(bbox[1:], np.zeros(n, np.int32), score[1:], _b((0, 0, .5, .5)),
             _l(0), [0], _l(0))
    assert abs(r['map'] - 1 / n) < 1e-9


def test_no_detections_gives_zero_ap():
    r = _one(_b(), _l(), [], _b((0, 0, .5, .5)), _l(1), [0], _l(0, 1))
    assert np.isnan(r['ap'][0]) and r['ap'][1] == 0 and r['map'] == 0


def test_no_ground_truth_at_all_gives_nan():
    r = _one(_b((0, 0, .5, .5)), _l(0), [.5], _b(), _l(), [], _l(0))
    assert np.isnan(r['ap'][0]) and np.isnan(r['map'])


def test_group_of_none_and_image_labels_none():
    r = eval_detection_oid(
        [_b((0, 0, .5, .5), (.5, .5, 1, 1))], [_l(0, 1)],
        [np.array([.9, .8])], [_b((0, 0, .5, .5))], [_l(0)], None, None,
        n_class=2)
    # class 1 is not verified (no image labels, no box): ignored
    assert r['ap'][0] == 1 and np.isnan(r['ap'][1])


def test_entries_and_merge():
    args = _random_dataset(np.random.RandomState(3), 40, 5)
    full = eval_detection_oid(*args, n_class=5)
    first = calc_detection_oid_entries(*[a[:17] for a in args], n_class=5)
    second = calc_detection_oid_entries(*[a[17:] for a in args], n_class=5)
    ap = ap_from_entries([first[0], second[0]], [first[1], second[1]],
                         [first[2], second[2]], [first[3], second[3]])
    np.testing.assert_allclose(ap, full['ap'], rtol=0, atol=1e-12)
    s, lab, tp, n_pos = first
    assert s.dtype == np.float64 and lab.dtype == np.int32
    assert tp.dtype == bool and n_pos.shape == (5,)


def test_generators_are_accepted():
    args = _random_dataset(np.random.RandomState(4), 30, 4)
    expected = eval_detection_oid(*args, n_class=4)
    r = eval_detection_oid(*[iter(a) for a in args], n_class=4)
    np.testing.assert_array_equal(r['ap'], expected['ap'])


def test_n_class_inferred():
    args = _random_dataset(np.random.RandomState(5), 30, 4)
    r = eval_detection_oid(*args)
    n = 1 + max(int(np.max(np.concatenate(a))) for a in
                (args[1], args[4], args[6]) if len(np.concatenate(a)))
    assert r['ap'].shape == (n,)


# ------------------------------------------------------------ properties --

def _random_dataset(rng, n_img, n_class, n_gt_max=8, group_of_rate=.25,
                    n_det_max=30, n_neg=2, unverified=True, invalid=True,
                    twin_rate=0):
    """Random images with partial labels, group-of boxes and detections.

    Scores are distinct random floats, so that there are no ties. With
    ``twin_rate``, that fraction of the boxes gets a slightly shifted twin of
    the same class (competing ground truth: duplicates, no-fallback cases).
    """
    pred_bboxes, pred_labels, pred_scores = [], [], []
    gt_bboxes, gt_labels, gt_groups, img_labels = [], [], [], []
    for _ in range(n_img):
        n_gt = rng.randint(0, n_gt_max + 1)
        yx = rng.uniform(0, .8, size=(n_gt, 2))
        hw = rng.uniform(.05, .4, size=(n_gt, 2))
        gt = np.concatenate([yx, np.minimum(yx + hw, 1)], axis=1)
        gl = rng.randint(0, n_class, size=n_gt)
        gg = rng.uniform(size=n_gt) < group_of_rate
        twin = np.flatnonzero(rng.uniform(size=n_gt) < twin_rate)
        if len(twin):
            shift = np.tile(rng.normal(0, .03, size=(len(twin), 2)), 2)
            gt = np.concatenate([gt, gt[twin] + shift])
            gl = np.concatenate([gl, gl[twin]])
            gg = np.concatenate([gg, np.zeros(len(twin), bool)])
            n_gt = len(gt)
        il = np.unique(np.concatenate(
            [gl, rng.randint(0, n_class, size=rng.randint(0, n_neg + 1))]))
        # detections: jittered GT (some duplicates), boxes inside group-of
        # boxes, random boxes (some of unverified classes), invalid boxes
        parts_b, parts_l = [], []
        if n_gt:
            k = rng.randint(0, 2 * n_gt + 1)
            src = rng.randint(0, n_gt, size=k)
            jit = rng.normal(0, .04, size=(k, 4))
            parts_b.append(gt[src] + jit)
            lab = gl[src].copy()
            flip = rng.uniform(size=k) < .15
            lab[flip] = rng.randint(0, n_class, size=flip.sum())
            parts_l.append(lab)
            grp = np.flatnonzero(gg)
            if len(grp):
                k = rng.randint(0, 6)
                g = gt[rng.choice(grp, size=k)]
                t = rng.uniform(0, 1, size=(k, 2))
                s = rng.uniform(.1, .6, size=(k, 2)) * (g[:, 2:] - g[:, :2])
                lo = g[:, :2] + t * (g[:, 2:] - g[:, :2] - s)
                parts_b.append(np.concatenate([lo, lo + s], axis=1)
                               + rng.normal(0, .02, size=(k, 4)))
                parts_l.append(gl[rng.choice(grp, size=k)])
        k = rng.randint(0, n_det_max // 3 + 1)
        yx = rng.uniform(0, .8, size=(k, 2))
        hw = rng.uniform(.02, .5, size=(k, 2))
        parts_b.append(np.concatenate([yx, yx + hw], axis=1))
        pool = np.arange(n_class) if unverified else il
        if len(pool) == 0:
            pool = np.arange(n_class)
        parts_l.append(rng.choice(pool, size=k))
        if invalid:
            k = rng.randint(0, 2)
            b = rng.uniform(0, 1, size=(k, 4))
            b[:, 2] = b[:, 0]
            parts_b.append(b)
            parts_l.append(rng.randint(0, n_class, size=k))
        pb = np.concatenate(parts_b).astype(np.float64)
        pl = np.concatenate(parts_l).astype(np.int32)
        pred_bboxes.append(pb)
        pred_labels.append(pl)
        pred_scores.append(rng.uniform(0.001, 1, size=len(pb)))
        gt_bboxes.append(gt)
        gt_labels.append(gl.astype(np.int32))
        gt_groups.append(gg)
        img_labels.append(il.astype(np.int32))
    return (pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
            gt_groups, img_labels)


def test_replayed_ground_truth_gives_map_one():
    rng = np.random.RandomState(0)
    args = list(_random_dataset(rng, 100, 7))
    args[0] = [b.copy() for b in args[3]]
    args[1] = [lab.copy() for lab in args[4]]
    args[2] = [rng.uniform(.01, 1, size=len(b)) for b in args[3]]
    assert sum(g.sum() for g in args[5]) > 10
    r = eval_detection_oid(*args, n_class=7)
    valid = ~np.isnan(r['ap'])
    assert valid.sum() == 7
    np.testing.assert_allclose(r['ap'], 1.0, rtol=0, atol=1e-12)
    assert r['map'] == 1.0


def test_unverified_detections_never_change_the_result():
    rng = np.random.RandomState(1)
    n_class = 8
    args = _random_dataset(rng, 80, n_class)
    base = eval_detection_oid(*args, n_class=n_class)
    pb, pl, ps = [], [], []
    for b, lab, s, gl, il in zip(args[0], args[1], args[2], args[4],
                                 args[6]):
        free = np.setdiff1d(np.arange(n_class), np.union1d(gl, il))
        k = 10 if len(free) else 0
        yx = rng.uniform(0, .8, size=(k, 2))
        pb.append(np.concatenate([b, np.concatenate([yx, yx + .2], 1)]))
        pl.append(np.concatenate([lab, rng.choice(free, size=k)
                                  if k else []]).astype(np.int32))
        ps.append(np.concatenate([s, rng.uniform(size=k)]))
    r = eval_detection_oid(pb, pl, ps, *args[3:], n_class=n_class)
    np.testing.assert_array_equal(r['ap'], base['ap'])


def test_result_independent_of_image_order():
    rng = np.random.RandomState(2)
    args = _random_dataset(rng, 120, 6)
    base = eval_detection_oid(*args, n_class=6)
    perm = rng.permutation(120)
    r = eval_detection_oid(*[[a[i] for i in perm] for a in args], n_class=6)
    np.testing.assert_allclose(r['ap'], base['ap'], rtol=0, atol=1e-12)


def test_pixel_and_normalized_coordinates_agree():
    rng = np.random.RandomState(6)
    args = list(_random_dataset(rng, 100, 6))
    sizes = rng.randint(100, 1200, size=(100, 2)).astype(np.float64)
    scale = [np.tile(s, 2) for s in sizes]
    base = eval_detection_oid(*args, n_class=6)
    args[0] = [(b * s).astype(np.float32) for b, s in zip(args[0], scale)]
    args[3] = [(b * s).astype(np.float32) for b, s in zip(args[3], scale)]
    r = eval_detection_oid(*args, n_class=6)
    np.testing.assert_allclose(r['ap'], base['ap'], rtol=0, atol=1e-9)


def test_chunking_does_not_change_the_result(monkeypatch):
    rng = np.random.RandomState(7)
    args = _random_dataset(rng, 60, 5)
    base = eval_detection_oid(*args, n_class=5)
    monkeypatch.setattr(eval_module, '_CHUNK_BOXES', 37)
    monkeypatch.setattr(eval_module, '_PAIR_BUDGET', 5)
    r = eval_detection_oid(*args, n_class=5)
    np.testing.assert_allclose(r['ap'], base['ap'], rtol=0, atol=1e-12)
    r = eval_detection_oid(*[iter(a) for a in args], n_class=5)
    np.testing.assert_allclose(r['ap'], base['ap'], rtol=0, atol=1e-12)


# ------------------------------------------------------------ bad input --

def _good():
    return ([_b((0, 0, .5, .5)), _b((0, 0, .5, .5))], [_l(0), _l(0)],
            [np.array([.5]), np.array([.5])], [_b((0, 0, .5, .5))] * 2,
            [_l(0)] * 2, [np.zeros(1, bool)] * 2, [_l(0)] * 2)


@pytest.mark.parametrize('pos,value,match', [
    (2, [np.array([.5]), np.array([np.nan])], r'pred_scores\[1\].*NaN'),
    (0, [_b((0, 0, .5, .5)), _b((0, 0, np.inf, .5))],
     r'pred_bboxes\[1\].*NaN or inf'),
    (3, [_b((0, 0, .5, .5)), _b((0, np.nan, .5, .5))],
     r'gt_bboxes\[1\].*NaN'),
    (3, [_b((0, 0, .5, .5)), _b((0, .6, .5, .5))],
     r'gt_bboxes\[1\].*x_min > x_max'),
    (1, [_l(0), _l(3)], r'pred_labels\[1\].*out of range \[0, 2\)'),
    (1, [_l(0), _l(-1)], r'pred_labels\[1\].*out of range'),
    (4, [_l(0), _l(2)], r'gt_labels\[1\].*out of range'),
    (6, [_l(0), _l(0, 5)], r'gt_image_labels\[1\].*out of range'),
    (0, [_b((0, 0, .5, .5)), np.zeros((1, 5))], r'pred_bboxes\[1\].*\(R, 4\)'),
    (1, [_l(0), _l(0, 0)], r'pred_labels\[1\].*2 values for 1 boxes'),
    (2, [np.array([.5]), np.array([.5, .4])], r'pred_scores\[1\]'),
    (5, [np.zeros(1, bool), np.zeros(2, bool)], r'gt_is_group_ofs\[1\]'),
    (1, [_l(0), np.array([0.])], r'pred_labels\[1\].*integers'),
    (0, [_b((0, 0, .5, .5))], r'number of images'),
])
def test_bad_input_names_the_image(pos, value, match):
    args = list(_good())
    args[pos] = value
    with pytest.raises(ValueError, match=match):
        eval_detection_oid(*args, n_class=2)


def test_bad_input_generators_of_different_lengths():
    args = [iter(a) for a in _good()]
    args[4] = iter([_l(0)])
    with pytest.raises(ValueError, match='gt_labels end after 1 images'):
        eval_detection_oid(*args, n_class=2)


def test_empty_inputs():
    with pytest.raises(ValueError, match='n_class cannot be inferred'):
        eval_detection_oid([], [], [], [], [], [], [])
    r = eval_detection_oid([], [], [], [], [], [], [], n_class=3)
    assert np.isnan(r['ap']).all() and np.isnan(r['map'])


# ---------------------------------------------------------------- oracle --

def _iou(a, b):
    ih = min(a[2], b[2]) - max(a[0], b[0])
    iw = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(ih, 0.) * max(iw, 0.)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter)


def _ioa(det, gt):
    ih = min(det[2], gt[2]) - max(det[0], gt[0])
    iw = min(det[3], gt[3]) - max(det[1], gt[1])
    inter = max(ih, 0.) * max(iw, 0.)
    return inter / ((det[2] - det[0]) * (det[3] - det[1]))


def _first_argmax(values):
    best = 0
    for j in range(1, len(values)):
        if values[j] > values[best]:
            best = j
    return best


def _reference(pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
               gt_groups, img_labels, n_class, thresh=0.5):
    """Plain per-image, per-class loops written from open_images.md §2."""
    entries = [[] for _ in range(n_class)]
    n_pos = [0] * n_class
    for pb, pl, ps, gb, gl, gg, il in zip(pred_bboxes, pred_labels,
                                          pred_scores, gt_bboxes, gt_labels,
                                          gt_groups, img_labels):
        for c in gl:
            n_pos[int(c)] += 1
        evaluatable = set(int(c) for c in il) | set(int(c) for c in gl)
        for c in range(n_class):
            if c not in evaluatable:
                continue
            dets = []
            for box, lab, s in zip(pb.tolist(), pl.tolist(), ps.tolist()):
                if lab != c:
                    continue
                if not (box[0] < box[2] and box[1] < box[3]):
                    continue  # invalid box: dropped
                if not s > -10:
                    continue  # score floor of the official sort step
                dets.append((s, box))
            dets.sort(key=lambda t: -t[0])
            dets = dets[:10000]
            normal = [box for box, lab, g in zip(gb.tolist(), gl.tolist(),
                                                 gg.tolist())
                      if lab == c and not g]
            group = [box for box, lab, g in zip(gb.tolist(), gl.tolist(),
                                                gg.tolist())
                     if lab == c and g]
            status = ['fp'] * len(dets)
            taken = [False] * len(normal)
            for k, (s, box) in enumerate(dets):
                if not normal:
                    break
                ious = [_iou(box, g) for g in normal]
                j = _first_argmax(ious)
                if ious[j] >= thresh and not taken[j]:
                    taken[j] = True
                    status[k] = 'tp'
            group_score = {}
            for k, (s, box) in enumerate(dets):
                if status[k] == 'tp' or not group:
                    continue
                ioas = [_ioa(box, g) for g in group]
                j = _first_argmax(ioas)
                if ioas[j] >= thresh:
                    status[k] = 'group'
                    group_score[j] = max(group_score.get(j, -np.inf), s)
            for k, (s, box) in enumerate(dets):
                if status[k] == 'tp':
                    entries[c].append((s, 1))
                elif status[k] == 'fp':
                    entries[c].append((s, 0))
            for j, s in group_score.items():
                if s > 0:
                    entries[c].append((s, 1))
    ap = []
    for c in range(n_class):
        if n_pos[c] == 0:
            ap.append(np.nan)
            continue
        ent = sorted(entries[c], key=lambda t: -t[0])
        tp = fp = 0
        prec, rec = [], []
        for s, t in ent:
            tp += t
            fp += 1 - t
            prec.append(tp / (tp + fp))
            rec.append(tp / n_pos[c])
        rec = [0.] + rec + [1.]
        prec = [0.] + prec + [0.]
        for i in range(len(prec) - 2, -1, -1):
            prec[i] = max(prec[i], prec[i + 1])
        total = 0.
        for i in range(1, len(rec)):
            if rec[i] != rec[i - 1]:
                total += (rec[i] - rec[i - 1]) * prec[i]
        ap.append(total)
    return np.array(ap)


def _check_no_ties(args):
    scores = np.concatenate(args[2])
    assert len(np.unique(scores)) == len(scores)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_against_reference_implementation(seed):
    rng = np.random.RandomState(100 + seed)
    n_class = 8
    args = _random_dataset(rng, 300, n_class)
    _check_no_ties(args)
    expected = _reference(*args, n_class=n_class)
    r = eval_detection_oid(*args, n_class=n_class)
    assert np.isnan(expected).sum() < n_class
    np.testing.assert_array_equal(np.isnan(r['ap']), np.isnan(expected))
    np.testing.assert_allclose(r['ap'], expected, rtol=0, atol=1e-9)
    assert abs(r['map'] - np.nanmean(expected)) < 1e-9


def test_against_reference_crowded_images():
    # many boxes of few classes per image: duplicates, competing GTs,
    # several group-of boxes, and a lower threshold
    rng = np.random.RandomState(200)
    args = _random_dataset(rng, 60, 3, n_gt_max=20, group_of_rate=.3,
                           n_det_max=60, twin_rate=.5)
    _check_no_ties(args)
    for thresh in (0.5, 0.3):
        expected = _reference(*args, n_class=3, thresh=thresh)
        r = eval_detection_oid(*args, n_class=3, iou_thresh=thresh)
        np.testing.assert_allclose(r['ap'], expected, rtol=0, atol=1e-9)


def test_reference_reproduces_worked_examples():
    # the oracle itself against two §3 cases (E3, E7)
    ap = _reference([_b((0, 0, .5, .5), (0, .03, .5, .53))], [_l(0, 0)],
                    [np.array([.9, .8])],
                    [_b((0, 0, .5, .5), (0, .1, .5, .6))],
                    [_l(0, 0)], [np.zeros(2, bool)], [_l(0)], 1)
    assert abs(ap[0] - .5) < 1e-9
    ap = _reference([_b((.5, .5, .7, .7), (.5, .5, .7, .7))], [_l(0, 0)],
                    [np.array([.9, .8])],
                    [_b((.5, .5, .7, .7), (.5, .5, 1, 1))],
                    [_l(0, 0)], [np.array([False, True])], [_l(0)], 1)
    assert abs(ap[0] - 1) < 1e-9

