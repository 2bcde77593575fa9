"""Poster row "+ class20 experts": an expert for the 20 rarest classes (embedded dataset).

The expert has the general model's recipe (``toy_base.py``); only the data differ: its
training split is the subset of images containing one of its 20 classes plus as many other
images as negatives, and its class list holds the 20 classes. Make the subset first::

    python experiments/experts/make_expert.py --base experiments/pfdet/toy_base.py \\
        --size 20 --by frequency --out result/experts/class20

then train with ``examples/train_multi.py --config experiments/experts/class20.py`` and
merge with ``examples/ensemble.py`` (see docs). Validation uses the general split,
restricted to the expert classes by the class list.
"""

import os

from experiments.pfdet.toy_base import config as _base
from pfdet.training import deep_update

_EXPERT = 'result/experts/class20'
_ROOT = _base['dataset']['root']          # embedded layout of the general model
_VAL = _base['dataset']['val_split']

config = deep_update(_base, dict(
    dataset=dict(
        root=None,
        train=dict(
            bbox_csv=os.path.join(_EXPERT, 'train-annotations-bbox.csv'),
            image_dir=os.path.join(_ROOT, _base['dataset']['train_split']),
            image_labels_csv=os.path.join(_EXPERT, 'train-annotations-human-imagelabels.csv')),
        val=dict(
            bbox_csv=os.path.join(_ROOT, _VAL + '-annotations-bbox.csv'),
            image_dir=os.path.join(_ROOT, _VAL),
            image_labels_csv=os.path.join(_ROOT, _VAL + '-annotations-human-imagelabels.csv')),
        class_list=os.path.join(_EXPERT, 'class-descriptions.csv'),
        hierarchy=os.path.join(_ROOT, 'hierarchy.json'),
    ),
))
