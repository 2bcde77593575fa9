import numpy as np
import pandas as pd
import pytest

import chainer

from pfdet.datasets.hierarchy import ClassHierarchy
from pfdet.links.model.pfdet.bbox_head import bbox_head_loss_post
from pfdet.links.model.pfdet.bbox_head import make_head_targets
from pfdet.links.model.pfdet.cooccurrence import cooccurrence_ignore_mask
from pfdet.links.model.pfdet.cooccurrence import cooccurrence_pairs_matrix
from pfdet.links.model.pfdet.cooccurrence import mine_cooccurrence_pairs
from pfdet.links.model.pfdet.cooccurrence import pair_annotation_rates
from pfdet.links.model.pfdet.cooccurrence import part_edge_pairs
from pfdet.links.model.pfdet.cooccurrence import verified_part_weights


# 0 Person, 1 Man (a Person), 2 Arm, 3 Face, 4 Car, 5 Wheel
PERSON, MAN, ARM, FACE, CAR, WHEEL = range(6)
N_CLASS = 6


def _pairs():
    pairs = np.zeros((N_CLASS, N_CLASS), bool)
    pairs[PERSON, [ARM, FACE]] = True
    pairs[CAR, WHEEL] = True
    return pairs


def _ancestor():
    anc = np.eye(N_CLASS, dtype=bool)
    anc[MAN, PERSON] = True
    return anc


PERSON_BOX = [0, 0, 100, 50]
ARM_BOX = [10, 10, 40, 20]
ROI_INSIDE = [50, 20, 70, 40]
ROI_OUTSIDE = [150, 150, 170, 170]
ROI_PARTIAL = [90, 40, 110, 60]  # IoA 0.25 with the person


def _mask(rois, roi_indices, bboxes, labels, **kwargs):
    return cooccurrence_ignore_mask(
        np.array(rois, np.float32), np.array(roi_indices, np.int32),
        [np.array(b, np.float32).reshape(-1, 4) for b in bboxes],
        [np.array(l, np.int32) for l in labels], _pairs(), _ancestor(),
        **kwargs)


def test_part_roi_inside_subject_is_ignored():
    m = _mask([ROI_INSIDE], [0], [[PERSON_BOX]], [[PERSON]])
    assert m.shape == (1, N_CLASS) and m.dtype == bool
    # Arm, Face ignored; Person, Man, Car, Wheel stay negatives
    assert m[0].tolist() == [False, False, True, True, False, False]


def test_roi_outside_subject_is_negative():
    m = _mask([ROI_OUTSIDE], [0], [[PERSON_BOX]], [[PERSON]])
    assert not m.any()


def test_roi_matching_part_gt_is_positive_not_ignored():
    m = _mask([ARM_BOX], [0], [[PERSON_BOX, ARM_BOX]], [[PERSON, ARM]])
    assert not m[0, ARM]
    assert m[0, FACE]
    targets = make_head_targets(np.array([ARM + 1], np.int32), N_CLASS,
                                _ancestor(), m)
    assert targets[0].tolist() == [0, 0, 1, -1, 0, 0]


def test_class_not_a_part_of_subject_stays_negative():
    m = _mask([ROI_INSIDE, ROI_INSIDE], [0, 1], [[PERSON_BOX], [PERSON_BOX]],
              [[PERSON], [CAR]])
    assert not m[0, [CAR, WHEEL]].any()
    # inside a Car: Wheel ignored, human parts not
    assert m[1].tolist() == [False, False, False, False, False, True]


def test_descendant_of_subject_counts_as_subject():
    m = _mask([ROI_INSIDE], [0], [[PERSON_BOX]], [[MAN]])
    assert m[0].tolist() == [False, False, True, True, False, False]
    # without the hierarchy Man is not a subject
    m = cooccurrence_ignore_mask(
        np.array([ROI_INSIDE], np.float32), np.zeros(1, np.int32),
        [np.array([PERSON_BOX], np.float32)], [np.array([MAN], np.int32)],
        _pairs())
    assert not m.any()


