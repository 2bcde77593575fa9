"""The one-command demo (``make demo``): data, 2-rank training, OID evaluation, pictures.

Steps (each one a subprocess, as a user would type it):

1. generate the embedded dataset into the config's ``dataset.root`` with
   ``python -m pfdet.datasets.synthetic`` (``dataset.synthetic`` of the config: image counts
   and seed), unless it is already there with the same parameters;
2. train with ``mpiexec -n 2 python examples/train_multi.py --config experiments/demo.py``
   (one BLAS thread per rank);
3. evaluate on the validation split with the Open Images Challenge metric
   (``mpiexec -n 2 python examples/evaluate.py``): per-class table, AP CSV, submission CSV;
4. draw detections on validation images (``examples/predict.py``) next to the training
   curves ``loss.png`` / ``map.png``.

The last line printed is the headline, e.g.
``demo: val mAP 0.642 (OID challenge metric), wall time 5m36s``.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from pfdet.training import ConfigError  # NOQA: E402
from pfdet.training import load_config  # NOQA: E402


def _default_mpiexec():
    cmd = [os.path.join(os.path.dirname(sys.executable), 'mpiexec'), '--oversubscribe']
    if hasattr(os, 'geteuid') and os.geteuid() == 0:
        cmd.append('--allow-run-as-root')
    return ' '.join(shlex.quote(c) for c in cmd)


def _minutes(seconds):
    s = int(round(seconds))
    return '{}m{:02d}s'.format(s // 60, s % 60)


def _step(title, cmd, env):
    print('\n== {}\n$ {}'.format(title, ' '.join(shlex.quote(c) for c in cmd)), flush=True)
    start = time.time()
    rc = subprocess.call(cmd, cwd=_REPO, env=env)
    if rc != 0:
        print('demo: step "{}" failed with exit status {}'.format(title, rc), flush=True)
        sys.exit(rc if rc > 0 else 1)
    print('-- {} done in {}'.format(title, _minutes(time.time() - start)), flush=True)


def _dataset_ready(root, synthetic):
    meta = os.path.join(root, 'meta.json')
    if not os.path.exists(meta):
        return False
    with open(meta) as f:
        meta = json.load(f)
    splits = meta.get('splits', {})
    params = meta.get('params', {})
    same_params = all(
        (list(v) if isinstance(v, (list, tuple)) else v) == params.get(k)
        for k, v in synthetic.get('params', {}).items())
    return (meta.get('seed') == synthetic.get('seed', 0) and same_params
            and splits.get('train', {}).get('n_images') == synthetic['n_train']
            and splits.get('validation', {}).get('n_images') == synthetic['n_val'])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='pfdet one-command demo')
    parser.add_argument('--config', default='experiments/demo.py')
    parser.add_argument('--out', default='result/demo')
    parser.add_argument('--mpiexec', default=None,
                        help='mpiexec command line without -n (default: the venv mpiexec '
                             'with --oversubscribe, and --allow-run-as-root as root)')
    parser.add_argument('--n-ranks', type=int, default=2)
    parser.add_argument('--n-pictures', type=int, default=6,
                        help='validation images drawn with their detections')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    try:
        config = load_config(os.path.join(_REPO, args.config)
                             if not os.path.isabs(args.config) else args.config)
    except ConfigError as e:
        sys.exit('error: {}'.format(e))
    root = config['dataset']['root']
    synthetic = config['dataset']['synthetic']
    if root is None or synthetic is None:
        sys.exit('error: {}: the demo needs dataset.root and dataset.synthetic'.format(
            args.config))
    root = os.path.join(_REPO, root)
    mpiexec = shlex.split(args.mpiexec or _default_mpiexec()) + ['-n', str(args.n_ranks)]
    py = sys.executable
    env = dict(os.environ)
    # 2 ranks on 2 cores: one BLAS/OpenMP thread per rank.
    env.update(OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONUNBUFFERED='1')
    out = os.path.join(_REPO, args.out)
    train_out = os.path.join(out, 'train')
    eval_out = os.path.join(out, 'eval')
    pictures = os.path.join(out, 'detections')

    if _dataset_ready(root, synthetic):
        print('== data: {} is ready'.format(root))
    else:
        cmd = [py, '-m', 'pfdet.datasets.synthetic', '--out', root,
               '--n-images', str(synthetic['n_train']), '--n-val', str(synthetic['n_val']),
               '--seed', str(synthetic.get('seed', 0)), '--jobs', str(args.n_ranks),
               '--overwrite']
        for key, value in sorted(synthetic.get('params', {}).items()):
            cmd += ['--' + key.replace('_', '-')] + [str(v) for v in (
                value if isinstance(value, (list, tuple)) else [value])]
        _step('generate the embedded dataset', cmd, env)

    if os.path.exists(os.path.join(train_out, 'model_final.npz')):
        os.remove(os.path.join(train_out, 'model_final.npz'))
    _step('train ({} ranks)'.format(args.n_ranks),
          mpiexec + [py, 'examples/train_multi.py', '--config', args.config,
                     '--out', train_out], env)
    model = os.path.join(train_out, 'model_final.npz')
    _step('evaluate on the validation split (OID challenge metric)',
          mpiexec + [py, 'examples/evaluate.py', '--config', args.config, '--model', model,
                     '--out', eval_out], env)
    _step('draw detections',
          [py, 'examples/predict.py', '--config', args.config, '--model', model,
           '--out', pictures, '--n-images', str(args.n_pictures)], env)

    with open(os.path.join(eval_out, 'result.json')) as f:
        result = json.load(f)
    print('\nper-class AP: {}\nsubmission:   {}\ncurves:       {} {}\ndetections:   {}'.format(
        os.path.join(eval_out, 'per_class_ap.csv'), os.path.join(eval_out, 'submission.csv'),
        os.path.join(train_out, 'loss.png'), os.path.join(train_out, 'map.png'), pictures))
    print('demo: val mAP {:.3f} (OID challenge metric), wall time {}'.format(
        result['map'], _minutes(time.time() - start)))


if __name__ == '__main__':
    main()
