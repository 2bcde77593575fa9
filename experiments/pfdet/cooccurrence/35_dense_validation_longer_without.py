"""Row 34 trained twice as long again (1,200 updates), without the co-occurrence loss.

Toy scale only; the data, RoI sampling, schedule and evaluation of
``36_dense_validation_longer.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs, four times the schedule'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/36_dense_validation_longer'

toy_config = without_loss(WITH)
