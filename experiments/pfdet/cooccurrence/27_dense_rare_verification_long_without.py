"""Ablation row 7 without the co-occurrence loss, parts verified in 3 %, twice the schedule.

Toy scale only; the data, RoI sampling and schedule of ``28_dense_rare_verification_long.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 3 % of the images, on their own always, 256 RoIs, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/28_dense_rare_verification_long'

toy_config = without_loss(WITH)
