"""Ablation row 7 without the co-occurrence loss on dense scenes, validated more densely than trained.

Toy scale only; the data, RoI sampling and evaluation of ``30_dense_validation.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 15: only the validation data differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/15_dense_scenes_without'
WITH = 'cooccurrence/30_dense_validation'

toy_config = without_loss(WITH)