def test_subject_gt_as_roi_ignores_its_parts():
    m = _mask([PERSON_BOX], [0], [[PERSON_BOX]], [[PERSON]])
    assert m[0].tolist() == [False, False, True, True, False, False]


def test_ioa_threshold():
    m = _mask([ROI_PARTIAL], [0], [[PERSON_BOX]], [[PERSON]])
    assert not m.any()
    m = _mask([ROI_PARTIAL], [0], [[PERSON_BOX]], [[PERSON]],
              ioa_thresh=0.25)
    assert m[0, ARM] and m[0, FACE]
    m = _mask([ROI_PARTIAL], [0], [[PERSON_BOX]], [[PERSON]],
              ioa_thresh=0.26)
    assert not m.any()


def test_verified_part_is_not_ignored_unless_switched_off():
    m = _mask([ROI_INSIDE], [0], [[PERSON_BOX]], [[PERSON]],
              img_labels=[np.array([FACE, CAR], np.int32)])
    assert m[0, ARM] and not m[0, FACE]
    m = _mask([ROI_INSIDE], [0], [[PERSON_BOX]], [[PERSON]],
              img_labels=[np.array([FACE], np.int32)], unless_verified=False)
    assert m[0, ARM] and m[0, FACE]


def test_images_without_boxes_and_pair_formats():
    m = _mask([ROI_INSIDE, ROI_INSIDE], [0, 1], [[], [PERSON_BOX]],
              [[], [PERSON]])
    assert not m[0].any() and m[1, ARM]
    # (n, 2) id pairs and a per-level list of RoIs give the same mask
    id_pairs = np.array([[PERSON, ARM], [PERSON, FACE], [CAR, WHEEL]])
    m2 = cooccurrence_ignore_mask(
        [np.array([ROI_INSIDE], np.float32), np.array([ROI_INSIDE],
                                                      np.float32)],
        [np.array([0], np.int32), np.array([1], np.int32)],
        [np.zeros((0, 4), np.float32), np.array([PERSON_BOX], np.float32)],
        [np.zeros(0, np.int32), np.array([PERSON], np.int32)],
        id_pairs, _ancestor())
    np.testing.assert_array_equal(m, m2)


def test_ignored_entries_contribute_nothing_end_to_end():
    rois = [ROI_INSIDE, ROI_OUTSIDE]
    m = _mask(rois, [0, 0], [[PERSON_BOX]], [[PERSON]])
    gt_labels = np.zeros(2, np.int32)
    targets = make_head_targets(gt_labels, N_CLASS, _ancestor(), m)
    assert (targets == -1).sum() == 2
    rng = np.random.RandomState(0)
    confs = chainer.Variable(rng.normal(size=(2, N_CLASS)).astype(np.float32))
    locs = chainer.Variable(np.zeros((2, N_CLASS, 4), np.float32))
    _, conf = bbox_head_loss_post(
        locs, confs, [np.zeros(2, np.int32)], [np.zeros((2, 4), np.float32)],
        [gt_labels], 1, targets)
    conf.backward()
    assert (confs.grad[m] == 0).all() and (confs.grad[~m] != 0).all()
    x = confs.array
    expected = np.logaddexp(0, x)[~m].sum() / 2
    np.testing.assert_allclose(conf.array, expected, rtol=1e-5)


# ---- inverse-annotation-rate weights ---------------------------------------

CAR_BOX = [0, 0, 100, 100]


def _pair_weights():
    w = np.zeros((N_CLASS, N_CLASS), np.float32)
    w[PERSON, ARM], w[PERSON, FACE], w[CAR, WHEEL] = 4, 5, 3
    return w


