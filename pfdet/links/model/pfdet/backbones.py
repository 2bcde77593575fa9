"""Backbones of PFDet: bottom-up producers of the C2-C5 feature maps.

Every backbone built by :func:`build_backbone` is a
:class:`chainercv.links.PickableSequentialChain` whose :meth:`forward` maps
a batch of images (B, 3, H, W) to the tuple (C2, C3, C4, C5) of strides
(4, 8, 16, 32). Besides the layers it has two attributes:

* :obj:`mean` (3, 1, 1) float32: the RGB mean subtracted from the input.
* :obj:`out_channels` (tuple of 4 ints): the channels of C2-C5.

Batch normalization is handled by :func:`set_bn_mode` (``'frozen'``,
``'local'`` or ``'multi_node'``) and :func:`freeze_layers`.

"""

from __future__ import division

import os
import zipfile

import numpy as np

import chainer
import chainer.functions as F
from chainer import initializers
import chainer.links as L

from chainercv.links import Conv2DBNActiv
from chainercv.links.model.resnet import ResBlock
from chainercv.links.model.resnet import ResNet101
from chainercv.links.model.resnet import ResNet50
from chainercv.links.model.senet import SEResNeXt101
from chainercv.links.model.senet import SEResNeXt50
from chainercv.links import PickableSequentialChain
from chainercv.links import SEBlock

try:
    from chainermn.links import create_mnbn_model
    from chainermn.links import MultiNodeBatchNormalization
    _chainermn_available = True
except ImportError:  # pragma: no cover
    _chainermn_available = False

    class MultiNodeBatchNormalization(object):
        pass


# RGB order; the channel-wise mean of the mean image of
# https://github.com/KaimingHe/deep-residual-networks, as in ChainerCV.
_imagenet_mean = np.array(
    [123.15163084, 115.90288257, 103.0626238],
    dtype=np.float32)[:, np.newaxis, np.newaxis]

bn_modes = ('frozen', 'local', 'multi_node')


def _max_pooling_same(x):
    # ChainerCV's FasterRCNNFPNResNet fix of pool1: with pad=1 and
    # cover_all=False the strides of C2-C5 are exactly 4, 8, 16, 32 for
    # inputs that are multiples of 32, and ceil(H / 2) otherwise.
    return F.max_pooling_2d(x, 3, stride=2, pad=1, cover_all=False)


def _max_pooling_ceil(x):
    return F.max_pooling_2d(x, 3, stride=2)


def _global_average_pooling(x):
    return F.average(x, axis=(2, 3))


def check_pretrained_model(pretrained_model):
    """Validate a :obj:`pretrained_model` argument.

    Weights are never downloaded in this project: a pretrained model is a
    local npz file written by :func:`chainer.serializers.save_npz`.

    Args:
        pretrained_model (str or None): :obj:`None` or the path of an npz.

    Returns:
        str or None: the path, or :obj:`None`.

    Raises:
        ValueError: for a name such as :obj:`'imagenet'`.
        IOError: for a path that does not exist.

    """
    if pretrained_model is None or pretrained_model is False:
        return None
    if not isinstance(pretrained_model, str):
        raise TypeError(
            'pretrained_model must be None or the path of a local npz '
            'file, not {!r}'.format(pretrained_model))
    if os.path.isfile(pretrained_model):
        return pretrained_model
    if (os.sep not in pretrained_model and '/' not in pretrained_model
            and not pretrained_model.endswith('.npz')):
        raise ValueError(
            'pretrained_model={!r}: pfdet never downloads weights. Supply '
            'ImageNet weights as a local npz file, e.g. ChainerCV\'s '
            'se_resnext101_imagenet_converted_2018_06_28.npz downloaded '
            'beforehand, and pass its path.'.format(pretrained_model))
    raise IOError(
        'pretrained_model: file not found: {}'.format(pretrained_model))


def _prepare_init(pretrained_model, initialW, fc_kwargs):
    fc_kwargs = dict(fc_kwargs)
    if initialW is None:
        initialW = initializers.HeNormal(scale=1., fan_option='fan_out')
    if 'initialW' not in fc_kwargs:
        fc_kwargs['initialW'] = initializers.Normal(scale=0.01)
    if pretrained_model:
        # As in ChainerCV: sampling is slow and every value is overwritten.
        initialW = initializers.Zero()
        fc_kwargs['initialW'] = initializers.Zero()
    return initialW, fc_kwargs


