"""Feature Pyramid Network with PFDet's PSP and additional FPN scale.

Shapes: B = images, K = pyramid levels (5 by default), C = :obj:`n_channel`.
An extractor maps (B, 3, H, W) to K maps (B, C, H_k, W_k) with
:math:`H_k = \\lceil H \\cdot s_k \\rceil` for inputs whose sides are
multiples of the coarsest stride, :math:`s_k` = :obj:`scales[k]`.

"Five scales instead of four" (PFDet paper §2, poster "Additional FPN
Block", ablation "+ Add FPN scale") has two readings, both available:

* :obj:`extra_block=False` (ChainerCV): P2-P5 from C2-C5, P6 = stride-2
  max pooling of P5. ChainerCV's head pools RoIs from P2-P5 only; pooling
  from P6 too is the head's choice (its level assignment).
* :obj:`extra_block=True`: a real C6 stage, a 3x3 stride-2 conv + ReLU on
  C5, joins the pyramid with its own lateral and output convs and the
  top-down path starts from it, so P6 is a learned level from which RoIs
  can be pooled like from the others.

"""

from __future__ import division

import chainer
import chainer.functions as F
from chainer import initializers
import chainer.links as L

from pfdet.links.model.pfdet.backbones import build_backbone
from pfdet.links.model.pfdet.backbones import default_fpn_channel
from pfdet.links.model.pfdet.backbones import freeze_layers
from pfdet.links.model.pfdet.backbones import set_bn_mode
from pfdet.links.model.pfdet.psp import PSP

default_scales = (1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64)


class FPN(chainer.Chain):

    """An extractor of Feature Pyramid Networks, PFDet flavour.

    This is ChainerCV's :class:`~chainercv.links.model.fpn.FPN` (lateral
    1x1 convs, nearest x2 top-down additions, 3x3 output convs,
    GlorotNormal init, max-pooled extra levels) with

    * top-down maps cropped to the lateral size, so inputs of any size
      (odd sides included) work;
    * an optional :class:`~pfdet.links.model.pfdet.psp.PSP` on the last
      base output (C5), concatenated with it before its lateral conv;
    * an optional real extra stage (:obj:`extra_block`, see the module
      docstring);
    * a configurable width :obj:`n_channel`.

    It fulfils the extractor contract of the PFDet model: :meth:`forward`
    returns a list of :obj:`len(scales)` maps, and the attributes
    :obj:`scales`, :obj:`mean` and :obj:`n_channel` exist.

    Args:
        base (~chainer.Link): A feature extractor returning
            :obj:`n_base_output` maps, each about half the size of the
            previous one, with attribute :obj:`mean` (and
            :obj:`out_channels`, needed for :obj:`psp=True`).
        n_base_output (int): The number of maps :obj:`base` returns.
        scales (tuple of floats): The scales of the output maps, halving
            from level to level, at least :obj:`n_base_output` (+1 with
            :obj:`extra_block`) of them. Levels beyond are max-pooled.
        n_channel (int): The channels of every output map.
        psp (bool): Apply pyramid pooling to the last base output.
        psp_bins (tuple of ints): The bins of the pyramid pooling.
        extra_block (bool): Add a real stage after the last base output.

    Parameters:
        scales (tuple of floats): The scales of the outputs.
        n_channel (int): The channels of the outputs.

    """

    def __init__(self, base, n_base_output, scales, n_channel=256,
                 psp=False, psp_bins=(1, 2, 3, 6), extra_block=False):
        scales = tuple(float(s) for s in scales)
        n_level = n_base_output + int(bool(extra_block))
        if len(scales) < n_level:
            raise ValueError(
                '{} scales given for {} levels ({} base outputs{})'.format(
                    len(scales), n_level, n_base_output,
                    ' + extra block' if extra_block else ''))
        for s, t in zip(scales, scales[1:]):
            if abs(t * 2 - s) > 1e-9 * s:
                raise ValueError(
                    'scales must halve from level to level: {}'.format(
                        scales))
        in_channels = getattr(base, 'out_channels', None)
        if in_channels is not None:
            in_channels = list(in_channels)
            if len(in_channels) != n_base_output:
                raise ValueError(
                    'base.out_channels has {} entries, n_base_output is '
                    '{}'.format(len(in_channels), n_base_output))
        elif psp:
            raise ValueError(
                'psp=True needs base.out_channels (the channels of the '
                'base outputs)')
        else:
            in_channels = [None] * n_base_output

        super(FPN, self).__init__()
        init = {'initialW': initializers.GlorotNormal()}
        with self.init_scope():
            self.base = base
            if psp:
                self.psp = PSP(in_channels[-1], psp_bins)
            if extra_block:
                self.extra = L.Convolution2D(
                    in_channels[-1], n_channel, 3, stride=2, pad=1, **init)
            self.inner = chainer.ChainList()
            self.outer = chainer.ChainList()

        lateral_in = list(in_channels)
        if psp:
            lateral_in[-1] = self.psp.out_channels
        if extra_block:
            lateral_in.append(n_channel)
        for c in lateral_in:
            self.inner.append(L.Convolution2D(c, n_channel, 1, **init))
            self.outer.append(L.Convolution2D(
                n_channel, n_channel, 3, pad=1, **init))

        self.n_base_output = n_base_output
        self.scales = scales
        self.n_channel = n_channel
        self.psp_bins = tuple(psp_bins) if psp else None
        self.extra_block = bool(extra_block)

    @property
    def mean(self):
        return self.base.mean

    def forward(self, x):
        """Compute the pyramid.

        Args:
            x (~chainer.Variable or array): (B, 3, H, W), mean subtracted.

        Returns:
            list of ~chainer.Variable: :obj:`len(scales)` maps
            (B, :obj:`n_channel`, H_k, W_k), finest first.

        """
        hs = self.base(x)
        if not isinstance(hs, (list, tuple)):
            hs = [hs]
        hs = list(hs)
        if len(hs) != self.n_base_output:
            raise ValueError('base returned {} maps, expected {}'.format(
                len(hs), self.n_base_output))

        top = hs[-1]
        if self.extra_block:
            # C6 is computed from C5 itself, not from the PSP output.
            c6 = F.relu(self.extra(top))
        if hasattr(self, 'psp'):
            hs[-1] = self.psp(top)
        if self.extra_block:
            hs.append(c6)

        for i in reversed(range(len(hs))):
            hs[i] = self.inner[i](hs[i])
            if i + 1 < len(hs):
                hs[i] = hs[i] + _upsample_to(hs[i + 1], hs[i].shape[2:])

        for i in range(len(hs)):
            hs[i] = self.outer[i](hs[i])

        while len(hs) < len(self.scales):
            hs.append(F.max_pooling_2d(hs[-1], 1, stride=2, cover_all=False))
        return hs


