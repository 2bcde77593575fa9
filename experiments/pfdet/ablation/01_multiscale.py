"""Ablation row 1: "+ multi-scale training", 60.3 validation mAP (+0.3).

The shorter side of each training image is drawn from the scale's list (640-800 at full
scale, ``pfdet.md`` §3.8; 128-192 at toy scale); testing stays at ``model.min_size``.
"""

from experiments.pfdet.ablation import make_row

ROW = '+ multi-scale training'
PAPER_MAP = 60.3
PAPER_DELTA = 0.3
PREVIOUS = '00_baseline'


def delta(base):
    return {'train': {'scales': base['train']['scales']}}


config, toy_config = make_row(PREVIOUS, delta)
