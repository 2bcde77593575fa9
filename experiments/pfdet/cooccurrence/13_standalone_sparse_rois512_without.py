"""Ablation row 7 without the co-occurrence loss on embedded data where a part drawn on its own is always verified.

Toy scale only; the data and RoI sampling of ``14_standalone_sparse_rois512.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, parts verified in 15 % of the images, on their own always, 512 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/14_standalone_sparse_rois512'

toy_config = without_loss(WITH)
