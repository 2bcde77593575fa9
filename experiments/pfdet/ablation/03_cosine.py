"""Ablation row 3: "+ Cosine Annealing", 63.4 validation mAP (+3.0).

``lr = lr0 (cos(pi t / T) + 1) / 2`` after the linear warm-up, instead of the step
schedule (``pfdet.md`` §3.7).
"""

from experiments.pfdet.ablation import make_row

ROW = '+ Cosine Annealing'
PAPER_MAP = 63.4
PAPER_DELTA = 3.0
PREVIOUS = '02_psp_head_bn'


def delta(base):
    return {'train': {'lr_schedule': 'cosine', 'lr_steps': ()}}


config, toy_config = make_row(PREVIOUS, delta)
