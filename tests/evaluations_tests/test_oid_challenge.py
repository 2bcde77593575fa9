import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pfdet.datasets import oid_io
from pfdet.evaluations import eval_detection_oid
from pfdet.evaluations.oid_challenge import evaluate_oid_challenge
from pfdet.evaluations.oid_challenge import main

MAP = 'OpenImagesDetectionChallenge_Precision/mAP@0.5IOU'
AP = 'OpenImagesDetectionChallenge_PerformanceByCategory/AP@0.5IOU/'
A, B, C = '/m/0aaa', '/m/0bbb', '/m/0ccc'


def _write(path, header, rows):
    with open(path, 'w') as f:
        f.write(header + '\n')
        for r in rows:
            f.write(','.join(str(x) for x in r) + '\n')
    return str(path)


def _e9b_files(tmp_path, extra_pred_rows=()):
    """Example E9b of open_images.md (mAP 0.75) as CSV files.

    i1: GT A (0,0,.5,.5), labels {A, B (absent)}; dets A .9, B .8.
    i2: GT B (0,0,.5,.5), labels {B}; det B .7. Class C: no GT (NaN).
    """
    boxes = _write(
        tmp_path / 'boxes.csv',
        'ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,'
        'IsTruncated,IsGroupOf,IsDepiction,IsInside',
        [('i1', 'xclick', A, 1, 0, .5, 0, .5, 0, 0, 0, 0, 0),
         ('i2', 'xclick', B, 1, 0, .5, 0, .5, 0, 0, 0, 0, 0)])
    labels = _write(tmp_path / 'labels.csv',
                    'ImageID,Source,LabelName,Confidence',
                    [('i1', 'verification', A, 1),
                     ('i1', 'verification', B, 0),
                     ('i2', 'verification', B, 1),
                     ('i2', 'verification', B, 1)])  # duplicate: harmless
    preds = _write(tmp_path / 'preds.csv',
                   'ImageID,LabelName,Score,XMin,XMax,YMin,YMax',
                   [('i1', A, .9, 0, .5, 0, .5),
                    ('i1', B, .8, .5, 1, .5, 1),
                    ('i2', B, .7, 0, .5, 0, .5)] + list(extra_pred_rows))
    pbtxt = tmp_path / 'label_map.pbtxt'
    pbtxt.write_text(''.join(
        'item {{\n  name: "{}"\n  id: {}\n  display_name: "{}"\n}}\n'.format(
            m, i, n) for m, i, n in ((A, 1, 'A'), (B, 2, 'B'), (C, 3, 'C'))))
    classes = tmp_path / 'classes.csv'
    classes.write_text('{},A\n{},B\n{},C\n'.format(A, B, C))
    return boxes, labels, str(pbtxt), str(classes), preds


def test_cli_e9b_and_official_output_format(tmp_path, capsys):
    boxes, labels, pbtxt, _, preds = _e9b_files(
        tmp_path, [('no_gt_image', A, .99, 0, 1, 0, 1)])
    out = str(tmp_path / 'metrics.csv')
    assert main(['--input_annotations_boxes', boxes,
                 '--input_annotations_labels', labels,
                 '--input_class_labelmap', pbtxt,
                 '--input_predictions', preds,
                 '--output_metrics', out]) == 0
    with open(out, newline='') as f:
        text = f.read()
    assert text == (
        MAP + ',0.75\r\n' + AP + A + ',1.0\r\n' + AP + B + ',0.5\r\n'
        + AP + C + ',nan\r\n')
    printed = capsys.readouterr().out
    assert '0.750000 over 2 classes' in printed
    assert 'ignored 1 predictions on 1 images without ground truth' in printed


def test_class_descriptions_instead_of_label_map(tmp_path):
    boxes, labels, pbtxt, classes, preds = _e9b_files(tmp_path)
    m1, _ = evaluate_oid_challenge(boxes, labels, pbtxt, preds)
    m2, stats = evaluate_oid_challenge(boxes, labels, classes, preds)
    assert list(m1) == list(m2)
    np.testing.assert_array_equal(list(m1.values()), list(m2.values()))
    assert stats['n_image'] == 2 and stats['n_prediction_ignored'] == 0


def test_label_map_id_order_and_gaps(tmp_path):
    boxes, labels, _, _, preds = _e9b_files(tmp_path)
    pbtxt = tmp_path / 'gaps.pbtxt'
    pbtxt.write_text('item { name: "%s" id: 7 }\nitem { name: "%s" id: 2 }\n'
                     'item { name: "%s" id: 4 }\n' % (A, B, C))
    m, _ = evaluate_oid_challenge(boxes, labels, str(pbtxt), preds)
    assert list(m) == [MAP, AP + B, AP + C, AP + A]
    assert m[AP + A] == 1.0 and m[AP + B] == 0.5 and m[MAP] == 0.75


