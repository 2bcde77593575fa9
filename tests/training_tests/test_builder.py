import os

import numpy as np
import pytest

import chainer

from pfdet.training import builder
from pfdet.training import ConfigError
from pfdet.training import ClassAwareOrderSampler
from pfdet.training import deep_update
from pfdet.training import load_config
from pfdet.training import ShuffleOrderSampler

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from pfdet.datasets.synthetic import generate
    out = str(tmp_path_factory.mktemp('b') / 'd')
    generate(out, n_train=12, n_val=4, seed=1, size=(64, 80))
    return out


@pytest.fixture
def config(data):
    c = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    return deep_update(c, dict(
        dataset=dict(root=data),
        model=dict(min_size=64, max_size=80, fpn_channels=16, head_fc_channels=32),
        train=dict(batchsize=2, scales=(64,), max_size=80)))


def test_paths_of_root_layout(config, data):
    p = builder.dataset_paths(config)
    assert p['train']['bbox_csv'] == os.path.join(data, 'train-annotations-bbox.csv')
    assert p['val']['image_dir'] == os.path.join(data, 'validation')
    assert p['class_list'] == os.path.join(data, 'class-descriptions.csv')
    assert p['hierarchy'] == os.path.join(data, 'hierarchy.json')


def test_datasets(config):
    train, val, classes = builder.build_datasets(config)
    assert train.class_mids == val.class_mids == classes.mids
    import pandas as pd
    raw = pd.read_csv(builder.dataset_paths(config)['val']['bbox_csv'])
    # the validation ground truth is hierarchy-expanded (more boxes than the file)
    assert sum(len(val.slice[:, 'label'][i]) for i in range(len(val))) > len(raw)
    config['dataset']['n_val_images'] = 2
    _, val2, _ = builder.build_datasets(config, classes)
    assert len(val2) == 2 and val2.image_ids == val.image_ids[:2]


def test_missing_files_are_named(config, tmp_path):
    config['dataset']['root'] = str(tmp_path)
    with pytest.raises(ConfigError, match='dataset.class_list: file not found'):
        builder.load_classes(config)


def test_model_kwargs(config):
    kw = builder.model_kwargs(config)
    assert kw['fpn_channels'] == 16 and kw['backbone'] == 'se_resnext_tiny'
    assert 'extra' not in kw
    config['model']['extra'] = {'fpn_channels': 8}
    with pytest.raises(ConfigError, match='duplicate'):
        builder.model_kwargs(config)
    config['model']['extra'] = {'no_such_arg': 1}
    with pytest.raises(ConfigError, match=r"PFDet has no argument\(s\) \['no_such_arg'\]"):
        builder.build_model(config, 3)


def test_train_chain_targets_and_pairs(config):
    from pfdet.links.model.pfdet.cooccurrence import part_edge_pairs
    train, _, classes = builder.build_datasets(config)
    model = builder.build_model(config, len(classes))
    tc, pairs = builder.build_train_chain(config, model, classes, train)
    assert tc.ancestor_matrix.shape == (len(classes),) * 2
    assert sorted(pairs) == sorted(part_edge_pairs(classes.hierarchy, classes.mids))
    assert tc.cooccurrence_pairs.sum() == len(pairs)
    assert tc.cooc_pseudo_box_iou is None
    config['train_chain']['cooc_pseudo_box_iou'] = 0.5
    tc, _ = builder.build_train_chain(config, model, classes, train)
    assert tc.cooc_pseudo_box_iou == 0.5 and tc.cooc_pseudo_box_min_score is None
    config['train_chain']['cooc_pseudo_box_min_score'] = 0.5
    tc, _ = builder.build_train_chain(config, model, classes, train)
    assert tc.cooc_pseudo_box_min_score == 0.5
    config['train_chain']['cooccurrence'] = [('/m/01g317', '/m/nope')]
    with pytest.raises(ConfigError, match=r'train_chain.cooccurrence: .*/m/nope'):
        builder.build_train_chain(config, model, classes, train)
    config['train_chain']['cooccurrence'] = None
    tc, pairs = builder.build_train_chain(config, model, classes, train)
    assert tc.cooccurrence_pairs is None and pairs == []
    assert builder.train_keys(config['train_chain']) == ('img', 'bbox', 'label')


