"""Run the paper's experiment rows, record the results, regenerate the tables.

Usage::

    python experiments/run.py --rows all --seeds 2 [--budget-minutes 70]
    python experiments/run.py --rows 04,05 --seeds 3          # by number or file stem
    python experiments/run.py --rows ablation --scale full --n-ranks 512 \\
        --mpiexec "mpiexec -hostfile hosts"                     # GPUs, Open Images
    python experiments/run.py --table-only                     # only rewrite RESULTS.md
    python experiments/run.py --rows all --seeds 2 --dry-run   # list what would run

For each selected row (``experiments/pfdet/ablation/NN_*.py``, then the rows of
``experiments/pfdet/results_table/``) and each seed ``0 .. N-1``, in seed-major order:

1. the resolved config of the scale (``config`` or ``toy_config`` of the row file, with
   ``seed`` set) is written to ``WORK/<scale>/<row>/seed<k>/config.py``; at toy scale the
   embedded dataset is generated first when ``dataset.root`` is missing;
2. ``mpiexec -n R python examples/train_multi.py --config .../config.py --out
   .../train --resume auto`` trains it (an interrupted run resumes from its newest
   snapshot);
3. ``mpiexec -n R python examples/evaluate.py`` evaluates ``model_final.npz`` on the
   validation split with the OID challenge metric (only verified classes count);
4. ``experiments/results/<scale>/<row>/seed<k>.json`` records the mAP, per-class APs,
   seed, wall time, machine, commit, dataset fingerprint and config hash
   (:data:`~experiments.make_table.RESULT_SCHEMA`);
5. ``experiments/RESULTS.md`` (and the generated block of the README) is regenerated.

A row that declares ``TRAINED_AS = '<group>/<row>'`` differs from that row only in its
validation data or their post-processing (:data:`VALIDATION_ONLY_KEYS`): after checking the
configs and the training splits, step 2 is skipped and step 3 evaluates that row's model,
trained first in that row's run directory if it is missing (:func:`reused_model`).

A run whose result file exists with the same config hash is **skipped**; one whose config
changed since (*stale*) is rerun unless ``--keep-stale``; ``--force`` reruns everything.
With ``--budget-minutes M`` no run starts after M minutes, and a run still training then
is stopped (its snapshots remain, so the next invocation resumes it). Exit status: 0 when
every selected run has a result, 3 when the budget left some pending, 1 when a run failed.
"""

import argparse
import collections
import copy
import datetime
import hashlib
import importlib
import json
import os
import platform
import pprint
import shlex
import signal
import subprocess
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Run as a script, this directory comes first on sys.path and its ``pfdet/`` (the configs)
# would shadow the ``pfdet`` package: put the repository root there instead.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from experiments import make_table  # NOQA: E402

GROUPS = ('ablation', 'cooccurrence', 'results_table')
DEFAULT_RESULTS = os.path.join(_REPO, 'experiments', 'results')
DEFAULT_WORK = os.path.join(_REPO, 'result', 'experiments')

#: Validation images of the in-training progress evaluation at toy scale (run.py evaluates
#: every run on the whole split with examples/evaluate.py afterwards).
TOY_TRAIN_EVAL_IMAGES = 8

METRIC = ('OID challenge 2018 detection metric (pfdet.evaluations.eval_detection_oid), '
          'validation split, hierarchy-expanded ground truth')

class RunError(RuntimeError):
    """A training or evaluation command failed (message names the log file)."""


class Diverged(RunError):
    """Training stopped on a non-finite loss (recorded as a result, not retried)."""


def _divergence(log_path):
    """The 'non-finite loss' error line of a train log (last attempt), or None."""
    try:
        with open(log_path) as f:
            text = f.read()
    except OSError:
        return None
    last = text.rsplit('\n$ ', 1)[-1]
    for line in last.splitlines():
        if 'non-finite loss' in line:
            return line.strip()
    return None


# ------------------------------------------------------------------ rows

class Row(object):
    """One row file: ``kind`` is ``'train'`` (a config) or what its module declares.

    Attributes:
        key (str): ``'<group>/<file stem>'``, e.g. ``'ablation/05_cooccurrence'``.
        module: The imported row module.

    """

    def __init__(self, group, name, module):
        self.group = group
        self.name = name
        self.key = '{}/{}'.format(group, name)
        self.module = module
        self.kind = getattr(module, 'KIND', 'train')

    @property
    def previous(self):
        prev = getattr(self.module, 'PREVIOUS', None)
        if prev is None:
            return None
        return prev if '/' in prev else '{}/{}'.format(self.group, prev)

    def has_scale(self, scale):
        """Whether the row exists at ``scale`` (``SCALES`` of the module, default both)."""
        return scale in getattr(self.module, 'SCALES', ('toy', 'full'))

    def config(self, scale):
        """A deep copy of the row's config at ``scale`` (train rows)."""
        from experiments.pfdet.ablation import CONFIG_ATTR
        attr = CONFIG_ATTR[scale]
        if not hasattr(self.module, attr):
            raise ValueError('{}: defines no {!r} (scale {})'.format(self.key, attr, scale))
        return copy.deepcopy(getattr(self.module, attr))

    def config_view(self, scale):
        """What the row's result depends on at ``scale`` (:func:`config_view`), or None."""
        from experiments.pfdet.ablation import config_view
        if self.kind != 'train':
            view = getattr(self.module, 'config_view', None)
            return view(scale) if view else None
        return config_view(self.config(scale))

    def config_sha(self, scale):
        """Hash of :meth:`config_view` (None for rows without one)."""
        view = self.config_view(scale)
        return None if view is None else config_sha256(view)

    def info(self):
        """:class:`~experiments.make_table.RowInfo` for the table generator."""
        m = self.module
        paper = getattr(m, 'PAPER', {}) or {}
        views = {}
        for scale in ('toy', 'full'):
            try:
                views[scale] = self.config_view(scale)
            except Exception:
                views[scale] = None
        return make_table.RowInfo(
            self.key, getattr(m, 'ROW', self.name), self.group,
            paper_map=getattr(m, 'PAPER_MAP', paper.get('val')),
            paper_delta=getattr(m, 'PAPER_DELTA', None), previous=self.previous,
            paper_extra=paper, paper_per_class=getattr(m, 'PAPER_PER_CLASS_AP', None),
            paper_per_class_average=getattr(m, 'PAPER_PER_CLASS_AVERAGE', None),
            with_key=getattr(m, 'WITH', None), current_view=views)


