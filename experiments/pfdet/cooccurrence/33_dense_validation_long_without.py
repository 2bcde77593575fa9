"""Row 30 trained twice as long, without the co-occurrence loss.

Toy scale only; the data, RoI sampling, schedule and evaluation of
``34_dense_validation_long.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 17: only the validation data differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/17_dense_scenes_long_without'
WITH = 'cooccurrence/34_dense_validation_long'

toy_config = without_loss(WITH)
