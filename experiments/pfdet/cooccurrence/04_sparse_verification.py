"""Ablation row 7 with the co-occurrence loss on embedded data with parts verified in 15 % of the images (q = 0.15).

Toy scale only (a variant of the embedded dataset; see the package docstring).
"""

from experiments.pfdet.ablation import row_config
from experiments.pfdet.cooccurrence import data_variant

ROW = 'Row 7, parts verified in 15 % of the images'
PREVIOUS = None
SCALES = ('toy',)

toy_config = data_variant(row_config('07_context_head', 'toy'), 'embedded_q015', q=0.15)
