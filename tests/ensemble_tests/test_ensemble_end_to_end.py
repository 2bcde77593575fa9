"""General model + one expert + merge on a generated embedded dataset.

The default tests make the expert's subset and config with
``experiments/experts/make_expert.py``, check that the training loader reads
them, and run ``examples/ensemble.py`` on detections derived cheaply from the
validation ground truth (noisy for the general model, exact for the expert).
The ``slow`` test trains both models for a few iterations instead.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pfdet import ensemble
from pfdet import utils
from pfdet.datasets import ClassHierarchy
from pfdet.datasets import read_bbox_csv
from pfdet.datasets import read_class_descriptions
from pfdet.datasets import read_image_labels_csv
from pfdet.datasets import read_submission
from pfdet.datasets import write_bbox_csv
from pfdet.datasets import write_image_labels_csv
from pfdet.datasets import write_predictions_csv
from pfdet.evaluations.oid_challenge import evaluate_oid_challenge

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TOY_BASE = os.path.join(ROOT, 'experiments', 'pfdet', 'toy_base.py')


def load_script(rel):
    spec = importlib.util.spec_from_file_location(
        'script_' + os.path.basename(rel)[:-3], os.path.join(ROOT, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_expert = load_script('experiments/experts/make_expert.py')
ensemble_cli = load_script('examples/ensemble.py')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from pfdet.datasets import synthetic
    root = str(tmp_path_factory.mktemp('e2e') / 'embedded')
    synthetic.generate(root, n_train=60, n_val=24, seed=0)
    return root


@pytest.fixture(scope='module')
def expert(data, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('expert') / 'class20')
    assert make_expert.main(['--base', TOY_BASE, '--data-root', data,
                             '--size', '20', '--out', out]) == 0
    return out


def check_submission(path, image_ids):
    """Kaggle format: header, 6-token tuples, every image exactly once."""
    with open(path) as f:
        assert f.readline().rstrip('\n') == 'ImageId,PredictionString'
    sub = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert sorted(sub['ImageId']) == sorted(image_ids)
    n_tok = sub['PredictionString'].str.split().str.len()
    assert (n_tok % 6 == 0).all()
    df = read_submission(path)  # numeric, parsable
    assert ((df['XMin'] <= df['XMax']) & (df['YMin'] <= df['YMax'])).all()
    return df


def expanded_val(data):
    h = ClassHierarchy.from_json(os.path.join(data, 'hierarchy.json'))
    boxes = h.expand_boxes(read_bbox_csv(
        os.path.join(data, 'validation-annotations-bbox.csv')))
    labels = h.expand_image_labels(read_image_labels_csv(
        os.path.join(data, 'validation-annotations-human-imagelabels.csv')))
    return boxes, labels


def gt_detections(boxes, rng, noise):
    """Detections from GT boxes: jittered copies, duplicates, false ones."""
    n = len(boxes)
    det = pd.DataFrame({'ImageID': boxes['ImageID'].to_numpy(),
                        'LabelName': boxes['LabelName'].to_numpy()})
    det['Score'] = 1.0 if noise == 0 else rng.uniform(0.3, 1, n)
    for c in ('XMin', 'XMax', 'YMin', 'YMax'):
        det[c] = np.clip(boxes[c].to_numpy() + rng.normal(0, noise, n), 0, 1)
    if noise == 0:
        return det
    lo = np.minimum(det['XMin'], det['XMax'])
    det['XMax'] = np.maximum(det['XMin'], det['XMax'])
    det['XMin'] = lo
    lo = np.minimum(det['YMin'], det['YMax'])
    det['YMax'] = np.maximum(det['YMin'], det['YMax'])
    det['YMin'] = lo
    dup = det.sample(frac=0.5, random_state=rng).copy()
    dup['Score'] *= 0.5
    dup['XMax'] = np.clip(dup['XMax'] + 0.02, 0, 1)
    false = det.sample(frac=0.3, random_state=rng).copy()
    false['LabelName'] = rng.permutation(false['LabelName'].to_numpy())
    false['Score'] = rng.uniform(0, 0.6, len(false))
    return pd.concat([det, dup, false], ignore_index=True)


def test_expert_subset_and_config(data, expert):
    from pfdet.training import builder
    from pfdet.training import load_config
    mids, _ = read_class_descriptions(os.path.join(expert,
                                                   'class-descriptions.csv'))
    assert len(mids) == 20
    config = load_config(os.path.join(expert, 'config.py'))
    base = load_config(TOY_BASE)
    assert config['model'] == base['model']
    assert config['train'] == base['train']
    with pytest.warns(UserWarning, match='dropped'):
        train, val, classes = builder.build_datasets(config)
    assert classes.mids == mids
    roles = pd.read_csv(os.path.join(expert, 'train-images.csv'))
    assert sorted(train.image_ids) == sorted(roles['ImageID'])
    assert (roles['Role'] == 'negative').sum() == \
        (roles['Role'] == 'positive').sum()  # negative ratio 1
    # every positive has an expert box, no negative has one
    pos = set(roles['ImageID'][roles['Role'] == 'positive'])
    has_box = set(train.bbox_df['ImageID'])
    assert has_box == pos
    # the validation split is the general one (all images kept)
    assert len(val) == 24
    _, label, _ = train.slice[:, ('bbox', 'label', 'is_group_of')][0]
    assert label.dtype == np.int32 and (label < 20).all()


def per_image_nmw(det, mids):
    out = []
    for image in det['ImageID'].unique():
        g = det[det['ImageID'] == image]
        lab = np.searchsorted(mids, g['LabelName'].to_numpy())
        bbox, score, lab = utils.non_maximum_weighted(
            g[['YMin', 'XMin', 'YMax', 'XMax']].to_numpy(),
            g['Score'].to_numpy(), lab)
        out.append(pd.DataFrame({
            'ImageID': image, 'LabelName': mids[lab], 'Score': score,
            'XMin': bbox[:, 1], 'XMax': bbox[:, 3],
            'YMin': bbox[:, 0], 'YMax': bbox[:, 2]}))
    return pd.concat(out, ignore_index=True)


@pytest.fixture(scope='module')
def models(data, expert, tmp_path_factory):
    """detections.csv + per_class_ap.csv of a noisy general model and an exact
    expert, as examples/evaluate.py writes them."""
    d = tmp_path_factory.mktemp('models')
    boxes, labels = expanded_val(data)
    class_list = os.path.join(data, 'class-descriptions.csv')
    gt = (os.path.join(data, 'validation-annotations-bbox.csv'),
          os.path.join(data, 'validation-annotations-human-imagelabels.csv'))
    hier = os.path.join(data, 'hierarchy.json')
    expert_mids, _ = read_class_descriptions(os.path.join(
        expert, 'class-descriptions.csv'))
    rng = np.random.RandomState(0)
    dets = {'general': gt_detections(boxes, rng, 0.03),
            'expert': gt_detections(
                boxes[boxes['LabelName'].isin(expert_mids)], rng, 0)}
    paths = {}
    for name, det in dets.items():
        os.makedirs(str(d / name))
        det_path = str(d / name / 'detections.csv')
        write_predictions_csv(det_path, det)
        result = ensemble.evaluate_detections(det_path, *gt, class_list,
                                              hierarchy=hier)
        table = result['per_class']
        if name == 'expert':
            table = table[table['LabelName'].isin(expert_mids)]
        ap_path = str(d / name / 'per_class_ap.csv')
        ensemble.write_per_class_ap(ap_path, table)
        paths[name] = (det_path, ap_path)
    # expanded GT files for the independent metric calls
    exp_boxes, exp_labels = str(d / 'boxes.csv'), str(d / 'labels.csv')
    write_bbox_csv(exp_boxes, boxes, fmt='2019')
    write_image_labels_csv(exp_labels, labels)
    return dict(paths=paths, dets=dets, gt=gt, hierarchy=hier,
                class_list=class_list, expert_mids=expert_mids,
                expanded=(exp_boxes, exp_labels), dir=d)


def test_evaluate_detections_matches_the_challenge_tool(models):
    det_path, _ = models['paths']['general']
    result = ensemble.evaluate_detections(
        det_path, *models['gt'], models['class_list'],
        hierarchy=models['hierarchy'])
    metrics, _ = evaluate_oid_challenge(*models['expanded'],
                                        models['class_list'], det_path)
    assert result['map'] == list(metrics.values())[0]
    np.testing.assert_array_equal(result['per_class']['AP'].to_numpy(),
                                  np.array(list(metrics.values())[1:]))
    # exact GT detections score AP 1 on every class with ground truth
    det_path, _ = models['paths']['expert']
    expert = ensemble.evaluate_detections(
        det_path, *models['gt'], models['class_list'],
        hierarchy=models['hierarchy'])['per_class']
    ap = expert.set_index('LabelName')['AP']
    ap = ap[models['expert_mids']].dropna()
    assert len(ap) > 0 and (ap == 1).all()


def run_cli(models, out, *extra):
    g, e = models['paths']['general'], models['paths']['expert']
    args = ['--detections', g[0], e[0], '--per-class-ap', g[1], e[1],
            '--class-list', models['class_list'],
            '--gt-boxes', models['gt'][0], '--gt-labels', models['gt'][1],
            '--hierarchy', models['hierarchy'], '--out', str(out)]
    return ensemble_cli.main(args + list(extra))


def test_merge_replace_end_to_end(models, expert, data, tmp_path, capsys):
    out = tmp_path / 'merged'
    assert run_cli(models, out, '--expert-classes', '-',
                   os.path.join(expert, 'class-descriptions.csv'),
                   '--expert-mode', 'replace',
                   '--images', os.path.join(data, 'validation')) == 0
    printed = capsys.readouterr().out
    val_ids = [n[:-4] for n in os.listdir(os.path.join(data, 'validation'))]
    check_submission(str(out / 'submission.csv'), val_ids)
    table = ensemble.read_per_class_ap(str(out / 'per_class_ap.csv'))
    ap = table.set_index('LabelName')['AP']
    mids = np.array(models['expert_mids'], dtype=object)
    # the expert's classes come only from the (exact) expert: AP 1, where
    # the noisy general model was worse
    with_gt = ap[mids].dropna()
    assert len(with_gt) > 0 and (with_gt == 1).all()
    general_ap = ensemble.read_per_class_ap(models['paths']['general'][1])
    general_ap = general_ap.set_index('LabelName')['AP'][with_gt.index]
    assert (general_ap < 1).any()
    # the other classes are the general model's, NMW-suppressed per image
    general = models['dets']['general']
    rest = general[~general['LabelName'].isin(mids)]
    oracle = per_image_nmw(rest, np.sort(general['LabelName'].unique()))
    assert len(oracle) < len(rest)  # NMW fused the duplicates
    oracle_path = str(tmp_path / 'oracle.csv')
    write_predictions_csv(oracle_path, oracle)
    metrics, _ = evaluate_oid_challenge(*models['expanded'],
                                        models['class_list'], oracle_path)
    oracle_ap = pd.Series(list(metrics.values())[1:],
                          index=read_class_descriptions(
                              models['class_list'])[0])
    others = ~ap.index.isin(mids) & ~np.isnan(ap.to_numpy())
    np.testing.assert_allclose(ap[others], oracle_ap[ap.index[others]],
                               rtol=1e-12)
    assert 'mAP: {:.4f}'.format(np.nanmean(ap)) in printed
    merged = pd.read_csv(str(out / 'detections.csv'))
    assert set(merged['LabelName'][merged['LabelName'].isin(mids)]) <= set(
        models['dets']['expert']['LabelName'])


def test_merge_augment_end_to_end(models, expert, data, tmp_path, capsys):
    out = tmp_path / 'merged'
    assert run_cli(models, out, '--expert-classes', '-',
                   os.path.join(expert, 'class-descriptions.csv'),
                   '--method', 'adj_nms') == 0
    printed = capsys.readouterr().out
    val_ids = [n[:-4] for n in os.listdir(os.path.join(data, 'validation'))]
    df = check_submission(str(out / 'submission.csv'), val_ids)
    assert len(df) == len(pd.read_csv(str(out / 'detections.csv')))
    assert 'mAP:' in printed and 'merged 2 models' in printed
    for name in ('metrics.csv', 'ensemble.json', 'per_class_ap.csv'):
        assert os.path.exists(str(out / name))


def test_cli_bad_input_exits_2(models, tmp_path, capsys):
    g, _ = models['paths']['general']
    bad = str(tmp_path / 'bad.csv')
    det = pd.read_csv(g).head(3)
    det.loc[2, 'LabelName'] = '/m/not_a_class'
    write_predictions_csv(bad, det)
    with pytest.raises(SystemExit) as e:
        ensemble_cli.main(['--detections', g, bad, '--class-list',
                           models['class_list'], '--out', str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 4: unknown class '/m/not_a_class'" in err
    with pytest.raises(SystemExit) as e:
        ensemble_cli.main(['--detections', g, g, '--per-class-ap', g,
                           '--out', str(tmp_path)])
    assert e.value.code == 2
    assert 'per_class_ap has 1 entries for 2' in capsys.readouterr().err


# ------------------------------------------------------------- slow

TINY = '''
from experiments.pfdet.toy_base import config as _base
from pfdet.training import deep_update

config = deep_update(_base, dict(
    dataset=dict(root={root!r}),
    model=dict(min_size=64, max_size=96, fpn_channels=16, head_fc_channels=32),
    train_chain=dict(head_n_sample=32, rpn_n_sample=64),
    train=dict(batchsize=2, epoch=None, iteration=4, scales=(64, 80),
               max_size=96, warmup_iteration=2),
    eval=dict(interval=(4, 'iteration'), batchsize=4),
    log=dict(interval=(1, 'iteration'), snapshot_interval=(4, 'iteration'),
             keep_snapshots=None, progress_bar=False),
))
'''


def _run(args, timeout=300):
    mpiexec = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
    cmd = [mpiexec, '--oversubscribe', '-n', '1']
    if os.geteuid() == 0:
        cmd.insert(1, '--allow-run-as-root')
    env = dict(os.environ, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1')
    p = subprocess.run(cmd + [sys.executable] + args, cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, universal_newlines=True)
    assert p.returncode == 0, p.stdout[-3000:]
    return p


def _model_outputs(eval_dir):
    """detections.csv (or the submission) and the per-class AP table."""
    det = os.path.join(eval_dir, 'detections.csv')
    if not os.path.exists(det):
        det = os.path.join(eval_dir, 'submission.csv')
    for name in ('per_class_ap.csv', 'ap_per_class.csv'):
        ap = os.path.join(eval_dir, name)
        if os.path.exists(ap):
            return det, ap
    raise AssertionError('no per-class AP table in {}'.format(
        os.listdir(eval_dir)))


@pytest.mark.slow
def test_trained_general_and_expert_merge(tmp_path):
    from pfdet.datasets import synthetic
    data = str(tmp_path / 'data')
    synthetic.generate(data, n_train=24, n_val=8, seed=0, size=(64, 96))
    general_cfg = tmp_path / 'general.py'
    general_cfg.write_text(TINY.format(root=data))
    expert_dir = str(tmp_path / 'expert')
    assert make_expert.main(['--base', str(general_cfg), '--size', '10',
                             '--out', expert_dir]) == 0
    expert_cfg = os.path.join(expert_dir, 'config.py')
    outs = {}
    for name, cfg in (('general', str(general_cfg)), ('expert', expert_cfg)):
        train_out = str(tmp_path / name / 'train')
        _run(['examples/train_multi.py', '--config', cfg, '--out',
              train_out])
        eval_out = str(tmp_path / name / 'eval')
        _run(['examples/evaluate.py', '--config', cfg, '--model',
              os.path.join(train_out, 'model_final.npz'), '--out',
              eval_out])
        outs[name] = _model_outputs(eval_out)
    merged = str(tmp_path / 'merged')
    assert ensemble_cli.main([
        '--detections', outs['general'][0], outs['expert'][0],
        '--per-class-ap', outs['general'][1], outs['expert'][1],
        '--expert-classes', '-',
        os.path.join(expert_dir, 'class-descriptions.csv'),
        '--class-list', os.path.join(data, 'class-descriptions.csv'),
        '--gt-boxes', os.path.join(data, 'validation-annotations-bbox.csv'),
        '--gt-labels', os.path.join(
            data, 'validation-annotations-human-imagelabels.csv'),
        '--hierarchy', os.path.join(data, 'hierarchy.json'),
        '--images', os.path.join(data, 'validation'),
        '--out', merged]) == 0
    val_ids = [n[:-4] for n in os.listdir(os.path.join(data, 'validation'))]
    check_submission(os.path.join(merged, 'submission.csv'), val_ids)
    table = ensemble.read_per_class_ap(os.path.join(merged,
                                                    'per_class_ap.csv'))
    assert np.isfinite(np.nanmean(table['AP']))
