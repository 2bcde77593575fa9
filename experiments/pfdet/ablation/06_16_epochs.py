"""Ablation row 6: "+ 16 epochs", 65.8 validation mAP (+0.6).

The final schedule: 16 epochs at full scale, ``toy_base``'s epochs at toy scale, i.e.
``1 / SHORT_SCHEDULE`` times the previous rows' training at both scales.
"""

from experiments.pfdet.ablation import make_row

ROW = '+ 16 epochs'
PAPER_MAP = 65.8
PAPER_DELTA = 0.6
PREVIOUS = '05_cooccurrence'


def delta(base):
    return {'train': {'epoch': base['train']['epoch']}}


config, toy_config = make_row(PREVIOUS, delta)
