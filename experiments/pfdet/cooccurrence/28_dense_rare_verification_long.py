"""Ablation row 7 with the co-occurrence loss, parts verified in 3 %, twice the schedule.

Toy scale only: the data and RoI sampling of ``26_dense_rare_verification.py``, 600 instead
of 300 updates (as ``18_dense_scenes_long.py`` is to ``16_dense_scenes.py``). After 300
updates the rarely verified part classes are hardly learnt with or without the loss; a
longer schedule lets the detector without the loss learn the context (a part inside a
subject is almost always background in its labels) that the loss takes away.
"""

from experiments.pfdet.cooccurrence import twice_the_schedule

ROW = 'Row 7, dense scenes, parts verified in 3 % of the images, on their own always, 256 RoIs, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)

toy_config = twice_the_schedule('26_dense_rare_verification')
