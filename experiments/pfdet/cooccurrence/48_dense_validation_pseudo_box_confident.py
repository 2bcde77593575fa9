"""Row ``46_dense_validation_pseudo_box`` with only confident pseudo-boxes counting.

Toy scale only (see the package docstring, rows 47/48): the data, RoIs, schedule and
evaluation of ``30_dense_validation.py``. As in row 46, an entry PFDet's rule ignores
becomes a negative when its RoI overlaps one of the head's pseudo-boxes of that class by
IoU < 0.5, but here only the pseudo-boxes the head scores >= 0.5 count, and an entry that
overlaps none of them stays ignored (``train_chain.cooc_pseudo_box_min_score``). Row 46
turned the RoIs on the wheels into negatives while the head's best wheel RoIs were not on
the wheels; this keeps PFDet's rule until the head has a confident guess. Not in the PFDet
sources. The poster's Table 4: part classes 61.1 -> 70.3 AP (+9.1).
"""

from experiments.pfdet.cooccurrence import DENSE_VALIDATION, dense_variant
from pfdet.training import deep_update

ROW = 'Row 7, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image, pseudo-box ignores (IoU 0.5, confident pseudo-boxes only)'
PREVIOUS = None
SCALES = ('toy',)

toy_config = deep_update(dense_variant(q=0.1, q_validation=DENSE_VALIDATION),
                         {'train_chain': {'cooc_pseudo_box_iou': 0.5,
                                          'cooc_pseudo_box_min_score': 0.5}})
