"""Every experiment config loads, validates and builds (no training), so no row can rot.

* Every ``experiments/**/*.py`` that assigns a module-level ``config`` (and ``toy_config``)
  is loaded with :func:`pfdet.training.load_config` and validated.
* Toy-scale configs (tiny backbone) build the model and the train chain exactly as
  ``examples/train_multi.py`` does (:mod:`pfdet.training.builder`) and run one training
  forward/backward on a 64x64 image, then one prediction.
* Full-scale configs are not built as they are (SE-ResNeXt-101 and SENet-154 take too long
  for a unit test): their model and train-chain keyword arguments are checked against the
  constructors' signatures, and the config is built with only the backbone swapped for the
  tiny one, which exercises every other switch at its full-scale value.
* The ablation chain is checked against the poster: contiguous rows, each delta equal to
  the difference of consecutive mAPs, row 7 equal to ``base.py``, and both scales of a row
  changing the same config sections.
"""

import ast
import copy
import glob
import importlib
import inspect
import os
import sys

import numpy as np
import pandas as pd
import pytest

import chainer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from pfdet.training import builder  # NOQA: E402
from pfdet.datasets.synthetic import default_params  # NOQA: E402
from pfdet.training import load_config  # NOQA: E402
from pfdet.training import validate_config  # NOQA: E402
from pfdet.training.builder import ClassInfo  # NOQA: E402

from experiments.pfdet import ablation  # NOQA: E402

_CONFIG_NAMES = ('config', 'toy_config')


def _config_files():
    """``[(relative path, [config attribute names])]`` of every config file."""
    out = []
    for path in sorted(glob.glob(os.path.join(REPO, 'experiments', '**', '*.py'),
                                 recursive=True)):
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        names = set()
        for node in tree.body:
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for t in targets:
                elts = t.elts if isinstance(t, ast.Tuple) else [t]
                names.update(e.id for e in elts if isinstance(e, ast.Name))
        attrs = [n for n in _CONFIG_NAMES if n in names]
        if attrs:
            out.append((os.path.relpath(path, REPO), attrs))
    return out


CONFIG_FILES = _config_files()
CASES = [(path, attr) for path, attrs in CONFIG_FILES for attr in attrs]


def _module(path):
    name = os.path.splitext(path)[0].replace(os.sep, '.')
    return importlib.import_module(name)


def _get_config(path, attr):
    if attr == 'config':
        return load_config(os.path.join(REPO, path))   # the loader train_multi.py uses
    # a copy: tests change what they get, and the module's config is shared by every test
    config = copy.deepcopy(getattr(_module(path), attr))
    return validate_config(config, '{}:{}'.format(path, attr))


def _toy_classes():
    from pfdet.datasets import ClassHierarchy
    from pfdet.datasets import synthetic
    return ClassInfo(synthetic.synthetic_class_mids, synthetic.synthetic_class_names,
                     ClassHierarchy.from_json(synthetic.hierarchy_tree()))


class _NoData(object):
    """Stands in for the training set: no box, no label (only ``'mine'`` pair mining and
    ``cooc_reweight``'s annotation rates read it)."""
    bbox_df = pd.DataFrame(columns=['ImageID', 'LabelName', 'XMin', 'XMax', 'YMin', 'YMax'])
    image_labels_df = None


def _build_and_step(config):
    """Build as train_multi.py does; one train step and one prediction on a tiny image."""
    classes = _toy_classes()
    if config['train_chain']['cooccurrence'] == 'mine':
        config['train_chain']['cooccurrence'] = 'hierarchy_parts'   # needs real data
    config['model'].update(min_size=64, max_size=96)   # the prediction below stays tiny
    chainer.global_config.train = True
    np.random.seed(0)
    model = builder.build_model(config, len(classes), None)
    chain, pairs = builder.build_train_chain(config, model, classes, _NoData(), None)
    assert model.bbox_head.classifier == config['model']['classifier']
    n = len(classes)
    # two images: the local BN of the smallest levels sees more than one value
    img = np.random.uniform(-100, 100, (3, 64, 64)).astype(np.float32)
    bbox = np.array([[8, 8, 56, 40], [20, 12, 40, 30]], dtype=np.float32)
    person = classes.mids.index('/m/01g317')
    face = classes.mids.index('/m/0dzct')
    label = np.array([person, face], dtype=np.int32)
    img_label = np.array([person], dtype=np.int32)
    args = ([img, img[:, ::-1].copy()], [bbox, bbox], [label, label])
    if 'img_label' in builder.train_keys(config['train_chain']):
        args += ([img_label, img_label],)
    loss = chain(*args)
    assert np.isfinite(float(loss.array))
    loss.backward()
    model.use_preset('evaluate')
    with chainer.using_config('train', False):
        bboxes, labels, scores = model.predict(
            [np.random.uniform(0, 255, (3, 48, 64)).astype(np.float32)])
    assert len(bboxes) == 1
    if len(labels[0]):
        assert labels[0].max() < n
    return model, pairs