def discover_rows():
    """Every row, in table order: the ablation chain, then the results-table rows."""
    rows = []
    for group in GROUPS:
        package = 'experiments.pfdet.' + group
        try:
            pkg = importlib.import_module(package)
        except ImportError as e:
            if e.name == package:
                continue
            raise
        for name in pkg.row_names():
            rows.append(Row(group, name, pkg.load_row(name)))
    return rows


def select_rows(spec, rows):
    """Rows named by ``spec``: ``all``, a group, or comma-separated names/numbers.

    A name may be a key (``ablation/05_cooccurrence``), a file stem (``05_cooccurrence``)
    or its number (``05``, ablation first).
    """
    if spec in ('all', None):
        return list(rows)
    out = []
    for token in spec.split(','):
        token = token.strip()
        if not token:
            continue
        if token in GROUPS:
            match = [r for r in rows if r.group == token]
        else:
            match = [r for r in rows if token in (r.key, r.name)]
            if not match:
                match = [r for r in rows if r.name.split('_')[0] == token][:1]
        if not match:
            raise ValueError('--rows: no row {!r}; rows: {}'.format(
                token, ', '.join(r.key for r in rows)))
        out.extend(r for r in match if r not in out)
    return [r for r in rows if r in out]


# ------------------------------------------------------------------ bookkeeping

def config_sha256(config):
    """SHA-256 of a config without the keys that cannot change a result.

    See :data:`experiments.pfdet.ablation.HASH_EXCLUDED` (log settings, the in-training
    progress evaluation, the seed).
    """
    from experiments.pfdet.ablation import config_sha256 as sha
    return sha(config)


def is_stale(result, view):
    """Whether a result was made by another config than ``view`` (the row's config now).

    Compares the stored config (``result['config']``) key by key, ignoring keys added
    since (:func:`~experiments.pfdet.ablation.config_changes`); a result without a stored
    config is compared by hash.
    """
    from experiments.pfdet.ablation import config_changes
    if view is None:
        return False
    if 'config' in result:
        return bool(config_changes(result['config'], view))
    return result['config_sha256'] != config_sha256(view)


def result_path(results_dir, scale, row, seed):
    return os.path.join(results_dir, scale, row.key, 'seed{}.json'.format(seed))


def run_dir(work_dir, scale, row, seed):
    return os.path.join(work_dir, scale, row.key, 'seed{}'.format(seed))


def run_status(results_dir, scale, row, seed):
    """``'missing'``, ``'done'`` or ``'stale'`` (the row's config changed since)."""
    path = result_path(results_dir, scale, row, seed)
    if not os.path.exists(path):
        return 'missing'
    with open(path) as f:
        result = json.load(f)
    make_table.check_result(result, path)
    return 'stale' if is_stale(result, row.config_view(scale)) else 'done'


