import json
import os

import cv2
import numpy as np
import pandas as pd
import pytest

from pfdet.datasets import oid_io
from pfdet.datasets import synthetic
from pfdet.datasets.hierarchy import ClassHierarchy

SEED = 3
N_TRAIN = 100
N_VAL = 20

PERSON, MAN, WOMAN = '/m/01g317', '/m/04yx4', '/m/03bt1vf'
FACE, HAND, HEAD = '/m/0dzct', '/m/0k65p', '/m/04hgtk'
CAR, TRUCK, BICYCLE = '/m/0k4j', '/m/07r04', '/m/0199g'
WHEEL, BICYCLE_WHEEL = '/m/083wq', '/m/01bqk0'
TIE = '/m/01rkbr'
LAND_VEHICLE, VEHICLE = '/m/01prls', '/m/07yv9'
# part -> classes it is drawn inside (from the issue, written independently)
DRAWN_INSIDE = {FACE: {PERSON, MAN, WOMAN}, HAND: {PERSON, MAN, WOMAN},
                HEAD: {PERSON, MAN, WOMAN}, WHEEL: {CAR, TRUCK},
                BICYCLE_WHEEL: {BICYCLE}}
PARTS = list(DRAWN_INSIDE)


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp('synthetic') / 'a')
    meta = synthetic.generate(d, n_train=N_TRAIN, n_val=N_VAL, seed=SEED)
    return d, meta


@pytest.fixture(scope='module')
def frames_2000():
    # metadata only: the scenes of a default 2,000-image dataset, not drawn
    return synthetic.scenes_to_frames(synthetic.sample_scenes(2000, seed=0))


@pytest.fixture(scope='module')
def hidden_2000(frames_2000):
    return frames_2000[0]


def _hidden(d, split='train'):
    return pd.read_csv(os.path.join(d, split + '-hidden-truth.csv'),
                       dtype={'ImageID': str})


def _files(d):
    out = {}
    for root, _, names in os.walk(d):
        for n in names:
            path = os.path.join(root, n)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, d)] = f.read()
    return out


def test_layout(data_dir):
    d, _ = data_dir
    for name in ('class-descriptions.csv', 'hierarchy.json',
                 'label_map.pbtxt', 'meta.json'):
        assert os.path.isfile(os.path.join(d, name))
    for split, n in (('train', N_TRAIN), ('validation', N_VAL)):
        for suffix in ('-annotations-bbox.csv',
                       '-annotations-human-imagelabels.csv',
                       '-hidden-truth.csv'):
            assert os.path.isfile(os.path.join(d, split + suffix))
        images = sorted(os.listdir(os.path.join(d, split)))
        assert len(images) == n
        assert all(len(i) == 16 + 4 and i.endswith('.jpg') for i in images)
        int(images[0][:16], 16)


def test_deterministic_bytes_and_jobs(data_dir, tmp_path):
    d, _ = data_dir
    other = str(tmp_path / 'b')
    # a second run, drawn by two processes, must give the same bytes
    synthetic.generate(other, n_train=N_TRAIN, n_val=N_VAL, seed=SEED,
                       n_jobs=2)
    a, b = _files(d), _files(other)
    assert sorted(a) == sorted(b)
    assert len(a) == N_TRAIN + N_VAL + 10
    for k in a:
        assert a[k] == b[k], k


def test_different_seed_differs(data_dir, tmp_path):
    d, _ = data_dir
    other = str(tmp_path / 'c')
    synthetic.generate(other, n_train=10, n_val=0, seed=SEED + 1)
    with open(os.path.join(other, 'train-annotations-bbox.csv')) as f:
        bbox_b = f.read()
    with open(os.path.join(d, 'train-annotations-bbox.csv')) as f:
        bbox_a = f.read()
    assert bbox_a[:len(bbox_b)] != bbox_b
    ids_a = set(os.listdir(os.path.join(d, 'train')))
    ids_b = set(os.listdir(os.path.join(other, 'train')))
    assert not ids_a & ids_b
    # the scenes differ as well, not only the ids
    sa = synthetic.sample_scenes(10, seed=SEED)
    sb = synthetic.sample_scenes(10, seed=SEED + 1)
    assert any(len(x['objects']['label']) != len(y['objects']['label'])
               or not np.array_equal(x['objects']['label'],
                                     y['objects']['label'])
               for x, y in zip(sa, sb))
    assert not np.array_equal(synthetic.render_scene(sa[0])[:96, :96],
                              synthetic.render_scene(sb[0])[:96, :96])