def _weights(rois, roi_indices, bboxes, labels, img_labels, weights=None,
             **kwargs):
    return verified_part_weights(
        np.array(rois, np.float32), np.array(roi_indices, np.int32),
        [np.array(b, np.float32).reshape(-1, 4) for b in bboxes],
        [np.array(l, np.int32) for l in labels],
        _pair_weights() if weights is None else weights, _ancestor(),
        None if img_labels is None else
        [np.array(v, np.int32) for v in img_labels], **kwargs)


def test_verified_part_inside_subject_weighs_its_inverse_rate():
    w = _weights([ROI_INSIDE, ROI_OUTSIDE, ARM_BOX], [0, 0, 0],
                 [[PERSON_BOX, ARM_BOX]], [[PERSON, ARM]], [[ARM, FACE]])
    assert w.shape == (3, N_CLASS) and w.dtype == np.float32
    # inside the person: the verified parts weigh 1 / ann, the rest 1
    assert w[0].tolist() == [1, 1, 4, 5, 1, 1]
    # outside every subject: 1
    assert w[1].tolist() == [1] * N_CLASS
    # the arm's own box (a positive for Arm) lies in the person: weighted too
    assert w[2].tolist() == [1, 1, 4, 5, 1, 1]


def test_unverified_part_and_no_labels_weigh_one():
    w = _weights([ROI_INSIDE], [0], [[PERSON_BOX]], [[PERSON]], [[CAR]])
    assert (w == 1).all()
    w = _weights([ROI_INSIDE], [0], [[PERSON_BOX]], [[PERSON]], [[]])
    assert (w == 1).all()
    w = _weights([ROI_INSIDE], [0], [[PERSON_BOX]], [[PERSON]], None)
    assert (w == 1).all()


def test_weights_follow_descendants_containment_and_the_largest_subject():
    # a Man box counts as Person
    w = _weights([ROI_INSIDE], [0], [[PERSON_BOX]], [[MAN]], [[FACE]])
    assert w[0, FACE] == 5
    # IoA 0.25 with the person: weighted only from that threshold on
    w = _weights([ROI_PARTIAL], [0], [[PERSON_BOX]], [[PERSON]], [[FACE]])
    assert w[0, FACE] == 1
    w = _weights([ROI_PARTIAL], [0], [[PERSON_BOX]], [[PERSON]], [[FACE]],
                 ioa_thresh=0.25)
    assert w[0, FACE] == 5
    # inside a person and a car that both have Face as a part: the larger weight
    pw = _pair_weights()
    pw[CAR, FACE] = 7
    w = _weights([ROI_INSIDE], [0], [[PERSON_BOX, CAR_BOX]], [[PERSON, CAR]],
                 [[FACE, WHEEL]], weights=pw)
    assert w[0, FACE] == 7 and w[0, WHEEL] == 3 and w[0, ARM] == 1
    # the same through a per-level list of RoIs, two images
    w2 = verified_part_weights(
        [np.array([ROI_INSIDE], np.float32), np.array([ROI_INSIDE], np.float32)],
        [np.array([0], np.int32), np.array([1], np.int32)],
        [np.zeros((0, 4), np.float32), np.array([PERSON_BOX], np.float32)],
        [np.zeros(0, np.int32), np.array([PERSON], np.int32)],
        _pair_weights(), _ancestor(),
        [np.array([FACE], np.int32), np.array([FACE], np.int32)])
    assert w2[0].tolist() == [1] * N_CLASS and w2[1, FACE] == 5
    with pytest.raises(ValueError, match='pair_weights'):
        verified_part_weights(np.zeros((1, 4), np.float32), np.zeros(1, np.int32),
                              [], [], np.ones((2, 3)))


