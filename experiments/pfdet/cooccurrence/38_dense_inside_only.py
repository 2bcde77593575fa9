"""Ablation row 7 with the co-occurrence loss on dense scenes whose parts are all inside subjects.

Toy scale only (see the package docstring): the data, RoI sampling and evaluation of
``30_dense_validation.py`` (parts verified in 10 % of the training images, 40 % of the
validation images) except that no part is drawn on its own (``p_standalone_part`` = 0
instead of 0.1). Every face, hand and head then belongs to a person and every wheel to a
vehicle or a bicycle, like the human parts of the poster's Table 4 (arm, ear, nose, mouth,
eye, foot, leg: "for human part classes, +22.7AP"), which Open Images hardly ever shows
without their person. In rows 15-36 a tenth of the images hold an always-verified part on
its own, which hands the detector without the loss clean positives of every part class.
"""

from experiments.pfdet.cooccurrence import DENSE_VALIDATION, dense_variant

ROW = 'Row 7, dense scenes, parts only inside subjects, verified in 10 % of the training and 40 % of the validation images, 256 RoIs per image'
PREVIOUS = None
SCALES = ('toy',)

toy_config = dense_variant(q=0.1, q_validation=DENSE_VALIDATION, p_standalone_part=0.0)
