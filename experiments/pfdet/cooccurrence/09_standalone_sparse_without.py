"""Ablation row 7 without the co-occurrence loss on embedded data where a part drawn on its own is always verified.

Toy scale only; the data of ``10_standalone_sparse.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, parts verified in 15 % of the images, on their own always'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/10_standalone_sparse'

toy_config = without_loss(WITH)
