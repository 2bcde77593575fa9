"""Ablation row 7 without the co-occurrence loss on dense scenes: the control of row 22.

Toy scale only; the data and RoI sampling of ``22_dense_soft.py`` (and ``16_dense_scenes.py``).
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes (control of the soft loss), parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/22_dense_soft'

toy_config = without_loss(WITH)
