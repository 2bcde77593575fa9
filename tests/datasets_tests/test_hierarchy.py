import collections
import json

import numpy as np
import pandas as pd
import pytest

from pfdet.datasets import ClassHierarchy
from pfdet.datasets import read_bbox_csv
from pfdet.datasets import read_class_descriptions
from pfdet.datasets import read_image_labels_csv

ROOT = '/m/0bl9f'
# the synthetic tree of open_images.md section 4.1 (short fake MIDs)
VEHICLE, LAND, CAR, TRUCK = '/m/veh', '/m/land', '/m/car', '/m/truck'
PERSON, WOMAN, FACE = '/m/person', '/m/woman', '/m/face'
TREE = {
    'LabelName': ROOT,
    'Subcategory': [
        {'LabelName': VEHICLE, 'Subcategory': [
            {'LabelName': LAND, 'Subcategory': [
                {'LabelName': CAR}, {'LabelName': TRUCK}]}]},
        {'LabelName': PERSON, 'Subcategory': [{'LabelName': WOMAN}],
         'Part': [{'LabelName': FACE}]}]}


def _boxes(labels, is_group_of=None):
    n = len(labels)
    return pd.DataFrame({
        'ImageID': ['img{}'.format(i) for i in range(n)],
        'LabelName': labels,
        'XMin': np.linspace(0.1, 0.2, n), 'XMax': np.linspace(0.5, 0.6, n),
        'YMin': np.full(n, 0.25), 'YMax': np.full(n, 0.75),
        'IsGroupOf': np.asarray(is_group_of or [0] * n, dtype=np.int8)})


def _labels(pairs):
    return pd.DataFrame({
        'ImageID': ['img'] * len(pairs),
        'Source': ['verification'] * len(pairs),
        'LabelName': [p[0] for p in pairs],
        'Confidence': np.asarray([p[1] for p in pairs], dtype=np.int8)})


def _multiset(df, cols):
    return collections.Counter(map(tuple, df[list(cols)].to_numpy().tolist()))


# ------------------------------------------------------------ synthetic tree

def test_structure():
    h = ClassHierarchy.from_json(TREE)
    assert h.root == ROOT
    assert set(h.mids) == {VEHICLE, LAND, CAR, TRUCK, PERSON, WOMAN, FACE}
    assert ROOT not in h
    assert h.ancestors(CAR) == {LAND, VEHICLE}
    assert h.ancestors(VEHICLE) == set()
    assert h.ancestors(FACE) == set()
    assert h.descendants(VEHICLE) == {LAND, CAR, TRUCK}
    assert h.descendants(PERSON) == {WOMAN}
    assert h.part_edges == [(PERSON, FACE)]
    with pytest.raises(KeyError):
        h.ancestors('/m/nope')


def test_box_expansion_synthetic():
    h = ClassHierarchy.from_json(TREE)
    df = _boxes([CAR, FACE, WOMAN], is_group_of=[1, 0, 0])
    out = h.expand_boxes(df)
    cols = ['ImageID', 'LabelName', 'XMin', 'XMax', 'YMin', 'YMax',
            'IsGroupOf']
    expected = []
    for i, labels in enumerate([[CAR, LAND, VEHICLE], [FACE],
                                [WOMAN, PERSON]]):
        row = df.iloc[i]
        for label in labels:
            expected.append((row.ImageID, label, row.XMin, row.XMax, row.YMin,
                             row.YMax, row.IsGroupOf))
    assert _multiset(out, cols) == collections.Counter(expected)
    assert len(out) == 6
    # each original row comes first, then its copies
    assert out['LabelName'].tolist()[0] == CAR
    assert out['LabelName'].tolist()[3] == FACE
    assert out['IsGroupOf'].dtype == np.int8


@pytest.mark.parametrize('label,conf,expected', [
    (CAR, 1, [CAR, LAND, VEHICLE]),
    (VEHICLE, 0, [VEHICLE, LAND, CAR, TRUCK]),
    (PERSON, 0, [PERSON, WOMAN]),
    (WOMAN, 0, [WOMAN]),
    (FACE, 1, [FACE]),
    (WOMAN, 1, [WOMAN, PERSON]),
])
def test_label_expansion_synthetic(label, conf, expected):
    h = ClassHierarchy.from_json(TREE)
    out = h.expand_image_labels(_labels([(label, conf)]))
    assert _multiset(out, ['ImageID', 'Source', 'LabelName', 'Confidence']) \
        == collections.Counter(('img', 'verification', m, conf)
                               for m in expected)