def test_files_parse(data_dir):
    d, _ = data_dir
    mids, names = oid_io.read_class_descriptions(
        os.path.join(d, 'class-descriptions.csv'))
    assert len(mids) == len(set(mids)) >= 50
    assert mids == list(synthetic.synthetic_class_mids)
    lm_mids, lm_ids, lm_names = oid_io.read_label_map(
        os.path.join(d, 'label_map.pbtxt'))
    assert lm_mids == mids and list(lm_ids) == list(range(1, len(mids) + 1))
    assert list(lm_names) == names
    for split in ('train', 'validation'):
        bbox = oid_io.read_bbox_csv(
            os.path.join(d, split + '-annotations-bbox.csv'), known_mids=mids)
        assert len(bbox) > 0
        assert list(bbox.columns) == list(oid_io.BBOX_2018_COLUMNS)
        labels = oid_io.read_image_labels_csv(
            os.path.join(d, split + '-annotations-human-imagelabels.csv'),
            known_mids=mids)
        assert set(labels['Confidence']) == {0, 1}
        assert set(labels['Source']) == {'verification'}
        # the hidden truth parses as a box CSV too (extra columns ignored)
        hidden = oid_io.read_bbox_csv(
            os.path.join(d, split + '-hidden-truth.csv'), known_mids=mids)
        assert len(hidden) > len(bbox)


def test_bbox_csv_is_annotated_hidden_truth(data_dir):
    d, _ = data_dir
    hidden = _hidden(d)
    assert tuple(hidden.columns) == oid_io.BBOX_2018_COLUMNS + \
        synthetic.HIDDEN_TRUTH_EXTRA_COLUMNS
    bbox = pd.read_csv(os.path.join(d, 'train-annotations-bbox.csv'),
                       dtype={'ImageID': str})
    ann = hidden[hidden['Annotated'] == 1][bbox.columns].reset_index(
        drop=True)
    pd.testing.assert_frame_equal(ann, bbox)
    # not expanded: no box of a class that is only a hierarchy node
    assert not set(bbox['LabelName']) & {LAND_VEHICLE, VEHICLE, '/m/0jbk'}
    assert (bbox['Confidence'] == 1).all()


def test_hierarchy(data_dir):
    d, _ = data_dir
    h = ClassHierarchy.from_json(os.path.join(d, 'hierarchy.json'))
    assert h.root == '/m/0bl9f'
    assert set(h.mids) == set(synthetic.synthetic_class_mids)
    assert sorted(h.part_edges) == sorted([
        (PERSON, FACE), (PERSON, HAND), (PERSON, HEAD),
        (LAND_VEHICLE, WHEEL), (BICYCLE, BICYCLE_WHEEL)])
    assert h.ancestors(MAN) == {PERSON}
    assert h.ancestors(WOMAN) == {PERSON}
    assert h.ancestors(CAR) == {LAND_VEHICLE, VEHICLE}
    assert h.ancestors(TRUCK) == {LAND_VEHICLE, VEHICLE}
    assert h.ancestors(FACE) == set()
    assert h.ancestors(TIE) == set()
    assert h.descendants(PERSON) == {MAN, WOMAN}
    # Dog, Cat under Carnivore under Animal
    assert h.ancestors('/m/0bt9lr') == {'/m/01lrl', '/m/0jbk'}


def test_taxonomy_uses_real_mids_and_edges(shared):
    meta_dir = shared('data', 'open_images_metadata')
    mids, names = oid_io.read_class_descriptions(
        os.path.join(meta_dir, 'challenge-2018-class-descriptions-500.csv'))
    real = dict(zip(mids, names))
    for mid, name in zip(synthetic.synthetic_class_mids,
                         synthetic.synthetic_class_names):
        assert real.get(mid) == name, (mid, name)
    # every Subcategory edge exists in the official 600-class hierarchy
    official = ClassHierarchy.from_json(
        os.path.join(meta_dir, 'bbox_labels_600_hierarchy.json'))
    ours = ClassHierarchy.from_json(synthetic.hierarchy_tree())
    for mid in ours.mids:
        assert ours.ancestors(mid) <= official.ancestors(mid), mid


