"""Row 16 trained twice as long, without the co-occurrence loss.

Toy scale only; the data, RoI sampling and schedule of ``18_dense_scenes_long.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the images, 256 RoIs, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/18_dense_scenes_long'

toy_config = without_loss(WITH)
