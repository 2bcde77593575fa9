"""Row ``30_dense_validation`` evaluated with the per-class NMW at IoU 0.3 instead of 0.55.

Toy scale only (see the package docstring, rows 39-44): the trained model of
``16_dense_scenes.py`` (the same as row 30's) and row 30's validation data; only the IoU
threshold of the test-time suppression differs (``eval.nms_thresh``).
This is the threshold of the grid {0.3, 0.4, 0.5, 0.55} with the best mean validation mAP of
the model without the loss, chosen by that rule before the gain was looked at.
"""

from experiments.pfdet.cooccurrence import suppression_variant

ROW = 'Row 7, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image, NMW at IoU 0.3'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 16: only the test-time suppression differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/16_dense_scenes'

toy_config = suppression_variant('30_dense_validation', 0.3)