def write_config_file(path, config, header):
    """Write ``config`` as a plain-Python config file (``config = {...}``)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = '"""{}"""\n\nconfig = {}\n'.format(header, pprint.pformat(config, width=96))
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def write_json_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)


def machine_info(n_ranks):
    """The machine of a run: platform, CPU model, core count, ranks, library versions."""
    cpu = platform.processor() or ''
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info = {'platform': platform.platform(), 'cpu': cpu, 'n_cpu': os.cpu_count(),
            'n_ranks': n_ranks, 'python': platform.python_version()}
    for name in ('chainer', 'chainercv', 'numpy', 'cupy'):
        try:
            info[name] = importlib.import_module(name).__version__
        except Exception:
            pass
    return info


def commit_info(repo=_REPO):
    """``{'sha': HEAD or None, 'dirty': bool}`` (read-only git queries)."""
    def git(*args):
        return subprocess.run(('git',) + args, cwd=repo, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True,
                              check=True).stdout.strip()
    try:
        sha = git('rev-parse', 'HEAD')
        dirty = bool(git('status', '--porcelain', '--untracked-files=no'))
    except (OSError, subprocess.CalledProcessError):
        return {'sha': None, 'dirty': None}
    return {'sha': sha, 'dirty': dirty}


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ data

def ensure_dataset(config, log=print):
    """Generate the embedded dataset of a toy config when ``dataset.root`` is missing.

    An existing directory must have been generated with the config's ``dataset.synthetic``
    settings (``meta.json``); otherwise a :class:`ValueError` names the difference.

    Returns:
        dict or None: ``{'root', 'meta_sha256'}``, or None for a config without a root.

    """
    ds = config['dataset']
    root = ds['root']
    if root is None:
        return None
    root = root if os.path.isabs(root) else os.path.join(_REPO, root)
    meta_path = os.path.join(root, 'meta.json')
    spec = ds['synthetic']
    if not os.path.exists(meta_path):
        if spec is None:
            raise ValueError('dataset.root {} has no meta.json and dataset.synthetic is '
                             'None: nothing to generate it from'.format(root))
        from pfdet.datasets import synthetic
        kwargs = {k: v for k, v in spec.items() if k != 'params'}
        kwargs.update(spec.get('params') or {})
        log('generating the embedded dataset in {} ({})'.format(root, kwargs))
        synthetic.generate(root, n_jobs=min(2, os.cpu_count() or 1), overwrite=True,
                           **kwargs)
    elif spec is not None:
        with open(meta_path) as f:
            meta = json.load(f)
        expected = {'seed': spec.get('seed', 0)}
        found = {'seed': meta.get('seed')}
        for key, split in (('n_train', 'train'), ('n_val', 'validation')):
            if key in spec:
                expected[key] = spec[key]
                found[key] = meta.get('splits', {}).get(split, {}).get('n_images')
        # the generator's current defaults count too: data written by an older generator
        # with other defaults is not the data this config describes
        from pfdet.datasets import synthetic
        params = synthetic.default_params()
        params.update(spec.get('params') or {})
        for key, value in params.items():
            expected['params.' + key] = list(value) if isinstance(value, tuple) else value
            found['params.' + key] = meta.get('params', {}).get(key)
        diff = {k: (found[k], v) for k, v in expected.items() if found[k] != v}
        if diff:
            raise ValueError('{}: the embedded dataset there was generated with other '
                             'settings than dataset.synthetic ({}); remove the directory '
                             'or choose another dataset.root'.format(
                                 root, ', '.join('{}: {!r} != {!r}'.format(k, a, b)
                                                 for k, (a, b) in sorted(diff.items()))))
    return {'root': os.path.relpath(root, _REPO), 'meta_sha256': file_sha256(meta_path)}


# ------------------------------------------------------------------ processes

def default_mpiexec():
    exe = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
    cmd = [exe if os.path.exists(exe) else 'mpiexec']
    if hasattr(os, 'geteuid') and os.geteuid() == 0:
        cmd.append('--allow-run-as-root')
    cmd.append('--oversubscribe')
    return cmd


class Deadline(object):
    """Wall-clock budget of one invocation (None: unlimited)."""

    def __init__(self, minutes):
        self.end = None if minutes is None else time.time() + 60 * minutes

    def remaining(self):
        return None if self.end is None else self.end - time.time()

    def expired(self):
        return self.end is not None and time.time() >= self.end


class BudgetExceeded(Exception):
    pass


def run_command(cmd, log_path, deadline, env=None):
    """Run ``cmd`` (its own process group) appending output to ``log_path``.

    Returns:
        float: Seconds it ran.

    Raises:
        BudgetExceeded: The deadline passed; the process group was terminated.
        RunError: Non-zero exit status.

    """
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    start = time.time()
    with open(log_path, 'a') as log:
        log.write('\n$ {}\n'.format(' '.join(shlex.quote(c) for c in cmd)))
        log.flush()
        proc = subprocess.Popen(cmd, cwd=_REPO, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        try:
            proc.wait(timeout=deadline.remaining())
        except subprocess.TimeoutExpired:
            _terminate(proc)
            raise BudgetExceeded()
        except BaseException:
            _terminate(proc)
            raise
    if proc.returncode != 0:
        raise RunError('command failed with status {}: {} (see {})'.format(
            proc.returncode, ' '.join(cmd[-6:]), log_path))
    return time.time() - start


def _terminate(proc):
    """Stop the process group this script started (SIGTERM, then SIGKILL)."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ------------------------------------------------------------------ one run

def _read_per_class_ap(eval_dir):
    """``{mid: {'name', 'ap', 'n_gt'}}`` from the evaluator's per-class CSV."""
    import pandas as pd
    for name, ap_col, n_col in (('per_class_ap.csv', 'AP', 'NumGT'),
                                ('ap_per_class.csv', 'AP', 'n_gt_boxes')):
        path = os.path.join(eval_dir, name)
        if os.path.exists(path):
            df = pd.read_csv(path)
            out = {}
            for mid, nm, ap, n in zip(df['LabelName'], df['Name'], df[ap_col], df[n_col]):
                ap = None if pd.isna(ap) else round(float(ap), 6)
                out[str(mid)] = {'name': str(nm), 'ap': ap, 'n_gt': int(n)}
            return out
    raise RunError('{}: no per_class_ap.csv / ap_per_class.csv written by the evaluator'
                   .format(eval_dir))


def prepare_run_dir(config, rdir, args, log=print):
    """Make ``rdir`` the run directory of ``config``: cleared when it holds another config.

    ``rdir/config.json`` records the config view; a directory made by a config that differs
    (:func:`~experiments.pfdet.ablation.config_changes`), or any directory with ``--force``
    (once per invocation), is emptied first, so an old run is never resumed.

    Returns:
        tuple: ``(view, sha)`` of ``config``.

    """
    from experiments.pfdet.ablation import config_changes
    from experiments.pfdet.ablation import config_view
    view = config_view(config)
    sha = config_sha256(config)
    marker = os.path.join(rdir, 'config.json')
    forced = getattr(args, '_forced', set())
    if args.force and os.path.isdir(rdir) and rdir not in forced:
        _clear_run_dir(rdir)
    forced.add(rdir)
    args._forced = forced
    if os.path.exists(marker):
        with open(marker) as f:
            changes = config_changes(json.load(f), view)
        if changes:   # the config changed: never resume an old run
            log('  {}: config changed ({}), starting over'.format(rdir, ', '.join(changes)))
            _clear_run_dir(rdir)
    elif os.path.exists(os.path.join(rdir, 'config_sha256')):   # written by an older run.py
        with open(os.path.join(rdir, 'config_sha256')) as f:
            if f.read().strip() != sha:
                log('  {}: config changed, starting over'.format(rdir))
                _clear_run_dir(rdir)
    os.makedirs(rdir, exist_ok=True)
    write_json_atomic(marker, view)
    return view, sha


