"""Row 16 (dense scenes, parts verified in 10 % of the images, 256 RoIs) trained twice as long.

Toy scale only: the data and RoI sampling of ``16_dense_scenes.py``, 600 instead of 300
updates. On the default data (``05``/``06``) the loss's AP gain shrank with training; here
unannotated parts are mostly inside subjects, so a detector trained without the loss can
learn to suppress parts *there* (context), which longer training should sharpen.
"""

from experiments.pfdet.cooccurrence import twice_the_schedule

ROW = 'Row 7, dense scenes, parts verified in 10 % of the images, 256 RoIs, twice the schedule'
PREVIOUS = None
SCALES = ('toy',)

toy_config = twice_the_schedule('16_dense_scenes')