def test_weighted_entries_scale_loss_and_gradient_end_to_end():
    rois = [ROI_INSIDE, ROI_OUTSIDE]
    w = _weights(rois, [0, 0], [[PERSON_BOX]], [[PERSON]], [[FACE]])
    m = _mask(rois, [0, 0], [[PERSON_BOX]], [[PERSON]],
              img_labels=[np.array([FACE], np.int32)])
    assert m[0, ARM] and not m[0, FACE]           # Arm ignored, Face weighted
    gt_labels = np.zeros(2, np.int32)
    targets = make_head_targets(gt_labels, N_CLASS, _ancestor(), m)
    rng = np.random.RandomState(0)
    x = rng.normal(size=(2, N_CLASS)).astype(np.float32)
    grads = []
    for entry_weight in (None, w):
        confs = chainer.Variable(x.copy())
        locs = chainer.Variable(np.zeros((2, N_CLASS, 4), np.float32))
        _, conf = bbox_head_loss_post(
            locs, confs, [np.zeros(2, np.int32)], [np.zeros((2, 4), np.float32)],
            [gt_labels], 1, targets, entry_weight=entry_weight)
        conf.backward()
        grads.append(confs.grad)
    # closed form: all targets 0, ignored entries out, the rest weighted, / 2 RoIs
    expected = (np.logaddexp(0, x) * w)[~m].sum() / 2
    np.testing.assert_allclose(conf.array, expected, rtol=1e-5)
    np.testing.assert_allclose(grads[1], grads[0] * w, rtol=1e-5)
    assert grads[1][0, ARM] == 0
    with pytest.raises(ValueError, match='entry_weight must have shape'):
        bbox_head_loss_post(
            locs, confs, [np.zeros(2, np.int32)], [np.zeros((2, 4), np.float32)],
            [gt_labels], 1, targets, entry_weight=w[:1])
    with pytest.raises(ValueError, match='non-negative'):
        bbox_head_loss_post(
            locs, confs, [np.zeros(2, np.int32)], [np.zeros((2, 4), np.float32)],
            [gt_labels], 1, targets, entry_weight=-w)


def test_pairs_matrix_from_mids():
    mids = ['/m/a', '/m/b', '/m/c']
    m = cooccurrence_pairs_matrix([('/m/a', '/m/c')], mids)
    assert m.sum() == 1 and m[0, 2]
    with pytest.raises(ValueError, match='/m/x'):
        cooccurrence_pairs_matrix([('/m/x', '/m/a')], mids)


# ---- mining ---------------------------------------------------------------

HIER = {
    'LabelName': '/m/root',
    'Subcategory': [
        {'LabelName': '/m/person',
         'Subcategory': [{'LabelName': '/m/man'}],
         'Part': [{'LabelName': '/m/arm'}, {'LabelName': '/m/hand'}]},
        {'LabelName': '/m/vehicle', 'Subcategory': [
            {'LabelName': '/m/car', 'Part': [{'LabelName': '/m/autopart'}]}]},
        {'LabelName': '/m/autopart', 'Subcategory': [
            {'LabelName': '/m/wheel'}]},
        {'LabelName': '/m/arm'}, {'LabelName': '/m/hand'},
        {'LabelName': '/m/face'}, {'LabelName': '/m/ball'},
        {'LabelName': '/m/dog'}, {'LabelName': '/m/wheel'},
    ]}
CLASSES = ['/m/person', '/m/man', '/m/arm', '/m/hand', '/m/face', '/m/car',
           '/m/wheel', '/m/ball', '/m/dog', '/m/vehicle']


def _box(image, label, y0, x0, y1, x1):
    return dict(ImageID=image, LabelName=label, XMin=x0, XMax=x1, YMin=y0,
                YMax=y1, IsGroupOf=0)