def _launcher(args):
    """``(mpi command prefix, environment)`` of the training and evaluation commands."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'),
               PYTHONHASHSEED='0')
    mpi = (shlex.split(args.mpiexec) if args.mpiexec else default_mpiexec()) + \
        ['-n', str(args.n_ranks)]
    return mpi, env


def _read_timing(rdir):
    timing = {'train': 0.0, 'eval': 0.0}
    path = os.path.join(rdir, 'wall_time.json')
    if os.path.exists(path):
        with open(path) as f:
            timing.update(json.load(f))
    return timing


def train_model(config, rdir, args, deadline, description, log=print):
    """Train ``config`` in ``rdir`` (resuming) unless its model exists; return the model path.

    ``rdir`` receives ``config.py`` (the config as given), ``train_config.py`` (the same with
    the in-training progress evaluation restricted, see ``--train-eval-images``), ``train/``
    (``train_multi.py --resume auto``), ``train.log``, ``config.json``
    (:func:`~experiments.pfdet.ablation.config_view`) and ``wall_time.json`` (seconds
    accumulated over resumptions). A run directory made by another config is cleared first.

    Returns:
        tuple: ``(model path, view, sha)``.

    """
    view, sha = prepare_run_dir(config, rdir, args, log)
    cfg_path = os.path.join(rdir, 'config.py')
    write_config_file(cfg_path, config, 'Resolved config of {}, written by '
                      'experiments/run.py.'.format(description))
    train_cfg_path = cfg_path
    if args.train_eval_images is not None:
        # The evaluation inside train_multi.py is only a progress check here: restricting it
        # to the first images changes nothing in training; the reported numbers come from
        # evaluate.py on the whole validation split.
        train_config = copy.deepcopy(config)
        n_eval = train_config['eval'].get('n_images')
        train_config['eval']['n_images'] = args.train_eval_images if n_eval is None \
            else min(n_eval, args.train_eval_images)
        train_cfg_path = os.path.join(rdir, 'train_config.py')
        write_config_file(train_cfg_path, train_config, 'Training config of {}: config.py '
                          'with the in-training evaluation on the first {} validation '
                          'images.'.format(description, args.train_eval_images))
    timing_path = os.path.join(rdir, 'wall_time.json')
    timing = _read_timing(rdir)
    mpi, env = _launcher(args)
    train_dir = os.path.join(rdir, 'train')
    model = os.path.join(train_dir, 'model_final.npz')
    if not os.path.exists(model):
        cmd = mpi + [sys.executable, os.path.join(_REPO, 'examples', 'train_multi.py'),
                     '--config', train_cfg_path, '--out', train_dir, '--resume', 'auto']
        start = time.time()
        try:
            run_command(cmd, os.path.join(rdir, 'train.log'), deadline, env)
        except RunError as e:
            # train_multi.py exits with status 1 when the loss becomes NaN/inf
            message = _divergence(os.path.join(rdir, 'train.log'))
            if message is None:
                raise
            raise Diverged(message) from e
        finally:
            timing['train'] += time.time() - start
            write_json_atomic(timing_path, timing)
    return model, view, sha


def train_and_evaluate(config, rdir, args, deadline, description, log=print, model=None):
    """Train ``config`` in ``rdir`` (resuming) and evaluate it on the whole validation split.

    Training is :func:`train_model`; a trained model is not retrained. With ``model`` (the
    ``model_final.npz`` of another run, see :func:`reused_model`) nothing is trained: that
    model is evaluated with ``config``, and the train time recorded is 0. ``rdir`` then
    receives ``config.py``, ``config.json``, ``eval/``, ``eval.log`` and ``wall_time.json``.

    Returns:
        dict: ``evaluation`` (evaluate.py's result.json), ``ap_per_class``
        (``{mid: {'name', 'ap', 'n_gt'}}``), ``train_args`` (train_multi.py's ``args``),
        ``wall_time_s``, ``config_sha256``, ``config`` (the view), ``eval_dir``.

    """
    reused = model is not None
    if not reused:
        model, view, sha = train_model(config, rdir, args, deadline, description, log)
    else:
        view, sha = prepare_run_dir(config, rdir, args, log)
        write_config_file(os.path.join(rdir, 'config.py'), config, 'Resolved config of {}, '
                          'written by experiments/run.py; evaluates the model {}.'.format(
                              description, os.path.relpath(model, _REPO)))
    cfg_path = os.path.join(rdir, 'config.py')
    train_dir = os.path.dirname(model)
    timing_path = os.path.join(rdir, 'wall_time.json')
    timing = _read_timing(rdir)
    if reused:
        timing['train'] = 0.0      # another run's model: nothing trained here
    mpi, env = _launcher(args)
    eval_dir = os.path.join(rdir, 'eval')
    done = os.path.join(eval_dir, 'result.json')
    if not (os.path.exists(done) and os.path.getmtime(done) > os.path.getmtime(model)):
        cmd = mpi + [sys.executable, os.path.join(_REPO, 'examples', 'evaluate.py'),
                     '--config', cfg_path, '--model', model, '--out', eval_dir]
        start = time.time()
        try:
            run_command(cmd, os.path.join(rdir, 'eval.log'), deadline, env)
        finally:
            timing['eval'] = time.time() - start
            write_json_atomic(timing_path, timing)
    with open(os.path.join(eval_dir, 'result.json')) as f:
        evaluation = json.load(f)
    train_args = {}
    args_path = os.path.join(train_dir, 'args')
    if os.path.exists(args_path):
        with open(args_path) as f:
            train_args = json.load(f)
    return {'evaluation': evaluation, 'ap_per_class': _read_per_class_ap(eval_dir),
            'train_args': train_args, 'config_sha256': sha, 'config': view,
            'eval_dir': eval_dir,
            'wall_time_s': {'train': round(timing['train'], 1),
                            'eval': round(timing['eval'], 1),
                            'total': round(timing['train'] + timing['eval'], 1)}}


#: Config keys that only choose the validation data or how the detections on it are
#: post-processed: rows whose configs differ in nothing else train the same model (with the
#: same training split, see :func:`reused_model`).
VALIDATION_ONLY_KEYS = ('dataset.root', 'dataset.synthetic.n_val',
                        'dataset.synthetic.params.q_validation', 'eval.nms_thresh')

#: The files of a dataset directory that training reads (with the images under ``train/``).
TRAIN_SPLIT_FILES = ('class-descriptions.csv', 'hierarchy.json', 'train-annotations-bbox.csv',
                     'train-annotations-human-imagelabels.csv')


def training_differences(config, other):
    """Dotted keys in which two configs differ, leaving out :data:`VALIDATION_ONLY_KEYS`."""
    from experiments.pfdet.ablation import config_changes
    from experiments.pfdet.ablation import config_view
    a, b = config_view(config), config_view(other)
    changed = set(config_changes(a, b)) | set(config_changes(b, a))
    return sorted(k for k in changed if k not in VALIDATION_ONLY_KEYS)


def train_split_sha256(root):
    """Fingerprint of what training reads from the dataset directory ``root``: the class
    list, hierarchy, training CSVs and every image under ``train/`` (names and bytes)."""
    root = root if os.path.isabs(root) else os.path.join(_REPO, root)
    h = hashlib.sha256()
    for name in TRAIN_SPLIT_FILES:
        path = os.path.join(root, name)
        if not os.path.exists(path):
            raise ValueError('{}: missing; cannot fingerprint the training split'.format(path))
        h.update(name.encode('utf-8') + b'\0' + file_sha256(path).encode('ascii'))
    image_dir = os.path.join(root, 'train')
    for name in sorted(os.listdir(image_dir)):
        h.update(name.encode('utf-8') + b'\0' +
                 file_sha256(os.path.join(image_dir, name)).encode('ascii'))
    return h.hexdigest()


def reused_model(row, scale, seed, config, args, deadline, log=print):
    """The trained model of the row that ``row`` declares in ``TRAINED_AS``, same seed.

    A row whose config differs from another row's only in the validation data or their
    post-processing (:data:`VALIDATION_ONLY_KEYS`, e.g. the generator's ``q_validation`` or
    ``eval.nms_thresh``) trains the very
    same model. Before reusing it, the configs are compared and the training splits
    fingerprinted (:func:`train_split_sha256`); a difference is a :class:`ValueError`
    naming it. A missing model is trained first, in the other row's run directory (its
    result file is not touched).

    Returns:
        tuple: ``(model path, {'row', 'seed', 'train_s'})``.

    """
    key = row.module.TRAINED_AS
    sources = [r for r in discover_rows() if r.key == key]
    if not sources:
        raise ValueError('{}: TRAINED_AS names no row: {!r}'.format(row.key, key))
    source = sources[0]
    source_config = source.config(scale)
    source_config['seed'] = seed
    diff = training_differences(config, source_config)
    if diff:
        raise ValueError('{}: TRAINED_AS {}, but the configs differ in {} (only {} may)'.format(
            row.key, key, ', '.join(diff), ', '.join(VALIDATION_ONLY_KEYS)))
    if scale == 'toy':
        ensure_dataset(source_config, log)
    roots = [c['dataset']['root'] for c in (config, source_config)]
    if None in roots:
        raise ValueError('{}: TRAINED_AS needs dataset.root in both configs'.format(row.key))
    if roots[0] != roots[1] and train_split_sha256(roots[0]) != train_split_sha256(roots[1]):
        raise ValueError('{}: TRAINED_AS {}, but the training splits in {} and {} differ'
                         .format(row.key, key, roots[0], roots[1]))
    src_dir = run_dir(args.work_dir, scale, source, seed)
    model, _, _ = train_model(source_config, src_dir, args, deadline, '{} ({} scale, seed {}; '
                              'trained for {})'.format(key, scale, seed, row.key), log)
    return model, {'row': key, 'seed': seed,
                   'train_s': round(_read_timing(src_dir)['train'], 1)}


def hidden_truth_scores(detections, hidden_truth_csv, mids, score_thresh=0.5, iou_thresh=0.5):
    """How the detector scores every *drawn* object of some classes (embedded data only).

    The embedded dataset's ``{split}-hidden-truth.csv`` lists every drawn object, annotated
    or not. For each drawn, non-group-of object of a class of ``mids``, the best score of a
    detection of that class with IoU >= ``iou_thresh`` (0 if none) is taken. Unlike AP,
    which ranks detections within the verified images only, this shows whether the part
    classes are scored as present at all (what the co-occurrence loss is about).

    Args:
        detections (pandas.DataFrame): ``ImageID, LabelName, Score, XMin, XMax, YMin, YMax``.
        hidden_truth_csv (str): The hidden-truth CSV of the evaluated split.
        mids (list of str): Classes to report.

    Returns:
        dict: ``{mid: {'n': objects, 'mean_score': mean best score, 'found': fraction
        with best score > score_thresh}}``.

    """
    import numpy as np
    import pandas as pd
    from chainercv.utils import bbox_iou
    hidden = pd.read_csv(hidden_truth_csv)
    hidden = hidden[hidden['LabelName'].isin(mids) & (hidden['IsGroupOf'] == 0)]
    dets = detections[detections['LabelName'].isin(mids)]
    coords = ['YMin', 'XMin', 'YMax', 'XMax']
    groups = dict(list(dets.groupby(['ImageID', 'LabelName'])))
    out = {}
    for mid in mids:
        best = []
        for (image, label), gt in hidden[hidden['LabelName'] == mid].groupby(
                ['ImageID', 'LabelName']):
            det = groups.get((image, label))
            if det is None:
                best.append(np.zeros(len(gt)))
                continue
            iou = bbox_iou(gt[coords].to_numpy(np.float64), det[coords].to_numpy(np.float64))
            best.append(np.where(iou >= iou_thresh, det['Score'].to_numpy()[None], 0).max(1))
        best = np.concatenate(best) if best else np.zeros(0)
        out[mid] = {'n': int(len(best)),
                    'mean_score': round(float(best.mean()), 4) if len(best) else None,
                    'found': round(float((best > score_thresh).mean()), 4) if len(best)
                    else None}
    return out


#: The detection tables ``examples/evaluate.py`` writes into its output directory, in order
#: of preference, with the :mod:`pfdet.datasets.oid_io` reader of each.
DETECTION_FILES = (('detections.csv', 'read_predictions_csv'),
                   ('submission.csv', 'read_submission'))


def detections_file(eval_dir):
    """The detection table of an ``examples/evaluate.py`` output directory, or None."""
    for name, _ in DETECTION_FILES:
        path = os.path.join(eval_dir, name)
        if os.path.exists(path):
            return path
    return None


def read_detections(path):
    """Read a :data:`DETECTION_FILES` table into ``ImageID, LabelName, Score, XMin, ...``."""
    from pfdet.datasets import oid_io
    reader = dict(DETECTION_FILES).get(os.path.basename(path))
    if reader is None:
        raise ValueError('{}: not one of {}'.format(
            path, ', '.join(name for name, _ in DETECTION_FILES)))
    return getattr(oid_io, reader)(path)


def planted_parts(root):
    """``[(mid, name)]`` of the part classes the generator planted in the embedded dataset
    ``root`` (its ``meta.json``), sorted by MID; empty for data without planted parts."""
    with open(os.path.join(root, 'meta.json')) as f:
        meta = json.load(f)
    names = {c['mid']: c['name'] for c in meta.get('classes', [])}
    return [(m, names.get(m, m))
            for m in sorted({p['part'] for p in meta.get('planted_pairs', [])})]


def _hidden_truth_of_run(config, eval_dir):
    """:func:`hidden_truth_scores` of the planted part classes, or None (not embedded data)."""
    root = config['dataset']['root']
    if root is None:
        return None
    root = os.path.join(_REPO, root)
    hidden = os.path.join(root, '{}-hidden-truth.csv'.format(config['dataset']['val_split']))
    meta = os.path.join(root, 'meta.json')
    if not (os.path.exists(hidden) and os.path.exists(meta)):
        return None
    parts = [mid for mid, _ in planted_parts(root)]
    path = detections_file(eval_dir)
    return None if path is None else hidden_truth_scores(read_detections(path), hidden, parts)


def complete_results(rows, args, log=print):
    """Add ``hidden_truth_parts`` to toy results written without it (from their run dirs).

    Results made by an earlier ``run.py`` lack this diagnostic; it is derived from the
    run's own detections, so it is filled in when the run directory is still there.
    """
    by_key = {r.key: r for r in rows}
    pattern = os.path.join(args.results_dir, 'toy', '**', 'seed*.json')
    import glob
    from pfdet.training import load_config
    for path in sorted(glob.glob(pattern, recursive=True)):
        with open(path) as f:
            result = json.load(f)
        row = by_key.get(result.get('row'))
        if row is None or row.kind != 'train' or 'hidden_truth_parts' in result:
            continue
        rdir = run_dir(args.work_dir, 'toy', row, result['seed'])
        cfg = os.path.join(rdir, 'config.py')
        if not os.path.exists(cfg):
            continue
        config = load_config(cfg, validate=False)
        if row.config_view('toy') is not None and \
                'config' in result and is_stale(result, row.config_view('toy')):
            continue
        info = _hidden_truth_of_run(config, os.path.join(rdir, 'eval'))
        if info is not None:
            result['hidden_truth_parts'] = info
            write_json_atomic(path, result)
            log('  {}: added hidden_truth_parts'.format(os.path.relpath(path, _REPO)))


def execute_train_row(row, scale, seed, args, deadline, log=print):
    """Train + evaluate one (row, seed); return the result dict (not yet written).

    A run whose training diverges (non-finite loss) gives a result with ``map`` None and
    ``diverged`` set: it is reported in the tables, not silently retried with another seed.
    """
    config = row.config(scale)
    config['seed'] = seed
    dataset = ensure_dataset(config, log) if scale == 'toy' else None
    rdir = run_dir(args.work_dir, scale, row, seed)
    model = model_from = None
    trained_as = getattr(row.module, 'TRAINED_AS', None)
    try:
        if trained_as:
            try:
                model, model_from = reused_model(row, scale, seed, config, args, deadline, log)
            except Diverged as e:
                # the shared model diverged: this row has no model either (the source row
                # records the same divergence when it is run)
                raise Diverged('the model of {} (TRAINED_AS) diverged: {}'.format(
                    trained_as, e)) from e
        out = train_and_evaluate(config, rdir, args, deadline,
                                 '{} ({} scale, seed {})'.format(row.key, scale, seed), log,
                                 model=model)
    except Diverged as e:
        from experiments.pfdet.ablation import config_view
        # a TRAINED_AS row trains nothing itself: its wall_time.json, if any, is not its own
        wall = {'train': 0.0} if trained_as else _read_timing(rdir)
        return _result(
            row, scale, seed, config_sha256(config), config_view(config), args,
            map=None, ap_per_class={}, diverged=str(e), dataset=dataset,
            wall_time_s={'train': round(wall['train'], 1), 'eval': 0.0,
                         'total': round(wall['train'], 1)},
            model_from={'row': trained_as, 'seed': seed, 'train_s': None}
            if trained_as else None)
    evaluation, train_args = out['evaluation'], out['train_args']
    return _result(
        row, scale, seed, out['config_sha256'], out['config'], args,
        map=float(evaluation['map']),
        n_classes_with_gt=evaluation.get('n_classes_with_gt'),
        ap_per_class=out['ap_per_class'],
        n_train_images=train_args.get('n_train_images'),
        n_val_images=evaluation.get('n_images'),
        n_iterations=train_args.get('total_iteration'),
        cooccurrence_pairs=train_args.get('cooccurrence_pairs', []),
        hidden_truth_parts=_hidden_truth_of_run(config, out['eval_dir']),
        dataset=dataset, wall_time_s=out['wall_time_s'], model_from=model_from)


def _result(row, scale, seed, sha, view, args, **fields):
    """The result record of a train row's run: what identifies the row, seed and config,
    then ``fields`` (``map`` onwards; a diverged run has ``diverged`` and no metrics), then
    the machine, commit and time."""
    record = {
        'schema': make_table.RESULT_SCHEMA,
        'row': row.key,
        'label': getattr(row.module, 'ROW', row.name),
        'previous': row.previous,
        'paper': {'map': getattr(row.module, 'PAPER_MAP', None),
                  'delta': getattr(row.module, 'PAPER_DELTA', None)},
        'scale': scale,
        'seed': seed,
        'config_file': os.path.relpath(row.module.__file__, _REPO),
        'config_sha256': sha,
        'config': view,
        'metric': METRIC,
    }
    record.update(fields)
    record.update(machine=machine_info(args.n_ranks), commit=commit_info(), finished_at=now())
    return record


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')


def _clear_run_dir(rdir):
    import shutil
    shutil.rmtree(rdir)


def execute(row, scale, seed, args, deadline, log=print):
    """Run one (row, seed) of any kind and write its result file."""
    if row.kind == 'train':
        result = execute_train_row(row, scale, seed, args, deadline, log)
    else:
        runner = getattr(row.module, 'run', None)
        if runner is None:
            raise ValueError('{}: KIND={!r} rows must define run(scale, seed, context)'
                             .format(row.key, row.kind))
        context = RunContext(args, deadline, log)
        result = runner(scale, seed, context)
        make_table.check_result(result, row.key)
    write_json_atomic(result_path(args.results_dir, scale, row, seed), result)
    return result


class RunContext(object):
    """What a non-training row (ensembles) gets from ``run.py``."""

    def __init__(self, args, deadline, log):
        self.args = args
        self.deadline = deadline
        self.log = log
        self.repo = _REPO
        self.schema = make_table.RESULT_SCHEMA

    def run_dir(self, scale, row_key, seed):
        """Work directory of another row's run (e.g. its ``eval/`` outputs)."""
        group, name = row_key.split('/')
        return os.path.join(self.args.work_dir, scale, group, name, 'seed{}'.format(seed))

    def result(self, scale, row_key, seed):
        """The result dict of another row's run, or None."""
        group, name = row_key.split('/')
        path = os.path.join(self.args.results_dir, scale, group, name,
                            'seed{}.json'.format(seed))
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def member(self, scale, row_key, seed):
        """The result dict and ``eval/`` directory of another row's run of ``seed``.

        Run directories are not committed, so on a fresh clone a committed result has no
        detections beside it. Then the row is trained and evaluated again (its result file
        is rewritten, with a line comparing the new mAP to the committed one) so that the
        ensemble rows can be regenerated from a clone, not only on the machine that ran
        them first.

        Raises:
            ValueError: The row has no result for ``seed`` (run that row first).

        """
        old = self.result(scale, row_key, seed)
        if old is None:
            raise ValueError('needs the result of {} seed {} (run that row first)'.format(
                row_key, seed))
        eval_dir = os.path.join(self.run_dir(scale, row_key, seed), 'eval')
        if detections_file(eval_dir) is not None:
            return old, eval_dir
        rows = [r for r in discover_rows() if r.key == row_key]
        if not rows:
            raise ValueError('no row {!r}'.format(row_key))
        self.log('    {} seed {}: its detections are gone ({}); training it again'.format(
            row_key, seed, os.path.relpath(eval_dir, self.repo)))
        new = execute(rows[0], scale, seed, self.args, self.deadline, self.log)
        if new.get('map') is None:
            raise RunError('{} seed {} diverged when run again: {}'.format(
                row_key, seed, new.get('diverged')))
        self.log('    {} seed {}: mAP {:.2f} again (committed result: {})'.format(
            row_key, seed, 100 * new['map'], 'diverged' if old.get('map') is None
            else '{:.2f}'.format(100 * old['map'])))
        return new, eval_dir

    def train_and_evaluate(self, config, rdir, description):
        """Train and evaluate a config in ``rdir`` (see :func:`train_and_evaluate`)."""
        return train_and_evaluate(config, rdir, self.args, self.deadline, description,
                                  self.log)

    def ensure_dataset(self, config):
        return ensure_dataset(config, self.log)

    def prepare_run_dir(self, config, rdir):
        """See :func:`prepare_run_dir` (call it before writing inputs into ``rdir``)."""
        return prepare_run_dir(config, rdir, self.args, self.log)

    def run_command(self, cmd, log_path):
        return run_command(cmd, log_path, self.deadline,
                           dict(os.environ, OMP_NUM_THREADS=os.environ.get(
                               'OMP_NUM_THREADS', '1')))

    def mpiexec(self):
        return (shlex.split(self.args.mpiexec) if self.args.mpiexec else
                default_mpiexec()) + ['-n', str(self.args.n_ranks)]

    machine_info = staticmethod(machine_info)
    commit_info = staticmethod(commit_info)
    detections_file = staticmethod(detections_file)
    read_detections = staticmethod(read_detections)
    read_per_class_ap = staticmethod(_read_per_class_ap)
    config_sha256 = staticmethod(config_sha256)
    is_stale = staticmethod(is_stale)
    write_config_file = staticmethod(write_config_file)
    now = staticmethod(now)


# ------------------------------------------------------------------ main

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run experiment rows, record results, regenerate RESULTS.md.')
    parser.add_argument('--rows', default='all',
                        help="'all', a group (ablation, cooccurrence, results_table), or "
                             "comma-separated rows "
                             "(05, 05_cooccurrence, ablation/05_cooccurrence)")
    parser.add_argument('--seeds', type=int, default=2, help='seeds 0 .. N-1 (default 2)')
    parser.add_argument('--scale', choices=('toy', 'full'), default='toy')
    parser.add_argument('--budget-minutes', type=float, default=None,
                        help='start no run after M minutes and stop a running one then '
                             '(it resumes next time)')
    parser.add_argument('--n-ranks', type=int, default=2, help='MPI processes per run')
    parser.add_argument('--mpiexec', default=None,
                        help='launcher command (default: the venv mpiexec, '
                             '--oversubscribe, --allow-run-as-root as root)')
    parser.add_argument('--results-dir', default=DEFAULT_RESULTS)
    parser.add_argument('--work-dir', default=DEFAULT_WORK,
                        help='training/evaluation outputs (default result/experiments)')
    parser.add_argument('--table', default=os.path.join(_REPO, 'experiments', 'RESULTS.md'))
    parser.add_argument('--readme', nargs='*', default=[
        os.path.join(_REPO, 'README.md')])
    parser.add_argument('--train-eval-images', type=int, default=None,
                        help='validation images of the progress evaluation inside '
                             'train_multi.py (default: %d at toy scale, all at full scale); '
                             'results always come from evaluate.py on the whole split'
                             % TOY_TRAIN_EVAL_IMAGES)
    parser.add_argument('--force', action='store_true', help='rerun finished runs too')
    parser.add_argument('--keep-stale', action='store_true',
                        help='do not rerun results whose config changed (marked stale)')
    parser.add_argument('--dry-run', action='store_true', help='list the plan only')
    parser.add_argument('--table-only', action='store_true',
                        help='only regenerate the tables from the result files')
    return parser.parse_args(argv)


def plan(rows, seeds, scale, args):
    """``[(row, seed, status)]`` in execution order (seed-major)."""
    out = []
    for seed in range(seeds):
        for row in rows:
            if not row.has_scale(scale):
                continue
            status = run_status(args.results_dir, scale, row, seed)
            out.append((row, seed, status))
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.train_eval_images is None and args.scale == 'toy':
        args.train_eval_images = TOY_TRAIN_EVAL_IMAGES
    args.results_dir = os.path.abspath(args.results_dir)
    args.work_dir = os.path.abspath(args.work_dir)
    if args.seeds < 1:
        sys.stderr.write('error: --seeds must be >= 1\n')
        return 2
    rows = discover_rows()
    try:
        selected = select_rows(args.rows, rows)
    except ValueError as e:
        sys.stderr.write('error: {}\n'.format(e))
        return 2
    status = 0
    if not args.table_only:
        todo = plan(selected, args.seeds, args.scale, args)
        for row in selected:
            if not row.has_scale(args.scale):
                print('  skip {} (no {} scale variant)'.format(row.key, args.scale))
        counts = collections.Counter(s for _, _, s in todo)
        print('run.py: {} scale, {} row(s) x {} seed(s): {}'.format(
            args.scale, len(selected), args.seeds,
            ', '.join('{} {}'.format(n, s) for s, n in sorted(counts.items()))))
        deadline = Deadline(args.budget_minutes)
        pending = []
        for row, seed, state in todo:
            if state == 'done' and not args.force:
                print('  skip {} seed {} (done)'.format(row.key, seed))
                continue
            if state == 'stale' and args.keep_stale and not args.force:
                print('  keep {} seed {} (stale: config changed)'.format(row.key, seed))
                continue
            if args.dry_run:
                print('  would run {} seed {} ({})'.format(row.key, seed, state))
                continue
            if deadline.expired():
                pending.append((row, seed))
                continue
            print('  run {} seed {} ({}) ...'.format(row.key, seed, state))
            sys.stdout.flush()
            start = time.time()
            try:
                result = execute(row, args.scale, seed, args, deadline)
            except BudgetExceeded:
                print('    budget exhausted: stopped (resumes next time)')
                pending.append((row, seed))
                continue
            except (RunError, ValueError) as e:
                print('    FAILED: {}'.format(e))
                status = 1
                continue
            except Exception:   # one broken row must not stop the others
                import traceback
                print('    FAILED:\n' + ''.join('      ' + line for line in
                                                traceback.format_exc().splitlines(True)))
                status = 1
                continue
            if result.get('diverged'):
                print('    DIVERGED: {}'.format(result['diverged']))
            else:
                print('    mAP {:.2f} in {:.1f} min'.format(100 * result['map'],
                                                            (time.time() - start) / 60))
            sys.stdout.flush()
            make_table.write_results_md(args.results_dir, args.table, args.readme)
        if pending:
            print('run.py: budget exhausted, {} run(s) pending: {}'.format(
                len(pending), ', '.join('{} seed {}'.format(r.key, s) for r, s in pending)))
            status = status or 3
    if not args.dry_run:
        try:
            complete_results(rows, args)
            make_table.write_results_md(args.results_dir, args.table, args.readme)
        except ValueError as e:
            sys.stderr.write('error: {}\n'.format(e))
            return 2
        print('run.py: wrote {}'.format(args.table))
    return status


if __name__ == '__main__':
    sys.exit(main())
