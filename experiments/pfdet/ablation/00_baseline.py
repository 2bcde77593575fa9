"""Ablation row 0: "Baseline (FPN with SE-ResNeXt-101)", 60.0 validation mAP.

PFDet's recipe with every later row switched off: single-scale training at the test
size, no PSP and no BN in the head, ChainerCV's step schedule, four pooled FPN levels,
no co-occurrence loss, :data:`~experiments.pfdet.ablation.SHORT_SCHEDULE` of the final
epochs, no context head, the scale's own anchors. Kept from the full recipe (design
choice, ``pfdet.md`` §2.1): sigmoid loss with hierarchical targets, multi-node BN, NMW.
"""

from experiments.pfdet.ablation import make_row
from experiments.pfdet.ablation import SHORT_SCHEDULE
from experiments.pfdet.ablation import STEP_SCHEDULE

ROW = 'Baseline (FPN with SE-ResNeXt-101)'
PAPER_MAP = 60.0
PAPER_DELTA = None
PREVIOUS = None


def delta(base):
    return {
        'model': {'psp': False, 'head_bn': False, 'extra_fpn_scale': False,
                  'context_head': False},
        'train_chain': {'cooccurrence': None},
        'train': {'scales': (base['model']['min_size'],), 'lr_schedule': 'step',
                  'lr_steps': STEP_SCHEDULE,
                  'epoch': base['train']['epoch'] * SHORT_SCHEDULE},
    }


config, toy_config = make_row(PREVIOUS, delta)
