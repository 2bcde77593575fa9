"""Ablation row 7 without the co-occurrence loss on the data of row 16 plus part look-alikes.

Toy scale only; the data and RoI sampling of ``20_lookalikes.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes with part look-alikes, parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/20_lookalikes'

toy_config = without_loss(WITH)
