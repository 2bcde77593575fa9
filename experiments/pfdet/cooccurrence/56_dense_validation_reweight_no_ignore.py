"""Control of row 54: its inverse-annotation-rate weights without PFDet's ignores.

Toy scale only (see the package docstring, rows 55/56): the data, RoIs, schedule and
evaluation of ``54_dense_validation_reweight.py``, with the entries PFDet's rule selects
(part classes inside subjects where the part is not verified) kept as plain negatives
(``train_chain.cooc_ignore_weight`` = 1, i.e. no ignoring) while the entries of the images
where the part is verified still weigh 1 / ann(part | subject)
(``train_chain.cooc_reweight``). If this gains as much as row 54, the weights alone (more
gradient on the verified parts) explain it and the co-occurrence rule does not; if it gains
nothing, the ignores are what the weights need. Not in the PFDet sources.
"""

from experiments.pfdet.cooccurrence import DENSE_VALIDATION, dense_variant
from pfdet.training import deep_update

ROW = 'Row 7, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image, inverse-annotation-rate weights without the ignores (control)'
PREVIOUS = None
SCALES = ('toy',)

toy_config = deep_update(dense_variant(q=0.1, q_validation=DENSE_VALIDATION),
                         {'train_chain': {'cooc_reweight': True, 'cooc_ignore_weight': 1.0}})
