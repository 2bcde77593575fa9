"""Ablation row 7 with the co-occurrence loss on embedded data where a part drawn on its own is always verified.

Toy scale only (a variant of the embedded dataset; see the package docstring): parts are
drawn on their own in 15 % of the images per class (``p_standalone_part``), and there the
class is always verified (``q_standalone = 1``: the part is what the photo shows, so an
image classifier proposes it); inside subjects elsewhere it is verified in 30 % of the
images (``q``), as in the default data. 1,000 validation images instead of 300, because
part classes are scored only where verified.
"""

from experiments.pfdet.ablation import row_config
from experiments.pfdet.cooccurrence import standalone_variant

ROW = 'Row 7, parts on their own always verified'
PREVIOUS = None
SCALES = ('toy',)

toy_config = standalone_variant(row_config('07_context_head', 'toy'))
