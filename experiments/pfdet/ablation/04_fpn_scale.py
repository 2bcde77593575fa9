"""Ablation row 4: "+ Add FPN scale", 64.5 validation mAP (+1.1).

A learned fifth level (a stride-2 stage on C5 with its own FPN convolutions) from which
the head pools RoIs too (``pfdet.md`` §3.5, reading (a)).
"""

from experiments.pfdet.ablation import make_row

ROW = '+ Add FPN scale'
PAPER_MAP = 64.5
PAPER_DELTA = 1.1
PREVIOUS = '03_cosine'


def delta(base):
    return {'model': {'extra_fpn_scale': True}}


config, toy_config = make_row(PREVIOUS, delta)
