"""Ablation row 7 without the co-occurrence loss on embedded data with verification that follows salience (q = (0.05, 0.6), subjects 0.7-1.4x).

Toy scale only (a variant of the embedded dataset; see the package docstring).
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, salience-driven verification'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/02_salient_verification'

toy_config = without_loss(WITH)
