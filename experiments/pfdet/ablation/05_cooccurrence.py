"""Ablation row 5: "+ Co-occurrence loss", 65.2 validation mAP (+0.7).

The classification loss of a part class is ignored for a RoI inside a box of its
subject class unless the part is verified in the image (``pfdet.md`` §3.10). The pairs
come from the scale's recipe: mined from the training statistics at full scale, the
hierarchy's ``Part`` edges on the embedded data. Table 4 of the poster (per-class AP of
the 47 ignorable classes, 61.1 -> 70.3) compares this row with the previous one.
"""

from experiments.pfdet.ablation import make_row

ROW = '+ Co-occurrence loss'
PAPER_MAP = 65.2
PAPER_DELTA = 0.7
PREVIOUS = '04_fpn_scale'


def delta(base):
    return {'train_chain': {'cooccurrence': base['train_chain']['cooccurrence']}}


config, toy_config = make_row(PREVIOUS, delta)
