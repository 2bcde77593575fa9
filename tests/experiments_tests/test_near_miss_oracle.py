"""``experiments/near_miss_oracle.py``: part-class AP with the near-miss detections out."""

import os
import sys

import numpy as np
import pandas as pd
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import near_miss_oracle  # NOQA: E402
from experiments import score_threshold  # NOQA: E402

_COLS = ['ImageID', 'LabelName', 'Score', 'XMin', 'XMax', 'YMin', 'YMax']


def _box(image, label, x0, x1, y0, y1, score=1.0):
    return {'ImageID': image, 'LabelName': label, 'Score': score,
            'XMin': x0, 'XMax': x1, 'YMin': y0, 'YMax': y1, 'IsGroupOf': 0}


def test_near_misses_by_hand():
    truth = pd.DataFrame([_box('a', '/m/face', 0.0, 0.4, 0.0, 0.4),
                          _box('a', '/m/face', 0.4, 0.8, 0.6, 1.0),
                          _box('a', '/m/wheel', 0.0, 0.4, 0.0, 0.4),
                          dict(_box('b', '/m/face', 0.0, 0.4, 0.0, 0.4), IsGroupOf=1)])
    dets = pd.DataFrame([
        _box('a', '/m/face', 0.0, 0.4, 0.0, 0.4),    # 0: IoU 1 with the first face
        _box('a', '/m/face', 0.2, 0.6, 0.0, 0.4),    # 1: IoU 1/3 with it
        _box('a', '/m/face', 0.36, 0.76, 0.0, 0.4),  # 2: IoU 0.053 (below 0.1)
        _box('a', '/m/face', 0.1, 0.5, 0.0, 0.4),    # 3: IoU 0.6 (a hit, not a near miss)
        _box('a', '/m/face', 0.2, 0.6, 0.6, 1.0),    # 4: IoU 1/3 with the second face
        _box('a', '/m/head', 0.2, 0.6, 0.0, 0.4),    # 5: a class not looked at
        _box('a', '/m/wheel', 0.2, 0.6, 0.6, 1.0),   # 6: no wheel there (IoU 0)
        _box('b', '/m/face', 0.2, 0.6, 0.0, 0.4),    # 7: only a group-of box in b
        _box('c', '/m/face', 0.2, 0.6, 0.0, 0.4),    # 8: nothing drawn in c
    ])[_COLS]
    # IoU of detection 2 with the first face: 0.04 * 0.4 / (2 * 0.16 - 0.016) = 0.053
    mask = near_miss_oracle.near_miss_mask(dets, truth, ['/m/face', '/m/wheel'])
    assert mask.tolist() == [False, True, False, False, True, False, False, False, False]
    # the interval is a parameter: [0.5, 0.7) takes detection 3 instead
    mask = near_miss_oracle.near_miss_mask(dets, truth, ['/m/face'], 0.5, 0.7)
    assert np.flatnonzero(mask).tolist() == [3]
    # the index of the frame does not matter
    shuffled = dets.iloc[::-1].set_index(np.arange(100, 100 + len(dets)))
    mask = near_miss_oracle.near_miss_mask(shuffled, truth, ['/m/face', '/m/wheel'])
    assert np.flatnonzero(mask).tolist() == [4, 7]


@pytest.fixture
def dataset(pair_dataset):
    return pair_dataset


def _hits_and_near_misses(root):
    """Every part box of the validation split at score 0.5, and a copy of each shifted by
    half its width (IoU 1/3 with it) at score 0.9."""
    boxes = pd.read_csv(os.path.join(root, 'validation-annotations-bbox.csv'))
    mids = [m for m, _ in score_threshold.part_classes(root)]
    hits = boxes[boxes['LabelName'].isin(mids)].assign(Score=0.5)[_COLS]
    w = hits['XMax'] - hits['XMin']
    step = np.where(hits['XMax'] + w / 2 <= 1, w / 2, -w / 2)
    shifted = hits.assign(XMin=hits['XMin'] + step, XMax=hits['XMax'] + step, Score=0.9)
    return hits.reset_index(drop=True), pd.concat([hits, shifted], ignore_index=True)


def test_closed_form_ap_with_and_without_near_misses(dataset):
    hits, both = _hits_and_near_misses(dataset)
    truth = pd.read_csv(os.path.join(dataset, 'validation-hidden-truth.csv'))
    parts = score_threshold.part_classes(dataset)
    mids = [m for m, _ in parts]
    mask = near_miss_oracle.near_miss_mask(both, truth, mids)
    # the shifted copies are the near misses (on this data none of them comes within IoU 0.5
    # of another drawn part of its class, which would make it a hit)
    assert mask.tolist() == [False] * len(hits) + [True] * len(hits)
    ev = score_threshold.ThresholdedEvaluator(dataset)
    try:
        # n near misses ranked above n hits: precision k / (n + k) at recall k / n, rising
        # to 1/2 at full recall, so the interpolated precision is 1/2 at every recall
        assert ev.part_ap(both, 0.) == {m: pytest.approx(50.0) for m in mids}
        assert ev.part_ap(both[~mask], 0.) == {m: 100.0 for m in mids}
    finally:
        ev.close()


def test_pair_headline(dataset, staged_pair, capsys):
    argv = staged_pair()
    assert near_miss_oracle.main(argv) == 2
    assert '29_dense_validation_without/seed0/eval/detections.csv is missing' in \
        capsys.readouterr().err
    # without the loss: the hits only (AP 100); with it: the hits and their near misses (50)
    hits, both = _hits_and_near_misses(dataset)
    staged_pair(without=hits, with_=both)
    assert near_miss_oracle.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    n = len(hits)
    assert lines[1] == 'seed 0: near misses without/with the loss 0/{}; part-class AP ' \
        'without 100.0, with 50.0; without near misses: without 100.0, with 100.0'.format(n)
    assert lines[-1] == 'near-miss oracle, part-class gain: as evaluated -50.0 (-50.0); ' \
        'with-loss near misses out +0.0 (+0.0); all near misses out +0.0 (+0.0)'


def test_bad_pair_is_named(capsys):
    assert near_miss_oracle.main(['--pair', 'cooccurrence/nope']) == 2
    assert "no row 'cooccurrence/nope'" in capsys.readouterr().err
