"""Ablation row 7 with the co-occurrence loss on dense scenes with sparsely verified parts.

Toy scale only (a variant of the embedded dataset; see the package docstring): more
people, vehicles and bicycles per image (``DENSE_SCENES``); each part class is drawn on its
own in 10 % of the images (``p_standalone_part``) and always verified there
(``q_standalone = 1``), and verified in 10 % of the other images where it is drawn
(``q``). Most part instances inside subjects are then unannotated (2.5-3.7 per annotated
one, by class). 1,000 validation images; the head samples ``ROIS`` = 256 RoIs per image.
"""

from experiments.pfdet.cooccurrence import dense_variant

ROW = 'Row 7, dense scenes, parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = dense_variant(q=0.1)
