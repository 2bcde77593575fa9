"""Builders: the one place that maps config keys to constructor arguments.

``examples/train_multi.py``, ``examples/evaluate.py`` and ``examples/predict.py`` build
everything through these functions, so that a config key means the same thing everywhere:

* :func:`dataset_paths`, :func:`load_classes`, :func:`build_datasets`: ``config['dataset']``
  (and ``config['eval']['expand_hierarchy']``) to :class:`pfdet.datasets.OpenImagesBboxDataset`;
* :func:`build_model`: ``config['model']`` to :class:`pfdet.links.PFDet`;
* :func:`build_train_chain`: ``config['train_chain']`` to :class:`pfdet.links.PFDetTrainChain`;
* :func:`build_train_iterator`: ``config['train']`` (transform, sampler, iterator);
* :func:`build_optimizer`, :func:`lr_schedule_args`: ``config['train']`` to the multi-node
  MomentumSGD and the learning-rate schedule.
"""

import inspect
import math
import os

import chainer
import numpy as np

from pfdet.training.config import ConfigError
from pfdet.training.lr_schedule import scaled_lr
from pfdet.training.samplers import ClassAwareOrderSampler
from pfdet.training.samplers import RepeatFactorOrderSampler
from pfdet.training.samplers import ShuffleOrderSampler
from pfdet.training.transforms import TrainTransform


class ClassInfo(object):
    """The classes of a run: MIDs, display names and the hierarchy (or None)."""

    def __init__(self, mids, names, hierarchy):
        self.mids = list(mids)
        self.names = list(names)
        self.hierarchy = hierarchy

    def __len__(self):
        return len(self.mids)


# --------------------------------------------------------------------------- data

def dataset_paths(config):
    """Resolve the data files of ``config['dataset']``.

    With ``dataset.root`` set, the embedded-dataset layout is used (``root/{split}/``,
    ``root/{split}-annotations-bbox.csv``, ``root/{split}-annotations-human-imagelabels.csv``,
    ``root/class-descriptions.csv``, ``root/hierarchy.json``); ``class_list`` and
    ``hierarchy``, when set, override the last two.

    Returns:
        dict: ``{'train': {...}, 'val': {...}, 'class_list': str, 'hierarchy': str or None}``
        where each split has ``bbox_csv``, ``image_dir`` and ``image_labels_csv``.

    """
    ds = config['dataset']
    out = {}
    if ds['root'] is not None:
        root = ds['root']
        for key, split in (('train', ds['train_split']), ('val', ds['val_split'])):
            labels = os.path.join(root, '{}-annotations-human-imagelabels.csv'.format(split))
            out[key] = dict(
                bbox_csv=os.path.join(root, '{}-annotations-bbox.csv'.format(split)),
                image_dir=os.path.join(root, split),
                image_labels_csv=labels if os.path.exists(labels) else None)
        out['class_list'] = ds['class_list'] or os.path.join(root, 'class-descriptions.csv')
        hierarchy = ds['hierarchy'] or os.path.join(root, 'hierarchy.json')
        out['hierarchy'] = hierarchy if (ds['hierarchy'] or os.path.exists(hierarchy)) else None
    else:
        for key in ('train', 'val'):
            out[key] = dict(ds[key])
        out['class_list'] = ds['class_list']
        out['hierarchy'] = ds['hierarchy']
    return out


def _require(path, key):
    if path is not None and not os.path.exists(path):
        raise ConfigError('{}: file not found: {}'.format(key, path))


def load_classes(config):
    """:class:`ClassInfo` of ``config['dataset']`` (class list and hierarchy files)."""
    from pfdet.datasets import ClassHierarchy
    from pfdet.datasets import read_class_descriptions
    from pfdet.datasets import read_label_map
    paths = dataset_paths(config)
    path = paths['class_list']
    if path is None:
        raise ConfigError('dataset.class_list: required when dataset.root is None')
    _require(path, 'dataset.class_list')
    if path.endswith('.pbtxt'):
        mids, _, names = read_label_map(path)
    else:
        mids, names = read_class_descriptions(path)
    hierarchy = None
    if paths['hierarchy'] is not None:
        _require(paths['hierarchy'], 'dataset.hierarchy')
        hierarchy = ClassHierarchy.from_json(paths['hierarchy'])
    return ClassInfo(mids, names, hierarchy)


