"""Ablation row 7 without the co-occurrence loss on dense scenes whose parts are all inside subjects.

Toy scale only; the data, RoI sampling and evaluation of ``38_dense_inside_only.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts only inside subjects, verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/38_dense_inside_only'

toy_config = without_loss(WITH)
