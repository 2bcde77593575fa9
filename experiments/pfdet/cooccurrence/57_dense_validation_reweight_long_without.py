"""Row ``58_dense_validation_reweight_long`` without the loss (the model and data of row 33).

Toy scale only; the data, RoIs, schedule and evaluation of
``58_dense_validation_reweight_long.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs, twice the schedule (pair of the inverse-annotation-rate row)'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 17: only the validation data differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/17_dense_scenes_long_without'
WITH = 'cooccurrence/58_dense_validation_reweight_long'

toy_config = without_loss(WITH)
