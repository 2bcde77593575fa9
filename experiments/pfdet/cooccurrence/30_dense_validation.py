"""Ablation row 7 with the co-occurrence loss on dense scenes, validated more densely than trained.

Toy scale only (see the package docstring): the training data, RoI sampling and schedule
of ``16_dense_scenes.py`` (parts inside subjects verified in 10 % of the training images,
on their own always), evaluated on 1,000 validation images where parts inside subjects are
verified in 40 % of the images (``DENSE_VALIDATION``; the generator's ``q_validation``),
as Open Images V4's validation images carry about four times the verified labels of its
training images. The poster's Table 4 compares the loss on Open Images' validation set:
part classes 61.1 -> 70.3 AP on average (+9.1).
"""

from experiments.pfdet.cooccurrence import DENSE_VALIDATION, dense_variant

ROW = 'Row 7, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 16: only the validation data differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/16_dense_scenes'

toy_config = dense_variant(q=0.1, q_validation=DENSE_VALIDATION)