class SENetBottleneck(chainer.Chain):

    """The bottleneck of SENet-154.

    Unlike ResNeXt's bottleneck, the width grows inside the block:
    1x1 conv to :obj:`mid_channels` -> grouped 3x3 conv (stride
    :obj:`stride`) to :obj:`out_channels` -> 1x1 conv to :obj:`out_channels`
    -> SE block, plus the shortcut. Every convolution is followed by BN.

    Args:
        in_channels (int): The number of input channels.
        mid_channels (int): The output channels of the first 1x1 conv.
        out_channels (int): The output channels of the block.
        stride (int): The stride of the 3x3 convolution and the shortcut.
        groups (int): The number of groups of the 3x3 convolution.
        reduction (int): The reduction ratio of the SE block.
        residual_ksize (int or None): The kernel size of the projection
            shortcut (a Conv-BN); :obj:`None` for an identity shortcut.
        initialW (callable): Initializer of the convolution kernels.
        bn_kwargs (dict): Keyword arguments of the BN layers.

    """

    def __init__(self, in_channels, mid_channels, out_channels, stride=1,
                 groups=64, reduction=16, residual_ksize=None,
                 initialW=None, bn_kwargs={}):
        super(SENetBottleneck, self).__init__()
        with self.init_scope():
            self.conv1 = Conv2DBNActiv(
                in_channels, mid_channels, 1, 1, 0, nobias=True,
                initialW=initialW, bn_kwargs=bn_kwargs)
            self.conv2 = Conv2DBNActiv(
                mid_channels, out_channels, 3, stride, 1, 1, groups,
                nobias=True, initialW=initialW, bn_kwargs=bn_kwargs)
            self.conv3 = Conv2DBNActiv(
                out_channels, out_channels, 1, 1, 0, nobias=True,
                initialW=initialW, activ=None, bn_kwargs=bn_kwargs)
            self.se = SEBlock(out_channels, reduction)
            if residual_ksize is not None:
                self.residual_conv = Conv2DBNActiv(
                    in_channels, out_channels, residual_ksize, stride,
                    residual_ksize // 2, nobias=True, initialW=initialW,
                    activ=None, bn_kwargs=bn_kwargs)

    def forward(self, x):
        h = self.se(self.conv3(self.conv2(self.conv1(x))))
        if hasattr(self, 'residual_conv'):
            residual = self.residual_conv(x)
        else:
            residual = x
        return F.relu(h + residual)


class SENetResBlock(PickableSequentialChain):

    """A stage of SENet-154: :obj:`n_layer` :class:`SENetBottleneck`.

    The first bottleneck (:obj:`a`) has a projection shortcut of kernel
    size :obj:`residual_ksize`; the others (:obj:`b1`, :obj:`b2`, ...)
    have identity shortcuts.

    Args:
        n_layer (int): The number of bottlenecks.
        in_channels (int): The number of input channels.
        mid_channels (int): See :class:`SENetBottleneck`.
        out_channels (int): See :class:`SENetBottleneck`.
        stride (int): The stride of the first bottleneck.
        groups (int): See :class:`SENetBottleneck`.
        reduction (int): See :class:`SENetBottleneck`.
        residual_ksize (int): The kernel size of the first shortcut.
        initialW (callable): Initializer of the convolution kernels.
        bn_kwargs (dict): Keyword arguments of the BN layers.

    """

    def __init__(self, n_layer, in_channels, mid_channels, out_channels,
                 stride, groups=64, reduction=16, residual_ksize=1,
                 initialW=None, bn_kwargs={}):
        super(SENetResBlock, self).__init__()
        kwargs = {'groups': groups, 'reduction': reduction,
                  'initialW': initialW, 'bn_kwargs': bn_kwargs}
        with self.init_scope():
            self.a = SENetBottleneck(
                in_channels, mid_channels, out_channels, stride,
                residual_ksize=residual_ksize, **kwargs)
            for i in range(n_layer - 1):
                setattr(self, 'b{}'.format(i + 1), SENetBottleneck(
                    out_channels, mid_channels, out_channels, **kwargs))


