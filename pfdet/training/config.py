"""Plain-Python experiment configs: loading, deep updates and validation.

A config file is an ordinary Python module that defines a ``config`` dict::

    # experiments/pfdet/03_cosine.py
    from experiments.pfdet.base import config as _base
    from pfdet.training import deep_update

    config = deep_update(_base, {'train': {'lr_schedule': 'cosine'}})

Every hyper-parameter lives in the file: the base configs are complete (every key of
:data:`CONFIG_SCHEMA` is present) and :func:`validate_config` refuses missing, unknown or
ill-typed keys with a message naming the file and the dotted key.
"""

import copy
import importlib.util
import numbers
import os
import sys
import traceback


class ConfigError(ValueError):
    """A config file is missing, does not load, or holds a bad key or value."""


# ---------------------------------------------------------------------------------------
# Schema: dotted structure -> checker. A checker is a callable returning an error string
# (or None when the value is fine). Dict-valued entries are nested schemas.
# ---------------------------------------------------------------------------------------

def _is(*types, none=False):
    names = '/'.join(t.__name__ for t in types) + (' or None' if none else '')

    def check(v):
        if v is None and none:
            return None
        if isinstance(v, bool) and bool not in types:
            return 'expected {}, got bool'.format(names)
        if not isinstance(v, types):
            return 'expected {}, got {!r}'.format(names, v)
        return None
    check.__doc__ = names
    return check


def _choice(*values):
    def check(v):
        if v not in values:
            return 'expected one of {}, got {!r}'.format(
                ', '.join(repr(x) for x in values), v)
        return None
    check.__doc__ = ' | '.join(repr(x) for x in values)
    return check


def _positive(kind=numbers.Real, none=False, zero=False):
    def check(v):
        if v is None and none:
            return None
        if isinstance(v, bool) or not isinstance(v, kind):
            return 'expected a {} number, got {!r}'.format(
                'integer' if kind is numbers.Integral else 'real', v)
        if v < 0 or (v == 0 and not zero):
            return 'expected a {} number, got {!r}'.format(
                'non-negative' if zero else 'positive', v)
        return None
    check.__doc__ = ('non-negative ' if zero else 'positive ') + (
        'int' if kind is numbers.Integral else 'number') + (' or None' if none else '')
    return check


