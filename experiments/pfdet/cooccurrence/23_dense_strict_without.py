"""Ablation row 7 without the co-occurrence loss on dense scenes: the control of row 24.

Toy scale only; the data and RoI sampling of ``24_dense_strict.py`` (and ``16_dense_scenes.py``;
training is deterministic per seed, so this row reproduces row 15).
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes (control of strict containment), parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/24_dense_strict'

toy_config = without_loss(WITH)