def test_inverse_annotation_rate_weights_from_the_training_csvs(config, data):
    import pandas as pd
    from pfdet.training import validate_config
    train, _, classes = builder.build_datasets(config)
    model = builder.build_model(config, len(classes))
    tc, _ = builder.build_train_chain(config, model, classes, train)
    assert tc.cooc_pair_weights is None                 # PFDet: off
    config['train_chain']['cooc_reweight'] = True
    tc, pairs = builder.build_train_chain(config, model, classes, train)
    w = tc.cooc_pair_weights
    assert w.shape == (len(classes),) * 2 and w.dtype == np.float32
    # oracle from the raw CSVs, image by image: the images with a box of the subject
    # or of a descendant, and among them those where the part has a box or a label
    boxes = pd.read_csv(os.path.join(data, 'train-annotations-bbox.csv'))
    image_labels = pd.read_csv(os.path.join(data, 'train-annotations-human-imagelabels.csv'))
    index = {m: i for i, m in enumerate(classes.mids)}
    n_checked = 0
    for s, p in pairs:
        kinds = {s} | set(classes.hierarchy.descendants(s))
        with_subject = set(boxes.loc[boxes['LabelName'].isin(kinds), 'ImageID'])
        verified = set(boxes.loc[boxes['LabelName'] == p, 'ImageID']) | \
            set(image_labels.loc[image_labels['LabelName'] == p, 'ImageID'])
        n = len(with_subject & verified)
        expected = 1. if n == 0 else min(len(with_subject) / n, builder.COOC_MAX_WEIGHT)
        assert w[index[s], index[p]] == pytest.approx(expected, rel=1e-6)
        n_checked += n > 0
    assert n_checked >= 1
    mask = np.zeros_like(w, dtype=bool)
    for s, p in pairs:
        mask[index[s], index[p]] = True
    assert (w[~mask] == 0).all() and (w[mask] >= 1).all()
    config['train_chain']['cooc_unless_verified'] = False
    with pytest.raises(ConfigError, match='cooc_reweight: needs'):
        validate_config(config)


def test_optimizer_lr_weight_decay_and_freeze(config):
    config['model']['freeze'] = ('conv1',)
    config['train']['batchsize'] = 32
    train, _, classes = builder.build_datasets(config)
    model = builder.build_model(config, len(classes))
    tc, _ = builder.build_train_chain(config, model, classes, train)
    opt = builder.build_optimizer(config, tc)
    assert opt.lr == pytest.approx(0.02 * 32 / 16)
    assert opt.momentum == 0.9
    assert 'WeightDecay' in opt._hookable._pre_update_hooks
    conv1 = model.extractor.base.conv1
    frozen = [p for p in conv1.params()]
    assert frozen and all(not p.update_rule.enabled for p in frozen)
    before = [p.array.copy() for p in frozen]
    other = model.extractor.base.res2
    other_before = [p.array.copy() for p in other.params()]
    it = builder.build_train_iterator(config, train, model.extractor.mean)
    batch = builder.train_converter(next(it))
    opt.update(tc, *batch)
    for b, p in zip(before, frozen):
        np.testing.assert_array_equal(b, p.array)
    assert any(not np.array_equal(b, p.array) for b, p in zip(other_before, other.params()))


def test_total_iterations_and_schedule(config):
    config['train'].update(epoch=2.5, iteration=None, batchsize=8)
    assert builder.total_iterations(config, 100) == 32   # ceil(2.5 * 100 / 8)
    args = builder.lr_schedule_args(config, 32)
    assert args['lr0'] == pytest.approx(0.01) and args['total_iteration'] == 32
    assert args['schedule'] == 'cosine' and args['warmup_iteration'] == 50


def test_train_iterator(config):
    train, _, classes = builder.build_datasets(config)
    mean = np.zeros((3, 1, 1), np.float32)

    class Comm(object):
        size, rank = 2, 1
    it = builder.build_train_iterator(config, train, mean, Comm())
    assert isinstance(it, chainer.iterators.SerialIterator)
    assert it.batch_size == 1 and isinstance(it.order_sampler, ShuffleOrderSampler)
    assert it.order_sampler.seed == (0, 1)
    img, bbox, label, img_label = next(it)[0]
    assert min(img.shape[1:]) == 64
    config['train']['sampler'] = 'class_aware'
    it = builder.build_train_iterator(config, train, mean, Comm())
    assert isinstance(it.order_sampler, ClassAwareOrderSampler)
    config['train']['batchsize'] = 3
    with pytest.raises(ConfigError, match='multiple of the number of ranks'):
        builder.build_train_iterator(config, train, mean, Comm())
