"""Ablation row 7 without the co-occurrence loss on embedded data with parts verified in 15 % of the images (q = 0.15).

Toy scale only (a variant of the embedded dataset; see the package docstring).
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, parts verified in 15 % of the images'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/04_sparse_verification'

toy_config = without_loss(WITH)
