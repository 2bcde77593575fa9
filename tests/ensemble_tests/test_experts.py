import json
import os

import numpy as np
import pandas as pd
import pytest

from pfdet import experts
from pfdet.datasets import OpenImagesBboxDataset
from pfdet.datasets import read_bbox_csv
from pfdet.datasets import read_class_descriptions
from pfdet.datasets import read_image_labels_csv
from pfdet.training import load_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

X, Y, Z, W, P = '/m/x', '/m/y', '/m/z', '/m/w', '/m/p'
MIDS = [X, Y, Z, W]

# P is the parent of X
HIERARCHY = {'LabelName': '/m/0bl9f', 'Subcategory': [
    {'LabelName': P, 'Subcategory': [{'LabelName': X}]},
    {'LabelName': Y}, {'LabelName': Z}, {'LabelName': W}]}


def boxes(rows):
    """rows: (image, mid)."""
    n = len(rows)
    return pd.DataFrame({
        'ImageID': [r[0] for r in rows], 'LabelName': [r[1] for r in rows],
        'XMin': [0.1] * n, 'XMax': [0.5] * n, 'YMin': [0.1] * n,
        'YMax': [0.5 + 0.01 * k for k in range(n)],
        'IsGroupOf': np.zeros(n, np.int8)})


def labels(rows):
    """rows: (image, mid, confidence)."""
    return pd.DataFrame(rows, columns=['ImageID', 'LabelName', 'Confidence'])


# i1: X, X, Y;  i2: Y;  i3: Z  (W has no box)
BOXES = boxes([('i1', X), ('i1', X), ('i1', Y), ('i2', Y), ('i3', Z)])


def test_class_image_counts():
    np.testing.assert_array_equal(
        experts.class_image_counts(BOXES, MIDS), [1, 2, 1, 0])


def test_class_image_counts_with_hierarchy():
    np.testing.assert_array_equal(
        experts.class_image_counts(BOXES, [P, X, Y], hierarchy=HIERARCHY),
        [1, 1, 2])


def test_select_by_frequency():
    # ranking (count, list order): X (1), Z (1), Y (2); W has no box
    assert experts.select_expert_classes(BOXES, MIDS, size=2) == [X, Z]
    assert experts.select_expert_classes(BOXES, MIDS, size=2, group=1) == [Y]
    assert experts.select_expert_classes(BOXES, MIDS, size=2,
                                         exclude=[X]) == [Y, Z]
    assert experts.select_expert_classes(BOXES, MIDS, size=10) == [X, Y, Z]


def test_select_by_frequency_group_out_of_range():
    with pytest.raises(ValueError, match=r'no class left for group 2 of size '
                       r'2: 3 class\(es\) can be ranked by frequency \(1 '
                       'without training boxes, 0 excluded'):
        experts.select_expert_classes(BOXES, MIDS, size=2, group=2)


def test_select_by_val_ap():
    ap = {X: 0.5, Y: 0.1, Z: np.nan, W: 0.0}
    # W: no training box; Z: no validation AP; then Y (0.1) before X (0.5)
    assert experts.select_expert_classes(
        BOXES, MIDS, size=1, by='val_ap', per_class_ap=ap) == [Y]
    assert experts.select_expert_classes(
        BOXES, MIDS, size=5, by='val_ap', per_class_ap=ap) == [X, Y]


def test_select_by_val_ap_ties_go_to_rarer():
    ap = {X: 0.3, Y: 0.3, Z: 0.3, W: 0.3}
    assert experts.select_expert_classes(
        BOXES, MIDS, size=1, by='val_ap', per_class_ap=ap) == [X]
    assert experts.select_expert_classes(
        BOXES, MIDS, size=1, group=2, by='val_ap', per_class_ap=ap) == [Y]


def test_select_by_val_ap_from_file(tmp_path):
    path = tmp_path / 'per_class_ap.csv'
    path.write_text('LabelName,Name,AP,NumGT\n/m/x,X,0.9,1\n/m/y,Y,0.2,1\n'
                    '/m/z,Z,0.4,1\n/m/w,W,,0\n')
    assert experts.select_expert_classes(
        BOXES, MIDS, size=2, by='val_ap', per_class_ap=str(path)) == [Y, Z]