def test_image_with_labels_only_is_evaluated(tmp_path):
    # i3 has no box but verifies A as absent: its A detection is an FP
    boxes, labels, pbtxt, _, preds = _e9b_files(
        tmp_path, [('i3', A, .95, 0, .5, 0, .5)])
    with open(labels, 'a') as f:
        f.write('i3,verification,{},0\n'.format(A))
    m, stats = evaluate_oid_challenge(boxes, labels, pbtxt, preds)
    assert stats['n_image'] == 3
    assert m[AP + A] == 0.5


def test_prediction_of_unknown_class_names_the_row(tmp_path, capsys):
    boxes, labels, pbtxt, _, preds = _e9b_files(
        tmp_path, [('i2', '/m/unknown', .5, 0, .5, 0, .5)])
    with pytest.raises(oid_io.OIDFormatError) as e:
        evaluate_oid_challenge(boxes, labels, pbtxt, preds)
    assert e.value.line == 5
    assert 'preds.csv, line 5' in str(e.value)
    assert "'/m/unknown' is not in the label map" in str(e.value)
    with pytest.raises(SystemExit) as e:
        main(['--input_annotations_boxes', boxes,
              '--input_annotations_labels', labels,
              '--input_class_labelmap', pbtxt, '--input_predictions', preds,
              '--output_metrics', str(tmp_path / 'm.csv')])
    assert e.value.code == 2
    assert 'line 5' in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'm.csv'))


def test_ground_truth_of_unknown_class_names_the_row(tmp_path):
    boxes, labels, pbtxt, _, preds = _e9b_files(tmp_path)
    with open(labels, 'a') as f:
        f.write('i2,verification,/m/zzz,1\n')
    with pytest.raises(oid_io.OIDFormatError, match='labels.csv, line 6'):
        evaluate_oid_challenge(boxes, labels, pbtxt, preds)


def test_missing_flag_exits():
    with pytest.raises(SystemExit):
        main(['--input_annotations_boxes', 'x.csv'])


