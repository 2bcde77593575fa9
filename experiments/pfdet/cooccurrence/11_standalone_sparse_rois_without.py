"""Ablation row 7 without the co-occurrence loss on embedded data where a part drawn on its own is always verified.

Toy scale only; the data and RoI sampling of ``12_standalone_sparse_rois.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, parts verified in 15 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/12_standalone_sparse_rois'

toy_config = without_loss(WITH)
