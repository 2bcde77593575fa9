"""Ablation row 7 with the co-occurrence loss on the data of row 16 plus part look-alikes.

Toy scale only (see the package docstring): the dense scenes, sparse verification and 256
RoIs of ``16_dense_scenes.py``; in addition each part class has an unannotated look-alike
(an upside-down face or head, a square "hand", a wheel with a square hub, a hoop without
spokes) drawn on its own in ``LOOKALIKE`` = 30 % of the images: hard negatives that the
detector must tell from the parts by their appearance.
"""

from experiments.pfdet.cooccurrence import dense_variant
from experiments.pfdet.cooccurrence import LOOKALIKE

ROW = 'Row 7, dense scenes with part look-alikes, parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = dense_variant(q=0.1, p_lookalike=LOOKALIKE)
