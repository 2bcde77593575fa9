"""Ablation row 7 with a soft co-occurrence loss on the data of row 16.

Toy scale only (see the package docstring): the dense scenes, sparse verification and 256
RoIs of ``16_dense_scenes.py``; the (RoI, part class) entries that PFDet's rule ignores
stay negatives of weight ``SOFT_IGNORE_WEIGHT`` = 0.1 (``train_chain.cooc_ignore_weight``).
Not PFDet's loss (which ignores them: weight 0): a variant tested because full ignoring
leaves RoIs inside subjects that are not parts without any negative signal.
"""

from experiments.pfdet.cooccurrence import SOFT_IGNORE_WEIGHT
from experiments.pfdet.cooccurrence import load_row
from pfdet.training import deep_update

ROW = 'Row 7, dense scenes, soft co-occurrence loss (ignored entries kept as negatives of weight 0.1), parts verified in 10 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = deep_update(load_row('16_dense_scenes').toy_config,
                         {'train_chain': {'cooc_ignore_weight': SOFT_IGNORE_WEIGHT}})
