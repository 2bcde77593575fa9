"""Ablation row 7 with the co-occurrence loss, trained twice as long (toy scale only).

The default embedded data (parts verified in 30 % of the images); 600 instead of 300 updates.
"""

from experiments.pfdet.ablation import row_config
from pfdet.training import deep_update

ROW = 'Row 7, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)

toy_config = deep_update(row_config('07_context_head', 'toy'), {'train': {'epoch': 3.2}})