def test_found_the_config_files():
    paths = [p for p, _ in CONFIG_FILES]
    for expected in ('experiments/pfdet/base.py', 'experiments/pfdet/toy_base.py',
                     'experiments/pfdet/ablation/00_baseline.py',
                     'experiments/pfdet/ablation/08_senet154_anchors.py'):
        assert expected in paths
    assert len([p for p in paths if '/ablation/' in p]) == 9


@pytest.mark.parametrize('path,attr', CASES)
def test_config_validates(path, attr):
    config = _get_config(path, attr)
    assert config['train']['batchsize'] > 0


def _is_toy(config):
    return config['model']['backbone'] == 'se_resnext_tiny'


@pytest.mark.parametrize('path,attr', CASES)
def test_config_builds(path, attr):
    config = _get_config(path, attr)
    if not _is_toy(config):
        # constructors accept every key (no build of the large backbone) ...
        from pfdet.links import PFDet
        from pfdet.links import PFDetTrainChain
        from pfdet.links.model.pfdet.backbones import backbone_names
        kwargs = builder.model_kwargs(config)
        params = inspect.signature(PFDet.__init__).parameters
        assert set(kwargs) <= set(params), set(kwargs) - set(params)
        assert config['model']['backbone'] in backbone_names
        tc_params = inspect.signature(PFDetTrainChain.__init__).parameters
        assert set(config['train_chain']['extra']) <= set(tc_params)
        if config['train_chain']['cooccurrence'] == 'mine':
            from pfdet.links.model.pfdet.cooccurrence import mine_cooccurrence_pairs
            mp = inspect.signature(mine_cooccurrence_pairs).parameters
            assert set(config['train_chain']['cooccurrence_mining']) <= set(mp)
        # ... and every other switch builds at its full-scale value on the tiny backbone
        config['model'].update(backbone='se_resnext_tiny', fpn_channels=None,
                               backbone_pretrained_model=None, pretrained_model=None)
    model, pairs = _build_and_step(config)
    assert model.extractor.scales is not None


# ------------------------------------------------------------------ the ablation chain

def test_chain_is_contiguous_and_documented():
    names = ablation.row_names()
    assert [n[:2] for n in names] == ['{:02d}'.format(i) for i in range(9)]
    previous = None
    for name in names:
        row = ablation.load_row(name)
        assert row.__doc__ and 'row {}'.format(int(name[:2])) in row.__doc__.lower()
        assert row.PREVIOUS == previous
        assert isinstance(row.ROW, str) and row.ROW
        previous = name


def test_paper_numbers_match_the_poster():
    # pfdet.md §2.1, typed independently of the row files
    poster = [60.0, 60.3, 60.4, 63.4, 64.5, 65.2, 65.8, 66.0, 67.5]
    rows = [ablation.load_row(n) for n in ablation.row_names()]
    assert [r.PAPER_MAP for r in rows] == poster
    assert rows[0].PAPER_DELTA is None
    for prev, row in zip(rows, rows[1:]):
        assert row.PAPER_DELTA == pytest.approx(row.PAPER_MAP - prev.PAPER_MAP, abs=1e-9)


def test_table4_transcription_average():
    # the poster prints 61.1 as the mean of the 47 baseline values (pfdet.md §2.3)
    row = ablation.load_row('05_cooccurrence')
    values = [b for b, _ in row.PAPER_PER_CLASS_AP.values()]
    assert len(values) == 47
    assert round(sum(values) / 47, 1) == row.PAPER_PER_CLASS_AVERAGE[0] == 61.1
    known = [(b, c) for b, c in row.PAPER_PER_CLASS_AP.values() if c is not None]
    assert len(known) == 31


