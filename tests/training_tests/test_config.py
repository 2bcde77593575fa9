import os
import textwrap

import pytest

from pfdet.training import ConfigError
from pfdet.training import deep_update
from pfdet.training import load_config
from pfdet.training import validate_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONFIGS = ['experiments/pfdet/base.py', 'experiments/pfdet/toy_base.py', 'experiments/demo.py']


def _write(tmp_path, text, name='cfg.py'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize('rel', CONFIGS)
def test_shipped_configs_are_valid(rel):
    config = load_config(os.path.join(ROOT, rel))
    assert config['mpi']['communicator'] is None


def test_base_is_pfdet_recipe():
    c = load_config(os.path.join(ROOT, 'experiments/pfdet/base.py'))
    assert c['model']['backbone'] == 'se_resnext101'
    assert c['train']['batchsize'] == 512
    assert c['train']['epoch'] == 16
    assert c['train']['lr_schedule'] == 'cosine'
    assert c['model']['bn'] == 'multi_node'
    assert c['model']['suppression'] == 'nmw'


def test_deep_update_merges_and_copies():
    base = {'a': {'b': 1, 'c': [1, 2]}, 'd': 3}
    out = deep_update(base, {'a': {'b': 5}})
    assert out == {'a': {'b': 5, 'c': [1, 2]}, 'd': 3}
    assert base == {'a': {'b': 1, 'c': [1, 2]}, 'd': 3}
    out['a']['c'].append(3)
    assert base['a']['c'] == [1, 2]


def test_deep_update_replaces_non_dicts():
    out = deep_update({'a': {'b': 1}, 'x': (1, 2)}, {'a': None, 'x': (3,)})
    assert out == {'a': None, 'x': (3,)}


def test_deep_update_rejects_typo():
    with pytest.raises(ConfigError, match=r"unknown key 'train.batchsze'"):
        deep_update({'train': {'batchsize': 1}}, {'train': {'batchsze': 2}})


def test_deep_update_open_keys():
    out = deep_update({'model': {'extra': {}}}, {'model': {'extra': {'fpn_channels': 32}}})
    assert out['model']['extra'] == {'fpn_channels': 32}


def test_delta_file_is_tiny(tmp_path):
    path = _write(tmp_path, """
        from experiments.pfdet.base import config as _base
        from pfdet.training import deep_update
        config = deep_update(_base, {'model': {'context_head': False}})
    """)
    config = load_config(path)
    assert config['model']['context_head'] is False
    assert config['model']['psp'] is True


def test_missing_file():
    with pytest.raises(ConfigError, match='config file not found: /no/such.py'):
        load_config('/no/such.py')


def test_not_python(tmp_path):
    path = tmp_path / 'c.yaml'
    path.write_text('a: 1')
    with pytest.raises(ConfigError, match='must be a Python file'):
        load_config(str(path))


def test_syntax_error_names_file_and_line(tmp_path):
    path = _write(tmp_path, "config = dict(\n  a=1,\n  b=(\n")
    with pytest.raises(ConfigError, match=r'cfg\.py:\d+: syntax error'):
        load_config(path)


def test_exception_names_file_and_line(tmp_path):
    path = _write(tmp_path, "x = 1\nconfig = dict(a=1 / 0)\n")
    with pytest.raises(ConfigError, match=r'cfg\.py:2: error while loading config: '
                                          r'ZeroDivisionError'):
        load_config(path)


def test_no_config_dict(tmp_path):
    path = _write(tmp_path, "cfg = dict(a=1)\n")
    with pytest.raises(ConfigError, match=r'must define `config = dict'):
        load_config(path)


def test_bad_keys_are_all_listed(tmp_path):
    path = _write(tmp_path, """
        from experiments.pfdet.toy_base import config as _base
        from pfdet.training import deep_update
        config = deep_update(_base, {'train': {'batchsize': 0, 'sampler': 'uniform'},
                                     'eval': {'interval': (5, 'epochs')}})
    """)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert msg.startswith(path + ': invalid config')
    assert 'train.batchsize: expected a positive number, got 0' in msg
    assert ("train.sampler: expected one of 'shuffle', 'class_aware', 'repeat_factor', "
            "got 'uniform'") in msg
    assert "eval.interval: expected (N, 'iteration')" in msg


def test_unknown_and_missing_keys():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    config['train']['lr'] = 0.1
    del config['log']['plot']
    with pytest.raises(ConfigError) as e:
        validate_config(config, 'x.py')
    assert 'train.lr: unknown key' in str(e.value)
    assert 'log.plot: missing' in str(e.value)


def test_iteration_xor_epoch():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    config['train']['iteration'] = 10
    with pytest.raises(ConfigError, match='set exactly one of them'):
        validate_config(config, 'x.py')


def test_bool_is_not_int():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    config['train']['batchsize'] = True
    with pytest.raises(ConfigError, match='train.batchsize'):
        validate_config(config, 'x.py')


def test_paths_required_without_root():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    config['dataset']['root'] = None
    with pytest.raises(ConfigError, match=r'dataset.train.bbox_csv: required when'):
        validate_config(config, 'x.py')


def test_optional_key_gets_its_default():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    del config['eval']['n_images']
    validate_config(config, 'x.py')
    assert config['eval']['n_images'] is None
    config['eval']['n_images'] = 0
    with pytest.raises(ConfigError, match='eval.n_images'):
        validate_config(config, 'x.py')


def test_keys_added_later_are_filled_with_their_default():
    # a config written before cooc_ignore_weight existed keeps PFDet's ignoring loss
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    del config['train_chain']['cooc_ignore_weight']
    validate_config(config, 'x.py')
    assert config['train_chain']['cooc_ignore_weight'] == 0
    config['train_chain']['cooc_ignore_weight'] = 1.5
    with pytest.raises(ConfigError, match=r'train_chain.cooc_ignore_weight: expected a number '
                                          r'in \[0, 1\], got 1.5'):
        validate_config(config, 'x.py')


def test_cooc_pseudo_box_iou_is_optional_and_in_0_1():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    del config['train_chain']['cooc_pseudo_box_iou']   # written before the key existed
    validate_config(config, 'x.py')
    assert config['train_chain']['cooc_pseudo_box_iou'] is None   # PFDet's rule
    for good in (0.5, 1.0):
        config['train_chain']['cooc_pseudo_box_iou'] = good
        validate_config(config, 'x.py')
    for bad in (0, 1.5, '0.5', True):
        config['train_chain']['cooc_pseudo_box_iou'] = bad
        with pytest.raises(ConfigError, match='train_chain.cooc_pseudo_box_iou'):
            validate_config(config, 'x.py')


def test_cooc_pseudo_box_min_score_is_optional_in_0_1_and_needs_the_iou():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    del config['train_chain']['cooc_pseudo_box_min_score']   # written before the key existed
    validate_config(config, 'x.py')
    assert config['train_chain']['cooc_pseudo_box_min_score'] is None   # every pseudo-box
    config['train_chain']['cooc_pseudo_box_min_score'] = 0.5
    with pytest.raises(ConfigError, match='(?s)x.py: .*train_chain.cooc_pseudo_box_min_score: needs '
                                          'train_chain.cooc_pseudo_box_iou'):
        validate_config(config, 'x.py')
    config['train_chain']['cooc_pseudo_box_iou'] = 0.5
    validate_config(config, 'x.py')
    for bad in (0, 1, 1.5, '0.5', True):
        config['train_chain']['cooc_pseudo_box_min_score'] = bad
        with pytest.raises(ConfigError, match='train_chain.cooc_pseudo_box_min_score: expected'):
            validate_config(config, 'x.py')


def test_eval_nms_thresh_is_optional_and_a_fraction():
    config = load_config(os.path.join(ROOT, 'experiments/pfdet/toy_base.py'))
    del config['eval']['nms_thresh']            # a config written before the key existed
    validate_config(config, 'x.py')
    assert config['eval']['nms_thresh'] is None   # the preset's threshold
    for good in (0.3, 1.0, 0):
        config['eval']['nms_thresh'] = good
        validate_config(config, 'x.py')
    for bad in (1.5, -0.1, '0.3', True):
        config['eval']['nms_thresh'] = bad
        with pytest.raises(ConfigError, match='eval.nms_thresh'):
            validate_config(config, 'x.py')