def test_label_expansion_keeps_duplicates():
    h = ClassHierarchy.from_json(TREE)
    out = h.expand_image_labels(_labels([(CAR, 1), (TRUCK, 1), (LAND, 1)]))
    counts = collections.Counter(out['LabelName'])
    assert counts == {CAR: 1, TRUCK: 1, LAND: 3, VEHICLE: 3}


def test_unknown_label():
    h = ClassHierarchy.from_json(TREE)
    with pytest.raises(ValueError, match="'/m/unknown'"):
        h.expand_boxes(_boxes([CAR, '/m/unknown']))
    with pytest.raises(ValueError, match='not in the class hierarchy'):
        h.expand_image_labels(_labels([('/m/unknown', 0)]))
    with pytest.raises(ValueError, match='root'):
        h.expand_boxes(_boxes([ROOT]))


def test_empty_frames():
    h = ClassHierarchy.from_json(TREE)
    assert len(h.expand_boxes(_boxes([]))) == 0
    assert len(h.expand_image_labels(_labels([]))) == 0


def test_ancestor_matrix_synthetic():
    h = ClassHierarchy.from_json(TREE)
    mids = [CAR, VEHICLE, WOMAN, PERSON, FACE, LAND]
    m = h.ancestor_matrix(mids)
    expected = np.eye(6, dtype=bool)
    expected[0, [1, 5]] = True   # Car: Vehicle, Land vehicle
    expected[5, 1] = True        # Land vehicle: Vehicle
    expected[2, 3] = True        # Woman: Person
    np.testing.assert_array_equal(m, expected)
    # an ancestor missing from the list is skipped
    np.testing.assert_array_equal(
        h.ancestor_matrix([CAR, VEHICLE]), [[True, True], [False, True]])
    with pytest.raises(ValueError, match='duplicates'):
        h.ancestor_matrix([CAR, CAR])
    with pytest.raises(ValueError, match='not in the class hierarchy'):
        h.ancestor_matrix([CAR, '/m/nope'])


def test_multi_parent_merge():
    tree = {'LabelName': ROOT, 'Subcategory': [
        {'LabelName': '/m/toy', 'Subcategory': [{'LabelName': '/m/teddy'}]},
        {'LabelName': '/m/animal', 'Subcategory': [
            {'LabelName': '/m/bear', 'Subcategory': [
                {'LabelName': '/m/teddy'}]}]}]}
    h = ClassHierarchy.from_json(tree)
    assert h.ancestors('/m/teddy') == {'/m/toy', '/m/bear', '/m/animal'}
    out = h.expand_boxes(_boxes(['/m/teddy']))
    assert sorted(out['LabelName']) == sorted(
        ['/m/teddy', '/m/toy', '/m/bear', '/m/animal'])


def test_from_json_file(tmp_path):
    path = tmp_path / 'h.json'
    path.write_text(json.dumps(TREE))
    h = ClassHierarchy.from_json(str(path))
    assert h.ancestors(WOMAN) == {PERSON}
    bad = tmp_path / 'bad.json'
    bad.write_text('{"LabelName": ')
    with pytest.raises(ValueError, match='bad.json'):
        ClassHierarchy.from_json(str(bad))
    with pytest.raises(ValueError, match='LabelName'):
        ClassHierarchy.from_json({'Subcategory': []})


# ------------------------------------------------------------ real files

def _official_plain_hierarchy(node, is_root):
    """Independent oracle: the official tool's recursion, restated.

    Returns ({label: descendants}, {label: ancestors}, nodes of the subtree)
    following Subcategory edges only; the root is left out.
    """
    desc, anc, below = {}, {}, set()
    for child in node.get('Subcategory', []):
        d, a, b = _official_plain_hierarchy(child, False)
        for k, v in d.items():
            desc.setdefault(k, set()).update(v)
        for k, v in a.items():
            anc.setdefault(k, set()).update(v)
        below |= b
    if not is_root:
        label = node['LabelName']
        desc[label] = set(below)
        below.add(label)
        for k in anc:
            anc[k].add(label)
        anc[label] = set()
    return desc, anc, below


@pytest.fixture(params=['bbox_labels_600_hierarchy.json',
                        'bbox_labels_500_hierarchy.DERIVED.json'])
def real(request, shared):
    path = shared('data', 'open_images_metadata', request.param)
    mids, names = read_class_descriptions(shared(
        'data', 'open_images_metadata', 'class-descriptions-boxable.csv'))
    by_name = {}
    for m, n in zip(mids, names):
        by_name.setdefault(n, m)
    with open(path) as f:
        tree = json.load(f)
    return request.param, ClassHierarchy.from_json(path), by_name, \
        dict(zip(mids, names)), tree


