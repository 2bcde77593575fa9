"""Ablation row 7 with the co-occurrence loss on embedded data where a part drawn on its own is always verified.

Toy scale only (a variant of the embedded dataset; see the package docstring): parts are
drawn on their own in 15 % of the images per class (``p_standalone_part``), and there the
class is always verified (``q_standalone = 1``: the part is what the photo shows, so an
image classifier proposes it); elsewhere it is verified in 15 % of the images
(``q``; 30 % in the default data). 1,000 validation images instead of 300, because
part classes are scored only where verified. The head samples ``ROIS`` = 256 RoIs per
image instead of the toy budget's 64 (PFDet: 512): the loss works on the sampled
negatives.
"""

from experiments.pfdet.ablation import row_config
from experiments.pfdet.cooccurrence import ROIS
from experiments.pfdet.cooccurrence import standalone_variant
from pfdet.training import deep_update

ROW = 'Row 7, parts verified in 15 % of the images, on their own always, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = deep_update(standalone_variant(row_config('07_context_head', 'toy'), q=0.15),
                         {'train_chain': {'head_n_sample': ROIS}})
