"""Ablation row 7 with the co-occurrence loss on dense scenes whose parts are verified in 3 % of the images.

Toy scale only (see the package docstring): the dense scenes, standalone parts and 256 RoIs
of ``16_dense_scenes.py``, with a part class verified in 3 % (``q``) instead of 10 % of the
other images where it is drawn: the sparsest verification tried here. In Open Images the
problem is worst for small parts of frequent subjects (an arm or a hand of a person,
``pfdet.md`` section 1), which are visible in most images of their subject and verified in
few.
"""

from experiments.pfdet.cooccurrence import dense_variant

ROW = 'Row 7, dense scenes, parts verified in 3 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = dense_variant(q=0.03)