def test_real_matches_official_recursion(real):
    _, h, _, _, tree = real
    desc, anc, _ = _official_plain_hierarchy(tree, True)
    assert set(h.mids) == set(anc) == set(desc)
    for m in h.mids:
        assert h.ancestors(m) == anc[m], m
        assert h.descendants(m) == desc[m], m


def test_real_sizes(real):
    name, h, by_name, _, _ = real
    if name.startswith('bbox_labels_600'):
        assert len(h) == 601
        # 53 Part entries, 38 distinct pairs
        assert len(h.part_edges) == 38
        for subject, part in [('Person', 'Human body'),
                              ('Bicycle', 'Bicycle wheel'),
                              ('Land vehicle', 'Auto part'),
                              ('Door', 'Door handle'),
                              ('Human body', 'Human face'),
                              ('Human body', 'Human hand')]:
            assert (by_name[subject], by_name[part]) in h.part_edges
    else:
        assert len(h) == 500
        for subject, part in [('Person', 'Human face'),
                              ('Person', 'Human hand'),
                              ('Land vehicle', 'Wheel'),
                              ('Land vehicle', 'Tire'),
                              ('Land vehicle', 'Vehicle registration plate'),
                              ('Land vehicle', 'Seat belt'),
                              ('Bicycle', 'Bicycle wheel'),
                              ('Door', 'Door handle')]:
            assert (by_name[subject], by_name[part]) in h.part_edges
    assert all(s != ROOT for s, _ in h.part_edges)


EXPECTED_BOXES = {
    # input: (600 hierarchy, DERIVED 500 hierarchy)
    'Football': (['Football', 'Ball', 'Sports equipment'],
                 ['Football', 'Ball']),
    'Car': (['Car', 'Land vehicle', 'Vehicle'],
            ['Car', 'Land vehicle', 'Vehicle']),
    'Teddy bear': (['Teddy bear', 'Bear', 'Carnivore', 'Mammal', 'Animal',
                    'Toy'],
                   ['Teddy bear', 'Bear', 'Carnivore', 'Animal', 'Toy']),
    'Oven': (['Oven', 'Home appliance', 'Kitchen appliance', 'Kitchenware'],
             ['Oven', 'Home appliance', 'Kitchen appliance']),
    'Tank': (['Tank', 'Weapon', 'Land vehicle', 'Vehicle'],
             ['Tank', 'Weapon', 'Land vehicle', 'Vehicle']),
    'Tomato': (['Tomato', 'Food', 'Fruit', 'Vegetable'],
               ['Tomato', 'Fruit', 'Vegetable']),
    'Human face': (['Human face'], ['Human face']),
}


@pytest.mark.parametrize('name', sorted(EXPECTED_BOXES))
def test_real_box_examples(real, name):
    which, h, by_name, name_of, _ = real
    expected = EXPECTED_BOXES[name][0 if '600' in which else 1]
    group_of = 1 if name == 'Car' else 0
    out = h.expand_boxes(_boxes([by_name[name]], is_group_of=[group_of]))
    assert sorted(name_of[m] for m in out['LabelName']) == sorted(expected)
    assert (out['IsGroupOf'] == group_of).all()
    assert (out['XMin'] == 0.1).all() and (out['YMax'] == 0.75).all()


def test_real_label_examples(real):
    which, h, by_name, name_of, _ = real
    out = h.expand_image_labels(_labels([(by_name['Vehicle'], 0)]))
    assert len(out) == (30 if '600' in which else 28)
    assert (out['Confidence'] == 0).all()
    assert len(set(out['LabelName'])) == len(out)
    out = h.expand_image_labels(_labels([(by_name['Person'], 0)]))
    assert sorted(name_of[m] for m in out['LabelName']) == sorted(
        ['Person', 'Man', 'Woman', 'Boy', 'Girl'])
    out = h.expand_image_labels(_labels([(by_name['Woman'], 1)]))
    assert sorted(name_of[m] for m in out['LabelName']) == ['Person', 'Woman']
    assert (out['Confidence'] == 1).all()


def test_real_multi_parent_count(real):
    which, h, _, _, tree = real
    parents = collections.defaultdict(set)
    stack = [tree]
    while stack:
        node = stack.pop()
        for c in node.get('Subcategory', []):
            parents[c['LabelName']].add(node['LabelName'])
            stack.append(c)
    # classes with several non-root Subcategory parents
    multi = [m for m, p in parents.items() if len(p - {ROOT}) > 1]
    assert len(multi) == (45 if '600' in which else 16)
    # every multi-parent class reaches all its parents
    for m in multi:
        assert parents[m] - {ROOT} <= h.ancestors(m)


