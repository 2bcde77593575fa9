"""Fixtures of the tests of the scripts that read a with/without pair's stored detections
(``experiments/score_threshold.py``, ``experiments/near_miss_oracle.py``)."""

import os
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

PAIR = 'cooccurrence/30_dense_validation'
WITHOUT = '29_dense_validation_without'


@pytest.fixture(scope='session')
def pair_dataset(tmp_path_factory):
    """A small embedded dataset where every part is verified (q = 1), so every drawn part
    is a scored ground-truth box."""
    from pfdet.datasets import synthetic
    root = str(tmp_path_factory.mktemp('data') / 'embedded')
    synthetic.generate(root, n_train=1, n_val=12, seed=5, q=1.0, p_person=1.0,
                       p_vehicle=1.0, p_bicycle=1.0)
    return root


@pytest.fixture
def staged_pair(pair_dataset, tmp_path, monkeypatch):
    """``stage(without=None, with_=None)``: puts :func:`pair_dataset` where row 30 reads its
    data, writes the given detections (DataFrames) as the seed-0 ``detections.csv`` of rows
    29 and 30, and returns the ``--pair ... --seeds 1 --work-dir ...`` arguments."""
    from experiments import run
    from experiments import score_threshold
    rows = {r.key: r for r in run.discover_rows()}
    link = tmp_path / rows[PAIR].config('toy')['dataset']['root']
    link.parent.mkdir(parents=True)
    os.symlink(pair_dataset, str(link))
    monkeypatch.setattr(score_threshold, '_REPO', str(tmp_path))
    work = tmp_path / 'work'

    def stage(without=None, with_=None):
        for name, d in ((WITHOUT, without), (PAIR.split('/')[1], with_)):
            if d is not None:
                out = work / 'toy' / 'cooccurrence' / name / 'seed0' / 'eval'
                out.mkdir(parents=True, exist_ok=True)
                d.to_csv(str(out / 'detections.csv'), index=False)
        return ['--pair', PAIR, '--seeds', '1', '--work-dir', str(work)]
    return stage
