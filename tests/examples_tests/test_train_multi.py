"""End-to-end runs of examples/train_multi.py, evaluate.py and predict.py on 2 ranks."""

import json
import os

import numpy as np
import pytest

from example_helpers import run
from example_helpers import TINY

TRAIN = 'examples/train_multi.py'


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_data):
    """One 6-iteration run on 2 ranks (snapshots and evaluation at 3 and 6)."""
    d = tmp_path_factory.mktemp('run')
    cfg = d / 'tiny.py'
    cfg.write_text(TINY.format(root=tiny_data, iteration=6, base_lr=0.02,
                                        eval_every=3, snapshot_every=3))
    out = str(d / 'out')
    p = run([TRAIN, '--config', str(cfg), '--out', out], n_ranks=2)
    return str(cfg), out, p


def _log(out):
    with open(os.path.join(out, 'log')) as f:
        return {e['iteration']: e for e in json.load(f)}


def test_smoke_two_ranks(trained):
    cfg, out, p = trained
    assert p.returncode == 0, p.stdout[-3000:]
    assert '2 rank(s), communicator naive' in p.stdout
    log = _log(out)
    assert sorted(log) == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(e['main/loss']) for e in log.values())
    assert 'validation/main/map' in log[3] and 'validation/main/map' in log[6]
    assert 'validation/main/map' not in log[4]
    for name in ('args', 'loss.png', 'map.png', 'model_final.npz', 'snapshot_iter_3',
                 'snapshot_iter_6'):
        assert os.path.exists(os.path.join(out, name)), name
    with open(os.path.join(out, 'args')) as f:
        args = json.load(f)
    assert args['n_ranks'] == 2 and args['total_iteration'] == 6
    assert args['config']['train']['batchsize'] == 2
    assert not [n for n in os.listdir(out) if 'tmp' in n]


def test_lr_schedule_in_log(trained):
    from pfdet.training import lr_at
    _, out, _ = trained
    log = _log(out)
    for it, e in log.items():
        # global batch 2 -> lr0 = 0.02 * 2 / 16; update `it` ran with lr_at(it - 1)
        assert e['lr'] == pytest.approx(lr_at(it - 1, 0.0025, 6, warmup_iteration=2))


def test_evaluate_matches_training_evaluation(trained, tmp_path):
    cfg, out, _ = trained
    p = run(['examples/evaluate.py', '--config', cfg, '--model',
             os.path.join(out, 'model_final.npz'), '--out', str(tmp_path)], n_ranks=2)
    assert p.returncode == 0, p.stdout[-3000:]
    with open(tmp_path / 'result.json') as f:
        result = json.load(f)
    # same model, same images, same metric: identical to the trainer's last evaluation
    assert result['map'] == pytest.approx(_log(out)[6]['validation/main/map'], abs=1e-12)
    assert result['n_images'] == 8
    assert 'mAP (OID challenge metric' in p.stdout
    import pandas as pd
    ap = pd.read_csv(tmp_path / 'per_class_ap.csv')
    assert list(ap.columns) == ['LabelName', 'Name', 'AP', 'NumGT']
    assert np.nanmean(ap['AP']) == pytest.approx(result['map'])
    assert (ap['NumGT'] > 0).sum() == result['n_classes_with_gt']
    sub = pd.read_csv(tmp_path / 'submission.csv', keep_default_na=False)
    assert list(sub.columns) == ['ImageId', 'PredictionString'] and len(sub) == 8
    # detections.csv holds the same predictions as the submission, in evaluator format
    from pfdet.datasets import oid_io
    det = oid_io.read_predictions_csv(str(tmp_path / 'detections.csv'))
    assert len(det) == result['n_detections']
    from_sub = oid_io.read_submission(str(tmp_path / 'submission.csv'))
    key = ['ImageID', 'LabelName', 'Score', 'XMin', 'YMin']
    a = det.sort_values(key).reset_index(drop=True)
    b = from_sub.sort_values(key).reset_index(drop=True)
    assert (a['ImageID'] == b['ImageID']).all() and (a['LabelName'] == b['LabelName']).all()
    np.testing.assert_allclose(a[['Score', 'XMin', 'XMax', 'YMin', 'YMax']].to_numpy(float),
                               b[['Score', 'XMin', 'XMax', 'YMin', 'YMax']].to_numpy(float),
                               rtol=1e-5, atol=1e-6)
    # and the official-compatible CLI scores detections.csv with the same mAP, after the
    # official two-step workflow (expand the validation CSVs, then evaluate)
    root = json.load(open(os.path.join(out, 'args')))['config']['dataset']['root']
    exp = {}
    for kind, name in ((1, 'validation-annotations-bbox.csv'),
                       (2, 'validation-annotations-human-imagelabels.csv')):
        exp[kind] = str(tmp_path / ('expanded-' + name))
        q = run(['-m', 'pfdet.datasets.expand_hierarchy', '--json_hierarchy_file',
                 os.path.join(root, 'hierarchy.json'), '--input_annotations',
                 os.path.join(root, name), '--output_annotations', exp[kind],
                 '--annotation_type', str(kind)])
        assert q.returncode == 0, q.stdout
    q = run(['-m', 'pfdet.evaluations.oid_challenge', '--input_annotations_boxes', exp[1],
             '--input_annotations_labels', exp[2], '--input_class_labelmap',
             os.path.join(root, 'label_map.pbtxt'), '--input_predictions',
             str(tmp_path / 'detections.csv'), '--output_metrics', str(tmp_path / 'm.csv')])
    assert q.returncode == 0, q.stdout
    metrics = pd.read_csv(tmp_path / 'm.csv', header=None, index_col=0)[1]
    assert metrics.iloc[0] == pytest.approx(result['map'], abs=1e-4)