def test_real_ancestor_matrix(shared):
    h = ClassHierarchy.from_json(shared(
        'data', 'open_images_metadata',
        'bbox_labels_500_hierarchy.DERIVED.json'))
    mids, _ = read_class_descriptions(shared(
        'data', 'open_images_metadata',
        'challenge-2018-class-descriptions-500.csv'))
    m = h.ancestor_matrix(mids)
    assert m.shape == (500, 500) and m.dtype == bool
    assert m.diagonal().all()
    for i in range(0, 500, 7):
        got = {mids[j] for j in np.flatnonzero(m[i])} - {mids[i]}
        assert got == h.ancestors(mids[i])


def test_random_expansion_matches_rowwise_oracle(shared):
    h = ClassHierarchy.from_json(shared(
        'data', 'open_images_metadata', 'bbox_labels_600_hierarchy.json'))
    rng = np.random.RandomState(0)
    n = 3000
    labels = np.asarray(h.mids, dtype=object)[rng.randint(0, len(h), n)]
    df = _boxes(list(labels), is_group_of=list(rng.randint(-1, 2, n)))
    df['Confidence'] = rng.randint(0, 2, n).astype(np.int8)
    expected = []
    for row in df.itertuples(index=False):
        expected.append(tuple(row))
        for a in h.ancestors(row.LabelName):
            expected.append(tuple(row._replace(LabelName=a)))
    out = h.expand_boxes(df)
    assert _multiset(out, df.columns) == collections.Counter(expected)
    expected = []
    for row in df.itertuples(index=False):
        expected.append(tuple(row))
        rel = (h.ancestors if row.Confidence == 1 else h.descendants)(
            row.LabelName)
        for a in rel:
            expected.append(tuple(row._replace(LabelName=a)))
    out = h.expand_image_labels(df)
    assert _multiset(out, df.columns) == collections.Counter(expected)
    assert ROOT not in set(out['LabelName'])


@pytest.mark.parametrize('which,n_box,n_class,n_label,n_pos', [
    ('bbox_labels_500_hierarchy.DERIVED.json', 71, 29, 65, 43),
    ('bbox_labels_600_hierarchy.json', 90, 34, 78, 56),
])
def test_real_fixture_expansion(shared, which, n_box, n_class, n_label,
                                n_pos):
    h = ClassHierarchy.from_json(shared('data', 'open_images_metadata',
                                        which))
    boxes = read_bbox_csv(shared('data', 'real_fixture',
                                 'annotations-bbox.csv'))
    labels = read_image_labels_csv(shared(
        'data', 'real_fixture', 'annotations-human-imagelabels.csv'))
    eb = h.expand_boxes(boxes)
    assert len(eb) == n_box
    assert eb['LabelName'].nunique() == n_class
    # the crowd of Persons: Person is a top-level class, so no copy
    assert int((eb['IsGroupOf'] != 0).sum()) == 1
    el = h.expand_image_labels(labels)
    assert len(el) == n_label
    assert int((el['Confidence'] == 1).sum()) == n_pos
    assert int((el['Confidence'] == 0).sum()) == 22

    _, name_of = read_class_descriptions(shared(
        'data', 'open_images_metadata', 'class-descriptions-boxable.csv'))
    mids, _ = read_class_descriptions(shared(
        'data', 'open_images_metadata', 'class-descriptions-boxable.csv'))
    name_of = dict(zip(mids, name_of))
    neg = el[el['Confidence'] == 0]
    got = {k: sorted(name_of[m] for m in g['LabelName'])
           for k, g in neg.groupby('ImageID')}
    assert got == {
        'darknet_dog': sorted(['Cat', 'Horse', 'Person', 'Man', 'Woman',
                               'Boy', 'Girl']),
        'darknet_person': sorted(['Human face', 'Car', 'Limousine', 'Van',
                                  'Cat']),
        'darknet_horses': sorted(['Person', 'Man', 'Woman', 'Boy', 'Girl',
                                  'Dog']),
        'darknet_kite': ['Airplane', 'Dog'],
        'skimage_astronaut': ['Cat', 'Human hand'],
    }
    if '600' in which:
        outside = {name_of[m] for m in set(eb['LabelName'])} - {
            name_of[m] for m in read_class_descriptions(shared(
                'data', 'open_images_metadata',
                'challenge-2018-class-descriptions-500.csv'))[0]}
        assert outside == {'Clothing', 'Mammal', 'Auto part',
                           'Sports equipment', 'Fashion accessory'}