def test_load_split(data_dir):
    from pfdet.datasets import load_split
    d, _ = data_dir
    hidden = _hidden(d)
    ds = load_split(d, 'train')
    assert len(ds) == N_TRAIN
    assert ds.class_mids == list(synthetic.synthetic_class_mids)
    assert ds.n_dropped_boxes == 0
    mids = np.array(ds.class_mids)
    with_boxes = set(hidden.loc[hidden['Annotated'] == 1, 'ImageID'])
    checked = [i for i, image_id in enumerate(ds.image_ids)
               if image_id in with_boxes][:4]
    assert len(checked) == 4
    for i in checked:
        img, bbox, label, is_group_of = ds.slice[:, ('img', 'bbox', 'label',
                                                     'is_group_of')][i]
        rows = hidden[(hidden['ImageID'] == ds.image_ids[i])
                      & (hidden['Annotated'] == 1)]
        H, W = rows['ImageHeight'].iloc[0], rows['ImageWidth'].iloc[0]
        assert img.shape == (3, H, W)
        expect = rows[['YMin', 'XMin', 'YMax', 'XMax']].to_numpy() * \
            np.array([H, W, H, W])
        order = np.lexsort(expect.T[::-1])
        got_order = np.lexsort(bbox.T.astype(np.float64)[::-1])
        np.testing.assert_allclose(bbox[got_order], expect[order], atol=1e-3)
        assert list(mids[label[got_order]]) == list(
            rows['LabelName'].to_numpy()[order])
        assert list(is_group_of[got_order]) == list(
            rows['IsGroupOf'].to_numpy()[order] == 1)
    expanded = load_split(d, 'validation', expand_hierarchy=True)
    assert len(expanded) == N_VAL
    assert len(expanded.bbox_df) >= len(load_split(d, 'validation').bbox_df)


def test_images_match_sizes(data_dir):
    d, _ = data_dir
    hidden = _hidden(d, 'validation')
    sizes = hidden.groupby('ImageID')[['ImageHeight', 'ImageWidth']].first()
    for image_id, (H, W) in sizes.iloc[:10].iterrows():
        img = cv2.imread(os.path.join(d, 'validation', image_id + '.jpg'))
        assert img.shape == (H, W, 3)
        assert 128 <= H <= 192 and 128 <= W <= 192


def test_parts_inside_subjects(data_dir):
    d, _ = data_dir
    hidden = _hidden(d)
    key = hidden.set_index(['ImageID', 'ObjectIndex'])
    inside = hidden[hidden['ParentIndex'] >= 0]
    parents = key.loc[list(zip(inside['ImageID'], inside['ParentIndex']))]
    eps = 1e-9
    for c in ('XMin', 'YMin'):
        assert (inside[c].to_numpy() >= parents[c].to_numpy() - eps).all()
    for c in ('XMax', 'YMax'):
        assert (inside[c].to_numpy() <= parents[c].to_numpy() + eps).all()
    # the parent is a planted subject of the part (or a Person for a Tie)
    for part, subjects in DRAWN_INSIDE.items():
        sel = (inside['LabelName'] == part).to_numpy()
        assert sel.sum() > 0, part
        assert set(parents['LabelName'].to_numpy()[sel]) <= subjects
    # every part drawn inside a subject: some annotated (bbox CSV) box of a
    # planted subject of the same image contains it
    bbox = hidden[hidden['Annotated'] == 1]
    ann_parts = inside[inside['Annotated'] == 1]
    ann_parts = ann_parts[ann_parts['LabelName'].isin(PARTS)]
    assert len(ann_parts) > 0
    for r in ann_parts.itertuples():
        s = bbox[(bbox['ImageID'] == r.ImageID)
                 & bbox['LabelName'].isin(DRAWN_INSIDE[r.LabelName])]
        ok = ((s['XMin'] <= r.XMin + eps) & (s['YMin'] <= r.YMin + eps)
              & (s['XMax'] >= r.XMax - eps) & (s['YMax'] >= r.YMax - eps))
        assert ok.any(), r
    # and some parts are drawn standalone or unannotated
    assert (inside['Annotated'] == 0).any()


def _part_stats(hidden):
    parts = hidden[hidden['LabelName'].isin(PARTS)]
    per = parts.groupby(['LabelName', 'ImageID'])['Annotated']
    return per.min(), per.max()


def test_part_annotation_is_per_image_and_exhaustive(data_dir):
    d, _ = data_dir
    lo, hi = _part_stats(_hidden(d))
    # in one image a part class is annotated everywhere or nowhere
    assert (lo == hi).all()


def test_part_annotation_rate(hidden_2000):
    q = 0.3  # the default
    _, annotated = _part_stats(hidden_2000)
    for part in PARTS:
        rate = annotated[part].mean()
        n = len(annotated[part])
        assert n > 200, part
        # binomial: 4 standard deviations
        tol = 4 * np.sqrt(q * (1 - q) / n)
        assert abs(rate - q) < tol, (part, rate, n)