def _hand_built():
    P = (0.1, 0.1, 0.9, 0.5)         # a person / car
    IN = (0.3, 0.2, 0.5, 0.4)        # a part inside it
    IN2 = (0.6, 0.2, 0.8, 0.3)       # another part inside, disjoint from IN
    OUT = (0.1, 0.6, 0.4, 0.9)       # outside
    rows = []
    for i in range(1, 5):            # 4 images with a Person
        rows.append(_box('im%d' % i, '/m/person', *P))
        rows.append(_box('im%d' % i, '/m/ball', *IN2))   # decoy: verified
    rows.append(_box('im1', '/m/arm', *IN))              # arm: in 1 of 4
    rows.append(_box('im5', '/m/man', *P))               # Man = a Person
    rows.append(_box('im5', '/m/face', *IN))
    rows.append(_box('im5', '/m/ball', *IN2))
    rows.append(_box('im2', '/m/dog', *OUT))             # never inside
    for i in (6, 7, 8):
        rows.append(_box('im%d' % i, '/m/car', *P))
    rows.append(_box('im6', '/m/wheel', *IN))
    rows.append(_box('im9', '/m/person', *P))            # Man = Person box
    rows.append(_box('im9', '/m/man', *P))
    rows.append(_box('im9', '/m/face', *IN))
    bbox_df = pd.DataFrame(rows)
    labels = [('im1', '/m/arm', 1), ('im3', '/m/dog', 0),
              ('im5', '/m/face', 1)]
    labels += [('im%d' % i, '/m/ball', 1) for i in (1, 2, 3, 4, 5)]
    label_df = pd.DataFrame(labels,
                            columns=['ImageID', 'LabelName', 'Confidence'])
    return bbox_df, label_df


def test_mining_recovers_planted_pairs():
    bbox_df, label_df = _hand_built()
    hierarchy = ClassHierarchy.from_json(HIER)
    pairs, report = mine_cooccurrence_pairs(
        bbox_df, label_df, CLASSES, hierarchy=hierarchy)
    assert pairs == [('/m/car', '/m/wheel'), ('/m/person', '/m/arm'),
                     ('/m/person', '/m/face')]
    r = report.set_index(['Subject', 'Part'])
    # Person images: im1-4, im5 (Man), im9 -> 6
    assert r.loc[('/m/person', '/m/arm'), 'n_subject_image'] == 6
    assert r.loc[('/m/person', '/m/arm'), 'n_verified'] == 1
    assert r.loc[('/m/person', '/m/arm'), 'contain'] == 1.0
    assert r.loc[('/m/person', '/m/face'), 'ann'] == pytest.approx(2 / 6)
    # the decoy lies inside people but is verified in 5 of 6 images
    assert r.loc[('/m/person', '/m/ball'), 'contain'] == 1.0
    assert r.loc[('/m/person', '/m/ball'), 'ann'] == pytest.approx(5 / 6)
    assert not r.loc[('/m/person', '/m/ball'), 'selected']
    # Man inside Person is a hierarchy relation, not a pair
    assert ('/m/person', '/m/man') not in r.index
    assert ('/m/man', '/m/person') not in r.index
    # Man as a subject: 2 images, Face verified in both
    assert r.loc[('/m/man', '/m/face'), 'ann'] == 1.0
    assert ('/m/person', '/m/dog') not in r.index
    # every Vehicle is a Car here: the more general subject is redundant
    assert r.loc[('/m/vehicle', '/m/wheel'), 'n_contained'] == \
        r.loc[('/m/car', '/m/wheel'), 'n_contained'] == 1
    assert r.loc[('/m/vehicle', '/m/wheel'), 'redundant']
    assert not r.loc[('/m/car', '/m/wheel'), 'redundant']
    # presence: every person box of im5 and im9 (Man, Person, Man) has a face
    assert r.loc[('/m/person', '/m/face'), 'n_verified_subject_box'] == 3
    assert r.loc[('/m/person', '/m/face'), 'presence'] == 1.0
    assert list(report.columns) == [
        'Subject', 'Part', 'n_part_box', 'n_contained', 'contain',
        'n_subject_image', 'n_verified', 'ann', 'n_verified_subject_box',
        'n_filled_subject_box', 'presence', 'part_edge', 'redundant',
        'selected']


