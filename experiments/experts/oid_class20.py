"""Poster row "+ class20 experts" at full scale (Open Images Challenge 2018, ``base.py``).

Make the subset of the 20 rarest training classes (hierarchy-expanded image counts)::

    python experiments/experts/make_expert.py --base experiments/pfdet/base.py \\
        --size 20 --by frequency --out result/experts/oid_class20

``--group 1``, ``--group 2``, ... give further experts of 20 classes each (write each to
its own directory and copy this file with the directory changed).
"""

import os

from experiments.pfdet.base import config as _base
from pfdet.training import deep_update

_EXPERT = 'result/experts/oid_class20'

config = deep_update(_base, dict(
    dataset=dict(
        train=dict(
            bbox_csv=os.path.join(_EXPERT, 'train-annotations-bbox.csv'),
            image_labels_csv=os.path.join(_EXPERT, 'train-annotations-human-imagelabels.csv')),
        class_list=os.path.join(_EXPERT, 'class-descriptions.csv'),
    ),
))
