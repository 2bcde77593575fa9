"""Results-table row "+ class20 experts": 71.73 validation mAP (public 59.34, private 55.87).

An expert model for the 20 classes with the fewest training images (``pfdet.md`` §3.11;
"class20" read as "20 classes"), trained with the single model's recipe on the images
containing them plus as many other images (:mod:`pfdet.experts`), for as many iterations
as the single model (the subset is a quarter of the data: the same epochs would be a
quarter of the updates); its detections are
concatenated with the single model's and suppressed per class with NMW
(:func:`pfdet.ensemble.ensemble_detections`, ``expert_mode='augment'``: "Concat ->
Suppression" of the slides).
"""

import sys

from experiments.pfdet.results_table import row_view
from experiments.pfdet.results_table import run_row

KIND = 'ensemble'
ROW = '+ class20 experts'
PAPER = {'val': 71.73, 'public': 59.34, 'private': 55.87}
PREVIOUS = '00_single_best'
MEMBERS = ['ablation/08_senet154_anchors', 'expert']
EXPERT = {'size': 20, 'by': 'frequency', 'negative_ratio': 1.0, 'schedule': 'iterations'}
ENSEMBLE = {'method': 'nmw', 'class_weights': False, 'expert_mode': 'augment',
            'max_per_image': None}


def run(scale, seed, context):
    return run_row(sys.modules[__name__], scale, seed, context)


def config_view(scale):
    return row_view(sys.modules[__name__], scale)