def _fraction(v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 1:
        return 'expected a number in [0, 1], got {!r}'.format(v)
    return None


def _above_zero(upper_open=False, none=False):
    """A number in (0, 1] (or (0, 1) with ``upper_open``), or None with ``none``."""
    interval = '(0, 1)' if upper_open else '(0, 1]'

    def check(v):
        if v is None and none:
            return None
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (
                0 < v < 1 or (v == 1 and not upper_open)):
            return 'expected a number in {}, got {!r}'.format(interval, v)
        return None
    check.__doc__ = 'number in ' + interval + (' or None' if none else '')
    return check


def _seq_of(check_item, min_len=0, none=False):
    def check(v):
        if v is None and none:
            return None
        if not isinstance(v, (list, tuple)):
            return 'expected a list or tuple, got {!r}'.format(v)
        if len(v) < min_len:
            return 'expected at least {} item(s), got {!r}'.format(min_len, v)
        for i, x in enumerate(v):
            err = check_item(x)
            if err:
                return 'item {}: {}'.format(i, err)
        return None
    check.__doc__ = 'list'
    return check


def _trigger(v):
    if (isinstance(v, (list, tuple)) and len(v) == 2 and isinstance(v[0], numbers.Integral)
            and not isinstance(v[0], bool) and v[0] > 0 and v[1] in ('iteration', 'epoch')):
        return None
    return "expected (N, 'iteration') or (N, 'epoch') with N > 0, got {!r}".format(v)


def _cooccurrence(v):
    """None, 'mine', 'hierarchy_parts' or a list of (subject_mid, part_mid) pairs."""
    if v is None or v in ('mine', 'hierarchy_parts'):
        return None
    if isinstance(v, (list, tuple)) and all(
            isinstance(p, (list, tuple)) and len(p) == 2
            and all(isinstance(m, str) for m in p) for p in v):
        return None
    return ("expected None, 'mine', 'hierarchy_parts' or a list of "
            "(subject_mid, part_mid) pairs, got {!r}".format(v))


class _Optional(object):
    """A key that may be absent (added after configs were written); filled with a default."""

    def __init__(self, check, default):
        self.check = check
        self.default = default

    def __call__(self, v):
        return self.check(v)


def _str_or_none(v):
    return _is(str, none=True)(v)


CONFIG_SCHEMA = {
    'seed': _positive(numbers.Integral, zero=True),
    'dataset': {
        # ``root``: a directory in the embedded-dataset layout (``pfdet.datasets.load_split``).
        # When it is None, the explicit CSV/image paths below are used.
        'root': _str_or_none,
        'train_split': _is(str),
        'val_split': _is(str),
        'train': {'bbox_csv': _str_or_none, 'image_dir': _str_or_none,
                  'image_labels_csv': _str_or_none},
        'val': {'bbox_csv': _str_or_none, 'image_dir': _str_or_none,
                'image_labels_csv': _str_or_none},
        'class_list': _str_or_none,       # pbtxt or class-descriptions CSV (the classes trained)
        'hierarchy': _str_or_none,        # hierarchy JSON (None: no ancestor targets)
        'skip_invalid': _is(bool),
        'n_train_images': _positive(numbers.Integral, none=True),
        'n_val_images': _positive(numbers.Integral, none=True),
        # With ``root``: how ``examples/demo.py`` generates the embedded dataset there
        # (kwargs of ``pfdet.datasets.synthetic.generate``: n_train, n_val, seed, params).
        'synthetic': _is(dict, none=True),
    },
    'model': {
        # Constructor kwargs of pfdet.links.PFDet (n_fg_class comes from the dataset, comm
        # from the job); ``extra`` holds further PFDet kwargs passed through verbatim.
        'backbone': _is(str),
        'psp': _is(bool),
        'extra_fpn_scale': _is(bool),
        'context_head': _is(bool),
        'context_scale': _positive(),
        'anchor_scales': _seq_of(_positive(), min_len=1),
        'anchor_ratios': _seq_of(_positive(), min_len=1),
        'classifier': _choice('sigmoid', 'softmax'),
        'bn': _is(str),
        'head_bn': _is(bool),
        'suppression': _is(str),
        'min_size': _positive(numbers.Integral),
        'max_size': _positive(numbers.Integral),
        'pretrained_model': _str_or_none,          # npz of a whole PFDet model
        'backbone_pretrained_model': _str_or_none, # npz of the backbone (e.g. ImageNet)
        'fpn_channels': _positive(numbers.Integral, none=True),
        'head_fc_channels': _positive(numbers.Integral),
        'freeze': _seq_of(_is(str)),               # backbone layers: no update, frozen BN
        'extra': _is(dict),
    },
    'train_chain': {
        # Constructor kwargs of pfdet.links.PFDetTrainChain. ``hierarchical_targets``: pass
        # the ancestor matrix of the hierarchy (targets 1 for a box's class and its
        # ancestors). ``cooccurrence``: None, 'mine' (mine_cooccurrence_pairs on the train
        # CSVs with ``cooccurrence_mining`` kwargs), 'hierarchy_parts' (the Part edges) or a
        # list of (subject_mid, part_mid).
        'hierarchical_targets': _is(bool),
        'cooccurrence': _cooccurrence,
        'cooccurrence_mining': _is(dict),
        'cooc_ioa_thresh': _positive(),
        'cooc_unless_verified': _is(bool),
        'cooc_ignore_weight': _Optional(_fraction, 0.),   # 0: ignore (PFDet)
        # None (PFDet): ignore every selected entry; an IoU: only those near a pseudo-box
        'cooc_pseudo_box_iou': _Optional(_above_zero(none=True), None),
        # None: every pseudo-box counts; a probability in (0, 1): only those the head scores
        # that high, and entries overlapping none of them stay ignored (needs the IoU above)
        'cooc_pseudo_box_min_score': _Optional(_above_zero(upper_open=True, none=True), None),
        # False (PFDet); True: the entries kept inside subjects where the part is verified
        # weigh 1 / ann(part | subject) (inverse annotation rate; needs cooc_unless_verified)
        'cooc_reweight': _Optional(_is(bool), False),
        'head_n_sample': _positive(numbers.Integral),
        'head_fg_ratio': _fraction,
        'head_fg_thresh': _fraction,
        'conf_normalize': _choice('roi', 'entry'),
        'rpn_n_sample': _positive(numbers.Integral),
        'extra': _is(dict),
    },
    'train': {
        'batchsize': _positive(numbers.Integral),            # global batch (all ranks)
        'iteration': _positive(numbers.Integral, none=True),
        'epoch': _positive(numbers.Real, none=True),
        'base_lr': _positive(),
        'base_batchsize': _positive(numbers.Integral),
        'lr_schedule': _choice('cosine', 'step', 'constant'),
        'lr_steps': _seq_of(_fraction),                   # fractions of the run ('step' only)
        'lr_step_factor': _positive(),
        'warmup_iteration': _positive(numbers.Integral, zero=True),
        'warmup_ratio': _fraction,
        'momentum': _fraction,
        'weight_decay': _positive(zero=True),
        'scales': _seq_of(_positive(numbers.Integral), min_len=1),
        'max_size': _positive(numbers.Integral),
        'flip': _is(bool),
        'sampler': _choice('shuffle', 'class_aware', 'repeat_factor'),
        'repeat_thresh': _Optional(_fraction, 0.1),        # sampler='repeat_factor' only
        'iterator': _choice('multiprocess', 'serial'),
        'n_processes': _positive(numbers.Integral, none=True),
        'shared_mem': _positive(numbers.Integral, none=True),
        'stop_on_nonfinite': _is(bool),
    },
    'mpi': {
        'communicator': _str_or_none,      # None: 'pure_nccl' with GPUs, 'naive' on CPU
        'gpu': _is(bool),
    },
    'eval': {
        'interval': _trigger,
        # in-training evaluation on the first N validation images only (None: all of them);
        # examples/evaluate.py always uses the whole validation split
        'n_images': _Optional(_positive(numbers.Integral, none=True), None),
        'batchsize': _positive(numbers.Integral),
        'preset': _choice('evaluate', 'visualize'),
        'score_thresh': _positive(zero=True, none=True),
        # IoU threshold of the per-class suppression (NMW / NMS); None: the preset's
        'nms_thresh': _Optional(lambda v: None if v is None else _fraction(v), None),
        'expand_hierarchy': _is(bool),
    },
    'log': {
        'interval': _trigger,
        'snapshot_interval': _trigger,
        'keep_snapshots': _positive(numbers.Integral, none=True),
        'plot': _is(bool),
        'progress_bar': _is(bool),
        'progress_update_interval': _positive(numbers.Integral),
    },
}


def _validate(value, schema, prefix, errors):
    if not isinstance(value, dict):
        errors.append('{}: expected a dict, got {!r}'.format(prefix or 'config', value))
        return
    for key in sorted(set(value) - set(schema)):
        errors.append("{}: unknown key (known: {})".format(
            _join(prefix, key), ', '.join(sorted(schema))))
    for key in sorted(set(schema) - set(value)):
        if isinstance(schema[key], _Optional):
            value[key] = copy.deepcopy(schema[key].default)
        else:
            errors.append('{}: missing'.format(_join(prefix, key)))
    for key in sorted(set(schema) & set(value)):
        sub = schema[key]
        if isinstance(sub, dict):
            _validate(value[key], sub, _join(prefix, key), errors)
        else:
            err = sub(value[key])
            if err:
                errors.append('{}: {}'.format(_join(prefix, key), err))


def _join(prefix, key):
    return '{}.{}'.format(prefix, key) if prefix else str(key)


def validate_config(config, path='<config>'):
    """Check a config dict against :data:`CONFIG_SCHEMA`.

    Cross-key rules: exactly one of ``train.iteration`` and ``train.epoch`` is set; with
    ``dataset.root`` unset, the train/val CSV and image paths are required;
    ``train.lr_steps`` with the step schedule; ``train_chain.cooc_pseudo_box_min_score``
    only with ``train_chain.cooc_pseudo_box_iou``; ``train_chain.cooc_reweight`` only with
    ``train_chain.cooc_unless_verified``.

    Args:
        config (dict): The config.
        path (str): Shown in error messages.

    Returns:
        dict: ``config`` itself.

    Raises:
        ConfigError: Listing every bad key as ``PATH: dotted.key: reason``.

    """
    errors = []
    _validate(config, CONFIG_SCHEMA, '', errors)
    if not errors:
        train = config['train']
        if (train['iteration'] is None) == (train['epoch'] is None):
            errors.append('train.iteration / train.epoch: set exactly one of them, got '
                          'iteration={!r}, epoch={!r}'.format(train['iteration'], train['epoch']))
        ds = config['dataset']
        if ds['root'] is None:
            for split in ('train', 'val'):
                for key in ('bbox_csv', 'image_dir'):
                    if ds[split][key] is None:
                        errors.append('dataset.{}.{}: required when dataset.root is None'
                                      .format(split, key))
        if train['lr_schedule'] == 'step' and not train['lr_steps']:
            errors.append("train.lr_steps: required with lr_schedule='step'")
        tc = config['train_chain']
        if tc['cooc_pseudo_box_min_score'] is not None and tc['cooc_pseudo_box_iou'] is None:
            errors.append('train_chain.cooc_pseudo_box_min_score: needs '
                          'train_chain.cooc_pseudo_box_iou')
        if tc['cooc_reweight'] and not tc['cooc_unless_verified']:
            errors.append('train_chain.cooc_reweight: needs train_chain.cooc_unless_verified')
    if errors:
        raise ConfigError('{}: invalid config:\n  {}'.format(path, '\n  '.join(errors)))
    return config


def deep_update(base, delta, strict=True):
    """Return a deep copy of ``base`` updated recursively with ``delta``.

    Nested dicts are merged key by key; any other value (lists, tuples, None) replaces the
    base value. ``base`` and ``delta`` are left untouched.

    Args:
        base (dict): The base config.
        delta (dict): The changes.
        strict (bool): Refuse keys of ``delta`` that ``base`` lacks (typos), except below a
            key of :data:`_OPEN_KEYS` (``model.extra``, ``train_chain.extra``,
            ``train_chain.cooccurrence_mining``), where new keys are expected.

    Returns:
        dict: The merged config.

    Raises:
        ConfigError: On an unknown key with ``strict=True``.

    """
    out = copy.deepcopy(base)
    _merge(out, delta, strict, '')
    return out


_OPEN_KEYS = {'model.extra', 'train_chain.extra', 'train_chain.cooccurrence_mining',
              'dataset.synthetic'}


def _merge(out, delta, strict, prefix):
    if not isinstance(delta, dict):
        raise ConfigError('deep_update: delta{} must be a dict, got {!r}'.format(
            ' at ' + prefix if prefix else '', delta))
    for key, value in delta.items():
        dotted = _join(prefix, key)
        if key not in out:
            if strict and prefix not in _OPEN_KEYS:
                raise ConfigError('deep_update: unknown key {!r} (known at this level: {})'
                                  .format(dotted, ', '.join(sorted(map(str, out)))))
            out[key] = copy.deepcopy(value)
        elif isinstance(out[key], dict) and isinstance(value, dict):
            _merge(out[key], value, strict, dotted)
        else:
            out[key] = copy.deepcopy(value)


def _package_root(path):
    """The first ancestor directory of ``path`` that is not a Python package."""
    d = os.path.dirname(os.path.abspath(path))
    while os.path.exists(os.path.join(d, '__init__.py')):
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return d


def load_config(path, validate=True):
    """Load the ``config`` dict of a plain-Python config file.

    The directory above the file's package (for ``experiments/pfdet/x.py``, the
    repository root) is put on ``sys.path`` so that configs can import their base.

    Args:
        path (str): Path of a ``.py`` file defining ``config = dict(...)``.
        validate (bool): Run :func:`validate_config`.

    Returns:
        dict: A deep copy of the file's ``config``.

    Raises:
        ConfigError: The file is missing, is not a ``.py`` file, raises while executing,
            defines no ``config`` dict, or fails validation.

    """
    if not os.path.isfile(path):
        raise ConfigError('config file not found: {}'.format(path))
    if not path.endswith('.py'):
        raise ConfigError('{}: a config must be a Python file (.py) defining '
                          '`config = dict(...)`'.format(path))
    root = _package_root(path)
    if root not in sys.path:
        sys.path.insert(0, root)
    name = '_pfdet_config_{}'.format(abs(hash(os.path.abspath(path))))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise ConfigError('{}:{}: syntax error in config: {}'.format(
            path, e.lineno, e.msg)) from None
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        frames = [f for f in tb if os.path.abspath(f.filename) == os.path.abspath(path)]
        line = ':{}'.format(frames[-1].lineno) if frames else ''
        if isinstance(e, ConfigError):  # e.g. a typo caught by deep_update
            raise ConfigError('{}{}: {}'.format(path, line, e)) from None
        raise ConfigError('{}{}: error while loading config: {}: {}'.format(
            path, line, type(e).__name__, e)) from e
    if not isinstance(getattr(module, 'config', None), dict):
        raise ConfigError('{}: the file must define `config = dict(...)`'.format(path))
    config = copy.deepcopy(module.config)
    if validate:
        validate_config(config, path)
    return config