class SENetStem(chainer.Chain):

    """The stem of SENet-154: three 3x3 Conv-BN-ReLU (64 s2, 64, 128).

    Args:
        in_channels (int): The number of input channels.
        channels (tuple of 3 ints): The output channels of the convs.
        initialW (callable): Initializer of the convolution kernels.
        bn_kwargs (dict): Keyword arguments of the BN layers.

    """

    def __init__(self, in_channels=3, channels=(64, 64, 128),
                 initialW=None, bn_kwargs={}):
        super(SENetStem, self).__init__()
        with self.init_scope():
            self.conv1 = Conv2DBNActiv(
                in_channels, channels[0], 3, 2, 1, nobias=True,
                initialW=initialW, bn_kwargs=bn_kwargs)
            self.conv2 = Conv2DBNActiv(
                channels[0], channels[1], 3, 1, 1, nobias=True,
                initialW=initialW, bn_kwargs=bn_kwargs)
            self.conv3 = Conv2DBNActiv(
                channels[1], channels[2], 3, 1, 1, nobias=True,
                initialW=initialW, bn_kwargs=bn_kwargs)

    def forward(self, x):
        return self.conv3(self.conv2(self.conv1(x)))


class SENet154(PickableSequentialChain):

    """SENet-154, the ILSVRC 2017 winner, in ChainerCV's SENet style.

    The architecture follows the SENet-154 definition released by the
    paper's authors (hujie-frank/SENet, ported to PyTorch in
    Cadene/pretrained-models.pytorch as ``senet154``):

    * :obj:`conv1`: a stem of three 3x3 Conv-BN-ReLU (64 stride 2, 64, 128)
      instead of one 7x7 convolution;
    * :obj:`pool1`: 3x3 max pooling, stride 2 (ceil mode);
    * :obj:`res2`-:obj:`res5`: 3, 8, 36, 3 :class:`SENetBottleneck` with
      64 groups, SE reduction 16, widths 128 -> 256 -> 256 (res2) doubling
      at every stage, so that C2-C5 have 256, 512, 1024, 2048 channels;
      stride on the 3x3 conv; the projection shortcut is 1x1 in res2 and
      3x3 (stride 2) in res3-res5;
    * :obj:`pool5`, :obj:`fc6`, :obj:`prob`: global average pooling,
      a fully-connected layer and softmax.

    With 1000 classes this has 115,088,984 parameters, the figure of the
    reference release (the dropout before the classifier is left out:
    it has no parameter and detection never uses the classifier).

    No weights are distributed for this Chainer link: convert the
    original Caffe weights yourself (BGR -> RGB flip of the first conv as
    ChainerCV's ``examples/senet/caffe2npz.py``) and pass the npz path.

    Args:
        n_class (int): The number of classes (default 1000).
        pretrained_model (str): :obj:`None` or the path of an npz file.
        mean (numpy.ndarray): The RGB mean (default: ImageNet mean).
        initialW (callable): Initializer of the convolution kernels.
        fc_kwargs (dict): Keyword arguments of :obj:`fc6`.

    """

    _blocks = (3, 8, 36, 3)
    _groups = 64
    _reduction = 16

    def __init__(self, n_class=None, pretrained_model=None, mean=None,
                 initialW=None, fc_kwargs={}):
        path = check_pretrained_model(pretrained_model)
        if n_class is None:
            n_class = 1000
        self.mean = _imagenet_mean if mean is None else mean
        initialW, fc_kwargs = _prepare_init(path, initialW, fc_kwargs)
        kwargs = {'groups': self._groups, 'reduction': self._reduction,
                  'initialW': initialW}
        blocks = self._blocks

        super(SENet154, self).__init__()
        with self.init_scope():
            self.conv1 = SENetStem(3, (64, 64, 128), initialW=initialW)
            self.pool1 = _max_pooling_ceil
            self.res2 = SENetResBlock(
                blocks[0], 128, 128, 256, 1, residual_ksize=1, **kwargs)
            self.res3 = SENetResBlock(
                blocks[1], 256, 256, 512, 2, residual_ksize=3, **kwargs)
            self.res4 = SENetResBlock(
                blocks[2], 512, 512, 1024, 2, residual_ksize=3, **kwargs)
            self.res5 = SENetResBlock(
                blocks[3], 1024, 1024, 2048, 2, residual_ksize=3, **kwargs)
            self.pool5 = _global_average_pooling
            self.fc6 = L.Linear(2048, n_class, **fc_kwargs)
            self.prob = F.softmax

        if path:
            chainer.serializers.load_npz(path, self)