def test_evaluate_from_trainer_snapshot(trained, tmp_path):
    cfg, out, _ = trained
    p = run(['examples/evaluate.py', '--config', cfg, '--model',
             os.path.join(out, 'snapshot_iter_6'), '--out', str(tmp_path), '--n-images', '3'])
    assert p.returncode == 0, p.stdout[-3000:]
    with open(tmp_path / 'result.json') as f:
        assert json.load(f)['n_images'] == 3


def test_predict_writes_pngs(trained, tmp_path):
    cfg, out, _ = trained
    p = run(['examples/predict.py', '--config', cfg, '--model',
             os.path.join(out, 'model_final.npz'), '--out', str(tmp_path), '--n-images', '2',
             '--score-thresh', '0.0'])
    assert p.returncode == 0, p.stdout[-3000:]
    pngs = sorted(os.listdir(str(tmp_path)))
    assert len(pngs) == 2 and all(n.endswith('.png') for n in pngs)
    with open(tmp_path / pngs[0], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_resume_matches_uninterrupted(trained, tmp_path):
    """Resuming from iteration 3 reproduces iterations 4-6 of the uninterrupted run:
    losses, learning rates, parameters, optimizer state (momentum, t) and BN statistics."""
    cfg, out, _ = trained
    out2 = str(tmp_path / 'resumed')
    p = run([TRAIN, '--config', cfg, '--out', out2, '--resume',
             os.path.join(out, 'snapshot_iter_3')], n_ranks=2)
    assert p.returncode == 0, p.stdout[-3000:]
    assert 'resumed from' in p.stdout and '(iteration 3)' in p.stdout
    ref, got = _log(out), _log(out2)
    assert sorted(got) == [1, 2, 3, 4, 5, 6]   # LogReport's history is restored too
    for it in (4, 5, 6):
        for key in ('main/loss', 'main/loss/rpn/loc', 'main/loss/bbox_head/conf', 'lr'):
            assert got[it][key] == ref[it][key], (it, key)
    assert got[6]['validation/main/map'] == ref[6]['validation/main/map']
    a = np.load(os.path.join(out, 'snapshot_iter_6'))
    b = np.load(os.path.join(out2, 'snapshot_iter_6'))
    keys = [k for k in a.files if k.startswith('updater/')]
    assert any('optimizer:main' in k and k.endswith('/v') for k in keys)  # momentum
    assert any(k.endswith('avg_mean') for k in keys)                       # BN statistics
    for k in keys:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _max_same_class_iou(detections_csv):
    """Largest IoU between two detections of the same class in the same image."""
    import pandas as pd
    from chainercv.utils import bbox_iou
    det = pd.read_csv(detections_csv)
    worst = 0.
    for _, g in det.groupby(['ImageID', 'LabelName']):
        if len(g) > 1:
            iou = bbox_iou(*[g[['YMin', 'XMin', 'YMax', 'XMax']].to_numpy()] * 2)
            worst = max(worst, float(iou[~np.eye(len(g), dtype=bool)].max()))
    return worst


def test_evaluate_applies_the_config_suppression_threshold(trained, tmp_path):
    """``eval.nms_thresh`` replaces the preset's IoU threshold of the per-class suppression
    (recorded in result.json). With plain NMS the kept boxes of a class overlap by at most
    the threshold: 0.5 by default, 0.05 when the config says so."""
    cfg, out, _ = trained
    worst = {}
    for thr in (None, 0.05):
        cfg_thr = tmp_path / 'nms{}.py'.format(thr)
        cfg_thr.write_text(open(cfg).read() + "\nconfig['model']['suppression'] = 'nms'\n"
                           "config['eval']['nms_thresh'] = {!r}\n".format(thr))
        res = tmp_path / str(thr)
        p = run(['examples/evaluate.py', '--config', str(cfg_thr), '--model',
                 os.path.join(out, 'model_final.npz'), '--out', str(res)])
        assert p.returncode == 0, p.stdout[-3000:]
        with open(res / 'result.json') as f:
            result = json.load(f)
        assert result['postprocess'] == {'suppression': 'nms', 'iou_thresh': thr or 0.5,
                                         'score_thresh': 0.01, 'max_n_detection': 100}
        worst[thr] = _max_same_class_iou(str(res / 'detections.csv'))
    assert 0.05 < worst[None] <= 0.5 + 1e-4
    assert worst[0.05] <= 0.05 + 1e-4


def test_inverse_annotation_rate_weights_on_two_ranks(make_config, tiny_data, tmp_path):
    """``train_chain.cooc_reweight``: rank 0 computes the weights from the training CSVs and
    broadcasts them; ``args`` records them per pair, as the builder computes them here."""
    from pfdet.training import builder, load_config
    cfg = make_config(iteration=2, eval_every=2, snapshot_every=2, extra='''
        config['train_chain']['cooc_reweight'] = True
    ''')
    out = str(tmp_path / 'out')
    p = run([TRAIN, '--config', cfg, '--out', out], n_ranks=2)
    assert p.returncode == 0, p.stdout[-3000:]
    with open(os.path.join(out, 'args')) as f:
        args = json.load(f)
    recorded = args['cooccurrence_pair_weights']
    assert [r[:2] for r in recorded] == args['cooccurrence_pairs'] != []
    config = load_config(cfg)
    train, _, classes = builder.build_datasets(config)
    weights, rates = builder.cooc_pair_weights(
        [tuple(p) for p in args['cooccurrence_pairs']], classes, train)
    index = {m: i for i, m in enumerate(classes.mids)}
    for s, part, w in recorded:
        assert w == pytest.approx(float(weights[index[s], index[part]]))
        assert w >= 1
    assert (rates['n_verified'] > 0).any()
