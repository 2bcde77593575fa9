"""Ablation row 2: "+ PSP and add BN to head", 60.4 validation mAP (+0.1).

A pyramid pooling module on C5 (bins 1, 2, 3, 6) and BN after fc1 and fc2 of the head
(``pfdet.md`` §3.3-3.4).
"""

from experiments.pfdet.ablation import make_row

ROW = '+ PSP and add BN to head'
PAPER_MAP = 60.4
PAPER_DELTA = 0.1
PREVIOUS = '01_multiscale'


def delta(base):
    return {'model': {'psp': True, 'head_bn': True}}


config, toy_config = make_row(PREVIOUS, delta)
