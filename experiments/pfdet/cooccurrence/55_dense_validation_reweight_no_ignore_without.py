"""Row ``56_dense_validation_reweight_no_ignore`` without the loss (the model and data of row 29).

Toy scale only; the data, RoIs and evaluation of ``56_dense_validation_reweight_no_ignore.py``.
"""

from experiments.pfdet.cooccurrence import without_loss
from pfdet.training import deep_update

ROW = 'Row 7 without the loss, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image (pair of the weights-without-ignores control)'
PREVIOUS = None
SCALES = ('toy',)
# the same training as row 15: only the validation data differs (run.py reuses its model)
TRAINED_AS = 'cooccurrence/15_dense_scenes_without'
WITH = 'cooccurrence/56_dense_validation_reweight_no_ignore'

# the weight of the selected entries is inert without the loss: back to 0, so that this row
# is row 29's config and run.py reuses the model of row 15
toy_config = deep_update(without_loss(WITH), {'train_chain': {'cooc_ignore_weight': 0.}})