@pytest.mark.parametrize('q', [0.0, 1.0])
def test_part_annotation_rate_extremes(q):
    hidden, _ = synthetic.scenes_to_frames(
        synthetic.sample_scenes(60, seed=11, q=q))
    _, annotated = _part_stats(hidden)
    assert len(annotated) > 30
    assert (annotated == q).all()


def test_non_parts_always_annotated(data_dir):
    d, _ = data_dir
    hidden = _hidden(d)
    member = hidden['GroupIndex'] >= 0
    other = hidden[~member & ~hidden['LabelName'].isin(PARTS)]
    assert (other['Annotated'] == 1).all()
    ties = hidden[hidden['LabelName'] == TIE]
    assert len(ties) > 0 and (ties['Annotated'] == 1).all()
    assert (ties['ParentIndex'] >= 0).sum() > 0


def test_decoy_always_annotated_many_images(hidden_2000):
    hidden = hidden_2000
    ties = hidden[hidden['LabelName'] == TIE]
    assert (ties['Annotated'] == 1).all()
    # mostly inside persons, i.e. a containment pair that is always annotated
    assert (ties['ParentIndex'] >= 0).mean() > 0.8


def _mining_stats(boxes, labels, subjects, part):
    """contain(p | s) and ann(p | s) of pfdet.md 3.10, from annotations only.

    contain: fraction of the part's boxes lying inside (IoA = 1) a box of a
    subject class of the same image; ann: fraction of the images with a
    subject box in which the part is verified (positive or negative).
    """
    s = boxes[boxes['LabelName'].isin(subjects)]
    p = boxes[boxes['LabelName'] == part].reset_index()
    m = p.merge(s, on='ImageID', suffixes=('', '_s'))
    eps = 1e-9
    inside = ((m['XMin_s'] <= m['XMin'] + eps)
              & (m['YMin_s'] <= m['YMin'] + eps)
              & (m['XMax_s'] >= m['XMax'] - eps)
              & (m['YMax_s'] >= m['YMax'] - eps))
    contain = inside.groupby(m['index']).any().reindex(
        p['index'], fill_value=False).mean()
    with_subject = set(s['ImageID'])
    verified = set(labels.loc[labels['LabelName'] == part, 'ImageID'])
    ann = len(with_subject & verified) / len(with_subject)
    return contain, ann


def test_pair_mining_statistics(frames_2000):
    # the recommended mining rule (contain >= 0.8, ann <= 0.5) finds the
    # planted pairs and rejects the decoy, from the annotations alone
    hidden, labels = frames_2000
    boxes = hidden[hidden['Annotated'] == 1]
    people = {PERSON, MAN, WOMAN}
    for subjects, part in ((people, FACE), (people, HAND), (people, HEAD),
                           ({CAR, TRUCK}, WHEEL), ({BICYCLE}, BICYCLE_WHEEL)):
        contain, ann = _mining_stats(boxes, labels, subjects, part)
        assert contain >= 0.8 and ann <= 0.5, (part, contain, ann)
    contain, ann = _mining_stats(boxes, labels, people, TIE)
    assert contain >= 0.8 and ann == 1.0, (contain, ann)
    # a free class is neither inside people nor sparsely verified
    contain, _ = _mining_stats(boxes, labels, people, '/m/07j7r')
    assert contain < 0.1


def test_group_of(data_dir):
    d, _ = data_dir
    hidden = _hidden(d)
    groups = hidden[hidden['IsGroupOf'] == 1]
    assert len(groups) > 0
    assert (groups['Annotated'] == 1).all()
    for g in groups.itertuples():
        m = hidden[(hidden['ImageID'] == g.ImageID)
                   & (hidden['GroupIndex'] == g.ObjectIndex)]
        assert len(m) >= 2
        assert (m['LabelName'] == g.LabelName).all()
        assert (m['Annotated'] == 0).all() and (m['IsGroupOf'] == 0).all()
        np.testing.assert_allclose(
            [m['XMin'].min(), m['XMax'].max(), m['YMin'].min(),
             m['YMax'].max()], [g.XMin, g.XMax, g.YMin, g.YMax])
    bbox = oid_io.read_bbox_csv(os.path.join(d, 'train-annotations-bbox.csv'))
    assert (bbox['IsGroupOf'] == 1).sum() == len(groups)


