import numpy as np
import pytest

import chainer
from chainer import initializers
import chainer.links as L

from pfdet.links.model.pfdet.backbones import backbone_names
from pfdet.links.model.pfdet.backbones import build_backbone
from pfdet.links.model.pfdet.backbones import default_fpn_channel
from pfdet.links.model.pfdet.backbones import disable_frozen_updates
from pfdet.links.model.pfdet.backbones import freeze_bn
from pfdet.links.model.pfdet.backbones import freeze_layers
from pfdet.links.model.pfdet.backbones import FrozenBatchNormalization
from pfdet.links.model.pfdet.backbones import SENet154
from pfdet.links.model.pfdet.backbones import SEResNeXtTiny
from pfdet.links.model.pfdet.backbones import set_bn_mode


def _n_param(link):
    return sum(p.size for p in link.params())


def _links_of(link, cls):
    return [l for l in link.links() if isinstance(l, cls)]


def _ceil_half(n, times):
    for _ in range(times):
        n = -(-n // 2)
    return n


# Parameters of a 1000-class ImageNet classifier with the full model, from
# published counts (the backbone drops fc6: 2048 * 1000 + 1000).
#   resnet50: torchvision ResNet-50, 25,557,032, plus the 64 conv1 biases
#     of the arch='he' (Caffe) variant ChainerCV's FPN uses.
#   se_resnext50 / se_resnext101: timm legacy_seresnext50_32x4d 27.560 M,
#     legacy_seresnext101_32x4d 48.955 M (timm v0.6.5 results table;
#     rounded to 1e3, hence the tolerance).
#   senet154: timm legacy_senet154 (port of the official SENet-154),
#     115,088,984.
_fc6 = 2048 * 1000 + 1000
_known_params = {
    'resnet50': (25557032 + 64, 0),
    'resnet101': None,
    'se_resnext50': (27560000, 500),
    'se_resnext101': (48955000, 500),
    'senet154': (115088984, 0),
}


@pytest.mark.parametrize('name', [
    'se_resnext_tiny',
    'resnet50',
    'se_resnext50',
    'senet154',
    pytest.param('resnet101', marks=pytest.mark.slow),
    pytest.param('se_resnext101', marks=pytest.mark.slow),
])
def test_backbone_shapes_and_params(name):
    kwargs = {}
    if name != 'se_resnext_tiny':
        # Zero weights build faster; shapes and counts do not depend on them.
        kwargs['initialW'] = initializers.Zero()
    base = build_backbone(name, **kwargs)

    assert base.pick == ('res2', 'res3', 'res4', 'res5')
    assert not hasattr(base, 'fc6')
    assert base.mean.shape == (3, 1, 1) and base.mean.dtype == np.float32
    if name == 'se_resnext_tiny':
        assert base.out_channels == (32, 64, 128, 256)
        assert default_fpn_channel(name) == 64
    else:
        assert base.out_channels == (256, 512, 1024, 2048)
        assert default_fpn_channel(name) == 256
    assert all(p.array is not None for p in base.params())

    x = np.zeros((1, 3, 64, 96), dtype=np.float32)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        hs = base(x)
    assert len(hs) == 4
    for k, (h, c) in enumerate(zip(hs, base.out_channels)):
        stride = 4 * 2 ** k
        assert h.shape == (1, c, 64 // stride, 96 // stride)

    known = _known_params.get(name)
    if known is not None:
        expected, tol = known
        assert abs(_n_param(base) + _fc6 - expected) <= tol


def test_senet154_classifier_params():
    model = SENet154(initialW=initializers.Zero(),
                     fc_kwargs={'initialW': initializers.Zero()})
    assert _n_param(model) == 115088984
    assert model.fc6.W.shape == (1000, 2048)
    # 64 groups of the 3x3 convs; widths 128 -> 256 in res2.
    assert model.res2.a.conv2.conv.groups == 64
    assert model.res2.a.conv1.conv.W.shape == (128, 128, 1, 1)
    assert model.res2.a.conv2.conv.W.shape == (256, 2, 3, 3)
    assert model.res3.a.residual_conv.conv.W.shape == (512, 256, 3, 3)
    assert len(model.res4.layer_names) == 36


@pytest.mark.parametrize('shape', [(65, 97), (33, 33), (128, 160)])
def test_tiny_odd_sizes(shape):
    base = build_backbone('se_resnext_tiny')
    hs = base(np.random.uniform(-1, 1, (2, 3) + shape).astype(np.float32))
    for k, h in enumerate(hs):
        assert h.shape[2:] == (_ceil_half(shape[0], k + 2),
                               _ceil_half(shape[1], k + 2))


def test_tiny_n_block():
    base = build_backbone('se_resnext_tiny', n_block=(2, 2, 2, 2))
    assert base.res3.layer_names == ['a', 'b1']
    assert _n_param(base) > _n_param(build_backbone('se_resnext_tiny'))


def test_unknown_backbone():
    with pytest.raises(ValueError, match='se_resnext_tiny'):
        build_backbone('resnet18')


@pytest.mark.parametrize('name', ['imagenet', 'coco'])
def test_no_download(name):
    with pytest.raises(ValueError, match='never downloads'):
        build_backbone('se_resnext_tiny', pretrained_model=name)
    with pytest.raises(ValueError, match='never downloads'):
        SENet154(pretrained_model=name)


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nothing.npz')
    with pytest.raises(IOError, match='nothing.npz'):
        build_backbone('se_resnext_tiny', pretrained_model=path)


def test_not_an_npz(tmp_path):
    path = tmp_path / 'weights.npz'
    path.write_text('not a zip file')
    with pytest.raises(ValueError, match='weights.npz: not an npz'):
        build_backbone('se_resnext_tiny', pretrained_model=str(path))


def _randomize(link, seed):
    rng = np.random.RandomState(seed)
    for param in link.params():
        param.array[...] = rng.normal(size=param.shape)
    for bn in _links_of(link, L.BatchNormalization):
        bn.avg_mean[...] = rng.normal(size=bn.avg_mean.shape)
        bn.avg_var[...] = rng.uniform(0.5, 2, size=bn.avg_var.shape)
        bn.N = 7


def _arrays(link):
    s = chainer.serializers.DictionarySerializer()
    s.save(link)
    return {key: np.array(value) for key, value in s.target.items()}


def _assert_same_arrays(a, b, keys=None):
    ta, tb = _arrays(a), _arrays(b)
    keys = sorted(ta) if keys is None else keys
    assert keys
    for key in keys:
        np.testing.assert_array_equal(ta[key], tb[key], err_msg=key)


def test_npz_classifier_round_trip(tmp_path):
    # A whole classifier npz (with fc6), as ChainerCV's ImageNet files.
    classifier = SEResNeXtTiny(n_class=1000)
    with chainer.using_config('train', False):
        classifier(np.zeros((1, 3, 32, 32), dtype=np.float32))
    _randomize(classifier, 0)
    path = str(tmp_path / 'tiny_imagenet.npz')
    chainer.serializers.save_npz(path, classifier)

    base = build_backbone('se_resnext_tiny', pretrained_model=path)
    keys = sorted(_arrays(base))
    assert 'res5/a/se/down/W' in keys and 'conv1/bn/avg_var' in keys
    _assert_same_arrays(base, classifier, keys)


@pytest.mark.slow
def test_npz_chainercv_resnet50_classifier(tmp_path):
    # The layout of ChainerCV's ImageNet files: a whole ResNet50 classifier.
    from chainercv.links import ResNet50
    classifier = ResNet50(n_class=1000, arch='he')
    with chainer.using_config('train', False):
        classifier(np.zeros((1, 3, 32, 32), dtype=np.float32))
    for bn in _links_of(classifier, L.BatchNormalization):
        bn.avg_mean[...] = np.arange(bn.avg_mean.size)
    path = str(tmp_path / 'resnet50_imagenet.npz')
    chainer.serializers.save_npz(path, classifier, compression=False)

    base = build_backbone('resnet50', pretrained_model=path)
    keys = sorted(_arrays(base))
    assert 'conv1/conv/b' in keys
    _assert_same_arrays(base, classifier, keys)


def test_npz_backbone_round_trip_with_prefix(tmp_path):
    src = build_backbone('se_resnext_tiny')
    _randomize(src, 1)
    holder = chainer.Chain()
    with holder.init_scope():
        holder.extractor = chainer.Chain()
        with holder.extractor.init_scope():
            holder.extractor.base = src
    path = str(tmp_path / 'detector.npz')
    chainer.serializers.save_npz(path, holder)

    base = build_backbone('se_resnext_tiny', pretrained_model=path)
    _assert_same_arrays(base, src)


def test_npz_missing_keys(tmp_path):
    src = build_backbone('se_resnext_tiny')
    path = str(tmp_path / 'one_block.npz')
    chainer.serializers.save_npz(path, src)
    with pytest.raises(ValueError, match='one_block.npz.*missing keys'):
        build_backbone('se_resnext_tiny', pretrained_model=path,
                       n_block=(2, 2, 2, 2))


def test_npz_deeper_model(tmp_path):
    # A deeper model's keys are a superset: refused, not truncated.
    src = build_backbone('se_resnext_tiny', n_block=(1, 1, 2, 1))
    path = str(tmp_path / 'deeper.npz')
    chainer.serializers.save_npz(path, src)
    with pytest.raises(ValueError, match='deeper.npz.*res4/b1/'):
        build_backbone('se_resnext_tiny', pretrained_model=path)


def test_npz_shape_mismatch(tmp_path):
    src = build_backbone('se_resnext_tiny')
    arrays = _arrays(src)
    arrays['res3/a/conv1/conv/W'] = np.zeros((1, 1, 1, 1), np.float32)
    path = str(tmp_path / 'bad.npz')
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match='bad.npz.*res3/a/conv1/conv/W'):
        build_backbone('se_resnext_tiny', pretrained_model=path)


def test_frozen_bn_closed_form():
    rng = np.random.RandomState(2)
    bn = L.BatchNormalization(3)
    bn.gamma.array[...] = rng.uniform(0.5, 2, 3)
    bn.beta.array[...] = rng.normal(size=3)
    bn.avg_mean[...] = rng.normal(size=3)
    bn.avg_var[...] = rng.uniform(0.5, 2, 3)
    frozen = FrozenBatchNormalization.from_bn(bn)
    x = chainer.Variable(rng.normal(size=(4, 3, 5, 5)).astype(np.float32))

    with chainer.using_config('train', True):
        y = frozen(x)
    c = (slice(None), None, None)
    expected = (bn.gamma.array[c] * (x.array - bn.avg_mean[c])
                / np.sqrt(bn.avg_var[c] + 2e-5) + bn.beta.array[c])
    np.testing.assert_allclose(y.array, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(frozen.avg_mean, bn.avg_mean)
    np.testing.assert_array_equal(frozen.avg_var, bn.avg_var)

    y.grad = np.ones_like(y.array)
    y.backward()
    np.testing.assert_allclose(
        x.grad, np.broadcast_to(
            bn.gamma.array[c] / np.sqrt(bn.avg_var[c] + 2e-5), x.shape),
        rtol=1e-5)
    # gamma and beta are persistent arrays: nothing for an optimizer.
    assert list(frozen.params()) == []
    back = frozen.to_bn()
    np.testing.assert_array_equal(back.gamma.array, bn.gamma.array)
    np.testing.assert_array_equal(back.avg_var, bn.avg_var)


def test_frozen_mode_keeps_running_stats():
    base = build_backbone('se_resnext_tiny')
    _randomize(base, 3)
    for p in base.params():
        p.array[...] *= 0.1
    reference = base.copy(mode='copy')
    base = set_bn_mode(base, 'frozen')
    assert not _links_of(base, L.BatchNormalization)
    assert len(_links_of(base, FrozenBatchNormalization)) == len(
        _links_of(reference, L.BatchNormalization))
    optimizer = chainer.optimizers.MomentumSGD(lr=0.01)
    optimizer.setup(base)
    optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(0.1))
    x = np.random.RandomState(4).uniform(
        -50, 50, (2, 3, 64, 64)).astype(np.float32)
    with chainer.using_config('train', True):
        hs = base(x)
        loss = sum(chainer.functions.sum(h) for h in hs)
    # Zero-filled gradients, as ChainerMN's multi-node optimizer makes.
    base.zerograds()
    loss.backward()
    optimizer.update()

    ta, tb = _arrays(base), _arrays(reference)
    bn_keys = [k for k in ta if k.rsplit('/', 1)[-1] in
               ('gamma', 'beta', 'avg_mean', 'avg_var', 'N')]
    assert bn_keys
    for key in bn_keys:
        np.testing.assert_array_equal(ta[key], tb[key], err_msg=key)
    # The convolutions were trained.
    assert not np.array_equal(ta['res5/a/conv3/conv/W'],
                              tb['res5/a/conv3/conv/W'])


def test_frozen_equals_test_mode_bn():
    base = build_backbone('se_resnext_tiny')
    _randomize(base, 5)
    for p in base.params():
        p.array[...] *= 0.1
    reference = base.copy(mode='copy')
    base = freeze_bn(base)
    x = np.random.RandomState(6).uniform(
        -50, 50, (1, 3, 48, 48)).astype(np.float32)
    with chainer.using_config('train', True):
        hs = base(x)
    with chainer.using_config('train', False):
        hs_ref = reference(x)
    for h, h_ref in zip(hs, hs_ref):
        np.testing.assert_allclose(h.array, h_ref.array, rtol=1e-4,
                                   atol=1e-4)


def test_mode_round_trip_and_npz_compat(tmp_path):
    base = build_backbone('se_resnext_tiny')
    _randomize(base, 7)
    reference = base.copy(mode='copy')
    set_bn_mode(base, 'frozen')
    path = str(tmp_path / 'frozen.npz')
    chainer.serializers.save_npz(path, base)

    # keep_frozen=True (default): frozen layers stay frozen.
    set_bn_mode(base, 'local')
    assert not _links_of(base, L.BatchNormalization)
    set_bn_mode(base, 'local', keep_frozen=False)
    assert not _links_of(base, FrozenBatchNormalization)
    _assert_same_arrays(base, reference)
    assert all(p.update_rule is None or p.update_rule.enabled
               for p in base.params())

    # An npz saved in frozen mode loads into a local-BN backbone.
    other = build_backbone('se_resnext_tiny', pretrained_model=path)
    _assert_same_arrays(other, reference)


def test_freeze_layers():
    base = build_backbone('se_resnext_tiny')
    freeze_layers(base, ('conv1', 'res2'))
    set_bn_mode(base, 'local')
    for name in ('conv1', 'res2'):
        layer = getattr(base, name)
        assert not _links_of(layer, L.BatchNormalization)
        assert _links_of(layer, FrozenBatchNormalization)
    assert isinstance(base.res3.a.conv1.bn, L.BatchNormalization)

    optimizer = chainer.optimizers.SGD(lr=0.1)
    optimizer.setup(base)
    assert disable_frozen_updates(base) == 2
    assert not base.conv1.update_enabled and not base.res2.update_enabled
    assert base.res3.update_enabled

    before = _arrays(base)
    x = np.random.RandomState(8).uniform(
        -50, 50, (2, 3, 64, 64)).astype(np.float32)
    hs = base(x)
    base.cleargrads()
    sum(chainer.functions.sum(h) for h in hs).backward()
    optimizer.update()
    after = _arrays(base)
    for key in before:
        if key.startswith(('conv1/', 'res2/')):
            np.testing.assert_array_equal(after[key], before[key],
                                          err_msg=key)
    assert not np.array_equal(after['res3/a/conv1/conv/W'],
                              before['res3/a/conv1/conv/W'])

    with pytest.raises(ValueError, match='res9'):
        freeze_layers(base, ('res9',))


def test_setup_reenables_updates():
    # Why disable_frozen_updates exists: optimizer.setup makes new rules.
    base = build_backbone('se_resnext_tiny')
    freeze_layers(base, ('conv1',))
    optimizer = chainer.optimizers.SGD(lr=0.1)
    optimizer.setup(base)
    assert base.conv1.update_enabled
    disable_frozen_updates(base)
    assert not base.conv1.update_enabled


def test_bad_mode():
    base = build_backbone('se_resnext_tiny')
    with pytest.raises(ValueError, match='bn mode'):
        set_bn_mode(base, 'sync')
    with pytest.raises(ValueError, match='communicator'):
        set_bn_mode(base, 'multi_node')


def test_backbone_names():
    assert set(backbone_names) == {
        'resnet50', 'resnet101', 'se_resnext50', 'se_resnext101',
        'senet154', 'se_resnext_tiny'}


# ---------------------------------------------------------------- MPI


def _comm():
    import chainermn
    comm = chainermn.create_communicator('naive')
    if comm.size != 2:
        pytest.skip('run under mpiexec -n 2')
    return comm


@pytest.mark.mpi
def test_mnbn_closed_form():
    # pfdet.md §5.2: rank r feeds the constant 2r.
    comm = _comm()
    link = chainer.Sequential(L.BatchNormalization(3))
    link = set_bn_mode(link, 'multi_node', comm=comm)
    from chainermn.links import MultiNodeBatchNormalization
    assert isinstance(link[0], MultiNodeBatchNormalization)

    x = np.full((2, 3, 2, 2), 2 * comm.rank, dtype=np.float32)
    with chainer.using_config('train', True):
        y = link(x)
    np.testing.assert_allclose(link[0].avg_mean, 0.1, rtol=1e-6)
    sign = -1 if comm.rank == 0 else 1
    np.testing.assert_allclose(y.array, sign, atol=1e-4)
    # Global biased variance 1; ChainerMN corrects it with the *local*
    # count m = 8 (m / (m - 1)), not the global one.
    np.testing.assert_allclose(link[0].avg_var, 0.9 + 0.1 * 8 / 7,
                               rtol=1e-6)


@pytest.mark.mpi
def test_mnbn_tiny_backbone():
    comm = _comm()
    np.random.seed(0)
    base = build_backbone('se_resnext_tiny')
    freeze_layers(base, ('conv1',))
    comm.bcast_data(base)
    oracle = base.copy(mode='copy')
    base = set_bn_mode(base, 'multi_node', comm=comm)

    from chainermn.links import MultiNodeBatchNormalization
    mnbns = _links_of(base, MultiNodeBatchNormalization)
    assert mnbns
    assert isinstance(base.conv1.bn, FrozenBatchNormalization)

    x = np.random.RandomState(10 + comm.rank).uniform(
        -100, 100, (2, 3, 32, 32)).astype(np.float32)
    with chainer.using_config('train', True):
        hs = base(x)

    stats = _arrays(base)
    keys = sorted(k for k in stats if k.endswith(('avg_mean', 'avg_var')))
    gathered = comm.mpi_comm.allgather({k: stats[k] for k in keys})
    for key in keys:
        np.testing.assert_allclose(gathered[0][key], gathered[1][key],
                                   rtol=1e-5, atol=1e-6, err_msg=key)
    assert not np.allclose(stats['res2/a/conv1/bn/avg_mean'], 0)

    # Oracle: local BN on the concatenation of both ranks' batches.
    xs = comm.mpi_comm.allgather(x)
    with chainer.using_config('train', True):
        hs_oracle = oracle(np.concatenate(xs))
    oracle_stats = _arrays(oracle)
    for key in keys:
        if key.endswith('avg_mean'):
            np.testing.assert_allclose(stats[key], oracle_stats[key],
                                       rtol=1e-4, atol=1e-4, err_msg=key)
    for h, h_oracle in zip(hs, hs_oracle):
        np.testing.assert_allclose(
            h.array, h_oracle.array[2 * comm.rank:2 * comm.rank + 2],
            rtol=1e-3, atol=1e-3)
    # The frozen stem kept its statistics.
    np.testing.assert_array_equal(stats['conv1/bn/avg_mean'],
                                  oracle_stats['conv1/bn/avg_mean'])


@pytest.mark.mpi
def test_create_mnbn_model_skips_frozen():
    from chainermn.links import create_mnbn_model
    from chainermn.links import MultiNodeBatchNormalization
    comm = _comm()
    base = build_backbone('se_resnext_tiny')
    freeze_layers(base, ('conv1', 'res2'))
    n_frozen = len(_links_of(base, FrozenBatchNormalization))
    n_bn = len(_links_of(base, L.BatchNormalization))
    converted = create_mnbn_model(base, comm)
    assert len(_links_of(converted, FrozenBatchNormalization)) == n_frozen
    assert len(_links_of(converted, MultiNodeBatchNormalization)) == n_bn
    assert not _links_of(converted, L.BatchNormalization)
    # And back to local BN.
    set_bn_mode(converted, 'local')
    assert len(_links_of(converted, L.BatchNormalization)) == n_bn
