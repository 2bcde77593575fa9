"""Ablation row 7 with the co-occurrence loss on dense scenes with sparsely verified parts.

Toy scale only (a variant of the embedded dataset; see the package docstring): more
people, vehicles and bicycles per image (``DENSE_SCENES``); each part class is drawn on its
own in 10 % of the images (``p_standalone_part``) and always verified there
(``q_standalone = 1``), and verified in 10 % of the other images where it is drawn
(``q``). Most part instances inside subjects are then unannotated (2.5-3.7 per annotated
one, by class). 1,000 validation images; the head samples ``ROIS`` = 256 RoIs per image.
"""

from experiments.pfdet.ablation import row_config
from experiments.pfdet.cooccurrence import ROIS
from experiments.pfdet.cooccurrence import standalone_variant
from pfdet.training import deep_update

ROW = 'Row 7, dense scenes, parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = deep_update(
    standalone_variant(row_config('07_context_head', 'toy'), q=0.1, p_standalone_part=0.1,
                       dense=True),
    {'train_chain': {'head_n_sample': ROIS}})
