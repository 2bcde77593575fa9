"""Ablation row 7 without the co-occurrence loss on embedded data where a part drawn on its own is always verified.

Toy scale only; the data of ``08_standalone_verified.py``.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, parts on their own always verified'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/08_standalone_verified'

toy_config = without_loss(WITH)
