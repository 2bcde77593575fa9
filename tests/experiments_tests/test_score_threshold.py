"""``experiments/score_threshold.py``: the challenge metric on detections above a score."""

import os
import sys

import numpy as np
import pandas as pd
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import score_threshold  # NOQA: E402


@pytest.fixture
def dataset(pair_dataset):
    return pair_dataset


def _perfect_detections(root, high_every=2):
    """Every annotated part box of the validation split as a detection; every
    ``high_every``-th one of a class scores 0.8, the others 0.2."""
    boxes = pd.read_csv(os.path.join(root, 'validation-annotations-bbox.csv'))
    mids = [m for m, _ in score_threshold.part_classes(root)]
    parts = boxes[boxes['LabelName'].isin(mids)].copy()
    rank = parts.groupby('LabelName').cumcount().to_numpy()
    parts['Score'] = np.where(rank % high_every == 0, 0.8, 0.2)
    cols = ['ImageID', 'LabelName', 'Score', 'XMin', 'XMax', 'YMin', 'YMax']
    return parts[cols].reset_index(drop=True), rank


def test_part_ap_above_a_score(dataset):
    parts = score_threshold.part_classes(dataset)
    assert sorted(n for _, n in parts) == ['Bicycle wheel', 'Human face', 'Human hand',
                                           'Human head', 'Wheel']
    dets, _ = _perfect_detections(dataset)
    ev = score_threshold.ThresholdedEvaluator(dataset)
    try:
        # all detections: every box found, precision 1
        assert ev.part_ap(dets, 0.0) == {m: 100.0 for m, _ in parts}
        # above 0.5 only the high-scoring share is found, still at precision 1: AP = recall
        high = ev.part_ap(dets, 0.5)
        for mid, _ in parts:
            n = int((dets['LabelName'] == mid).sum())
            assert n > 0
            assert high[mid] == pytest.approx(100.0 * int(np.ceil(n / 2.)) / n)
    finally:
        ev.close()


def test_mean_ignores_classes_without_ground_truth():
    assert score_threshold.mean([10.0, float('nan'), 30.0]) == 20.0
    assert score_threshold.mean([float('nan')]) != score_threshold.mean([float('nan')])


def test_errors_name_what_is_missing(tmp_path, monkeypatch, capsys):
    assert score_threshold.main(['--pair', 'cooccurrence/nope']) == 2
    assert "no row 'cooccurrence/nope'" in capsys.readouterr().err
    assert score_threshold.main(['--pair', 'cooccurrence/15_dense_scenes_without']) == 2
    assert 'no row names cooccurrence/15_dense_scenes_without in WITH' in \
        capsys.readouterr().err
    monkeypatch.setattr(score_threshold, '_REPO', str(tmp_path))
    assert score_threshold.main(['--pair', 'cooccurrence/30_dense_validation']) == 2
    assert 'holds no embedded dataset: run cooccurrence/30_dense_validation first' in \
        capsys.readouterr().err


def test_missing_detections_are_named(dataset, staged_pair, capsys):
    argv = staged_pair()
    assert score_threshold.main(argv) == 2
    assert 'cooccurrence/29_dense_validation_without/seed0/eval/detections.csv is missing: ' \
        'run cooccurrence/29_dense_validation_without seed 0 first' in capsys.readouterr().err
    # with the detections of both rows there, it prints one line per seed and threshold
    dets, _ = _perfect_detections(dataset)
    staged_pair(without=dets.assign(Score=dets['Score'] / 4), with_=dets)
    assert score_threshold.main(argv + ['--thresholds', '0,0.5']) == 0
    lines = capsys.readouterr().out.splitlines()
    # scores divided by 4 keep the ranking (same AP) but drop below 0.5 (AP 0)
    assert 'seed 0 score >= 0: part-class AP without 100.0, with 100.0, gain +0.0' in lines
    n = dets.groupby('LabelName').size()
    gain = np.mean([100.0 * np.ceil(k / 2.) / k for k in n])
    assert lines[-1] == 'score >= 0: part-class gain +0.0 (+0.0); score >= 0.5: part-class ' \
        'gain {0:+.1f} ({0:+.1f})'.format(gain)