def test_image_labels(data_dir):
    d, _ = data_dir
    h = ClassHierarchy.from_json(os.path.join(d, 'hierarchy.json'))
    for split, n in (('train', N_TRAIN), ('validation', N_VAL)):
        hidden = _hidden(d, split)
        labels = pd.read_csv(
            os.path.join(d, split + '-annotations-human-imagelabels.csv'),
            dtype={'ImageID': str})
        # every image is listed, with at least one verified label
        assert labels['ImageID'].nunique() == n
        ann = hidden[hidden['Annotated'] == 1]
        box_pairs = set(zip(ann['ImageID'], ann['LabelName']))
        pos = labels[labels['Confidence'] == 1]
        assert set(zip(pos['ImageID'], pos['LabelName'])) == box_pairs
        assert not labels.duplicated(['ImageID', 'LabelName']).any()
        neg = labels[labels['Confidence'] == 0]
        assert len(neg) > 0
        drawn = hidden.groupby('ImageID')['LabelName'].apply(set)
        for r in neg.itertuples():
            banned = {r.LabelName} | h.descendants(r.LabelName)
            assert not banned & drawn.get(r.ImageID, set()), r


def test_zipf_long_tail(hidden_2000):
    hidden = hidden_2000
    counts = hidden.groupby('LabelName')['ImageID'].nunique()
    free = list(synthetic.free_class_frequencies())  # in rank order
    assert len(free) >= 30
    n = counts.reindex(free, fill_value=0).to_numpy()
    assert n.min() <= 15
    assert n.min() > 0
    assert n.max() >= 300
    # head vs tail by rank (the frequencies decrease with the rank)
    assert n[:5].sum() > 10 * n[-5:].sum()


def test_meta(data_dir):
    d, meta = data_dir
    with open(os.path.join(d, 'meta.json')) as f:
        written = json.load(f)
    assert written == json.loads(json.dumps(meta))
    assert meta['seed'] == SEED
    assert meta['decoy']['mid'] == TIE
    pairs = {(p['subject'], p['part']) for p in meta['planted_pairs']}
    assert pairs == {(PERSON, FACE), (PERSON, HAND), (PERSON, HEAD),
                     (LAND_VEHICLE, WHEEL), (BICYCLE, BICYCLE_WHEEL)}
    hidden = _hidden(d)
    counts = meta['splits']['train']['class_counts']
    ann = hidden[hidden['Annotated'] == 1]
    for mid, c in counts.items():
        assert c['boxes'] == (ann['LabelName'] == mid).sum()
    assert meta['splits']['train']['n_images'] == N_TRAIN
    assert meta['params']['q'] == 0.3


def test_objects_not_tiny(data_dir):
    d, _ = data_dir
    hidden = _hidden(d)
    single = hidden[hidden['GroupIndex'] < 0]
    w = (single['XMax'] - single['XMin']) * single['ImageWidth']
    h = (single['YMax'] - single['YMin']) * single['ImageHeight']
    assert np.minimum(w, h).min() >= 8.5   # Ties are narrow
    assert np.maximum(w, h).min() >= 12


def test_render_draws_inside_boxes():
    # pixels of a drawn object differ from the same scene without it
    scene = synthetic.sample_scenes(40, seed=2)
    scene = next(s for s in scene if len(s['items']) >= 2)
    scene = dict(scene, noise=0.)
    full = synthetic.render_scene(scene).astype(int)
    empty = dict(scene, items=[])
    bg = synthetic.render_scene(empty).astype(int)
    diff = np.abs(full - bg).sum(axis=2) > 20
    obj = scene['objects']
    outside = np.ones(diff.shape, bool)
    for b in obj['bbox']:
        y0, x0, y1, x1 = np.round(b).astype(int)
        assert diff[y0:y1, x0:x1].mean() > 0.05
        outside[max(y0 - 2, 0):y1 + 2, max(x0 - 2, 0):x1 + 2] = False
    assert not diff[outside].any()


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match='unknown generator parameter'):
        synthetic.sample_scenes(1, foo=1)
    with pytest.raises(ValueError, match='q must be in'):
        synthetic.sample_scenes(1, q=1.5)
    with pytest.raises(ValueError, match='seed'):
        synthetic.sample_scenes(1, seed=-1)
    with pytest.raises(ValueError, match='size'):
        synthetic.sample_scenes(1, size=(200, 100))
    (tmp_path / 'x').write_text('x')
    with pytest.raises(ValueError, match='not empty'):
        synthetic.generate(str(tmp_path), n_train=1, n_val=0)


def test_cli(tmp_path):
    out = str(tmp_path / 'cli')
    synthetic.main(['--out', out, '--n-images', '4', '--n-val', '2',
                    '--seed', '7', '--size', '96'])
    assert len(os.listdir(os.path.join(out, 'train'))) == 4
    assert len(os.listdir(os.path.join(out, 'validation'))) == 2
    name = os.listdir(os.path.join(out, 'train'))[0]
    assert cv2.imread(os.path.join(out, 'train', name)).shape == (96, 96, 3)