def build_dataset(config, split, classes, expand_hierarchy=False):
    """One split (``'train'`` or ``'val'``) as an :class:`OpenImagesBboxDataset`.

    ``dataset.n_train_images`` / ``dataset.n_val_images`` keep the first N images.
    """
    from pfdet.datasets import OpenImagesBboxDataset
    paths = dataset_paths(config)[split]
    for key in ('bbox_csv', 'image_dir', 'image_labels_csv'):
        _require(paths[key], 'dataset.{}.{}'.format(split, key))
    if expand_hierarchy and classes.hierarchy is None:
        raise ConfigError('eval.expand_hierarchy needs a hierarchy (dataset.hierarchy or '
                          'root/hierarchy.json)')
    dataset = OpenImagesBboxDataset(
        paths['bbox_csv'], paths['image_dir'], paths['image_labels_csv'],
        class_mids=classes.mids, hierarchy=classes.hierarchy,
        expand_hierarchy=expand_hierarchy, skip_invalid=config['dataset']['skip_invalid'])
    dataset.class_names = classes.names
    n = config['dataset']['n_{}_images'.format(split)]
    if n is not None and n < len(dataset):
        sub = dataset.slice[:n]
        sub.class_mids = dataset.class_mids
        sub.class_names = dataset.class_names
        sub.image_ids = dataset.image_ids[:n]
        keep = set(sub.image_ids)
        for attr in ('bbox_df', 'image_labels_df'):
            df = getattr(dataset, attr, None)
            setattr(sub, attr, None if df is None else df[df['ImageID'].isin(keep)])
        dataset = sub
    return dataset


def build_datasets(config, classes=None):
    """``(train, val, classes)``: the train split unexpanded (the train chain adds ancestors
    through the ancestor matrix), the val split expanded when ``eval.expand_hierarchy``."""
    classes = classes or load_classes(config)
    train = build_dataset(config, 'train', classes)
    val = build_dataset(config, 'val', classes,
                        expand_hierarchy=config['eval']['expand_hierarchy'])
    return train, val, classes


# --------------------------------------------------------------------------- model

def model_kwargs(config, **overrides):
    """Keyword arguments of :class:`pfdet.links.PFDet` from ``config['model']``."""
    kwargs = dict(config['model'])
    extra = kwargs.pop('extra')
    for key in ('anchor_scales', 'anchor_ratios', 'freeze'):
        kwargs[key] = tuple(kwargs[key])
    clash = set(extra) & set(kwargs)
    if clash:
        raise ConfigError('model.extra: {} duplicate(s) model keys'.format(sorted(clash)))
    kwargs.update(extra)
    kwargs.update(overrides)
    return kwargs


def build_model(config, n_fg_class, comm=None, **overrides):
    """:class:`pfdet.links.PFDet` from ``config['model']``.

    Args:
        config (dict): The config.
        n_fg_class (int): Number of classes.
        comm: Communicator for ``bn='multi_node'``.
        **overrides: Replace config values (e.g. ``bn='frozen'`` for inference).

    """
    from pfdet.links import PFDet
    kwargs = model_kwargs(config, **overrides)
    known = set(inspect.signature(PFDet.__init__).parameters)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ConfigError('model: PFDet has no argument(s) {} (from model.extra?)'
                          .format(unknown))
    if kwargs.get('bn') == 'multi_node' and comm is None:
        kwargs['bn'] = 'local'
    model = PFDet(n_fg_class, comm=comm, **kwargs)
    return model


def use_eval_preset(model, config):
    """Set the test-time post-processing of ``model`` from ``config['eval']``: its
    ``preset``, then ``score_thresh`` and ``nms_thresh`` (the IoU threshold of the per-class
    suppression) where they are not None (the training and the evaluation script share it)."""
    ev = config['eval']
    model.use_preset(ev['preset'])
    if ev['score_thresh'] is not None:
        model.score_thresh = ev['score_thresh']
    if ev['nms_thresh'] is not None:
        model.nms_thresh = ev['nms_thresh']


def _pairs_from_config(config, classes, train_dataset):
    from pfdet.links.model.pfdet.cooccurrence import cooccurrence_pairs_matrix
    from pfdet.links.model.pfdet.cooccurrence import mine_cooccurrence_pairs
    from pfdet.links.model.pfdet.cooccurrence import part_edge_pairs
    tc = config['train_chain']
    mode = tc['cooccurrence']
    if mode is None:
        return None, []
    if mode == 'hierarchy_parts' and classes.hierarchy is None:
        raise ConfigError("train_chain.cooccurrence='hierarchy_parts' needs a hierarchy")
    if mode == 'hierarchy_parts':
        pairs = sorted(part_edge_pairs(classes.hierarchy, classes.mids))
    elif mode == 'mine':
        pairs, _ = mine_cooccurrence_pairs(
            train_dataset.bbox_df, getattr(train_dataset, 'image_labels_df', None),
            classes.mids, classes.hierarchy, **tc['cooccurrence_mining'])
    else:
        pairs = [tuple(p) for p in mode]
    try:
        matrix = cooccurrence_pairs_matrix(pairs, classes.mids)
    except ValueError as e:
        raise ConfigError('train_chain.cooccurrence: {}'.format(e)) from None
    return matrix, pairs


