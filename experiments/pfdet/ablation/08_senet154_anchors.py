"""Ablation row 8: "+ SENet-154 and additional anchors", 67.5 validation mAP (+1.5).

The larger backbone of the family (:data:`~experiments.pfdet.ablation.LARGER_BACKBONE`:
SENet-154 at full scale, a wider tiny SE-ResNeXt detector at toy scale) and three anchor
scales per octave (:func:`~experiments.pfdet.ablation.extra_anchor_scales`: each base
scale times 1, 2^(1/3), 2^(2/3); the poster gives no values, ``pfdet.md`` §3.9).
SENet-154 has no public Chainer weights: at full scale pass a converted npz as
``model.backbone_pretrained_model``.
"""

from experiments.pfdet.ablation import extra_anchor_scales
from experiments.pfdet.ablation import LARGER_BACKBONE
from experiments.pfdet.ablation import make_row

ROW = '+ SENet-154 and additional anchors'
PAPER_MAP = 67.5
PAPER_DELTA = 1.5
PREVIOUS = '07_context_head'


def delta(base):
    model = LARGER_BACKBONE[base['model']['backbone']](base)
    model['anchor_scales'] = extra_anchor_scales(base['model']['anchor_scales'])
    return {'model': model}


config, toy_config = make_row(PREVIOUS, delta)
