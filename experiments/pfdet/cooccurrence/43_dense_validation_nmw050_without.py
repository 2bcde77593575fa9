"""Row ``29_dense_validation_without`` evaluated with the per-class NMW at IoU 0.5.

Toy scale only; the training, data and evaluation of ``44_dense_validation_nmw050.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image, NMW at IoU 0.5'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 15: only the test-time suppression differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/15_dense_scenes_without'
WITH = 'cooccurrence/44_dense_validation_nmw050'

toy_config = without_loss(WITH)
