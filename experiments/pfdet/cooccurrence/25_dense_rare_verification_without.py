"""Ablation row 7 without the co-occurrence loss on dense scenes with parts verified in 3 %.

Toy scale only; the data and RoI sampling of ``26_dense_rare_verification.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 3 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/26_dense_rare_verification'

toy_config = without_loss(WITH)
