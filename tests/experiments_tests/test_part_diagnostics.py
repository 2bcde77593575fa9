"""``experiments/part_diagnostics.py``: scores and geometry of a pair's part detections."""

import math
import os
import sys

import pandas as pd
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import part_diagnostics  # NOQA: E402

HAND, FACE = '/m/0k65p', '/m/0dzct'
_COLS = ['ImageID', 'LabelName', 'Score', 'XMin', 'XMax', 'YMin', 'YMax']


def _truth(image, label, index, parent, x0, x1, y0, y1, group=0):
    return {'ImageID': image, 'LabelName': label, 'XMin': x0, 'XMax': x1, 'YMin': y0,
            'YMax': y1, 'IsGroupOf': group, 'ObjectIndex': index, 'ParentIndex': parent,
            'ImageWidth': 100, 'ImageHeight': 100}


def _det(image, label, score, x0, x1, y0, y1):
    return dict(ImageID=image, LabelName=label, Score=score, XMin=x0, XMax=x1, YMin=y0,
                YMax=y1)


def _scene():
    # image a (100 x 100 px): a person (x 20-60, y 10-90) with a 10-px hand inside it at
    # x 20-30, y 50-60, and a hand on its own at x 80-90, y 10-20; image b: a hand on its own
    truth = pd.DataFrame([
        _truth('a', '/m/01g317', 0, -1, 0.2, 0.6, 0.1, 0.9),
        _truth('a', HAND, 1, 0, 0.2, 0.3, 0.5, 0.6),
        _truth('a', HAND, 2, -1, 0.8, 0.9, 0.1, 0.2),
        _truth('b', HAND, 0, -1, 0.1, 0.2, 0.1, 0.2),
        _truth('b', HAND, 1, -1, 0.5, 0.9, 0.5, 0.9, group=1),   # group-of: left out
    ])
    labels = pd.DataFrame({'ImageID': ['a', 'b'], 'LabelName': [HAND, HAND],
                           'Confidence': [1, 0]})
    dets = pd.DataFrame([
        _det('a', HAND, 0.6, 0.2, 0.3, 0.5, 0.6),      # on the hand inside the person
        _det('a', HAND, 0.4, 0.2, 0.3, 0.51, 0.61),    # a weaker hit on it (IoU 0.82)
        _det('a', HAND, 0.9, 0.8, 0.9, 0.1, 0.2),      # on the hand on its own
        _det('a', HAND, 0.5, 0.25, 0.35, 0.5, 0.6),    # 5 px into the person: IoU 1/3
        _det('a', HAND, 0.5, 0.2, 0.3, 0.4, 0.5),      # 10 px up, out of the hand: IoU 0
        _det('a', HAND, 0.1, 0.15, 0.25, 0.5, 0.6),    # 5 px out of it, but scored 0.1
        _det('a', HAND, 0.2, 0.6, 0.7, 0.8, 0.9),      # far from both hands
        _det('a', FACE, 0.95, 0.25, 0.35, 0.5, 0.6),   # another class
        _det('b', HAND, 0.7, 0.6, 0.7, 0.6, 0.7),      # far, but Hand is negative in b
    ])[_COLS]
    return dets, truth, labels


def test_diagnostics_by_hand():
    dets, truth, labels = _scene()
    r = part_diagnostics.class_diagnostics(dets, truth, labels, HAND, min_score=0.3)
    # best hit on the hand inside: 0.6; on its own: 0.9 (image a) and 0 (image b, missed)
    assert r['inside'] == 0.6 and r['n_inside'] == 1
    assert r['own'] == pytest.approx(0.45) and r['n_own'] == 2
    # far false positives in images where Hand is a verified positive: 0.5 (10 px up: IoU 0
    # with the hand) and 0.2; image b's does not count (Hand verified negative there)
    assert r['n_far_fp'] == 2
    assert r['far_fp_q90'] == pytest.approx(0.2 + 0.9 * (0.5 - 0.2))
    # one near miss scored >= 0.3: the box shifted 5 px to the right, towards the person's
    # centre (40, 50) from the hand's (25, 55): projection 5 * 15 / sqrt(15^2 + 5^2) px,
    # in units of the hand's 10-px side; same area as the hand
    assert r['near_misses'] == 1
    assert r['near_miss_area'] == pytest.approx(1.0)
    assert r['inward_share'] == 1.0
    assert r['inward_shift'] == pytest.approx(5 * 15 / math.sqrt(250) / 10)
    # with every score counted, the box shifted 5 px out of the person is a near miss too
    r = part_diagnostics.class_diagnostics(dets, truth, labels, HAND, min_score=0.0)
    assert r['near_misses'] == 2 and r['inward_share'] == 0.5
    assert r['inward_shift'] == pytest.approx(0.0)      # median of +s and -s


def test_diagnostics_of_a_class_without_detections_or_parts():
    dets, truth, labels = _scene()
    r = part_diagnostics.class_diagnostics(dets[dets['LabelName'] != HAND], truth, labels,
                                           HAND)
    assert r['inside'] == 0.0 and r['own'] == 0.0 and r['near_misses'] == 0
    assert r['n_far_fp'] == 0 and math.isnan(r['far_fp_q90'])
    assert math.isnan(r['inward_share']) and math.isnan(r['near_miss_area'])
    r = part_diagnostics.class_diagnostics(dets, truth, labels, '/m/none')
    assert r['n_inside'] == r['n_own'] == 0 and math.isnan(r['inside'])


def test_a_part_inside_a_missing_subject_is_an_error():
    dets, truth, labels = _scene()
    truth.loc[truth['ObjectIndex'] == 0, 'ImageID'] = 'z'     # the person moves away
    with pytest.raises(ValueError, match='ParentIndex'):
        part_diagnostics.class_diagnostics(dets, truth, labels, HAND)


def test_missing_pair_is_a_clear_error(capsys):
    assert part_diagnostics.main(['--pair', 'cooccurrence/no_such_row']) == 2
    assert 'no row' in capsys.readouterr().err


def test_a_missing_dataset_file_is_named(tmp_path, monkeypatch, capsys):
    from experiments import score_threshold
    # a dataset directory with meta.json but without the hidden truth
    root = tmp_path / 'data' / 'embedded_dense_q010_s010_v040'
    root.mkdir(parents=True)
    (root / 'meta.json').write_text('{}')
    monkeypatch.setattr(score_threshold, '_REPO', str(tmp_path))
    with pytest.raises(score_threshold.PairError, match='validation-hidden-truth.csv is '
                       'missing'):
        score_threshold.read_pair_data('cooccurrence/30_dense_validation',
                                       ['validation-hidden-truth.csv'])
    assert part_diagnostics.main(['--pair', 'cooccurrence/30_dense_validation']) == 2
    assert 'validation-hidden-truth.csv is missing' in capsys.readouterr().err