#: Largest inverse annotation rate of ``train_chain.cooc_reweight`` (a pair verified in
#: fewer than 5 % of its subject's training images weighs 20): bounds the variance.
COOC_MAX_WEIGHT = 20.


def cooc_pair_weights(pairs, classes, train_dataset):
    """``(C, C)`` float32 ``W[s, p] = 1 / ann(p | s)`` for the pairs (at most
    :data:`COOC_MAX_WEIGHT`; 1 for a pair never verified, which has nothing to weigh), 0
    elsewhere, from the training split's boxes and image-level labels
    (:func:`~pfdet.links.model.pfdet.cooccurrence.pair_annotation_rates`).

    Returns:
        tuple: ``(weights, rates)``, ``rates`` the table of the pairs' statistics.
    """
    from pfdet.links.model.pfdet.cooccurrence import pair_annotation_rates
    rates = pair_annotation_rates(
        train_dataset.bbox_df, getattr(train_dataset, 'image_labels_df', None), pairs,
        classes.mids, classes.hierarchy)
    index = {m: i for i, m in enumerate(classes.mids)}
    weights = np.zeros((len(classes.mids),) * 2, dtype=np.float32)
    w = np.where(rates['n_verified'] > 0,
                 1 / np.maximum(rates['ann'].values, 1 / COOC_MAX_WEIGHT), 1.)
    weights[rates['Subject'].map(index).values, rates['Part'].map(index).values] = w
    return weights, rates


def build_train_chain(config, model, classes, train_dataset, comm=None):
    """:class:`pfdet.links.PFDetTrainChain` from ``config['train_chain']``.

    The co-occurrence pairs are computed on rank 0 and broadcast.

    Returns:
        tuple: ``(train_chain, pairs)``, ``pairs`` the list of (subject, part) MIDs used.

    """
    from pfdet.links import PFDetTrainChain
    tc = config['train_chain']
    ancestor = None
    if tc['hierarchical_targets']:
        if classes.hierarchy is None:
            raise ConfigError('train_chain.hierarchical_targets needs a hierarchy '
                              '(dataset.hierarchy or root/hierarchy.json)')
        ancestor = classes.hierarchy.ancestor_matrix(classes.mids)
    weights = None
    if comm is None or comm.rank == 0:
        matrix, pairs = _pairs_from_config(config, classes, train_dataset)
        if matrix is not None and tc['cooc_reweight']:
            weights, _ = cooc_pair_weights(pairs, classes, train_dataset)
    else:
        matrix, pairs = None, None
    if comm is not None and comm.size > 1:
        matrix, pairs, weights = comm.bcast_obj(
            (matrix, pairs, weights) if comm.rank == 0 else None)
    kwargs = dict(cooc_ioa_thresh=tc['cooc_ioa_thresh'],
                  cooc_unless_verified=tc['cooc_unless_verified'],
                  cooc_ignore_weight=tc['cooc_ignore_weight'],
                  cooc_pseudo_box_iou=tc['cooc_pseudo_box_iou'],
                  cooc_pseudo_box_min_score=tc['cooc_pseudo_box_min_score'],
                  cooc_pair_weights=weights,
                  head_n_sample=tc['head_n_sample'], head_fg_ratio=tc['head_fg_ratio'],
                  head_fg_thresh=tc['head_fg_thresh'], conf_normalize=tc['conf_normalize'],
                  rpn_n_sample=tc['rpn_n_sample'])
    kwargs.update(tc['extra'])
    return PFDetTrainChain(model, ancestor_matrix=ancestor, cooccurrence_pairs=matrix,
                           **kwargs), pairs


# --------------------------------------------------------------------------- iterators

def train_keys(train_chain_config):
    """Dataset keys fed to the train chain: img, bbox, label (+ img_label if used)."""
    keys = ('img', 'bbox', 'label')
    if train_chain_config['cooccurrence'] is not None and \
            train_chain_config['cooc_unless_verified']:
        keys += ('img_label',)
    return keys


def train_converter(batch, device=None):
    """Transpose a batch of tuples into lists (one per item), sent to ``device``.

    Images keep their own sizes (the train chain pads them), as in ChainerCV's FPN example.
    """
    return tuple([chainer.dataset.to_device(device, x) for x in items]
                 for items in zip(*batch))


