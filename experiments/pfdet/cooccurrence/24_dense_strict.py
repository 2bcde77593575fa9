"""Ablation row 7 with the co-occurrence loss on the data of row 16, strict containment.

Toy scale only (see the package docstring): the dense scenes, sparse verification and 256
RoIs of ``16_dense_scenes.py``, with the poster's literal rule ("a proposal inside the
subject": ``cooc_ioa_thresh`` = 1.0, the value of ``base.py``) instead of the IoA >= 0.8
that ablation rows 05-08 use at both scales (``ablation/05_cooccurrence.py``). A RoI that pokes out of the subject keeps
its negative part targets: fewer near-miss false positives, but also fewer unannotated
parts ignored (those on an edge of their subject's box).
"""

from experiments.pfdet.base import config as _full
from experiments.pfdet.cooccurrence import load_row
from pfdet.training import deep_update

ROW = 'Row 7, dense scenes, strict containment (IoA = 1), parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = deep_update(load_row('16_dense_scenes').toy_config, {
    'train_chain': {'cooc_ioa_thresh': _full['train_chain']['cooc_ioa_thresh']}})