def test_row7_full_scale_is_base():
    # the chain re-assembles base.py, up to the containment threshold of the co-occurrence
    # loss, which row 5 sets (see COOC_IOA_THRESH)
    from experiments.pfdet.base import config as base
    row7 = ablation.row_config('07_context_head', 'full')
    assert _changed_keys(row7, base) <= {'train_chain.cooc_ioa_thresh'}
    assert row7['train_chain']['cooc_ioa_thresh'] == ablation.COOC_IOA_THRESH == 0.8


def _changed_keys(a, b, prefix=''):
    out = set()
    for key in set(a) | set(b):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out |= _changed_keys(va, vb, prefix + key + '.')
        elif va != vb:
            out.add(prefix + key)
    return out


@pytest.mark.parametrize('name', ablation.row_names()[1:])
def test_one_delta_both_scales(name):
    row = ablation.load_row(name)
    sections = {}
    for scale in ('full', 'toy'):
        changed = _changed_keys(ablation.row_config(row.PREVIOUS, scale),
                                ablation.row_config(name, scale))
        assert changed, '{} changes nothing at {} scale'.format(name, scale)
        sections[scale] = {k.split('.')[0] for k in changed}
    assert sections['full'] == sections['toy']


def test_baseline_switches_off_the_later_rows():
    for scale in ('full', 'toy'):
        c = ablation.row_config('00_baseline', scale)
        base = ablation.scale_base(scale)
        assert not (c['model']['psp'] or c['model']['head_bn'] or
                    c['model']['extra_fpn_scale'] or c['model']['context_head'])
        assert c['train_chain']['cooccurrence'] is None
        assert c['train']['lr_schedule'] == 'step'
        assert c['train']['scales'] == (base['model']['min_size'],)
        assert c['train']['epoch'] == base['train']['epoch'] / 2
        # kept from the full recipe (pfdet.md §2.1 design choice)
        assert c['model']['classifier'] == 'sigmoid'
        assert c['model']['suppression'] == 'nmw'
        assert c['model']['bn'] == base['model']['bn']
    assert ablation.row_config('00_baseline', 'full')['train']['epoch'] == 8


def test_sixteen_epochs_doubles_training():
    for scale in ('full', 'toy'):
        before = ablation.row_config('05_cooccurrence', scale)['train']['epoch']
        after = ablation.row_config('06_16_epochs', scale)['train']['epoch']
        assert after == 2 * before
    assert ablation.row_config('06_16_epochs', 'full')['train']['epoch'] == 16


def test_unknown_names():
    with pytest.raises(ValueError, match='unknown ablation row'):
        ablation.load_row('99_nothing')
    with pytest.raises(ValueError, match='unknown scale'):
        ablation.scale_base('huge')


# ------------------------------------------------------------------ the results table

def test_results_table_rows():
    from experiments.pfdet import results_table
    names = results_table.row_names()
    assert [n[:2] for n in names] == ['00', '01', '02']
    rows = [results_table.load_row(n) for n in names]
    # pfdet.md §2.2, typed independently of the row files
    assert [r.PAPER for r in rows] == [
        {'val': 69.95, 'public': 55.81, 'private': 53.43},
        {'val': 71.73, 'public': 59.34, 'private': 55.87},
        {'val': None, 'public': 62.88, 'private': 58.63}]
    known = set('ablation/' + n for n in ablation.row_names())
    for row in rows:
        assert row.KIND == 'ensemble' and callable(row.run)
        assert set(m for m in row.MEMBERS if m != 'expert') <= known
        views = {scale: row.config_view(scale) for scale in ('full', 'toy')}
        assert views['full'] != views['toy']
        assert len(results_table.row_sha(row, 'toy')) == 64


@pytest.mark.parametrize('scale', ['full', 'toy'])
def test_expert_config_builds(scale, tmp_path):
    from experiments.pfdet import results_table
    general = ablation.row_config('08_senet154_anchors', scale)
    classes = tmp_path / 'class-descriptions.csv'
    classes.write_text('/m/0c9ph5,Flower\n/m/01yrx,Cat\n')
    config = results_table.expert_config(general, str(tmp_path), str(classes))
    validate_config(config, 'expert of row 8 ({})'.format(scale))
    assert config['dataset']['class_list'] == str(classes)
    assert config['dataset']['train']['bbox_csv'] == str(
        tmp_path / 'train-annotations-bbox.csv')
    # only the data differ from the general model
    assert {k for k in config if config[k] != general[k]} == {'dataset'}