def _upsample_to(h, size):
    # Nearest x2, then crop: a stride-2 layer maps H to ceil(H / 2), so the
    # upsampled map is H or H + 1 high.
    H, W = size
    up = F.unpooling_2d(h, 2, cover_all=False)
    if up.shape[2] < H or up.shape[3] < W:
        raise ValueError(
            'a coarser level of size {} cannot be upsampled to {}: each '
            'level must be ceil(size / 2) of the previous one'.format(
                h.shape[2:], size))
    if up.shape[2:] != (H, W):
        up = up[:, :, :H, :W]
    return up


def build_fpn_extractor(backbone='se_resnext_tiny', n_channel=None,
                        psp=False, psp_bins=(1, 2, 3, 6), extra_block=False,
                        bn='frozen', comm=None, freeze=('conv1',),
                        pretrained_model=None, scales=default_scales,
                        **backbone_kwargs):
    """Build a PFDet extractor: backbone + (PSP) + FPN, BN mode applied.

    The steps, in order: :func:`~pfdet.links.model.pfdet.backbones.\
build_backbone` (loading :obj:`pretrained_model`), :func:`~pfdet.links.\
model.pfdet.backbones.freeze_layers` on :obj:`freeze`, :class:`FPN`, then
    :func:`~pfdet.links.model.pfdet.backbones.set_bn_mode` on the whole
    extractor with :obj:`bn` (frozen layers stay frozen). The BN of the
    PSP module follows :obj:`bn` as well: in :obj:`'frozen'` mode they keep
    their initial statistics (mean 0, variance 1), i.e. they are identity
    maps.

    Args:
        backbone (str): A name of
            :obj:`~pfdet.links.model.pfdet.backbones.backbone_names`.
        n_channel (int): FPN width; :obj:`None` gives 256, or 64 for
            :obj:`'se_resnext_tiny'`.
        psp (bool): See :class:`FPN`.
        psp_bins (tuple of ints): See :class:`FPN`.
        extra_block (bool): See :class:`FPN`.
        bn (str): :obj:`'frozen'`, :obj:`'local'` or :obj:`'multi_node'`.
        comm: A ChainerMN communicator, for :obj:`bn='multi_node'`.
        freeze (tuple of str): Backbone layers to freeze, e.g.
            :obj:`('conv1', 'res2')` as ChainerCV's recipe.
        pretrained_model (str): :obj:`None` or a local npz of the
            backbone (see :func:`~pfdet.links.model.pfdet.backbones.\
load_backbone_npz`).
        scales (tuple of floats): See :class:`FPN`.
        **backbone_kwargs: Passed to
            :func:`~pfdet.links.model.pfdet.backbones.build_backbone`.

    Returns:
        FPN: The extractor.

    """
    base = build_backbone(backbone, pretrained_model, **backbone_kwargs)
    if freeze:
        freeze_layers(base, freeze)
    if n_channel is None:
        n_channel = default_fpn_channel(backbone)
    extractor = FPN(base, len(base.out_channels), scales, n_channel,
                    psp=psp, psp_bins=psp_bins, extra_block=extra_block)
    return set_bn_mode(extractor, bn, comm=comm)
