"""Row 50 (dense scenes with pixel noise, twice the schedule) without the co-occurrence loss.

Toy scale only; the data, RoI sampling, schedule and evaluation of
``50_dense_validation_noisy_long.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes with pixel noise 32, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/50_dense_validation_noisy_long'

toy_config = without_loss(WITH)