# ------------------------------------------------ salience-dependent verification

SALIENT = dict(q=(0.05, 0.6), subject_scale=(0.7, 1.4))


def test_part_salience_closed_form():
    p = synthetic._check_params(SALIENT)
    n = synthetic._PART_NOMINAL_SIZE['wheel']
    assert synthetic.part_salience(p, 'wheel', [n * 0.7]) == pytest.approx(0)
    assert synthetic.part_salience(p, 'wheel', [n * 1.4]) == pytest.approx(1)
    assert synthetic.part_salience(p, 'wheel', [n * np.sqrt(0.98)]) == pytest.approx(0.5)
    # the largest instance counts; beyond the range it is clipped
    assert synthetic.part_salience(p, 'wheel', [n * 0.5, n]) == pytest.approx(
        np.log(1 / 0.7) / np.log(2))
    assert synthetic.part_salience(p, 'wheel', [n * 3]) == 1
    assert synthetic.part_salience(p, 'wheel', [n * 0.3]) == 0
    fixed = synthetic._check_params(dict(q=(0.05, 0.6)))
    assert synthetic.part_salience(fixed, 'wheel', [n * 0.3]) == 0.5


def test_uniform_q_as_pair_is_the_same_data():
    a = synthetic.scenes_to_frames(synthetic.sample_scenes(40, seed=5, q=0.3))[0]
    b = synthetic.scenes_to_frames(synthetic.sample_scenes(40, seed=5, q=(0.3, 0.3)))[0]
    pd.testing.assert_frame_equal(a, b)


def test_subject_scale_widens_subjects():
    def person_widths(**params):
        hidden = synthetic.scenes_to_frames(synthetic.sample_scenes(600, seed=1, **params))[0]
        m = hidden['LabelName'].isin([PERSON, MAN, WOMAN])
        return ((hidden['XMax'] - hidden['XMin']) * hidden['ImageWidth'])[m].to_numpy()

    fixed = person_widths(subject_scale=(1, 1))
    wide = person_widths(subject_scale=(0.7, 1.4))
    # a person is drawn U(36, 54) px wide times the factor, or shrunk to fit the image
    assert fixed.max() <= 54 + 1e-6 and wide.max() <= 54 * 1.4 + 1e-6
    assert wide.max() > 54 * 1.2
    # log-uniform factor over a 2x range: the spread of log widths about doubles
    assert np.log(wide).std() > 1.5 * np.log(fixed).std()


def test_part_annotation_follows_salience():
    scenes = synthetic.sample_scenes(2000, seed=0, **SALIENT)
    lo, hi = SALIENT['subject_scale']
    q_small, q_large = SALIENT['q']
    rows = []
    for sc in scenes:
        o = sc['objects']
        for k in synthetic._PART_KEYS:
            m = o['label'] == synthetic._INDEX[k]
            if not m.any():
                continue
            b = o['bbox'][m]
            side = np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).max()
            # written here independently of part_salience: log position in [lo, hi]
            t = np.clip(np.log(side / synthetic._PART_NOMINAL_SIZE[k] / lo) / np.log(hi / lo),
                        0, 1)
            assert o['annotated'][m].all() or not o['annotated'][m].any()
            rows.append((t, q_small + (q_large - q_small) * t, float(o['annotated'][m][0])))
    t, expected, annotated = np.array(rows).T
    assert len(t) > 2000
    # calibrated in each salience tercile (4 binomial standard deviations)
    edges = np.percentile(t, [0, 100 / 3, 200 / 3, 100])
    rates = []
    for a, b in zip(edges[:-1], edges[1:]):
        m = (t >= a) & (t <= b)
        sd = np.sqrt(np.sum(expected[m] * (1 - expected[m]))) / m.sum()
        assert abs(annotated[m].mean() - expected[m].mean()) < 4 * sd
        rates.append(annotated[m].mean())
    # prominent parts are verified far more often than small ones
    assert rates[2] - rates[0] > 0.25