def test_mining_presence_rejects_rare_always_annotated_part():
    # two people per image; a tie on one of them in im1 and im2, always
    # annotated: contained (1.0) and rarely verified (2 / 4), but only half
    # of the people of the verified images wear one
    P1, P2 = (0.1, 0.1, 0.9, 0.45), (0.1, 0.55, 0.9, 0.9)
    TIE = (0.3, 0.2, 0.6, 0.3)
    rows = []
    for i in range(1, 5):
        rows += [_box('im%d' % i, '/m/person', *P1),
                 _box('im%d' % i, '/m/person', *P2)]
    rows += [_box('im1', '/m/ball', *TIE), _box('im2', '/m/ball', *TIE)]
    bbox_df = pd.DataFrame(rows)
    label_df = pd.DataFrame([('im1', '/m/ball', 1), ('im2', '/m/ball', 1)],
                            columns=['ImageID', 'LabelName', 'Confidence'])
    pairs, report = mine_cooccurrence_pairs(bbox_df, label_df, CLASSES)
    row = report.set_index(['Subject', 'Part']).loc[('/m/person',
                                                     '/m/ball')]
    assert (row['contain'], row['ann'], row['presence']) == (1.0, 0.5, 0.5)
    assert pairs == []
    pairs, _ = mine_cooccurrence_pairs(bbox_df, label_df, CLASSES,
                                       presence_thresh=None)
    assert pairs == [('/m/person', '/m/ball')]


def test_mining_thresholds_and_without_hierarchy():
    bbox_df, label_df = _hand_built()
    pairs, _ = mine_cooccurrence_pairs(
        bbox_df, label_df, CLASSES, hierarchy=ClassHierarchy.from_json(HIER),
        ann_thresh=0.9)
    assert ('/m/person', '/m/ball') in pairs
    # without the hierarchy, Man boxes are not Person boxes: Face is only
    # inside a Man, and Person/Man become an (unrelated) pair
    pairs, report = mine_cooccurrence_pairs(bbox_df, label_df, CLASSES)
    assert ('/m/person', '/m/face') not in pairs
    assert ('/m/man', '/m/face') not in pairs  # verified in its images
    assert ('/m/person', '/m/man') in set(
        zip(report['Subject'], report['Part']))


def test_mining_chunked_join_gives_same_result():
    bbox_df, label_df = _hand_built()
    hierarchy = ClassHierarchy.from_json(HIER)
    a = mine_cooccurrence_pairs(bbox_df, label_df, CLASSES, hierarchy)
    b = mine_cooccurrence_pairs(bbox_df, label_df, CLASSES, hierarchy,
                                max_join_rows=1)
    assert a[0] == b[0]
    pd.testing.assert_frame_equal(a[1], b[1])


def test_part_edges_seed_and_restrict():
    bbox_df, label_df = _hand_built()
    hierarchy = ClassHierarchy.from_json(HIER)
    assert part_edge_pairs(hierarchy, CLASSES) == {
        ('/m/person', '/m/arm'), ('/m/person', '/m/hand'),
        ('/m/car', '/m/wheel')}
    pairs, report = mine_cooccurrence_pairs(
        bbox_df, label_df, CLASSES, hierarchy, use_part_edges='restrict')
    assert pairs == [('/m/car', '/m/wheel'), ('/m/person', '/m/arm')]
    pairs, report = mine_cooccurrence_pairs(
        bbox_df, label_df, CLASSES, hierarchy, use_part_edges='seed')
    assert pairs == [('/m/car', '/m/wheel'), ('/m/person', '/m/arm'),
                     ('/m/person', '/m/face'), ('/m/person', '/m/hand')]
    hand = report.set_index(['Subject', 'Part']).loc[
        ('/m/person', '/m/hand')]
    assert hand['n_contained'] == 0 and hand['part_edge']
    with pytest.raises(ValueError):
        mine_cooccurrence_pairs(bbox_df, label_df, CLASSES, hierarchy,
                                use_part_edges=True)
    with pytest.raises(ValueError):
        mine_cooccurrence_pairs(bbox_df, label_df, CLASSES,
                                use_part_edges='seed')