def test_expert_config_with_the_general_models_updates(tmp_path):
    from experiments.pfdet import results_table
    general = ablation.row_config('08_senet154_anchors', 'toy')
    config = results_table.expert_config(general, str(tmp_path), 'classes.csv', iteration=300)
    validate_config(config, 'expert')
    assert config['train']['iteration'] == 300 and config['train']['epoch'] is None
    # the general model's iterations: 1.6 epochs of 1,500 images in batches of 8
    assert builder.total_iterations(general, 1500) == 300


def test_cooccurrence_variants_differ_from_row7_only_as_stated():
    from experiments.pfdet import cooccurrence
    row7 = ablation.row_config('07_context_head', 'toy')
    # the data of the dense rows 15/16, which rows 19-36 vary
    synthetic16 = cooccurrence.load_row('16_dense_scenes').toy_config['dataset']['synthetic']
    p16 = dict(synthetic16['params'])
    for name in cooccurrence.row_names()[1:]:
        row = cooccurrence.load_row(name)
        assert row.SCALES == ('toy',) and not hasattr(row, 'config')
        changed = _changed_keys(row.toy_config, row7)
        dense = 'dense' in name or 'lookalikes' in name or 'validation' in name
        params = dict(row.toy_config['dataset']['synthetic'].get('params') or {})
        expected = ({'train.epoch'} if 'long_schedule' in name
                    else {'dataset.root', 'dataset.synthetic.params'})
        longer = 'long_schedule' in name or name.endswith(('_long', '_long_without'))
        longest = name.endswith(('_longer', '_longer_without'))      # four times
        if (longer or longest) and 'long_schedule' not in name:
            expected.add('train.epoch')
        if 'standalone' in name or dense:
            # evaluated on more validation images; 11-16 also sample more RoIs
            expected.add('dataset.synthetic.n_val')
            assert params['q_standalone'] == 1
            assert (params['p_standalone_part'] == 0) == ('inside_only' in name)
            assert row.toy_config['dataset']['synthetic']['n_val'] > \
                row7['dataset']['synthetic']['n_val']
        if dense:
            assert params['q'] < 0.3 and all(
                params[k] > default_params()[k] for k in cooccurrence.DENSE_SCENES)
        if '_noisy' in name:
            # noisier pixels of the same scenes, nothing else of the data changes
            assert params.pop('noise') == cooccurrence.NOISE > default_params()['noise']
            assert row.toy_config['dataset']['root'].endswith('_n{:03d}'.format(
                int(cooccurrence.NOISE)))
        else:
            assert 'noise' not in params
        if 'rare_verification' in name:
            # the data of rows 15/16 with parts verified more rarely, nothing else
            assert params['q'] == 0.03 < p16['q']
            assert params == dict(p16, q=params['q'])
        if 'validation' in name:
            # the training data of rows 15/16, parts verified more densely in validation
            assert p16['q'] < params['q_validation'] <= 1
            assert params == dict(p16, q_validation=params['q_validation'])
            assert row.toy_config['dataset']['synthetic']['n_val'] == synthetic16['n_val']
        elif 'inside_only' in name:
            # the data of rows 29/30 with no part drawn on its own
            assert params == dict(p16, q_validation=cooccurrence.DENSE_VALIDATION,
                                  p_standalone_part=0)
            assert row.toy_config['dataset']['synthetic']['n_val'] == synthetic16['n_val']
        else:
            assert params.get('q_validation') is None
        if 'lookalikes' in name:
            # the data of rows 15/16 plus look-alikes, nothing else
            assert params.pop('p_lookalike') == cooccurrence.LOOKALIKE > 0
            assert params == p16
        else:
            assert params.get('p_lookalike') is None
        if '_nmw' in name:
            # rows 29/30 with another IoU threshold of the test-time NMW, nothing else
            expected.add('eval.nms_thresh')
            iou = row.toy_config['eval']['nms_thresh']
            assert name.split('_nmw')[1][:3] == '{:03d}'.format(int(round(100 * iou)))
            assert 0 < iou < 0.55 and row7['eval']['nms_thresh'] is None
            base = cooccurrence.load_row('29_dense_validation_without' if hasattr(row, 'WITH')
                                         else '30_dense_validation').toy_config
            assert _changed_keys(row.toy_config, base) == {'eval.nms_thresh'}
        else:
            assert row.toy_config['eval']['nms_thresh'] is None
        if '_rois' in name or dense:
            expected.add('train_chain.head_n_sample')
            assert row.toy_config['train_chain']['head_n_sample'] > \
                row7['train_chain']['head_n_sample']
        if '_no_ignore' in name and not hasattr(row, 'WITH'):
            # row 54's weights with the selected entries kept as plain negatives (control)
            expected.add('train_chain.cooc_ignore_weight')
            assert row.toy_config['train_chain']['cooc_ignore_weight'] == 1
            assert _changed_keys(row.toy_config, cooccurrence.load_row(
                '54_dense_validation_reweight').toy_config) == {'train_chain.cooc_ignore_weight'}
        elif '_soft' in name:
            # rows 15/16 with the selected entries kept as weak negatives
            expected.add('train_chain.cooc_ignore_weight')
            assert 0 < row.toy_config['train_chain']['cooc_ignore_weight'] == \
                cooccurrence.SOFT_IGNORE_WEIGHT < 1
        else:
            assert row.toy_config['train_chain']['cooc_ignore_weight'] == 0
        if '_pseudo_box' in name and not hasattr(row, 'WITH'):
            # rows 29/30 with the rule narrowed to the head's pseudo-boxes, nothing else
            pseudo_keys = {'train_chain.cooc_pseudo_box_iou'}
            assert row.toy_config['train_chain']['cooc_pseudo_box_iou'] == \
                row7['train_chain']['head_fg_thresh'] == 0.5
            if '_confident' in name:
                # only the pseudo-boxes scored as found (score > 0.5 in the tables)
                pseudo_keys.add('train_chain.cooc_pseudo_box_min_score')
                assert row.toy_config['train_chain']['cooc_pseudo_box_min_score'] == 0.5
            else:
                assert row.toy_config['train_chain']['cooc_pseudo_box_min_score'] is None
            expected |= pseudo_keys
            assert _changed_keys(row.toy_config,
                                 cooccurrence.load_row('30_dense_validation').toy_config) == \
                pseudo_keys
        else:
            assert row.toy_config['train_chain']['cooc_pseudo_box_iou'] is None
            assert row.toy_config['train_chain']['cooc_pseudo_box_min_score'] is None
        if '_strict' in name:
            # rows 15/16 with the poster's literal "inside" (base.py's value; rows 05+ use 0.8)
            from experiments.pfdet.base import config as full_base
            expected.add('train_chain.cooc_ioa_thresh')
            assert row.toy_config['train_chain']['cooc_ioa_thresh'] == 1.0 == \
                full_base['train_chain']['cooc_ioa_thresh'] > row7['train_chain']['cooc_ioa_thresh']
        if ('_ioa' in name or '_no_ignore' in name) and hasattr(row, 'WITH'):
            # without the loss the threshold is inert and stays at the ablation rows' value:
            # row 29's config exactly
            assert row.toy_config == cooccurrence.load_row(
                '29_dense_validation_without').toy_config
        elif '_ioa' in name:
            # row 30 with the containment threshold lowered (the other rows: 0.8)
            from experiments.pfdet.ablation import COOC_IOA_THRESH
            expected.add('train_chain.cooc_ioa_thresh')
            ioa = row.toy_config['train_chain']['cooc_ioa_thresh']
            assert name.split('_ioa')[1][:3] == '{:03d}'.format(int(round(100 * ioa)))
            assert 0 < ioa < COOC_IOA_THRESH == row7['train_chain']['cooc_ioa_thresh']
            assert _changed_keys(row.toy_config, cooccurrence.load_row(
                '30_dense_validation').toy_config) == {'train_chain.cooc_ioa_thresh'}
        if '_reweight' in name and not hasattr(row, 'WITH'):
            # row 30 with the kept entries weighted by the inverse annotation rate
            expected.add('train_chain.cooc_reweight')
            assert row.toy_config['train_chain']['cooc_reweight'] is True
            assert _changed_keys(row.toy_config, cooccurrence.load_row(
                '34_dense_validation_long' if longer else '30_dense_validation'
            ).toy_config) == {'train_chain.cooc_reweight'} | (
                    {'train_chain.cooc_ignore_weight'} if '_no_ignore' in name else set())
        else:
            assert not row.toy_config['train_chain']['cooc_reweight']
        if '_rois512' in name:
            # PFDet's own number of RoIs per image
            assert row.toy_config['train_chain']['head_n_sample'] == \
                ablation.row_config('07_context_head', 'full')['train_chain']['head_n_sample']
        if hasattr(row, 'WITH'):
            # a "without" row: its pair is the same data with the loss
            expected.add('train_chain.cooccurrence')
            pair = cooccurrence.load_row(row.WITH.split('/')[1])
            assert _changed_keys(row.toy_config, pair.toy_config) == \
                {'train_chain.cooccurrence'} | (
                    {'train_chain.cooc_ioa_thresh'} if '_ioa' in name else set()) | (
                    {'train_chain.cooc_pseudo_box_iou'} if '_pseudo_box' in name else set()) | (
                    {'train_chain.cooc_pseudo_box_min_score'} if '_confident' in name else set()) | (
                    {'train_chain.cooc_reweight'} if '_reweight' in name else set()) | (
                    {'train_chain.cooc_ignore_weight'} if '_no_ignore' in name else set())
            assert row.toy_config['train_chain']['cooccurrence'] is None
        assert changed == expected, (name, changed)
        if longer or longest:
            assert row.toy_config['train']['epoch'] == (4 if longest else 2) * \
                row7['train']['epoch']
        else:
            assert row.toy_config['dataset']['root'] != row7['dataset']['root']