def test_salience_params_bad_and_cli(tmp_path):
    with pytest.raises(ValueError, match='q must be in'):
        synthetic.sample_scenes(1, q=(0.1, 1.2))
    with pytest.raises(ValueError, match='q must be in'):
        synthetic.sample_scenes(1, q=(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match='subject_scale'):
        synthetic.sample_scenes(1, subject_scale=(0, 1))
    with pytest.raises(ValueError, match='subject_scale'):
        synthetic.sample_scenes(1, subject_scale=(1.4, 0.7))
    out = str(tmp_path / 'cli')
    synthetic.main(['--out', out, '--n-images', '3', '--n-val', '1', '--q', '0.1', '0.7',
                    '--subject-scale', '0.8', '1.2'])
    with open(os.path.join(out, 'meta.json')) as f:
        params = json.load(f)['params']
    assert params['q'] == [0.1, 0.7] and params['subject_scale'] == [0.8, 1.2]


# ------------------------------------------------ standalone parts verified

def _standalone_and_annotation(scenes):
    """(image, part class) rows: drawn on its own?, drawn inside a subject?, annotated."""
    rows = []
    for sc in scenes:
        o = sc['objects']
        kinds = {item[0] for item in sc['items']}
        for k in synthetic._PART_KEYS:
            m = o['label'] == synthetic._INDEX[k]
            if not m.any():
                continue
            # one decision per image and class: all instances or none
            assert o['annotated'][m].all() or not o['annotated'][m].any()
            inside = bool((o['parent'][m] >= 0).any())
            rows.append((k in kinds, inside, bool(o['annotated'][m][0])))
    return np.array(rows, dtype=bool).reshape(-1, 3)


def test_q_standalone_equal_to_q_is_the_same_data():
    a = synthetic.scenes_to_frames(synthetic.sample_scenes(60, seed=5))[0]
    b = synthetic.scenes_to_frames(synthetic.sample_scenes(60, seed=5, q_standalone=0.3))[0]
    pd.testing.assert_frame_equal(a, b)


def test_standalone_parts_are_verified_with_q_standalone():
    scenes = synthetic.sample_scenes(1500, seed=2, q=0.2, q_standalone=1.0,
                                     p_standalone_part=0.2)
    standalone, inside, annotated = _standalone_and_annotation(scenes).T
    # every image with a part drawn on its own verifies that class, and then the
    # instances inside subjects in the same image are annotated too
    assert standalone.sum() > 200 and (standalone & inside).sum() > 20
    assert annotated[standalone].all()
    # elsewhere the rate is q (binomial, 4 standard deviations)
    rest = annotated[~standalone]
    assert abs(rest.mean() - 0.2) < 4 * np.sqrt(0.2 * 0.8 / len(rest))
    # q_standalone = 0: never verified where drawn on its own
    scenes = synthetic.sample_scenes(300, seed=2, q=0.2, q_standalone=0.0,
                                     p_standalone_part=0.2)
    standalone, _, annotated = _standalone_and_annotation(scenes).T
    assert standalone.sum() > 30 and not annotated[standalone].any()


def test_q_validation_verifies_held_out_parts_more_densely():
    kw = dict(seed=3, q=0.1, q_standalone=1.0, p_standalone_part=0.1)
    train = synthetic.sample_scenes(200, 'train', **kw)
    val = synthetic.sample_scenes(1500, 'validation', **kw)
    val_dense = synthetic.sample_scenes(1500, 'validation', q_validation=0.5, **kw)
    # the training split does not see it
    pd.testing.assert_frame_equal(
        synthetic.scenes_to_frames(train)[0],
        synthetic.scenes_to_frames(synthetic.sample_scenes(200, 'train', q_validation=0.5,
                                                           **kw))[0])
    for a, b in zip(val, val_dense):
        # the same images, boxes and negatives; only more parts annotated, and a part
        # annotated at q stays annotated
        assert repr(a['items']) == repr(b['items'])
        np.testing.assert_array_equal(a['objects']['bbox'], b['objects']['bbox'])
        np.testing.assert_array_equal(a['img_label'][a['img_label_confidence'] == 0],
                                      b['img_label'][b['img_label_confidence'] == 0])
        assert (a['objects']['annotated'] <= b['objects']['annotated']).all()
    for scenes, rate in ((val, 0.1), (val_dense, 0.5)):
        standalone, _, annotated = _standalone_and_annotation(scenes).T
        assert annotated[standalone].all()          # q_standalone still rules there
        rest = annotated[~standalone]
        assert len(rest) > 1000
        # binomial, 4 standard deviations
        assert abs(rest.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / len(rest))
    # every part drawn is verified at 1
    full = synthetic.sample_scenes(100, 'validation', q_validation=1.0, **kw)
    assert _standalone_and_annotation(full)[:, 2].all()


def test_optional_params_meta_cli_and_errors(tmp_path):
    for name in ('q_standalone', 'q_validation', 'p_lookalike'):
        with pytest.raises(ValueError, match=name):
            synthetic.sample_scenes(1, **{name: 1.5})
        with pytest.raises(ValueError, match=name):
            synthetic.sample_scenes(1, **{name: (0.1, 0.2)})
    default = str(tmp_path / 'default')
    synthetic.generate(default, n_train=2, n_val=1, seed=0)
    with open(os.path.join(default, 'meta.json')) as f:
        params = json.load(f)['params']
    # left out when None: data generated before the parameters existed keeps its meta
    assert not {'q_standalone', 'q_validation', 'p_lookalike'} & set(params)
    out = str(tmp_path / 'cli')
    synthetic.main(['--out', out, '--n-images', '3', '--n-val', '1', '--q-standalone', '0.9',
                    '--p-standalone-part', '0.1', '--p-lookalike', '0.25',
                    '--q-validation', '0.6'])
    with open(os.path.join(out, 'meta.json')) as f:
        params = json.load(f)['params']
    assert params['q_standalone'] == 0.9 and params['p_standalone_part'] == 0.1
    assert params['p_lookalike'] == 0.25 and params['q_validation'] == 0.6


# ---------------------------------------------------------------- part look-alikes

def test_no_lookalikes_is_the_same_data():
    # None (the default) and 0 draw nothing and consume no random numbers
    a = synthetic.sample_scenes(60, seed=5)
    b = synthetic.sample_scenes(60, seed=5, p_lookalike=0.0)
    pd.testing.assert_frame_equal(synthetic.scenes_to_frames(a)[0],
                                  synthetic.scenes_to_frames(b)[0])
    assert [repr(s['items']) for s in a] == [repr(s['items']) for s in b]


def test_lookalikes_are_drawn_unannotated_outside_subjects():
    p = 0.4
    scenes = synthetic.sample_scenes(400, seed=4, p_lookalike=p)
    per_key = {k: 0 for k in ('face', 'hand', 'head', 'wheel', 'bicycle_wheel')}
    n_objects = 0
    for s in scenes:
        objs = s['objects']
        expected = []
        for kind, box, flags in s['items']:
            if kind == 'lookalike':
                per_key[flags['key']] += 1
                continue
            expected += synthetic._layout_item((kind, box, flags))[1]
        # a look-alike adds no object (no box, no class, no hidden-truth row)
        assert len(objs['label']) == len(expected)
        n_objects += len(expected)
    assert n_objects > 1000
    for k, n in per_key.items():
        # drawn in at most p of the images (placement may drop a few)
        assert 0.75 * p * len(scenes) < n <= p * len(scenes) + 4 * np.sqrt(
            p * (1 - p) * len(scenes)), (k, n)


def test_lookalike_is_drawn_and_differs_from_the_part():
    scenes = synthetic.sample_scenes(100, seed=4, p_lookalike=0.5)
    scene = next(s for s in scenes if any(i[0] == 'lookalike' for i in s['items']))
    scene = dict(scene, noise=0., colour_jitter=0.)
    item = next(i for i in scene['items'] if i[0] == 'lookalike')
    box = np.round(item[1]).astype(int)
    full = synthetic.render_scene(scene).astype(int)
    without = synthetic.render_scene(
        dict(scene, items=[i for i in scene['items'] if i is not item])).astype(int)
    y0, x0, y1, x1 = box
    assert (np.abs(full - without).sum(axis=2)[y0:y1, x0:x1] > 20).mean() > 0.3
    # the same box drawn as the real part looks different
    real = synthetic.render_scene(dict(scene, items=[
        i if i is not item else (item[2]['key'], item[1],
                                 {'face': True} if item[2]['key'] == 'head' else {})
        for i in scene['items']])).astype(int)
    assert (np.abs(full - real).sum(axis=2)[y0:y1, x0:x1] > 20).mean() > 0.02


def test_lookalike_face_is_upside_down():
    box = (10., 20., 30., 39.)
    face = synthetic._face_prims(box)
    flipped = synthetic._lookalike_prims('face', box)
    # eyes at 38 % of the height from the top, then at 38 % from the bottom
    eye, eye_f = face[1][5], flipped[1][5]
    assert eye[0] + eye[2] == pytest.approx(2 * (10 + 0.38 * 20))
    assert eye_f[0] + eye_f[2] == pytest.approx(2 * (30 - 0.38 * 20))
    assert (eye[1], eye[3]) == (eye_f[1], eye_f[3])
    # the mouth line: y = 77 % from the top -> 23 %
    mouth_y = face[3][1][0][0][:, 1]
    assert np.allclose(flipped[3][1][0][0][:, 1], 40 - mouth_y)
    assert np.allclose(flipped[3][1][0][0][:, 1], 10 + 0.23 * 20)