@pytest.mark.parametrize('kwargs,match', [
    (dict(by='rarity'), "by must be one of"),
    (dict(size=0), 'size must be a positive integer'),
    (dict(size=2.5), 'size must be a positive integer'),
    (dict(group=-1), 'group must be'),
    (dict(by='val_ap'), 'needs per_class_ap'),
    (dict(by='val_ap', per_class_ap={X: 0.1}),
     "no row for 2 candidate class\\(es\\), e.g. '/m/y'"),
    (dict(exclude=['/m/q']), "exclude: class '/m/q' is not in class_mids"),
])
def test_select_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        experts.select_expert_classes(BOXES, MIDS, **kwargs)


def test_select_needs_a_frame():
    with pytest.raises(TypeError, match='bbox_df must be a pandas.DataFrame'):
        experts.select_expert_classes('boxes.csv', MIDS)


# ------------------------------------------------------------- subsets

def pool_boxes(n_other):
    rows = [('p1', X), ('p1', Y), ('p2', X), ('u1', Y)]
    rows += [('o%d' % k, Y if k % 2 else Z) for k in range(n_other)]
    return boxes(rows)


POOL_LABELS = labels([('p1', X, 1), ('u1', X, 1), ('n1', X, 0),
                      ('o0', W, 1)])


def test_subset_positives_excluded_negatives():
    bbox = pool_boxes(10)
    sub = experts.build_expert_subset(bbox, [X], POOL_LABELS,
                                      negative_ratio=1.5, seed=3)
    assert sub.positive == ['p1', 'p2']
    assert sub.excluded == ['u1']  # positive label of X, no box of X
    assert len(sub.negative) == 3  # round(1.5 * 2)
    pool = ['o%d' % k for k in range(10)] + ['n1']
    assert set(sub.negative) <= set(pool)
    # order of first appearance in the CSVs
    order = {k: i for i, k in enumerate(pd.unique(pd.concat(
        [bbox['ImageID'], POOL_LABELS['ImageID']])))}
    assert sorted(sub.negative, key=order.get) == sub.negative


def test_subset_is_seeded():
    bbox = pool_boxes(40)
    a = experts.build_expert_subset(bbox, [X], POOL_LABELS, 4, seed=0)
    b = experts.build_expert_subset(bbox, [X], POOL_LABELS, 4, seed=0)
    c = experts.build_expert_subset(bbox, [X], POOL_LABELS, 4, seed=1)
    assert a == b
    assert a.negative != c.negative and len(c.negative) == 8


def test_subset_takes_all_negatives_when_too_few():
    sub = experts.build_expert_subset(pool_boxes(2), [X], None,
                                      negative_ratio=100)
    # without labels, u1 is a negative (nothing says it contains X)
    assert sub.excluded == [] and sorted(sub.negative) == ['o0', 'o1', 'u1']


def test_subset_zero_negatives():
    sub = experts.build_expert_subset(pool_boxes(5), [X], POOL_LABELS,
                                      negative_ratio=0)
    assert sub.negative == [] and sub.positive == ['p1', 'p2']


def test_subset_with_hierarchy_child_box_is_positive():
    # an expert for the parent P: images with an X box contain P
    sub = experts.build_expert_subset(pool_boxes(4), [P], None,
                                      negative_ratio=0, hierarchy=HIERARCHY)
    assert sub.positive == ['p1', 'p2']


@pytest.mark.parametrize('kwargs,match', [
    (dict(expert_mids=[]), 'expert_mids is empty'),
    (dict(negative_ratio=-1), 'negative_ratio must be >= 0'),
    (dict(negative_ratio=np.nan), 'negative_ratio must be >= 0'),
])
def test_subset_bad_arguments(kwargs, match):
    args = dict(bbox_df=pool_boxes(2), expert_mids=[X])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        experts.build_expert_subset(**args)


