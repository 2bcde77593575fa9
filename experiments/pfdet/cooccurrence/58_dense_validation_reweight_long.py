"""Row 54 (inverse-annotation-rate weights) trained twice as long.

Toy scale only (see the package docstring, rows 57/58): the data, RoIs and evaluation of
``54_dense_validation_reweight.py``, 600 instead of 300 updates, as ``34`` is ``30`` trained
twice as long. With PFDet's rule alone the gain shrank with the schedule (``30``: +4.8,
``34``: +2.9, ``36``: +2.4) as the detector without the loss caught up; this asks whether the
weighted rule's gain does too. The poster's Table 4: part classes 61.1 -> 70.3 AP (+9.1).
"""

from experiments.pfdet.cooccurrence import twice_the_schedule

ROW = 'Row 7, dense scenes, parts verified in 10 % of the training and 40 % of the validation images, 256 RoIs, twice the schedule, kept entries weighted by the inverse annotation rate'
PREVIOUS = None
SCALES = ('toy',)

toy_config = twice_the_schedule('54_dense_validation_reweight')
