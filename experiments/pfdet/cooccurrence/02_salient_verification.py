"""Ablation row 7 with the co-occurrence loss on embedded data with verification that follows salience (q = (0.05, 0.6), subjects 0.7-1.4x).

Toy scale only (a variant of the embedded dataset; see the package docstring).
"""

from experiments.pfdet.ablation import row_config
from experiments.pfdet.cooccurrence import data_variant

ROW = 'Row 7, salience-driven verification'
PREVIOUS = None
SCALES = ('toy',)

toy_config = data_variant(row_config('07_context_head', 'toy'), 'embedded_salient', q=(0.05, 0.6), subject_scale=(0.7, 1.4))
