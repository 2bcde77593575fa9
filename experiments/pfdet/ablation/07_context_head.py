"""Ablation row 7: "+ Context head", 66.0 validation mAP (+0.2).

Each RoI is pooled together with a box of twice its area around it, concatenated before
the head's fully-connected layers (``pfdet.md`` §3.6). This row is the complete recipe of
``base.py`` (``toy_base.py`` at toy scale).
"""

from experiments.pfdet.ablation import make_row

ROW = '+ Context head'
PAPER_MAP = 66.0
PAPER_DELTA = 0.2
PREVIOUS = '06_16_epochs'


def delta(base):
    return {'model': {'context_head': True, 'context_scale': 2 ** 0.5}}


config, toy_config = make_row(PREVIOUS, delta)