def _random_csvs(tmp_path, seed, n_img=60, n_class=6):
    """Random normalized GT / predictions, as CSVs and as arrays."""
    rng = np.random.RandomState(seed)
    mids = ['/m/c{}'.format(i) for i in range(n_class)]
    box_rows, label_rows, pred_rows = [], [], []
    arrays = [[] for _ in range(7)]
    for i in range(n_img):
        n_gt = rng.randint(0, 7)
        yx = rng.uniform(0, .7, size=(n_gt, 2))
        gt = np.concatenate([yx, yx + rng.uniform(.05, .3, (n_gt, 2))], 1)
        gl = rng.randint(0, n_class, n_gt)
        gg = rng.uniform(size=n_gt) < .25
        il = np.unique(np.concatenate([gl, rng.randint(0, n_class, 2)]))
        k = rng.randint(0, 20)
        src = rng.randint(0, max(n_gt, 1), k)
        base = gt[src] if n_gt else rng.uniform(0, .5, (k, 4))
        pb = base + rng.normal(0, .05, (k, 4))
        pl = rng.randint(0, n_class, k)
        if n_gt:
            pl[:k // 2] = gl[src[:k // 2]]
        ps = rng.uniform(.001, 1, k)
        iid = 'img{:03d}'.format(i)
        if n_gt == 0 and rng.uniform() < .3:
            il = il[:0]  # image without any GT row: not evaluated
        box_rows += [(iid, mids[c], b[1], b[3], b[0], b[2], int(g))
                     for b, c, g in zip(gt, gl, gg)]
        label_rows += [(iid, 'verification', mids[c], int(c in gl))
                       for c in il]
        pred_rows += [(iid, mids[c], s, b[1], b[3], b[0], b[2])
                      for b, c, s in zip(pb, pl, ps)]
        if n_gt or len(il):
            for a, v in zip(arrays, (pb, pl, ps, gt, gl, gg, il)):
                a.append(v)
    paths = (
        _write(tmp_path / 'b.csv', 'ImageID,LabelName,XMin,XMax,YMin,YMax,'
               'IsGroupOf', [tuple(repr(x) if isinstance(x, float) else x
                                   for x in r) for r in box_rows]),
        _write(tmp_path / 'l.csv', 'ImageID,Source,LabelName,Confidence',
               label_rows),
        _write(tmp_path / 'p.csv', 'ImageID,LabelName,Score,XMin,XMax,YMin,'
               'YMax', [tuple(repr(x) if isinstance(x, float) else x
                              for x in r) for r in pred_rows]))
    (tmp_path / 'c.csv').write_text(''.join(m + ',x\n' for m in mids))
    return paths, str(tmp_path / 'c.csv'), arrays, mids


@pytest.mark.parametrize('seed', [0, 1])
def test_cli_matches_python_api(tmp_path, seed):
    (b, lab, p), classes, arrays, mids = _random_csvs(tmp_path, seed)
    m, _ = evaluate_oid_challenge(b, lab, classes, p)
    r = eval_detection_oid(*arrays, n_class=len(mids))
    assert abs(m[MAP] - r['map']) < 1e-12
    np.testing.assert_allclose([m[AP + mid] for mid in mids], r['ap'],
                               rtol=0, atol=1e-12)


def test_cli_as_a_module(tmp_path):
    boxes, labels, pbtxt, _, preds = _e9b_files(tmp_path)
    out = str(tmp_path / 'metrics.csv')
    res = subprocess.run(
        [sys.executable, '-W', 'error::RuntimeWarning', '-m',
         'pfdet.evaluations.oid_challenge',
         '--input_annotations_boxes=' + boxes,
         '--input_annotations_labels', labels,
         '--input_class_labelmap', pbtxt, '--input_predictions', preds,
         '--output_metrics', out], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(out, header=None).iloc[0].tolist() == [MAP, 0.75]


# ------------------------------------------------ real fixture (§6) ----

_PERSON, _ANIMAL = '/m/01g317', '/m/0jbk'
_ZERO_AP = ['/m/0jbk', '/m/01lrl', '/m/09j5n', '/m/07yv9', '/m/0k5j',
            '/m/01prls', '/m/0138tl']


def _fixture(shared, tmp_path):
    try:
        from pfdet.datasets.hierarchy import ClassHierarchy
    except ImportError as e:  # pragma: no cover
        pytest.skip('pfdet.datasets.hierarchy not importable: {}'.format(e))
    meta = shared('data', 'open_images_metadata')
    fix = shared('data', 'real_fixture')
    h = ClassHierarchy.from_json(
        os.path.join(meta, 'bbox_labels_500_hierarchy.DERIVED.json'))
    boxes = oid_io.read_bbox_csv(os.path.join(fix, 'annotations-bbox.csv'))
    labels = oid_io.read_image_labels_csv(
        os.path.join(fix, 'annotations-human-imagelabels.csv'))
    eb, el = h.expand_boxes(boxes), h.expand_image_labels(labels)
    b, lab = str(tmp_path / 'b.csv'), str(tmp_path / 'l.csv')
    oid_io.write_bbox_csv(b, eb)
    oid_io.write_image_labels_csv(lab, el)
    classes = os.path.join(meta, 'challenge-2018-class-descriptions-500.csv')
    return boxes, eb, el, b, lab, classes


def _predict(df, path):
    p = df[['ImageID', 'LabelName', 'XMin', 'XMax', 'YMin', 'YMax']].copy()
    p['Score'] = 1.0
    oid_io.write_predictions_csv(path, p)
    return path


def test_real_fixture_cli(shared, tmp_path):
    boxes, eb, el, b, lab, classes = _fixture(shared, tmp_path)
    assert len(eb) == 71 and len(el) == 65
    m, stats = evaluate_oid_challenge(
        b, lab, classes, _predict(eb, str(tmp_path / 'perfect.csv')))
    assert m[MAP] == 1.0 and stats['n_class_with_gt'] == 29
    assert len(m) == 501
    m, _ = evaluate_oid_challenge(
        b, lab, classes, _predict(boxes, str(tmp_path / 'leaf.csv')))
    assert abs(m[MAP] - 0.752874) < 5e-7
    assert abs(m[MAP] - (22 - 1 / 6) / 29) < 1e-12
    assert abs(m[AP + _PERSON] - 5 / 6) < 1e-12
    for mid in _ZERO_AP:
        assert m[AP + mid] == 0
    values = np.array(list(m.values())[1:])
    assert np.sum(values == 1.0) == 21 and np.isnan(values).sum() == 471


def test_real_fixture_python_api_in_pixels(shared, tmp_path):
    boxes, eb, el, _, _, classes = _fixture(shared, tmp_path)
    mids = oid_io.read_class_descriptions(classes)[0]
    index = {m: i for i, m in enumerate(mids)}
    rng = np.random.RandomState(0)
    images = sorted(set(eb['ImageID']))
    sizes = {i: rng.randint(200, 900, size=2) for i in images}

    def arrays(df, image):
        d = df[df['ImageID'] == image]
        h, w = sizes[image]
        bbox = d[['YMin', 'XMin', 'YMax', 'XMax']].to_numpy() * [h, w, h, w]
        label = np.array([index[x] for x in d['LabelName']], np.int32)
        return bbox.astype(np.float32), label, d

    for pred_df, expected in ((eb, 1.0), (boxes, 0.752874)):
        data = [[] for _ in range(7)]
        for image in images:
            pb, pl, _ = arrays(pred_df, image)
            gb, gl, d = arrays(eb, image)
            il = np.array([index[x] for x in
                           el[el['ImageID'] == image]['LabelName']], np.int32)
            for a, v in zip(data, (pb, pl, np.ones(len(pl), np.float32), gb,
                                   gl, d['IsGroupOf'].to_numpy() != 0, il)):
                a.append(v)
        r = eval_detection_oid(*data, n_class=len(mids))
        assert abs(r['map'] - expected) < 5e-7
        assert (~np.isnan(r['ap'])).sum() == 29