def test_write_subset_and_load_it(tmp_path):
    bbox = pool_boxes(6)
    sub = experts.build_expert_subset(bbox, [X, Z], POOL_LABELS,
                                      negative_ratio=1, seed=0)
    out = experts.write_expert_subset(
        str(tmp_path / 'e'), [X, Z], ['Ex', 'Zed'], bbox, POOL_LABELS, sub,
        meta={'by': 'frequency'})
    assert read_class_descriptions(out['class_list']) == (
        [X, Z], ['Ex', 'Zed'])
    ids = sub.positive + sub.negative
    written = read_bbox_csv(out['bbox_csv'])
    expected = bbox[bbox['ImageID'].isin(ids)]
    # every row of the subset's images, all classes, nothing else
    pd.testing.assert_frame_equal(
        written[list(expected.columns)].reset_index(drop=True),
        expected.reset_index(drop=True), check_dtype=False)
    written_labels = read_image_labels_csv(out['image_labels_csv'])
    assert written_labels['ImageID'].isin(ids).all()
    assert len(written_labels) == POOL_LABELS['ImageID'].isin(ids).sum()
    roles = pd.read_csv(out['images_csv'])
    assert list(roles['ImageID']) == ids
    assert list(roles['Role']) == ['positive'] * len(sub.positive) + [
        'negative'] * len(sub.negative)
    manifest = json.load(open(out['manifest']))
    n_expert = int(expected['LabelName'].isin([X, Z]).sum())
    assert manifest['by'] == 'frequency'
    assert manifest['n_expert_boxes'] == n_expert
    assert manifest['n_other_boxes'] == len(expected) - n_expert
    assert [c['mid'] for c in manifest['classes']] == [X, Z]

    # the same loader reads it: expert label space, other boxes dropped
    with pytest.warns(UserWarning, match='dropped'):
        ds = OpenImagesBboxDataset(out['bbox_csv'], str(tmp_path),
                                   out['image_labels_csv'],
                                   class_mids=[X, Z])
    assert sorted(ds.image_ids) == sorted(ids)  # negatives kept
    assert ds.n_dropped_boxes == manifest['n_other_boxes']
    assert len(ds.bbox_df) == n_expert


def test_write_subset_bad_names(tmp_path):
    sub = experts.ExpertSubset(['p1'], [], [])
    with pytest.raises(ValueError, match='differ in length'):
        experts.write_expert_subset(str(tmp_path), [X, Z], ['Ex'],
                                    pool_boxes(1), None, sub)


# ------------------------------------------------------------- configs

def test_config_module_name():
    assert experts.config_module_name(
        os.path.join(ROOT, 'experiments/pfdet/toy_base.py'), ROOT) == \
        'experiments.pfdet.toy_base'
    with pytest.raises(ValueError, match='not a .py file under'):
        experts.config_module_name('/tmp/base.py', ROOT)


def test_expert_config_source_loads(tmp_path):
    train = dict(bbox_csv='e/train.csv', image_dir='d/train',
                 image_labels_csv='e/labels.csv')
    val = dict(bbox_csv='d/val.csv', image_dir='d/validation',
               image_labels_csv=None)
    src = experts.expert_config_source(
        'experiments.pfdet.toy_base', train, val, 'e/classes.csv',
        'd/hierarchy.json', doc='expert "x"')
    path = tmp_path / 'expert_config.py'
    path.write_text(src)
    config = load_config(str(path))
    base = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    ds = config['dataset']
    assert ds['root'] is None and ds['train'] == train and ds['val'] == val
    assert ds['class_list'] == 'e/classes.csv'
    assert ds['hierarchy'] == 'd/hierarchy.json'
    # only the data keys change
    for key in set(base) - {'dataset'}:
        assert config[key] == base[key]
    for key in set(base['dataset']) - {'root', 'train', 'val', 'class_list',
                                       'hierarchy'}:
        assert ds[key] == base['dataset'][key]


@pytest.mark.parametrize('rel', ['experiments/experts/class20.py',
                                 'experiments/experts/oid_class20.py'])
def test_shipped_expert_configs_are_valid(rel):
    config = load_config(os.path.join(ROOT, rel))
    assert config['dataset']['class_list'].endswith(
        'class-descriptions.csv')
    assert 'experts' in config['dataset']['train']['bbox_csv']


def test_class20_keeps_the_general_validation_split():
    config = load_config(os.path.join(ROOT, 'experiments/experts/class20.py'))
    base = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    root = base['dataset']['root']
    assert config['dataset']['val']['bbox_csv'] == os.path.join(
        root, 'validation-annotations-bbox.csv')
    assert config['dataset']['train']['image_dir'] == os.path.join(
        root, 'train')
    assert config['model'] == base['model']
    assert config['train'] == base['train']


def test_expert_config_source_with_a_base_file(tmp_path):
    base = tmp_path / 'my_base.py'
    base.write_text('from experiments.pfdet.toy_base import config as _b\n'
                    'from pfdet.training import deep_update\n'
                    "config = deep_update(_b, {'seed': 7})\n")
    split = dict(bbox_csv='b.csv', image_dir='img', image_labels_csv=None)
    path = tmp_path / 'sub' / 'expert.py'
    path.parent.mkdir()
    path.write_text(experts.expert_config_source(
        str(base), split, split, 'c.csv', None))
    config = load_config(str(path))
    assert config['seed'] == 7 and config['dataset']['class_list'] == 'c.csv'
