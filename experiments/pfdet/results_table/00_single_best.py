"""Results-table row "Single best model": 69.95 validation mAP (public 55.81, private 53.43).

Ours: ablation row 8 (the last row of the chain) alone, its detections re-scored with the
official-tool evaluation of :func:`pfdet.ensemble.evaluate_detections`. What lifts the
poster's 67.5 (ablation row 8) to 69.95 is not stated (``pfdet.md`` §2.1).
"""

import sys

from experiments.pfdet.results_table import row_view
from experiments.pfdet.results_table import run_row

KIND = 'ensemble'
ROW = 'Single best model'
PAPER = {'val': 69.95, 'public': 55.81, 'private': 53.43}
PREVIOUS = None
MEMBERS = ['ablation/08_senet154_anchors']
ENSEMBLE = {'method': None, 'class_weights': False}


def run(scale, seed, context):
    return run_row(sys.modules[__name__], scale, seed, context)


def config_view(scale):
    return row_view(sys.modules[__name__], scale)