def build_train_iterator(config, dataset, mean, comm=None):
    """The train iterator of one rank over its (already scattered) shard.

    ``train.sampler`` picks :class:`ShuffleOrderSampler`, :class:`ClassAwareOrderSampler` or
    :class:`RepeatFactorOrderSampler` (``train.repeat_thresh``), seeded with
    ``(seed, rank)``; ``train.iterator`` a ``MultiprocessIterator`` (with ``n_processes``
    and ``shared_mem``) or a ``SerialIterator``; the per-rank batch is
    ``train.batchsize / comm.size``.
    """
    from chainer.datasets import TransformDataset
    tr = config['train']
    size = comm.size if comm is not None else 1
    rank = comm.rank if comm is not None else 0
    if tr['batchsize'] % size:
        raise ConfigError('train.batchsize ({}) must be a multiple of the number of ranks '
                          '({})'.format(tr['batchsize'], size))
    batchsize = tr['batchsize'] // size
    keys = train_keys(config['train_chain'])
    seed = (config['seed'], rank)
    if tr['sampler'] in ('class_aware', 'repeat_factor'):
        labels_ds = dataset.slice[:, 'label']
        labels = [labels_ds[i] for i in range(len(labels_ds))]
        if tr['sampler'] == 'class_aware':
            sampler = ClassAwareOrderSampler(labels, seed)
        else:
            sampler = RepeatFactorOrderSampler(labels, tr['repeat_thresh'], seed)
    else:
        sampler = ShuffleOrderSampler(seed)
    data = TransformDataset(dataset.slice[:, keys],
                            TrainTransform(tr['scales'], tr['max_size'], mean, tr['flip']))
    if tr['iterator'] == 'multiprocess':
        return chainer.iterators.MultiprocessIterator(
            data, batchsize, n_processes=tr['n_processes'] or batchsize,
            shared_mem=tr['shared_mem'], order_sampler=sampler)
    return chainer.iterators.SerialIterator(data, batchsize, order_sampler=sampler)


# --------------------------------------------------------------------------- optimizer

def total_iterations(config, n_train_images):
    """``train.iteration``, or ``ceil(train.epoch * n_train_images / train.batchsize)``."""
    tr = config['train']
    if tr['iteration'] is not None:
        return tr['iteration']
    return int(math.ceil(tr['epoch'] * n_train_images / tr['batchsize']))


def lr_schedule_args(config, total_iteration):
    """Arguments of :func:`pfdet.training.make_lr_schedule` (linear scaling rule applied)."""
    tr = config['train']
    return dict(lr0=scaled_lr(tr['base_lr'], tr['batchsize'], tr['base_batchsize']),
                total_iteration=total_iteration, schedule=tr['lr_schedule'],
                warmup_iteration=tr['warmup_iteration'], warmup_ratio=tr['warmup_ratio'],
                steps=tuple(tr['lr_steps']), step_factor=tr['lr_step_factor'])


def build_optimizer(config, train_chain, comm=None):
    """MomentumSGD (+ WeightDecay) wrapped by ``chainermn.create_multi_node_optimizer``.

    ChainerMN's multi-node optimizer spends its first ``update()`` broadcasting the
    parameters from rank 0 instead of updating (and does so again whenever it sees a new
    set of parameters). That would make the first iteration after every resume a no-op, so
    here the parameters are broadcast once up front (:func:`synchronize_parameters`) and the
    optimizer is told about them; every ``update()`` then all-reduces and updates.
    """
    tr = config['train']
    lr0 = scaled_lr(tr['base_lr'], tr['batchsize'], tr['base_batchsize'])
    optimizer = chainer.optimizers.MomentumSGD(lr=lr0, momentum=tr['momentum'])
    if comm is not None:
        import chainermn
        optimizer = chainermn.create_multi_node_optimizer(optimizer, comm)
    optimizer.setup(train_chain)
    # ``GradientMethod.setup`` creates fresh, enabled update rules: the layers frozen by the
    # model (``model.freeze``) must be disabled again, after ``setup``.
    from pfdet.links import disable_frozen_updates
    disable_frozen_updates(train_chain)
    if tr['weight_decay'] > 0:
        optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(tr['weight_decay']))
    if comm is not None:
        synchronize_parameters(optimizer, comm)
    return optimizer


def synchronize_parameters(optimizer, comm):
    """Broadcast the parameters from rank 0 and register them with a multi-node optimizer.

    Raises:
        RuntimeError: Some parameter is not initialized yet (a lazily-sized layer).

    """
    target = optimizer.target
    missing = [name for name, p in target.namedparams() if p.array is None]
    if missing:
        raise RuntimeError('parameters not initialized before training: {}'.format(
            ', '.join(missing[:5])))
    comm.bcast_data(target)
    if hasattr(optimizer, 'is_changed'):
        optimizer.is_changed(target)  # records the parameter set: no broadcast at update 1
