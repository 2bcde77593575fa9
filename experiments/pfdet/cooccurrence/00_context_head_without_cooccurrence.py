"""Ablation row 7 (the complete recipe, final schedule) without the co-occurrence loss.

The "without" side of Table 4 at the final schedule; ``WITH`` is the "with" side. The
poster's per-class numbers are in ``experiments/pfdet/ablation/05_cooccurrence.py``.
"""

from experiments.pfdet.ablation import row_config
from pfdet.training import deep_update

ROW = 'Row 7 without the co-occurrence loss'
PREVIOUS = None
WITH = 'ablation/07_context_head'

_DELTA = {'train_chain': {'cooccurrence': None}}

config = deep_update(row_config('07_context_head', 'full'), _DELTA)
toy_config = deep_update(row_config('07_context_head', 'toy'), _DELTA)
