"""Ablation row 7 without the co-occurrence loss on embedded data where a part drawn on its own is always verified.

Toy scale only; the data of ``08_standalone_verified.py``.
"""

from experiments.pfdet.ablation import row_config
from experiments.pfdet.cooccurrence import standalone_variant
from pfdet.training import deep_update

ROW = 'Row 7 without the loss, parts on their own always verified'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/08_standalone_verified'

toy_config = deep_update(
    standalone_variant(row_config('07_context_head', 'toy')),
    {'train_chain': {'cooccurrence': None}})