def test_trained_as_rows_differ_from_their_model_row_in_validation_data_only():
    from experiments import run
    rows = {r.key: r for r in run.discover_rows()}
    declared = {k: r.module.TRAINED_AS for k, r in rows.items()
                if getattr(r.module, 'TRAINED_AS', None)}
    # rows 29-34, 39-45, 47, 51, 53, 55, 57 evaluate the models of rows 15-18
    assert sorted(declared) == ['cooccurrence/{}'.format(n) for n in cooccurrence_row_names(
        '29', '30', '31', '32', '33', '34', '39', '40', '41', '42', '43', '44', '45', '47',
        '51', '53', '55', '57')]
    for key, source in declared.items():
        config, other = rows[key].config('toy'), rows[source].config('toy')
        assert run.training_differences(config, other) == [], key
        params = dict(config['dataset']['synthetic']['params'])
        assert params.pop('q_validation') > other['dataset']['synthetic']['params']['q']
        assert params == other['dataset']['synthetic']['params']
        assert not getattr(rows[source].module, 'TRAINED_AS', None)   # no chains
        # and the pair of a "without" row shares its model row's pair
        if hasattr(rows[key].module, 'WITH') and rows[key].module.WITH in declared:
            assert getattr(rows[source].module, 'WITH') == declared[rows[key].module.WITH]
        elif hasattr(rows[key].module, 'WITH'):
            # rows 45, 47, 51, 53, 55, 57: their pairs (46, 48, 52, 54, 56, 58) train the
            # model of row 16 (58: 18) with a variant of the rule (pseudo-boxes, containment
            # threshold, weights, weights without ignores)
            pair = rows[key].module.WITH
            diff = run.training_differences(
                rows[pair].config('toy'), rows[getattr(rows[source].module, 'WITH')].config(
                    'toy'))
            if '_ioa' in key:
                assert diff == ['train_chain.cooc_ioa_thresh'], key
            elif '_no_ignore' in key:
                assert sorted(diff) == ['train_chain.cooc_ignore_weight',
                                        'train_chain.cooc_reweight'], key
            elif '_reweight' in key:
                assert diff == ['train_chain.cooc_reweight'], key
            else:
                assert 'train_chain.cooc_pseudo_box_iou' in diff and set(diff) <= {
                    'train_chain.cooc_pseudo_box_iou',
                    'train_chain.cooc_pseudo_box_min_score'}, key


def cooccurrence_row_names(*numbers):
    from experiments.pfdet import cooccurrence
    return [n for n in cooccurrence.row_names() if n[:2] in numbers]
