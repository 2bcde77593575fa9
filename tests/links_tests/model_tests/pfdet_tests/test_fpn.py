import numpy as np
import pytest

import chainer
import chainer.functions as F
import chainer.links as L

from pfdet.links.model.pfdet.backbones import FrozenBatchNormalization
from pfdet.links.model.pfdet.fpn import build_fpn_extractor
from pfdet.links.model.pfdet.fpn import default_scales
from pfdet.links.model.pfdet.fpn import FPN


def _ceil_half(n, times):
    for _ in range(times):
        n = -(-n // 2)
    return n


class StubBase(chainer.Chain):

    """Returns C2-C5 of sizes ceil(H / 4), ceil(H / 8), ... .

    The maps are :obj:`maps` when given (a function of the input shape),
    otherwise a random (but input-dependent) array.

    """

    mean = np.array([1, 2, 3], dtype=np.float32)[:, None, None]

    def __init__(self, out_channels=(4, 6, 8, 10), maps=None):
        super(StubBase, self).__init__()
        self.out_channels = out_channels
        self._channels = out_channels
        self.maps = maps

    def forward(self, x):
        B, _, H, W = x.shape
        if self.maps is not None:
            return self.maps(H, W)
        hs = []
        for k, c in enumerate(self._channels):
            s = 2 ** (k + 2)
            h = F.max_pooling_2d(x, s, stride=s, cover_all=True)
            h = F.tile(F.mean(h, axis=1, keepdims=True), (1, c, 1, 1))
            assert h.shape[2:] == (_ceil_half(H, k + 2), _ceil_half(W, k + 2))
            hs.append(h)
        return tuple(hs)


@pytest.mark.parametrize('psp', [False, True])
@pytest.mark.parametrize('extra_block', [False, True])
@pytest.mark.parametrize('in_size', [(128, 192), (67, 101), (64, 64)])
def test_fpn_shapes(psp, extra_block, in_size):
    fpn = FPN(StubBase(), 4, default_scales, n_channel=16, psp=psp,
              extra_block=extra_block)
    assert fpn.scales == default_scales
    assert fpn.n_channel == 16
    assert fpn.mean is StubBase.mean
    assert len(fpn.inner) == (5 if extra_block else 4)
    assert hasattr(fpn, 'psp') == psp
    assert hasattr(fpn, 'extra') == extra_block

    x = np.random.RandomState(0).uniform(
        0, 255, (2, 3) + in_size).astype(np.float32)
    hs = fpn(x)
    assert len(hs) == 5
    for k, h in enumerate(hs):
        assert h.shape == (2, 16, _ceil_half(in_size[0], k + 2),
                           _ceil_half(in_size[1], k + 2))
        assert h.dtype == np.float32
    if in_size == (128, 192):
        for h, scale in zip(hs, fpn.scales):
            assert h.shape[2:] == (128 * scale, 192 * scale)


def test_fpn_more_levels():
    scales = default_scales + (1 / 128,)
    fpn = FPN(StubBase(), 4, scales, n_channel=8, extra_block=True)
    hs = fpn(np.zeros((1, 3, 256, 256), dtype=np.float32))
    assert [h.shape[2] for h in hs] == [64, 32, 16, 8, 4, 2]


def test_max_pooled_p6():
    # Without extra block, P6 is ChainerCV's max pooling (kernel 1,
    # stride 2) of P5, i.e. P5[::2, ::2].
    fpn = FPN(StubBase(), 4, default_scales, n_channel=8)
    x = np.random.RandomState(1).uniform(0, 255, (1, 3, 100, 70)).astype(
        np.float32)
    hs = fpn(x)
    np.testing.assert_array_equal(hs[4].array, hs[3].array[:, :, ::2, ::2])


def _set_identity(fpn):
    for conv in fpn.inner:
        W = conv.W.array
        W[...] = 0
        n = min(W.shape[:2])
        W[np.arange(n), np.arange(n), 0, 0] = 1
        conv.b.array[...] = 0
    for conv in fpn.outer:
        W = conv.W.array
        W[...] = 0
        W[np.arange(W.shape[0]), np.arange(W.shape[0]), 1, 1] = 1
        conv.b.array[...] = 0


@pytest.mark.parametrize('in_size', [(64, 96), (67, 101)])
def test_top_down_closed_form(in_size):
    # Identity lateral and output convs: P_k = C_k + up2(P_{k+1}) cropped,
    # with up2 the nearest upsampling: P4[y, x] = C5[y // 2, x // 2] when
    # C4 = 0, and for constant maps P_k = sum_{j >= k} C_j.
    H, W = in_size
    rng = np.random.RandomState(2)
    c5 = rng.normal(size=(1, 4, _ceil_half(H, 5), _ceil_half(W, 5)))
    consts = (1., 10., 100.)

    def maps(H, W):
        hs = [np.full((1, 4, _ceil_half(H, k + 2), _ceil_half(W, k + 2)), v,
                      dtype=np.float32) for k, v in enumerate(consts)]
        hs[2][...] = 0
        hs.append(c5.astype(np.float32))
        return tuple(hs)

    fpn = FPN(StubBase((4, 4, 4, 4), maps), 4, default_scales, n_channel=4)
    _set_identity(fpn)
    hs = fpn(np.zeros((1, 3, H, W), dtype=np.float32))

    np.testing.assert_allclose(hs[3].array, c5, rtol=1e-6)
    h4, w4 = hs[2].shape[2:]
    up = np.repeat(np.repeat(c5, 2, axis=2), 2, axis=3)[:, :, :h4, :w4]
    np.testing.assert_allclose(hs[2].array, up, rtol=1e-6, atol=1e-6)
    # P3 = 10 + up(P4), P2 = 1 + 10 + up(up(P4)).
    h3, w3 = hs[1].shape[2:]
    up3 = np.repeat(np.repeat(up, 2, axis=2), 2, axis=3)[:, :, :h3, :w3]
    np.testing.assert_allclose(hs[1].array, 10 + up3, rtol=1e-5, atol=1e-5)
    h2, w2 = hs[0].shape[2:]
    up2 = np.repeat(np.repeat(up3, 2, axis=2), 2, axis=3)[:, :, :h2, :w2]
    # The 3x3 output conv pads with zeros: compare the interior only.
    np.testing.assert_allclose(hs[0].array[:, :, 1:-1, 1:-1],
                               (11 + up2)[:, :, 1:-1, 1:-1],
                               rtol=1e-5, atol=1e-5)


def test_extra_block_feeds_top_down():
    # With a real C6 stage, P5 depends on C6 through the top-down path
    # and P6 is not a subsampled P5.
    fpn = FPN(StubBase(), 4, default_scales, n_channel=8, extra_block=True)
    x = np.random.RandomState(3).uniform(0, 255, (1, 3, 128, 128)).astype(
        np.float32)
    hs = fpn(x)
    assert not np.allclose(hs[4].array, hs[3].array[:, :, ::2, ::2])
    p5 = hs[3].array.copy()
    fpn.extra.b.array[...] += 100
    assert not np.allclose(fpn(x)[3].array, p5)

    loss = sum(F.sum(h) for h in hs)
    fpn.cleargrads()
    loss.backward()
    assert fpn.extra.W.grad is not None
    assert np.abs(fpn.inner[4].W.grad).sum() > 0


def test_fpn_errors():
    with pytest.raises(ValueError, match='scales'):
        FPN(StubBase(), 4, default_scales[:4], extra_block=True)
    with pytest.raises(ValueError, match='halve'):
        FPN(StubBase(), 4, (1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 32))
    base = StubBase()
    del base.out_channels
    with pytest.raises(ValueError, match='out_channels'):
        FPN(base, 4, default_scales, psp=True)
    # Without psp, lateral convs are lazily initialized.
    fpn = FPN(base, 4, default_scales, n_channel=8)
    assert len(fpn(np.zeros((1, 3, 64, 64), dtype=np.float32))) == 5


def _links_of(link, cls):
    return [l for l in link.links() if isinstance(l, cls)]


def test_build_tiny_extractor():
    ext = build_fpn_extractor('se_resnext_tiny', psp=True, extra_block=True)
    assert ext.n_channel == 64
    assert ext.scales == default_scales
    assert ext.mean.shape == (3, 1, 1)
    # bn='frozen' (default): every BN, the PSP's included, is frozen.
    assert not _links_of(ext, L.BatchNormalization)
    assert isinstance(ext.psp.convs[0].bn, FrozenBatchNormalization)

    x = np.random.RandomState(4).uniform(
        -100, 100, (2, 3, 160, 128)).astype(np.float32)
    hs = ext(x)
    assert [h.shape for h in hs] == [
        (2, 64, _ceil_half(160, k), _ceil_half(128, k)) for k in range(2, 7)]
    ext.cleargrads()
    sum(F.sum(h * h) for h in hs).backward()
    assert ext.base.res5.a.conv2.conv.W.grad is not None
    assert ext.psp.convs[3].conv.W.grad is not None


def test_build_local_bn_with_frozen_stem():
    ext = build_fpn_extractor('se_resnext_tiny', psp=True, bn='local',
                              freeze=('conv1', 'res2'), n_channel=32)
    assert ext.n_channel == 32
    assert isinstance(ext.base.conv1.bn, FrozenBatchNormalization)
    assert isinstance(ext.base.res2.a.conv1.bn, FrozenBatchNormalization)
    assert isinstance(ext.base.res3.a.conv1.bn, L.BatchNormalization)
    assert isinstance(ext.psp.convs[0].bn, L.BatchNormalization)


def test_build_multi_node_needs_comm():
    with pytest.raises(ValueError, match='communicator'):
        build_fpn_extractor('se_resnext_tiny', bn='multi_node')


def test_resnet50_extractor():
    ext = build_fpn_extractor('resnet50', psp=True, extra_block=True,
                              initialW=chainer.initializers.Zero())
    assert ext.n_channel == 256
    assert ext.psp.out_channels == 4096
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        hs = ext(np.zeros((1, 3, 64, 96), dtype=np.float32))
    assert [h.shape for h in hs] == [
        (1, 256, 64 // s, 96 // s) for s in (4, 8, 16, 32)] + [(1, 256, 1, 2)]


@pytest.mark.mpi
def test_build_multi_node_extractor():
    import chainermn
    from chainermn.links import MultiNodeBatchNormalization
    comm = chainermn.create_communicator('naive')
    if comm.size != 2:
        pytest.skip('run under mpiexec -n 2')
    ext = build_fpn_extractor('se_resnext_tiny', psp=True, extra_block=True,
                              bn='multi_node', comm=comm)
    comm.bcast_data(ext)
    assert isinstance(ext.base.conv1.bn, FrozenBatchNormalization)
    assert isinstance(ext.base.res2.a.conv1.bn, MultiNodeBatchNormalization)
    assert isinstance(ext.psp.convs[0].bn, MultiNodeBatchNormalization)
    assert not _links_of(ext, L.BatchNormalization)

    x = np.random.RandomState(20 + comm.rank).uniform(
        -100, 100, (1, 3, 64, 64)).astype(np.float32)
    with chainer.using_config('train', True):
        hs = ext(x)
    assert [h.shape[2] for h in hs] == [16, 8, 4, 2, 1]
    # The 1-bin PSP branch sees one 1x1 cell per rank: its statistics are
    # those of the two ranks together, identical on both.
    stats = ext.psp.convs[0].bn.avg_var
    gathered = comm.mpi_comm.allgather(stats)
    np.testing.assert_allclose(gathered[0], gathered[1], rtol=1e-6)
    assert not np.allclose(stats, 1)