def test_mining_empty_input():
    bbox_df, label_df = _hand_built()
    pairs, report = mine_cooccurrence_pairs(bbox_df.iloc[:0],
                                            label_df.iloc[:0],
                                            CLASSES)
    assert pairs == [] and len(report) == 0


@pytest.mark.parametrize('seed', [0, 1])
def test_mining_synthetic_dataset_planted_pairs_not_decoy(tmp_path, seed):
    synthetic = pytest.importorskip('pfdet.datasets.synthetic')
    from pfdet.datasets import oid_io
    # metadata only (no image is drawn): planted pairs, decoy, hierarchy
    meta_dir = str(tmp_path / 'meta')
    meta = synthetic.generate(meta_dir, n_train=0, n_val=0, seed=seed)
    planted = sorted((p['subject'], p['part'])
                     for p in meta['planted_pairs'])
    decoy = meta['decoy']['mid']
    # annotations of 600 training scenes, through the Open Images readers
    hidden, labels = synthetic.scenes_to_frames(
        synthetic.sample_scenes(600, 'train', seed=seed))
    oid_io.write_bbox_csv(str(tmp_path / 'bbox.csv'),
                          hidden[hidden['Annotated'] == 1])
    oid_io.write_image_labels_csv(str(tmp_path / 'labels.csv'), labels)
    bbox_df = oid_io.read_bbox_csv(str(tmp_path / 'bbox.csv'))
    label_df = oid_io.read_image_labels_csv(str(tmp_path / 'labels.csv'))
    class_mids, _ = oid_io.read_class_descriptions(
        str(tmp_path / 'meta' / 'class-descriptions.csv'))
    hierarchy = ClassHierarchy.from_json(
        str(tmp_path / 'meta' / 'hierarchy.json'))

    pairs, report = mine_cooccurrence_pairs(bbox_df, label_df, class_mids,
                                            hierarchy)
    assert pairs == planted
    assert decoy not in {p for _, p in pairs}
    # the decoy lies inside people, yet is rejected
    r = report.set_index(['Subject', 'Part'])
    person = meta['decoy']['drawn_inside'][0]
    row = r.loc[(person, decoy)]
    assert row['contain'] >= 0.8 and not row['selected']
    # Part edges agree
    pairs_r, _ = mine_cooccurrence_pairs(bbox_df, label_df, class_mids,
                                         hierarchy, use_part_edges='restrict')
    assert pairs_r == planted


def test_mining_argument_errors_and_default_classes():
    bbox_df, label_df = _hand_built()
    hierarchy = ClassHierarchy.from_json(HIER)
    with pytest.raises(TypeError, match='hierarchy='):
        mine_cooccurrence_pairs(bbox_df, label_df, hierarchy)
    with pytest.raises(ValueError, match='XMin'):
        mine_cooccurrence_pairs(bbox_df.drop(columns='XMin'), label_df)
    a = mine_cooccurrence_pairs(bbox_df, label_df, hierarchy=hierarchy)[0]
    b = mine_cooccurrence_pairs(bbox_df, label_df, CLASSES, hierarchy)[0]
    assert a == b


def test_mask_argument_errors():
    roi = np.array([ROI_INSIDE], np.float32)
    args = (roi, np.zeros(1, np.int32), [np.array([PERSON_BOX], np.float32)],
            [np.array([PERSON], np.int32)])
    with pytest.raises(ValueError, match='ancestor_matrix'):
        cooccurrence_ignore_mask(*args, np.array([[PERSON, ARM]]))
    with pytest.raises(ValueError):
        cooccurrence_ignore_mask(*args, np.zeros((4, 4), bool), _ancestor())
    with pytest.raises(ValueError):
        cooccurrence_ignore_mask(*args, np.array([[PERSON, 9]]), _ancestor())


