"""Ablation row 7 without the co-occurrence loss, trained twice as long (toy scale only).

The default embedded data (parts verified in 30 % of the images); 600 instead of 300 updates,
to see whether the loss's AP effect grows as the detector converges.
"""

from experiments.pfdet.cooccurrence import without_loss

ROW = 'Row 7 without the loss, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)
WITH = 'cooccurrence/06_long_schedule'

toy_config = without_loss(WITH)
