"""Row ``54_dense_validation_reweight`` without the loss (the model and data of row 29).

Toy scale only; the data, RoIs and evaluation of ``54_dense_validation_reweight.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image (pair of the inverse-annotation-rate row)'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 15: only the validation data differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/15_dense_scenes_without'
WITH = 'cooccurrence/54_dense_validation_reweight'

toy_config = without_loss(WITH)
