"""Results-table row "+ Class-weight ensemble": public 62.88, private 58.63 (no val number).

Every model of the seed -- ablation rows 8 and 7 (two general models) and the class20
expert -- with each model's scores of class c multiplied by its relative validation AP,
``AP_{m,c} / max_m' AP_{m',c}`` (``pfdet.md`` §3.13; MMfruit's description of PFDet), then
concatenated and suppressed with NMW. The weights are fitted on the validation split that
scores the row, so the number is optimistic -- perhaps why the poster prints no validation
value for it. The result also records the same ensemble without class weights
(``map_unweighted``). The poster's rows between (further experts, "+ COCO P...") are not
reproduced, so this row adds a second general model instead.
"""

import sys

from experiments.pfdet.results_table import row_view
from experiments.pfdet.results_table import run_row

KIND = 'ensemble'
ROW = '+ Class-weight ensemble'
PAPER = {'val': None, 'public': 62.88, 'private': 58.63}
PREVIOUS = '01_class20_experts'
MEMBERS = ['ablation/08_senet154_anchors', 'ablation/07_context_head', 'expert']
EXPERT = {'size': 20, 'by': 'frequency', 'negative_ratio': 1.0, 'schedule': 'iterations'}
ENSEMBLE = {'method': 'nmw', 'class_weights': True, 'normalize': 'max',
            'expert_mode': 'augment', 'max_per_image': None}


def run(scale, seed, context):
    return run_row(sys.modules[__name__], scale, seed, context)


def config_view(scale):
    return row_view(sys.modules[__name__], scale)
