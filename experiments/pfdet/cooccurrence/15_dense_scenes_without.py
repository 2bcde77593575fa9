"""Ablation row 7 without the co-occurrence loss on dense scenes with sparsely verified parts.

Toy scale only; the data and RoI sampling of ``16_dense_scenes.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/16_dense_scenes'

toy_config = without_loss(WITH)
