"""PFDet: Faster R-CNN + FPN with PFDet's components as switches."""

from __future__ import division

import chainer

from pfdet.links.model.pfdet.backbones import bn_modes
from pfdet.links.model.pfdet.backbones import check_pretrained_model
from pfdet.links.model.pfdet.backbones import set_bn_mode
from pfdet.links.model.pfdet.bbox_head import PFDetBboxHead
from pfdet.links.model.pfdet.faster_rcnn import FasterRCNN
from pfdet.links.model.pfdet.fpn import build_fpn_extractor
from pfdet.links.model.pfdet.rpn import RPN


class PFDet(FasterRCNN):
    """PFDet detector (Akiba et al., arXiv:1809.00778).

    A two-stage Faster R-CNN with FPN whose PFDet components are switches.
    The paper's ablation rows map to the arguments as follows.

    .. csv-table::
        :header: paper row, argument

        "Baseline (FPN, SE-ResNeXt-101)", "``backbone='se_resnext101'``"
        "sigmoid loss", "``classifier='sigmoid'`` (``'softmax'``: \
ChainerCV's head)"
        "multi-node BN", "``bn='multi_node', comm=comm``"
        "+ PSP and add BN to head", "``psp=True, head_bn=True``"
        "+ Add FPN scale", "``extra_fpn_scale=True``"
        "+ Context head", "``context_head=True`` (``context_scale``)"
        "+ SENet-154 and additional anchors", "``backbone='senet154'``, \
``anchor_scales``, ``anchor_ratios``"
        "NMW at test time", "``suppression='nmw'`` (``'nms'``)"

    Cosine LR, multi-scale training, 16 epochs and the co-occurrence loss
    are training-side (:class:`~pfdet.links.PFDetTrainChain` and the
    training scripts).

    ``extra_fpn_scale=False`` pools RoIs from P2-P5 and P6 is a max-pooled
    P5 used by the RPN only (ChainerCV). ``extra_fpn_scale=True`` makes P6 a
    learned level (a stride-2 conv on C5 with its own FPN convs) and pools
    RoIs from all five levels.

    Args:
        n_fg_class (int): The number of foreground classes.
        backbone (str or ~chainer.Link): A backbone name of
            :func:`~pfdet.links.build_backbone` (``'se_resnext101'``,
            ``'senet154'``, ``'resnet50'``, ``'se_resnext_tiny'``, ...), or a
            ready extractor link (:meth:`forward` returning a list of maps,
            :obj:`scales`, :obj:`mean`, optionally :obj:`n_channel`), in
            which case :obj:`psp`, :obj:`fpn_channels`, :obj:`freeze` and
            :obj:`backbone_pretrained_model` are not used and
            :obj:`extra_fpn_scale` only makes the head pool the last level
            too.
        psp (bool): PSP module on C5.
        extra_fpn_scale (bool): A learned fifth level, pooled by the head.
        context_head (bool): Context branch in the head.
        context_scale (float): Side multiplier of the context box
            (:math:`\\sqrt{2}`: twice the area).
        anchor_scales (tuple of floats): Anchor scales per level (multiples
            of :math:`32 \\cdot 2^l`).
        anchor_ratios (tuple of floats): Anchor aspect ratios (h / w).
        classifier ({'sigmoid', 'softmax'}): Head classifier.
        bn ({'frozen', 'local', 'multi_node'}): BN of the extractor (see
            :func:`~pfdet.links.set_bn_mode`); ``'frozen'`` uses the running
            statistics, ``'multi_node'`` needs :obj:`comm`.
        head_bn (bool): BN after fc1 and fc2 of the head (local BN).
        comm: A ChainerMN communicator for ``bn='multi_node'``.
        suppression ({'nmw', 'nms'}): Per-class suppression at test time.
        min_size (int): Shorter side of the input at test time.
        max_size (int): Maximum longer side of the input at test time.
        pretrained_model (str): A local npz of a whole PFDet model (written
            by :func:`chainer.serializers.save_npz` from the same
            configuration), or :obj:`None`.
        backbone_pretrained_model (str): A local npz of the backbone only
            (e.g. ImageNet weights), or :obj:`None`.
        fpn_channels (int): FPN width (:obj:`None`: 256, 64 for the tiny
            backbone).
        head_fc_channels (int): Width of the head's fc layers.
        freeze (tuple of str): Backbone layers to freeze.

    """

    def __init__(self, n_fg_class, backbone='se_resnext_tiny', psp=False,
                 extra_fpn_scale=False, context_head=False,
                 context_scale=2 ** 0.5, anchor_scales=(1,),
                 anchor_ratios=(0.5, 1, 2), classifier='sigmoid',
                 bn='frozen', head_bn=False, comm=None, suppression='nmw',
                 min_size=800, max_size=1333, pretrained_model=None,
                 backbone_pretrained_model=None, fpn_channels=None,
                 head_fc_channels=1024, freeze=('conv1',)):
        if not isinstance(n_fg_class, int) or n_fg_class < 1:
            raise ValueError(
                'n_fg_class must be a positive int, not {!r}'.format(
                    n_fg_class))
        if bn not in bn_modes:
            raise ValueError('bn must be one of {}, not {!r}'.format(
                bn_modes, bn))
        if bn == 'multi_node' and comm is None:
            raise ValueError("bn='multi_node' needs a ChainerMN communicator "
                             '(comm=...)')
        path = check_pretrained_model(pretrained_model)

        if isinstance(backbone, chainer.Link):
            extractor = set_bn_mode(backbone, bn, comm=comm)
            n_pooled_level = len(extractor.scales) - 1
            if extra_fpn_scale:
                n_pooled_level += 1
        else:
            extractor = build_fpn_extractor(
                backbone, n_channel=fpn_channels, psp=psp,
                extra_block=extra_fpn_scale, bn=bn, comm=comm,
                freeze=freeze, pretrained_model=backbone_pretrained_model)
            n_pooled_level = len(extractor.scales) - \
                (0 if extra_fpn_scale else 1)
        n_channel = getattr(extractor, 'n_channel', None)

        super(PFDet, self).__init__(
            extractor=extractor,
            rpn=RPN(extractor.scales, anchor_scales=anchor_scales,
                    anchor_ratios=anchor_ratios,
                    mid_channels=n_channel or 256, in_channels=n_channel),
            bbox_head=PFDetBboxHead(
                n_fg_class, extractor.scales, classifier=classifier,
                n_pooled_level=n_pooled_level, context=context_head,
                context_scale=context_scale, fc_channels=head_fc_channels,
                bn=head_bn, suppression=suppression, in_channels=n_channel),
            min_size=min_size, max_size=max_size)
        self.bn = bn
        if path:
            chainer.serializers.load_npz(path, self)