class SEResNeXtTiny(PickableSequentialChain):

    """A very small member of the SE-ResNeXt family for CPU demos and tests.

    Same topology as :class:`chainercv.links.SEResNeXt50` (7x7 stem,
    ResNeXt bottlenecks with SE blocks and BN everywhere, stride on the 3x3
    conv) at a tiny width: C2-C5 have 32, 64, 128, 256 channels, the
    bottleneck widths are half of those, with 4 groups, and each stage has
    :obj:`n_block` bottlenecks (default one). About 0.17 M parameters
    without the classifier.

    Args:
        n_class (int): The number of classes (default 1000).
        pretrained_model (str): :obj:`None` or the path of an npz file.
        mean (numpy.ndarray): The RGB mean (default: ImageNet mean).
        initialW (callable): Initializer of the convolution kernels.
        fc_kwargs (dict): Keyword arguments of :obj:`fc6`.
        n_block (tuple of 4 ints): Bottlenecks per stage.

    """

    _channels = (32, 64, 128, 256)
    _groups = 4

    def __init__(self, n_class=None, pretrained_model=None, mean=None,
                 initialW=None, fc_kwargs={}, n_block=(1, 1, 1, 1)):
        path = check_pretrained_model(pretrained_model)
        if n_class is None:
            n_class = 1000
        self.mean = _imagenet_mean if mean is None else mean
        initialW, fc_kwargs = _prepare_init(path, initialW, fc_kwargs)
        kwargs = {'groups': self._groups, 'initialW': initialW,
                  'stride_first': False, 'add_seblock': True}
        c = self._channels

        super(SEResNeXtTiny, self).__init__()
        with self.init_scope():
            self.conv1 = Conv2DBNActiv(
                3, c[0] // 2, 7, 2, 3, nobias=True, initialW=initialW)
            self.pool1 = _max_pooling_ceil
            self.res2 = ResBlock(
                n_block[0], c[0] // 2, c[0] // 2, c[0], 1, **kwargs)
            self.res3 = ResBlock(
                n_block[1], c[0], c[1] // 2, c[1], 2, **kwargs)
            self.res4 = ResBlock(
                n_block[2], c[1], c[2] // 2, c[2], 2, **kwargs)
            self.res5 = ResBlock(
                n_block[3], c[2], c[3] // 2, c[3], 2, **kwargs)
            self.pool5 = _global_average_pooling
            self.fc6 = L.Linear(c[3], n_class, **fc_kwargs)
            self.prob = F.softmax

        if path:
            chainer.serializers.load_npz(path, self)


# name -> (class, constructor kwargs, channels of C2-C5, FPN width)
_backbones = {
    'resnet50': (ResNet50, {'arch': 'he'}, (256, 512, 1024, 2048), 256),
    'resnet101': (ResNet101, {'arch': 'he'}, (256, 512, 1024, 2048), 256),
    'se_resnext50': (SEResNeXt50, {}, (256, 512, 1024, 2048), 256),
    'se_resnext101': (SEResNeXt101, {}, (256, 512, 1024, 2048), 256),
    'senet154': (SENet154, {}, (256, 512, 1024, 2048), 256),
    'se_resnext_tiny': (SEResNeXtTiny, {}, SEResNeXtTiny._channels, 64),
}

backbone_names = tuple(sorted(_backbones))


def default_fpn_channel(name):
    """The FPN width recommended for a backbone (64 for the tiny one).

    Args:
        name (str): A name of :obj:`backbone_names`.

    Returns:
        int

    """
    _check_name(name)
    return _backbones[name][3]


def _check_name(name):
    if name not in _backbones:
        raise ValueError('unknown backbone {!r}; choose one of {}'.format(
            name, ', '.join(backbone_names)))


def build_backbone(name, pretrained_model=None, **kwargs):
    """Build a backbone that returns (C2, C3, C4, C5).

    The classifier of the chosen family is built, its :obj:`pool1` is
    replaced by a padded max pooling (as ChainerCV's
    :class:`~chainercv.links.model.fpn.FasterRCNNFPNResNet` does), and the
    layers after :obj:`res5` are removed.

    .. csv-table::
        :header: name, family, C2-C5 channels, params (backbone only)

        :obj:`resnet50`, "ChainerCV :class:`ResNet50` (arch='he')", \
            "256, 512, 1024, 2048", 23.5 M
        :obj:`resnet101`, "ChainerCV :class:`ResNet101` (arch='he')", \
            "256, 512, 1024, 2048", 42.5 M
        :obj:`se_resnext50`, "ChainerCV :class:`SEResNeXt50` (32x4d)", \
            "256, 512, 1024, 2048", 25.5 M
        :obj:`se_resnext101`, "ChainerCV :class:`SEResNeXt101` (32x4d)", \
            "256, 512, 1024, 2048", 46.9 M
        :obj:`senet154`, :class:`SENet154` (64x4d), \
            "256, 512, 1024, 2048", 113.0 M
        :obj:`se_resnext_tiny`, :class:`SEResNeXtTiny`, \
            "32, 64, 128, 256", 0.17 M

    Args:
        name (str): One of :obj:`backbone_names`.
        pretrained_model (str): :obj:`None` or the path of a local npz
            file (see :func:`load_backbone_npz`). Names such as
            :obj:`'imagenet'` raise :class:`ValueError`: weights are never
            downloaded.
        **kwargs: Passed to the constructor of the family, e.g.
            :obj:`mean`, :obj:`initialW`, :obj:`arch` (ResNet) or
            :obj:`n_block` (tiny).

    Returns:
        chainercv.links.PickableSequentialChain: The backbone, with the
        attributes :obj:`mean` and :obj:`out_channels`. All parameters are
        initialized.

    """
    _check_name(name)
    path = check_pretrained_model(pretrained_model)
    cls, default_kwargs, out_channels, _ = _backbones[name]
    kw = dict(default_kwargs)
    kw.update(kwargs)
    if path and 'initialW' not in kw:
        kw['initialW'] = initializers.Zero()

    base = cls(n_class=1, **kw)
    base.pick = ('res2', 'res3', 'res4', 'res5')
    base.pool1 = _max_pooling_same
    base.remove_unused()
    base.out_channels = out_channels
    _initialize_params(base)
    if path:
        load_backbone_npz(base, path)
    return base


def _initialize_params(link):
    # ChainerCV's ResNet/SE-ResNeXt defer the input channels of their first
    # layers. A tiny forward completes the parameter set, so that npz
    # checks, create_mnbn_model and optimizers see every parameter.
    if all(param.array is not None for param in link.params()):
        return
    x = link.xp.zeros((1, 3, 32, 32), dtype=np.float32)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        link(x)


def _required_arrays(link):
    serializer = chainer.serializers.DictionarySerializer()
    serializer.save(link)
    return serializer.target


def load_backbone_npz(base, path, prefix=None):
    """Load backbone weights from a local npz file.

    The npz may hold a whole ImageNet classifier as saved by ChainerCV
    (e.g. ``se_resnext101_imagenet_converted_2018_06_28.npz``, including
    :obj:`fc6`), a backbone alone, or any model whose backbone sits under
    a prefix (e.g. ``extractor/base/`` of a saved detector; the prefix is
    found automatically when unique). Layers that the backbone removed
    (:obj:`pool5`, :obj:`fc6`) are not read. Every array the backbone needs
    must be present with the right shape (only the BN counters :obj:`N`
    may be missing), and the file must not hold arrays of the kept layers
    that the backbone lacks (e.g. SE-ResNeXt-101 weights loaded into
    SE-ResNeXt-50). Otherwise a :class:`ValueError` names the file and the
    first offending keys.

    Args:
        base (chainer.Link): The backbone (parameters initialized).
        path (str): The npz file.
        prefix (str): The key prefix of the backbone in the file; found
            automatically when :obj:`None`.

    """
    required = _required_arrays(base)
    shapes = _npz_shapes(path)
    if prefix is None:
        prefix = _find_prefix(required, shapes, path)
    elif prefix and not prefix.endswith('/'):
        prefix += '/'

    missing = []
    mismatch = []
    for key, value in sorted(required.items()):
        full = prefix + key
        if full not in shapes:
            if not key.endswith('/N'):
                missing.append(full)
            continue
        expected = np.asarray(value).shape
        if shapes[full] != expected:
            mismatch.append('{} {} (expected {})'.format(
                full, shapes[full], expected))
    # Arrays of the kept layers that the backbone lacks mean another
    # architecture (e.g. SE-ResNeXt-101 weights for SE-ResNeXt-50, whose
    # keys are a subset); removed layers such as fc6 are fine.
    layers = set(getattr(base, 'layer_names', ()))
    unexpected = sorted(
        key for key in shapes if key.startswith(prefix)
        and key[len(prefix):] not in required
        and key[len(prefix):].split('/')[0] in layers)
    if missing or mismatch or unexpected:
        msg = ['{}: not a weight file of this backbone'.format(path)]
        if missing:
            msg.append('{} missing keys, e.g. {}'.format(
                len(missing), ', '.join(missing[:5])))
        if mismatch:
            msg.append('{} shape mismatches, e.g. {}'.format(
                len(mismatch), ', '.join(mismatch[:5])))
        if unexpected:
            msg.append('{} arrays of layers it does not have (a deeper or '
                       'different model?), e.g. {}'.format(
                           len(unexpected), ', '.join(unexpected[:5])))
        raise ValueError('; '.join(msg))
    # strict=False only tolerates the BN counters checked above.
    chainer.serializers.load_npz(path, base, path=prefix, strict=False)


def _npz_shapes(path):
    # Array shapes from the .npy headers, without reading the data.
    shapes = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if not name.endswith('.npy'):
                    continue
                with zf.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        header = np.lib.format.read_array_header_1_0(f)
                    else:
                        header = np.lib.format.read_array_header_2_0(f)
                shapes[name[:-len('.npy')]] = header[0]
    except (zipfile.BadZipfile, ValueError) as e:
        raise ValueError('{}: not an npz file ({})'.format(path, e))
    return shapes


def _find_prefix(required, shapes, path):
    needed = sorted(k for k in required if not k.endswith('/N'))
    probe = needed[0]
    if probe in shapes:
        return ''
    candidates = [key[:-len(probe)] for key in shapes
                  if key.endswith('/' + probe)]
    candidates = [c for c in candidates
                  if all(c + key in shapes for key in needed)]
    if len(candidates) > 1:
        raise ValueError(
            '{}: the backbone appears under several prefixes ({}); pass '
            'prefix='.format(path, ', '.join(sorted(candidates))))
    # With no candidate, the check of the caller lists the missing keys.
    return candidates[0] if candidates else ''


class FrozenBatchNormalization(chainer.Link):

    """Batch normalization with fixed statistics and fixed affine terms.

    The forward pass is always
    :math:`\\gamma (x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon} + \\beta`
    with the stored :obj:`avg_mean` and :obj:`avg_var`, in training and in
    test mode. :obj:`gamma` and :obj:`beta` are *persistent arrays*, not
    parameters: no gradient, no optimizer, no weight decay, no multi-node
    gradient all-reduce can touch them (ChainerMN's
    ``create_multi_node_optimizer`` zero-fills missing gradients, after
    which weight decay would move parameters whose update is not
    disabled).

    The arrays carry the names of :class:`chainer.links.BatchNormalization`
    (:obj:`gamma`, :obj:`beta`, :obj:`avg_mean`, :obj:`avg_var`, :obj:`N`),
    so npz files load into either. It is deliberately *not* a subclass of
    :class:`~chainer.links.BatchNormalization`:
    :func:`chainermn.links.create_mnbn_model` then leaves it as it is.

    Args:
        size (int or tuple of ints): The channel shape.
        decay (float): Kept for the conversion back to BN.
        eps (float): Epsilon of the normalization.
        dtype (numpy.dtype): The dtype of the arrays.
        use_gamma (bool): Whether to hold :obj:`gamma` (else 1).
        use_beta (bool): Whether to hold :obj:`beta` (else 0).
        axis (tuple of ints): The normalized axes (:obj:`None`: BN's
            default).

    """

    def __init__(self, size, decay=0.9, eps=2e-5, dtype=np.float32,
                 use_gamma=True, use_beta=True, axis=None):
        super(FrozenBatchNormalization, self).__init__()
        self.decay = decay
        self.eps = eps
        self.axis = axis
        self.use_gamma = use_gamma
        self.use_beta = use_beta
        self.gamma = np.ones(size, dtype=dtype)
        self.beta = np.zeros(size, dtype=dtype)
        self.avg_mean = np.zeros(size, dtype=dtype)
        self.avg_var = np.ones(size, dtype=dtype)
        self.N = 0
        names = ['avg_mean', 'avg_var', 'N']
        if use_gamma:
            names.append('gamma')
        if use_beta:
            names.append('beta')
        for name in names:
            self.register_persistent(name)

    @classmethod
    def from_bn(cls, bn):
        """Make a frozen copy of a BN layer (BN or multi-node BN)."""
        frozen = cls(
            bn.avg_mean.shape, decay=bn.decay, eps=bn.eps,
            dtype=bn.avg_mean.dtype,
            use_gamma=getattr(bn, 'gamma', None) is not None,
            use_beta=getattr(bn, 'beta', None) is not None,
            axis=getattr(bn, 'axis', None))
        _copy_bn_state(bn, frozen)
        return frozen

    def to_bn(self):
        """Make a trainable :class:`chainer.links.BatchNormalization` copy."""
        bn = L.BatchNormalization(
            self.avg_mean.shape, decay=self.decay, eps=self.eps,
            dtype=self.avg_mean.dtype, use_gamma=self.use_gamma,
            use_beta=self.use_beta, axis=self.axis)
        _copy_bn_state(self, bn)
        return bn

    def forward(self, x, **kwargs):
        return F.fixed_batch_normalization(
            x, self.gamma, self.beta, self.avg_mean, self.avg_var, self.eps,
            axis=self.axis)


def _copy_bn_state(src, dst):
    dst.to_device(src.device)
    for name in ('gamma', 'beta'):
        a_src = getattr(src, name, None)
        a_dst = getattr(dst, name, None)
        if a_src is None or a_dst is None:
            continue
        a_src = getattr(a_src, 'array', a_src)
        if isinstance(a_dst, chainer.Variable):
            a_dst.array[...] = a_src
        else:
            setattr(dst, name, a_src.copy())
    dst.avg_mean = src.avg_mean.copy()
    dst.avg_var = src.avg_var.copy()
    dst.N = src.N


def _mnbn_to_bn(mnbn):
    bn = L.BatchNormalization(
        mnbn.avg_mean.shape, decay=mnbn.decay, eps=mnbn.eps,
        dtype=mnbn.avg_mean.dtype,
        use_gamma=getattr(mnbn, 'gamma', None) is not None,
        use_beta=getattr(mnbn, 'beta', None) is not None)
    _copy_bn_state(mnbn, bn)
    return bn


def _convert_bn(link, mode, comm, keep_frozen, communication_backend):
    # Returns the replacement of a BN-like link, or None to keep it.
    if isinstance(link, FrozenBatchNormalization):
        if mode == 'frozen' or keep_frozen:
            return None
        link = link.to_bn()
        if mode == 'local':
            return link
    elif isinstance(link, MultiNodeBatchNormalization):
        if mode == 'multi_node' and link.comm is comm:
            return None
        link = _mnbn_to_bn(link)
        if mode == 'local':
            return link
    elif isinstance(link, L.BatchNormalization):
        if mode == 'local':
            return None
    else:
        return None

    if mode == 'frozen':
        return FrozenBatchNormalization.from_bn(link)
    new = create_mnbn_model(link, comm, communication_backend)
    new.to_device(link.device)
    return new


def _replace_links(link, convert):
    new = convert(link)
    if new is not None:
        return new
    if isinstance(link, chainer.Chain):
        for name in sorted(link._children):
            child = link.__dict__[name]
            new_child = _replace_links(child, convert)
            if new_child is not child:
                new_child.name = name
                link.__dict__[name] = new_child
    elif isinstance(link, chainer.Sequential):
        for i, child in enumerate(list(link)):
            new_child = _replace_links(child, convert)
            if new_child is not child:
                link[i] = new_child
    elif isinstance(link, chainer.ChainList):
        for i, child in enumerate(list(link)):
            new_child = _replace_links(child, convert)
            if new_child is not child:
                new_child.name = str(i)
                link._children[i] = new_child
    return link


def set_bn_mode(link, mode, comm=None, keep_frozen=True,
                communication_backend='auto'):
    """Switch the batch normalization layers of a link.

    BN-like layers are :class:`chainer.links.BatchNormalization`,
    :class:`chainermn.links.MultiNodeBatchNormalization` and
    :class:`FrozenBatchNormalization`. Each is replaced, keeping
    :obj:`gamma`, :obj:`beta`, :obj:`avg_mean`, :obj:`avg_var` and
    :obj:`N`:

    * :obj:`'frozen'`: :class:`FrozenBatchNormalization`: running
      statistics in training too, no update (ChainerCV's FPN recipe, which
      instead runs the extractor under ``train=False``).
    * :obj:`'local'`: :class:`chainer.links.BatchNormalization`: statistics
      of each process's own batch.
    * :obj:`'multi_node'`: :class:`~chainermn.links.\
MultiNodeBatchNormalization` made by
      :func:`chainermn.links.create_mnbn_model`: statistics of the global
      batch over :obj:`comm` (PFDet, MegDet).

    With :obj:`keep_frozen=True` (default), layers that are already frozen
    (e.g. by :func:`freeze_layers`) stay frozen in every mode.

    The replacement is made in place in the parent links, so the return
    value is :obj:`link` itself unless :obj:`link` is a BN layer. Call it
    before :meth:`to_gpu` where possible and before creating the
    optimizer (as for :func:`~chainermn.links.create_mnbn_model`).

    Args:
        link (chainer.Link): The link to convert.
        mode (str): :obj:`'frozen'`, :obj:`'local'` or :obj:`'multi_node'`.
        comm: A ChainerMN communicator (:obj:`'multi_node'` only).
        keep_frozen (bool): Leave :class:`FrozenBatchNormalization` layers
            as they are.
        communication_backend (str): Passed to
            :func:`~chainermn.links.create_mnbn_model`.

    Returns:
        chainer.Link: The converted link.

    """
    if mode not in bn_modes:
        raise ValueError('bn mode must be one of {}, not {!r}'.format(
            bn_modes, mode))
    if mode == 'multi_node':
        if comm is None:
            raise ValueError("bn mode 'multi_node' needs a communicator: "
                             'set_bn_mode(link, "multi_node", comm=comm)')
        if not _chainermn_available:  # pragma: no cover
            raise RuntimeError("bn mode 'multi_node' needs chainermn")

    def convert(l):
        return _convert_bn(l, mode, comm, keep_frozen, communication_backend)
    return _replace_links(link, convert)


def freeze_bn(link):
    """Freeze every BN layer of a link (:func:`set_bn_mode` 'frozen')."""
    return set_bn_mode(link, 'frozen')


def freeze_layers(base, names=('conv1',)):
    """Freeze layers of a backbone: frozen BN, no update of the convs.

    ChainerCV's FPN recipe freezes :obj:`conv1` and :obj:`res2`. Here the
    BN layers of the named layers become :class:`FrozenBatchNormalization`
    at once (later calls of :func:`set_bn_mode` keep them), and the
    layers are marked frozen and get :meth:`~chainer.Link.disable_update`.

    .. note::
        Chainer's :meth:`GradientMethod.setup` gives every parameter a new,
        enabled update rule, so :meth:`disable_update` only lasts if it is
        called *after* :meth:`optimizer.setup`. Call
        :func:`disable_frozen_updates` on the model after setting up the
        optimizer (ChainerCV's ``train_multi.py`` likewise calls
        :meth:`disable_update` after the setup).

    Args:
        base (chainer.Link): A backbone (or any chain).
        names (iterable of str): Names of child links of :obj:`base`.

    """
    if isinstance(names, str):
        names = (names,)
    for name in names:
        layer = getattr(base, name, None)
        if not isinstance(layer, chainer.Link):
            raise ValueError('cannot freeze {!r}: not a layer of {}'.format(
                name, type(base).__name__))
        set_bn_mode(layer, 'frozen')
        layer._pfdet_frozen = True
        layer.disable_update()


def disable_frozen_updates(link):
    """Disable the update of every layer frozen by :func:`freeze_layers`.

    Call it after :meth:`optimizer.setup` (see :func:`freeze_layers`).

    Args:
        link (chainer.Link): A model containing frozen layers.

    Returns:
        int: The number of frozen layers found.

    """
    n = 0
    for l in link.links():
        if getattr(l, '_pfdet_frozen', False):
            l.disable_update()
            n += 1
    return n