def test_pair_annotation_rates_by_hand():
    bbox_df, label_df = _hand_built()
    hierarchy = ClassHierarchy.from_json(HIER)
    pairs = [('/m/person', '/m/arm'), ('/m/person', '/m/face'),
             ('/m/car', '/m/wheel'), ('/m/person', '/m/dog')]
    rates = pair_annotation_rates(bbox_df, label_df, pairs, CLASSES, hierarchy)
    assert list(rates.columns) == ['Subject', 'Part', 'n_subject_image',
                                   'n_verified', 'ann']
    assert list(zip(rates['Subject'], rates['Part'])) == pairs
    # images with a Person (Man counts): im1-im5 and im9; Arm verified in im1,
    # Face in im5 and im9, Dog in im2 (a box) and im3 (a negative label);
    # images with a Car: im6-im8, Wheel verified in im6
    assert rates['n_subject_image'].tolist() == [6, 6, 3, 6]
    assert rates['n_verified'].tolist() == [1, 2, 1, 2]
    np.testing.assert_allclose(rates['ann'], [1 / 6, 2 / 6, 1 / 3, 2 / 6])
    # the mining report computes the same statistic
    _, report = mine_cooccurrence_pairs(bbox_df, label_df, CLASSES,
                                        hierarchy=hierarchy)
    mined = report.set_index(['Subject', 'Part'])['ann']
    for (s, p), a in zip(pairs[:3], rates['ann']):
        assert mined[(s, p)] == pytest.approx(a)
    # without the hierarchy a Man box is no Person: im5 drops out
    rates = pair_annotation_rates(bbox_df, label_df, pairs[:2])
    assert rates['n_subject_image'].tolist() == [5, 5]
    assert rates['n_verified'].tolist() == [1, 1]
    with pytest.raises(ValueError, match='LabelName'):
        pair_annotation_rates(bbox_df.drop(columns='LabelName'), None, pairs)


def test_weights_restore_the_exhaustive_count_of_entries_inside_subjects():
    # 10 images with a person, Face verified (a negative label or a box) in 4 of them;
    # 3 RoIs inside each person. Exhaustive annotation would score 10 x 3 Face entries
    # inside persons; the rule keeps the 4 x 3 of the verified images, and the weights
    # 1 / ann = 10 / 4 give them the same total weight.
    rows, labels = [], []
    for i in range(10):
        rows.append(_box('im%d' % i, '/m/person', 0.1, 0.1, 0.9, 0.5))
        if i < 4:
            labels.append(('im%d' % i, '/m/face', int(i < 2)))
    rates = pair_annotation_rates(
        pd.DataFrame(rows), pd.DataFrame(labels, columns=['ImageID', 'LabelName', 'Confidence']),
        [('/m/person', '/m/face')])
    assert rates['ann'].tolist() == [0.4]
    pw = np.zeros((N_CLASS, N_CLASS), np.float32)
    pw[PERSON, FACE] = 1 / rates['ann'][0]
    rois = np.array([ROI_INSIDE, ARM_BOX, PERSON_BOX] * 10, np.float32)
    roi_indices = np.repeat(np.arange(10), 3).astype(np.int32)
    bboxes = [np.array([PERSON_BOX], np.float32)] * 10
    person = [np.array([PERSON], np.int32)] * 10
    img_labels = [np.array([FACE] if i < 4 else [], np.int32) for i in range(10)]
    w = verified_part_weights(rois, roi_indices, bboxes, person, pw, _ancestor(), img_labels)
    kept = ~cooccurrence_ignore_mask(rois, roi_indices, bboxes, person, _pairs(), _ancestor(),
                                     img_labels)
    assert kept[:, FACE].sum() == 12
    assert w[kept[:, FACE], FACE].sum() == pytest.approx(30)
