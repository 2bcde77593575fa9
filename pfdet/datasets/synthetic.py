"""A seeded generator of Open-Images-like data (the embedded dataset).

The generator draws simple but distinct objects (people with faces, hands and
heads, cars and trucks with wheels, bicycles with bicycle wheels, 36 "free"
classes with a Zipf long tail) and writes them in the real Open Images file
formats, so the loader that reads Open Images reads this data unchanged:

.. code-block:: text

    DIR/class-descriptions.csv          MID,Name (no header), every class
    DIR/hierarchy.json                  hierarchy JSON (root /m/0bl9f)
    DIR/label_map.pbtxt                 ids 1..C in class-descriptions order
    DIR/{split}/<ImageID>.jpg           images (JPEG, quality 95)
    DIR/{split}-annotations-bbox.csv    2018 13-column format, not expanded
    DIR/{split}-annotations-human-imagelabels.csv   not expanded
    DIR/{split}-hidden-truth.csv        every drawn object, annotated or not
    DIR/meta.json                       seed, parameters, planted pairs, counts

It reproduces the properties of Open Images that PFDet's co-occurrence loss
exists for (``pfdet.md`` §3.10): **sparse verification** -- parts (Human
face/hand/head, Wheel, Bicycle wheel) are always drawn inside their subjects
but are annotated (boxes and a positive image-level label) only in a fraction
``q`` of the images; elsewhere they are present but unverified. A **decoy**
(Tie, often inside a Person) is always annotated and verified (present or
absent) in every image with a person, so pair mining must reject it.
Further: verified negatives (classes really absent), group-of boxes around
clusters, and a Zipf long tail down to classes in about ten of 2,000 images.

Everything is a function of ``(seed, split, image index)``: scene sampling and
rendering use independent per-image random streams, so the metadata can be
computed without drawing (:func:`sample_scenes`), images can be rendered in
any order or in parallel, and the same seed gives byte-identical files.

Command line::

    python -m pfdet.datasets.synthetic --out DIR --n-images 2000 --seed 0

"""

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time

import cv2
import numpy as np
import pandas as pd

from pfdet.datasets.oid_io import write_bbox_csv
from pfdet.datasets.oid_io import write_class_descriptions
from pfdet.datasets.oid_io import write_image_labels_csv
from pfdet.datasets.oid_io import write_label_map

ROOT_MID = '/m/0bl9f'

# ---------------------------------------------------------------- taxonomy

# key, MID, display name, role. Roles: 'subject' (has parts drawn inside),
# 'part', 'decoy', 'parent' (a hierarchy node never drawn itself), 'free'.
_FIXED_CLASSES = (
    ('person', '/m/01g317', 'Person', 'subject'),
    ('man', '/m/04yx4', 'Man', 'subject'),
    ('woman', '/m/03bt1vf', 'Woman', 'subject'),
    ('face', '/m/0dzct', 'Human face', 'part'),
    ('hand', '/m/0k65p', 'Human hand', 'part'),
    ('head', '/m/04hgtk', 'Human head', 'part'),
    ('tie', '/m/01rkbr', 'Tie', 'decoy'),
    ('vehicle', '/m/07yv9', 'Vehicle', 'parent'),
    ('land_vehicle', '/m/01prls', 'Land vehicle', 'parent'),
    ('car', '/m/0k4j', 'Car', 'subject'),
    ('truck', '/m/07r04', 'Truck', 'subject'),
    ('bicycle', '/m/0199g', 'Bicycle', 'subject'),
    ('wheel', '/m/083wq', 'Wheel', 'part'),
    ('bicycle_wheel', '/m/01bqk0', 'Bicycle wheel', 'part'),
    ('animal', '/m/0jbk', 'Animal', 'parent'),
    ('carnivore', '/m/01lrl', 'Carnivore', 'parent'),
    ('fruit', '/m/02xwb', 'Fruit', 'parent'),
    ('toy', '/m/0138tl', 'Toy', 'parent'),
)

# Free classes in Zipf rank order: key, MID, name, shape, aspect (w / h),
# primary RGB, secondary RGB, texture, may form group-of clusters, parent key.
_FREE_CLASSES = (
    ('tree', '/m/07j7r', 'Tree', 'tree', 0.75,
     (40, 140, 50), (110, 70, 30), 'bottom', False, None),
    ('flower', '/m/0c9ph5', 'Flower', 'flower', 1.0,
     (235, 90, 170), (250, 220, 40), 'center', True, None),
    ('dog', '/m/0bt9lr', 'Dog', 'dog', 1.4,
     (150, 100, 50), (60, 40, 20), 'outline', False, 'carnivore'),
    ('ball', '/m/018xm', 'Ball', 'circle', 1.0,
     (245, 245, 245), (20, 20, 20), 'checker', False, None),
    ('bottle', '/m/04dr76w', 'Bottle', 'bottle', 0.4,
     (30, 170, 170), (230, 230, 230), 'hstripes', False, None),
    ('chair', '/m/01mzpv', 'Chair', 'chair', 0.8,
     (140, 80, 30), (90, 50, 20), 'solid', False, None),
    ('cat', '/m/01yrx', 'Cat', 'cat', 1.4,
     (130, 130, 130), (60, 60, 60), 'vstripes', False, 'carnivore'),
    ('balloon', '/m/01j51', 'Balloon', 'balloon', 0.8,
     (220, 30, 40), (220, 30, 40), 'solid', True, 'toy'),
    ('apple', '/m/014j1m', 'Apple', 'apple', 0.95,
     (120, 200, 40), (120, 200, 40), 'solid', True, 'fruit'),
    ('book', '/m/0bt_c3', 'Book', 'rect', 0.75,
     (30, 50, 140), (240, 240, 220), 'right', False, None),
    ('clock', '/m/01x3z', 'Clock', 'circle', 1.0,
     (250, 250, 250), (10, 10, 10), 'outline', False, None),
    ('house', '/m/03jm5', 'House', 'house', 1.0,
     (220, 190, 140), (150, 40, 30), 'top', False, None),
    ('traffic_light', '/m/015qff', 'Traffic light', 'rect', 0.4,
     (40, 40, 40), (40, 40, 40), 'lights', False, None),
    ('umbrella', '/m/0hnnb', 'Umbrella', 'umbrella', 1.2,
     (130, 50, 170), (240, 240, 240), 'vstripes', False, None),
    ('bird', '/m/015p6', 'Bird', 'bird', 1.3,
     (70, 160, 230), (70, 160, 230), 'solid', True, 'animal'),
    ('orange', '/m/0cyhj_', 'Orange', 'circle', 1.0,
     (250, 140, 0), (190, 90, 0), 'dots', True, 'fruit'),
    ('kite', '/m/02zt3', 'Kite', 'diamond', 0.75,
     (250, 220, 0), (220, 30, 30), 'checker', False, 'toy'),
    ('stop_sign', '/m/02pv19', 'Stop sign', 'octagon', 1.0,
     (210, 20, 30), (250, 250, 250), 'outline', False, None),
    ('coffee_cup', '/m/02p5f1q', 'Coffee cup', 'cup', 1.1,
     (245, 245, 235), (100, 60, 30), 'top', False, None),
    ('lamp', '/m/0dtln', 'Lamp', 'lamp', 0.7,
     (250, 230, 120), (60, 60, 60), 'bottom', False, None),
    ('guitar', '/m/0342h', 'Guitar', 'guitar', 0.5,
     (200, 110, 40), (60, 30, 10), 'outline', False, None),
    ('pizza', '/m/0663v', 'Pizza', 'triangle_down', 1.0,
     (245, 200, 80), (200, 40, 30), 'dots', False, None),
    ('laptop', '/m/01c648', 'Laptop', 'laptop', 1.3,
     (160, 160, 170), (30, 30, 40), 'outline', False, None),
    ('butterfly', '/m/0cyf8', 'Butterfly', 'bowtie', 1.3,
     (200, 40, 200), (20, 20, 20), 'dots', True, None),
    ('strawberry', '/m/07fbm7', 'Strawberry', 'strawberry', 0.9,
     (230, 30, 50), (40, 160, 40), 'top', True, 'fruit'),
    ('fish', '/m/0ch_cf', 'Fish', 'fish', 1.6,
     (240, 180, 30), (200, 90, 10), 'vstripes', True, 'animal'),
    ('candle', '/m/0c06p', 'Candle', 'candle', 0.35,
     (245, 240, 220), (250, 150, 20), 'top', False, None),
    ('banana', '/m/09qck', 'Banana', 'crescent', 1.8,
     (250, 230, 50), (250, 230, 50), 'solid', False, 'fruit'),
    ('mushroom', '/m/052sf', 'Mushroom', 'mushroom', 1.0,
     (210, 30, 30), (250, 250, 250), 'dots', False, None),
    ('snowman', '/m/0152hh', 'Snowman', 'snowman', 0.65,
     (250, 250, 250), (20, 20, 20), 'outline', False, None),
    ('dice', '/m/029b3', 'Dice', 'rect', 1.0,
     (250, 250, 250), (10, 10, 10), 'dots', False, 'toy'),
    ('teddy_bear', '/m/0kmg4', 'Teddy bear', 'bear', 1.0,
     (180, 120, 60), (230, 190, 140), 'center', False, 'toy'),
    ('crown', '/m/0nl46', 'Crown', 'crown', 1.3,
     (240, 200, 30), (200, 30, 60), 'bottom', False, None),
    ('starfish', '/m/01h8tj', 'Starfish', 'star', 1.0,
     (240, 110, 60), (240, 110, 60), 'solid', False, None),
    ('lighthouse', '/m/04h7h', 'Lighthouse', 'trapezoid', 0.45,
     (230, 30, 30), (250, 250, 250), 'hstripes', False, None),
    ('pressure_cooker', '/m/0h8ntjv', 'Pressure cooker', 'pot', 1.2,
     (190, 190, 200), (20, 20, 20), 'outline', False, None),
)

_KEYS = tuple(c[0] for c in _FIXED_CLASSES + _FREE_CLASSES)
_INDEX = {k: i for i, k in enumerate(_KEYS)}
_ROLES = tuple(c[3] for c in _FIXED_CLASSES) + ('free',) * len(_FREE_CLASSES)

#: MIDs of the classes of the synthetic dataset, in label-map order.
synthetic_class_mids = tuple(c[1] for c in _FIXED_CLASSES) + \
    tuple(c[1] for c in _FREE_CLASSES)
#: Display names, same order as :obj:`synthetic_class_mids`.
synthetic_class_names = tuple(c[2] for c in _FIXED_CLASSES) + \
    tuple(c[2] for c in _FREE_CLASSES)

# Subcategory parent of each class (None: child of the root).
_PARENT = dict.fromkeys(_KEYS)
_PARENT.update({'man': 'person', 'woman': 'person',
                'land_vehicle': 'vehicle', 'car': 'land_vehicle',
                'truck': 'land_vehicle', 'bicycle': 'land_vehicle',
                'carnivore': 'animal'})
_PARENT.update({c[0]: c[9] for c in _FREE_CLASSES})
# Part edges of the hierarchy, as in the official files (subject, part).
_PART_EDGES = (('person', 'face'), ('person', 'hand'), ('person', 'head'),
               ('land_vehicle', 'wheel'), ('bicycle', 'bicycle_wheel'))
# Which drawn classes actually contain each part.
_DRAWN_INSIDE = {'face': ('person', 'man', 'woman'),
                 'hand': ('person', 'man', 'woman'),
                 'head': ('person', 'man', 'woman'),
                 'wheel': ('car', 'truck'),
                 'bicycle_wheel': ('bicycle',)}
_PART_KEYS = ('face', 'hand', 'head', 'wheel', 'bicycle_wheel')
_PERSON_KINDS = ('person', 'man', 'woman')
_PERSON_KIND_P = (0.2, 0.42, 0.38)
_TIE_FACTOR = {'man': 1.0, 'person': 0.5, 'woman': 0.1}
_STANDALONE_SCALE = {'face': 1.0, 'hand': 1.0, 'head': 1.0, 'wheel': 1.0,
                     'bicycle_wheel': 1.0, 'tie': 0.5}


def _ancestors(key):
    out = []
    p = _PARENT[key]
    while p is not None:
        out.append(p)
        p = _PARENT[p]
    return out


_ANCESTOR_IDX = tuple(np.array([_INDEX[a] for a in _ancestors(k)], dtype=int)
                      for k in _KEYS)


def hierarchy_tree():
    """The hierarchy of the synthetic classes as an Open Images JSON tree.

    Subcategory edges follow the real Open Images hierarchy where both ends
    are in the taxonomy (Man, Woman under Person; Car, Truck, Bicycle under
    Land vehicle under Vehicle; Dog, Cat under Carnivore under Animal; ...).
    Part edges are Person -> Human face/hand/head, Land vehicle -> Wheel and
    Bicycle -> Bicycle wheel. As in the official files every part also occurs
    as a Subcategory of the root, so the official expansion tool accepts it.

    Returns:
        dict: ``{"LabelName": "/m/0bl9f", "Subcategory": [...]}``.

    """
    children = {k: [] for k in _KEYS}
    top = []
    for k in _KEYS:
        (top if _PARENT[k] is None else children[_PARENT[k]]).append(k)
    parts = {}
    for s, p in _PART_EDGES:
        parts.setdefault(s, []).append(p)

    def node(k):
        n = {'LabelName': synthetic_class_mids[_INDEX[k]]}
        if children[k]:
            n['Subcategory'] = [node(c) for c in children[k]]
        if k in parts:
            n['Part'] = [{'LabelName': synthetic_class_mids[_INDEX[p]]}
                         for p in parts[k]]
        return n
    return {'LabelName': ROOT_MID, 'Subcategory': [node(k) for k in top]}


# ---------------------------------------------------------------- parameters

_DEFAULT_PARAMS = {
    'size': (128, 192),
    'q': 0.3,
    'subject_scale': (1.0, 1.0),
    'p_person': 0.45,
    'max_persons': 3,
    'p_vehicle': 0.3,
    'p_bicycle': 0.15,
    'p_tie': 0.55,
    'p_face': 0.85,
    'p_hand': 0.85,
    'p_standalone_part': 0.04,
    'q_standalone': None,
    'q_validation': None,
    'p_lookalike': None,
    'free_top_freq': 0.3,
    'zipf_exponent': 1.2,
    'p_group': 0.3,
    'n_negatives': (0, 3),
    'object_scale': 1.0,
    'max_overlap': 0.05,
    'noise': 4.0,
    'colour_jitter': 12.0,
    'jpeg_quality': 95,
}


# parameters added later, None by default and then left out of meta.json
_OPTIONAL_PARAMS = ('q_standalone', 'q_validation', 'p_lookalike')


def default_params():
    """The default generator parameters (a new dict).

    ==================== ==================================================
    key                  meaning
    ==================== ==================================================
    size                 image side: an int, or ``(min, max)`` drawn per side
    q                    probability that a part class is verified (boxes +
                         positive label) in an image where it is drawn: a
                         number (the same in every image), or
                         ``(q_small, q_large)``: the probability grows
                         linearly with the *salience* of the class in the
                         image, from ``q_small`` when its largest instance
                         is at the small end of ``subject_scale`` to
                         ``q_large`` at the large end (Open Images' labels
                         to verify were proposed by image classifiers, which
                         propose prominent objects)
    subject_scale        ``(min, max)`` size factor of each person, vehicle
                         and bicycle and of each part drawn on its own
                         (log-uniform; "near" and "far" objects)
    p_person             probability that an image shows people
    max_persons          1 + Binomial(max_persons - 1, 0.25) people
    p_vehicle            probability of cars / trucks (1 or 2)
    p_bicycle            probability of a bicycle
    p_tie                probability of a Tie on a Man (x0.5 Person,
                         x0.1 Woman); Ties are always annotated, and Tie
                         is a verified negative in images with a person
                         but no Tie
    p_face, p_hand       probability that a face (else seen from behind) or
                         each hand of a person is visible
    p_standalone_part    probability, per part class, of one part drawn on
                         its own (outside any subject)
    q_standalone         probability that a part class is verified in an
                         image where one of its instances is drawn on its
                         own (the part is what the photo shows, so an image
                         classifier proposes it); ``None``: ``q`` as
                         elsewhere. When verified, every instance of the
                         class in the image is annotated, those inside
                         subjects too
    q_validation         ``q`` in every split but ``train`` (the validation
                         split): held-out images verified more densely than
                         training ones, as in Open Images V4, whose
                         validation and test images carry about 13 human-
                         verified labels each against about 3 per training
                         image. The same uniform draw is compared with it,
                         so images, boxes and the training split are those
                         of ``q``, and a part verified at ``q`` stays
                         verified at any larger ``q_validation``; ``None``
                         (the default): ``q`` in every split
    p_lookalike          probability, per part class, of one *look-alike*
                         drawn on its own: clutter that resembles the part
                         but is not one (an upside-down face or head, a
                         square "hand", a wheel with a square hub, a hoop
                         without spokes); never annotated and in no class,
                         so a hard negative for the part class. Open Images
                         is full of them (masks, dolls, statues, clocks,
                         plates); ``None`` (the default) draws none and
                         leaves the random streams as before
    free_top_freq        image frequency of the most common free class
    zipf_exponent        free class of rank k appears in an image with
                         probability ``free_top_freq * k ** -zipf_exponent``
    p_group              probability that a groupable free class is drawn
                         as a cluster annotated by one IsGroupOf box
    n_negatives          ``(min, max)`` verified-absent labels per image
                         (at least one in an image without any box)
    object_scale         multiplies every object size
    max_overlap          max intersection / smaller area between objects
    noise                std of the pixel noise
    colour_jitter        max per-channel colour jitter of an object
    jpeg_quality         JPEG quality
    ==================== ==================================================

    """
    return dict(_DEFAULT_PARAMS)


def _check_params(params):
    unknown = sorted(set(params) - set(_DEFAULT_PARAMS))
    if unknown:
        raise TypeError('unknown generator parameter(s): {}; known: {}'.format(
            ', '.join(unknown), ', '.join(sorted(_DEFAULT_PARAMS))))
    p = default_params()
    p.update(params)
    size = p['size']
    if np.isscalar(size):
        size = (size, size)
    size = tuple(int(s) for s in size)
    if len(size) != 2 or size[0] > size[1] or size[0] < 32:
        raise ValueError('size must be an int >= 32 or (min, max) with '
                         '32 <= min <= max, got {!r}'.format(p['size']))
    p['size'] = size
    q = p['q']
    q = (float(q), float(q)) if np.isscalar(q) else tuple(float(v) for v in q)
    if len(q) != 2 or not all(0 <= v <= 1 for v in q):
        raise ValueError('q must be in [0, 1] or (q_small, q_large) in [0, 1], got '
                         '{!r}'.format(p['q']))
    p['q'] = q[0] if q[0] == q[1] else q
    ss = tuple(float(v) for v in np.atleast_1d(p['subject_scale']))
    if len(ss) != 2 or not 0 < ss[0] <= ss[1]:
        raise ValueError('subject_scale must be (min, max) with 0 < min <= max, got '
                         '{!r}'.format(p['subject_scale']))
    p['subject_scale'] = ss
    for k in ('p_person', 'p_vehicle', 'p_bicycle', 'p_tie', 'p_face',
              'p_hand', 'p_standalone_part', 'free_top_freq', 'p_group',
              'max_overlap'):
        if not 0 <= float(p[k]) <= 1:
            raise ValueError('{} must be in [0, 1], got {!r}'.format(k, p[k]))
        p[k] = float(p[k])
    for k in ('q_standalone', 'q_validation', 'p_lookalike'):     # probabilities, or None
        if p[k] is not None:
            if not np.isscalar(p[k]) or not 0 <= float(p[k]) <= 1:
                raise ValueError('{} must be None or in [0, 1], got {!r}'.format(k, p[k]))
            p[k] = float(p[k])
    neg = tuple(int(n) for n in p['n_negatives'])
    if len(neg) != 2 or not 0 <= neg[0] <= neg[1]:
        raise ValueError('n_negatives must be (min, max) with 0 <= min <= '
                         'max, got {!r}'.format(p['n_negatives']))
    p['n_negatives'] = neg
    if int(p['max_persons']) < 1:
        raise ValueError('max_persons must be >= 1')
    p['max_persons'] = int(p['max_persons'])
    for k in ('zipf_exponent', 'object_scale', 'noise', 'colour_jitter'):
        p[k] = float(p[k])
        if p[k] < 0 or (k == 'object_scale' and p[k] == 0):
            raise ValueError('{} must be positive, got {!r}'.format(k, p[k]))
    p['jpeg_quality'] = int(p['jpeg_quality'])
    return p


def free_class_frequencies(free_top_freq=0.3, zipf_exponent=1.2):
    """Nominal per-image probability of each free class (Zipf).

    Returns:
        dict: MID -> probability that the class is drawn in an image (before
        placement, which may drop an object that does not fit).

    """
    rank = np.arange(1, len(_FREE_CLASSES) + 1, dtype=np.float64)
    freq = free_top_freq * rank ** -zipf_exponent
    return {c[1]: float(f) for c, f in zip(_FREE_CLASSES, freq)}


# ---------------------------------------------------------------- randomness

def _split_code(split):
    return int(hashlib.sha1(split.encode('utf-8')).hexdigest()[:8], 16)


def _rng(seed, split, index, stream):
    ss = np.random.SeedSequence(
        entropy=seed, spawn_key=(_split_code(split), index, stream))
    return np.random.Generator(np.random.PCG64(ss))


def image_id(seed, split, index):
    """The 16-hex-digit ImageID of an image (a hash of seed, split, index)."""
    s = 'pfdet-synthetic/{}/{}/{}'.format(seed, split, index)
    return hashlib.sha1(s.encode('utf-8')).hexdigest()[:16]


# ---------------------------------------------------------------- shapes

def _ellipse(cx, cy, rx, ry, n=32):
    t = np.arange(n) * (2 * np.pi / n)
    return np.stack((cx + rx * np.cos(t), cy + ry * np.sin(t)), axis=1)


def _rect(x0, y0, x1, y1):
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=float)


def _half_disk(cx, cy, rx, ry, n=32):
    t = np.pi + np.arange(n + 1) * (np.pi / n)
    return np.stack((cx + rx * np.cos(t), cy + ry * np.sin(t)), axis=1)


def _star(n, r_in):
    t = -np.pi / 2 + np.arange(2 * n) * (np.pi / n)
    r = np.where(np.arange(2 * n) % 2 == 0, 0.5, r_in)
    return np.stack((0.5 + r * np.cos(t), 0.5 + r * np.sin(t)), axis=1)


def _crescent(n=24):
    t = np.arange(n + 1) * (np.pi / n)
    outer = np.stack((0.5 + 0.5 * np.cos(t), 0.5 + 0.5 * np.sin(t)), axis=1)
    inner = np.stack((0.5 + 0.5 * np.cos(t), 0.5 + 0.22 * np.sin(t)), axis=1)
    return np.concatenate((outer, inner[::-1]))


def _poly(*pts):
    return np.array(pts, dtype=float)


# Each shape: list of (sign, polygon in unit coordinates (x, y)); polygons are
# filled (sign +1) or cut out (-1) in order.
_SHAPES = {
    'rect': [(1, _rect(0, 0, 1, 1))],
    'circle': [(1, _ellipse(0.5, 0.5, 0.5, 0.5))],
    'diamond': [(1, _poly((0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5)))],
    'triangle_down': [(1, _poly((0, 0), (1, 0), (0.5, 1)))],
    'trapezoid': [(1, _poly((0.3, 0), (0.7, 0), (1, 1), (0, 1)))],
    'octagon': [(1, _poly((0.29, 0), (0.71, 0), (1, 0.29), (1, 0.71),
                          (0.71, 1), (0.29, 1), (0, 0.71), (0, 0.29)))],
    'star': [(1, _star(5, 0.2))],
    'bowtie': [(1, _poly((0, 0), (0.5, 0.38), (1, 0), (1, 1), (0.5, 0.62),
                         (0, 1)))],
    'crescent': [(1, _crescent())],
    'crown': [(1, _poly((0, 1), (0, 0.15), (0.25, 0.55), (0.5, 0),
                        (0.75, 0.55), (1, 0.15), (1, 1)))],
    'house': [(1, _poly((0.5, 0), (1, 0.42), (1, 1), (0, 1), (0, 0.42)))],
    'tree': [(1, _poly((0.5, 0), (1, 0.78), (0, 0.78))),
             (1, _rect(0.4, 0.7, 0.6, 1))],
    'flower': [(1, _ellipse(0.5 + 0.28 * np.cos(a), 0.5 + 0.28 * np.sin(a),
                            0.22, 0.22))
               for a in -np.pi / 2 + np.arange(5) * (2 * np.pi / 5)]
    + [(1, _ellipse(0.5, 0.5, 0.22, 0.22))],
    'dog': [(1, _ellipse(0.4, 0.6, 0.4, 0.22)),
            (1, _ellipse(0.8, 0.3, 0.2, 0.2)),
            (1, _poly((0.66, 0.2), (0.72, 0.0), (0.8, 0.15))),
            (1, _rect(0.12, 0.7, 0.22, 1)), (1, _rect(0.55, 0.7, 0.65, 1))],
    'cat': [(1, _ellipse(0.42, 0.62, 0.4, 0.2)),
            (1, _ellipse(0.8, 0.42, 0.18, 0.18)),
            (1, _poly((0.63, 0.35), (0.66, 0.0), (0.76, 0.28))),
            (1, _poly((0.84, 0.28), (0.94, 0.0), (0.97, 0.35))),
            (1, _rect(0.15, 0.72, 0.24, 1)), (1, _rect(0.58, 0.72, 0.67, 1)),
            (1, _poly((0, 0.25), (0.06, 0.25), (0.12, 0.6), (0.05, 0.6)))],
    'bottle': [(1, _rect(0.15, 0.35, 0.85, 1)),
               (1, _rect(0.35, 0, 0.65, 0.4))],
    'chair': [(1, _rect(0, 0, 0.2, 0.62)), (1, _rect(0, 0.5, 1, 0.62)),
              (1, _rect(0, 0.6, 0.12, 1)), (1, _rect(0.88, 0.6, 1, 1))],
    'balloon': [(1, _ellipse(0.5, 0.42, 0.5, 0.42)),
                (1, _poly((0.4, 1), (0.5, 0.8), (0.6, 1)))],
    'apple': [(1, _ellipse(0.5, 0.58, 0.5, 0.42)),
              (1, _rect(0.46, 0, 0.54, 0.2))],
    'umbrella': [(1, _half_disk(0.5, 0.55, 0.5, 0.55)),
                 (1, _rect(0.46, 0.5, 0.54, 1))],
    'bird': [(1, _ellipse(0.45, 0.6, 0.35, 0.22)),
             (1, _poly((0.3, 0.55), (0.55, 0), (0.65, 0.55))),
             (1, _poly((0.78, 0.5), (1, 0.58), (0.78, 0.66))),
             (1, _poly((0, 0.45), (0.15, 0.58), (0, 0.72)))],
    'cup': [(1, _poly((0, 0), (0.8, 0), (0.68, 1), (0.12, 1))),
            (1, _ellipse(0.84, 0.4, 0.16, 0.22)),
            (-1, _ellipse(0.88, 0.4, 0.07, 0.11))],
    'lamp': [(1, _poly((0.25, 0), (0.75, 0), (1, 0.45), (0, 0.45))),
             (1, _rect(0.45, 0.45, 0.55, 0.92)),
             (1, _rect(0.25, 0.9, 0.75, 1))],
    'guitar': [(1, _ellipse(0.5, 0.74, 0.5, 0.26)),
               (1, _ellipse(0.5, 0.45, 0.36, 0.18)),
               (1, _rect(0.42, 0, 0.58, 0.45))],
    'laptop': [(1, _rect(0.1, 0, 0.9, 0.72)),
               (1, _poly((0.1, 0.76), (0.9, 0.76), (1, 1), (0, 1)))],
    'strawberry': [(1, _poly((0, 0.15), (0.2, 0), (0.8, 0), (1, 0.15),
                             (0.5, 1)))],
    'fish': [(1, _ellipse(0.4, 0.5, 0.4, 0.32)),
             (1, _poly((0.72, 0.5), (1, 0.15), (1, 0.85)))],
    'candle': [(1, _rect(0.25, 0.25, 0.75, 1)),
               (1, _ellipse(0.5, 0.14, 0.16, 0.14))],
    'mushroom': [(1, _half_disk(0.5, 0.55, 0.5, 0.55)),
                 (1, _rect(0.35, 0.5, 0.65, 1))],
    'snowman': [(1, _ellipse(0.5, 0.68, 0.5, 0.32)),
                (1, _ellipse(0.5, 0.22, 0.32, 0.22))],
    'bear': [(1, _ellipse(0.5, 0.56, 0.44, 0.44)),
             (1, _ellipse(0.17, 0.17, 0.17, 0.17)),
             (1, _ellipse(0.83, 0.17, 0.17, 0.17))],
    'pot': [(1, _rect(0.1, 0.32, 0.9, 1)),
            (1, _ellipse(0.5, 0.32, 0.45, 0.12)),
            (1, _rect(0.44, 0, 0.56, 0.22)), (1, _rect(0, 0.42, 0.12, 0.52)),
            (1, _rect(0.88, 0.42, 1, 0.52))],
    # shapes of the people / vehicles
    'tie': [(1, _poly((0.3, 0), (0.7, 0), (0.6, 0.15), (1, 0.8), (0.5, 1),
                      (0, 0.8), (0.4, 0.15)))],
    'dress': [(1, _poly((0.22, 0), (0.78, 0), (1, 1), (0, 1)))],
    'cabin': [(1, _poly((0.2, 0), (0.8, 0), (1, 1), (0, 1)))],
    'cab': [(1, _poly((0, 0), (0.6, 0), (1, 0.45), (1, 1), (0, 1)))],
    'ring': [(1, _ellipse(0.5, 0.5, 0.5, 0.5)),
             (-1, _ellipse(0.5, 0.5, 0.4, 0.4))],
}


def _normalize_shapes():
    # Rescale every shape so that its filled polygons span [0, 1] exactly on
    # both axes: the box of a drawn shape is then the box it is drawn in.
    for name, polys in _SHAPES.items():
        pos = np.concatenate([p for s, p in polys if s > 0])
        lo, hi = pos.min(axis=0), pos.max(axis=0)
        _SHAPES[name] = [(s, (p - lo) / (hi - lo)) for s, p in polys]


_normalize_shapes()


# ---------------------------------------------------------------- layout

# A primitive: (shape, lines, texture, c1, c2, box). ``shape`` names an entry
# of _SHAPES drawn to fill ``box`` = (y0, x0, y1, x1) exactly (or None),
# ``lines`` is a list of ((N, 2) array of (x, y) pixel coordinates,
# thickness). ``box`` is the drawn extent and the box the texture is laid on.

_SKIN = (230, 180, 140)
_SKIN_DARK = (170, 110, 80)
_TIE = (240, 200, 20)
_TYRE = (25, 25, 25)
_HUB = (170, 170, 170)
_GLASS = (170, 215, 240)
_PERSON_STYLE = {
    # torso, legs, hair
    'man': ((40, 90, 200), (35, 35, 50), (50, 35, 20)),
    'woman': ((210, 40, 110), _SKIN, (150, 70, 20)),
    'person': ((50, 150, 70), (85, 85, 95), (115, 115, 115)),
}


def _shape_prim(shape, box, c1, texture='solid', c2=None):
    return (shape, [], texture, c1, c1 if c2 is None else c2, tuple(box))


def _line_prim(points, thickness, c1):
    pts = np.asarray(points, dtype=float)
    h = thickness / 2.
    ext = (pts[:, 1].min() - h, pts[:, 0].min() - h,
           pts[:, 1].max() + h, pts[:, 0].max() + h)
    return (None, [(pts, thickness)], 'solid', c1, c1, ext)


def _lines_prim(segments, thickness, c1):
    pts = np.concatenate([np.asarray(s, dtype=float) for s in segments])
    h = thickness / 2.
    ext = (pts[:, 1].min() - h, pts[:, 0].min() - h,
           pts[:, 1].max() + h, pts[:, 0].max() + h)
    return (None, [(np.asarray(s, dtype=float), thickness)
                   for s in segments],
            'solid', c1, c1, ext)


def _union(boxes):
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def _face_prims(box):
    y0, x0, y1, x1 = box
    w, h = x1 - x0, y1 - y0
    xc = (x0 + x1) / 2
    r = max(0.09 * w, 0.8)
    return [
        _shape_prim('circle', box, _SKIN),
        _shape_prim('circle', (y0 + 0.38 * h - r, xc - 0.21 * w - r,
                               y0 + 0.38 * h + r, xc - 0.21 * w + r),
                    (20, 20, 20)),
        _shape_prim('circle', (y0 + 0.38 * h - r, xc + 0.21 * w - r,
                               y0 + 0.38 * h + r, xc + 0.21 * w + r),
                    (20, 20, 20)),
        _line_prim([(xc - 0.16 * w, y0 + 0.77 * h),
                    (xc + 0.16 * w, y0 + 0.77 * h)],
                   max(1, int(round(0.08 * h))), (150, 40, 40)),
    ]


def _head_prims(box, hair, face):
    """Head = hair disk with the face in its lower part (if visible)."""
    y0, x0, y1, x1 = box
    hs = x1 - x0
    xc = (x0 + x1) / 2
    prims = [_shape_prim('circle', box, hair)]
    face_box = None
    if face:
        face_box = (y0 + 0.24 * hs, xc - 0.34 * hs, y0 + 0.96 * hs,
                    xc + 0.34 * hs)
        prims += _face_prims(face_box)
    return prims, face_box


def _wheel_prims(box):
    y0, x0, y1, x1 = box
    d = x1 - x0
    i = 0.28 * d
    return [_shape_prim('circle', box, _TYRE),
            _shape_prim('circle', (y0 + i, x0 + i, y1 - i, x1 - i), _HUB)]


def _bicycle_wheel_prims(box):
    y0, x0, y1, x1 = box
    d = x1 - x0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    r = 0.4 * d
    spokes = [[(cx - r * np.cos(a), cy - r * np.sin(a)),
               (cx + r * np.cos(a), cy + r * np.sin(a))]
              for a in np.arange(4) * (np.pi / 4)]
    return [_shape_prim('ring', box, (30, 30, 30)),
            _lines_prim(spokes, 1, (130, 130, 130)),
            _shape_prim('circle', (cy - 0.08 * d, cx - 0.08 * d,
                                   cy + 0.08 * d, cx + 0.08 * d), _HUB)]


def _layout_person(kind, box, face, hand_l, hand_r, tie):
    y0, x0, y1, x1 = box
    w, h = x1 - x0, y1 - y0
    xc = (x0 + x1) / 2
    torso_c, legs_c, hair_c = _PERSON_STYLE[kind]
    hs = 0.56 * w
    ts = y0 + 0.92 * hs
    hip = y0 + 0.62 * h
    hn = 0.34 * w
    hand_y = y0 + 0.56 * h
    prims = []
    parts = []
    if kind == 'woman':
        prims.append(_shape_prim('rect', (y0 + 0.78 * h, xc - 0.2 * w, y1,
                                          xc - 0.08 * w), legs_c))
        prims.append(_shape_prim('rect', (y0 + 0.78 * h, xc + 0.08 * w, y1,
                                          xc + 0.2 * w), legs_c))
        prims.append(_shape_prim('dress', (ts, xc - 0.42 * w, y0 + 0.82 * h,
                                           xc + 0.42 * w), torso_c))
        arm_c, arm_t = _SKIN, max(2, int(round(0.11 * w)))
    else:
        prims.append(_shape_prim('rect', (hip - 0.02 * h, xc - 0.24 * w, y1,
                                          xc - 0.03 * w), legs_c))
        prims.append(_shape_prim('rect', (hip - 0.02 * h, xc + 0.03 * w, y1,
                                          xc + 0.24 * w), legs_c))
        prims.append(_shape_prim('rect', (ts, xc - 0.28 * w, hip + 0.02 * h,
                                          xc + 0.28 * w), torso_c))
        arm_c, arm_t = torso_c, max(2, int(round(0.13 * w)))
    if tie:
        tb = (ts + 0.01 * h, xc - 0.13 * w, ts + 0.31 * h, xc + 0.13 * w)
        prims.append(_shape_prim('tie', tb, _TIE))
        parts.append(('tie', tb))
    for present, sign, hx0 in ((hand_l, -1, x0), (hand_r, 1, x1 - hn)):
        if not present:
            continue
        hb = (hand_y - hn / 2, hx0, hand_y + hn / 2, hx0 + hn)
        prims.append(_line_prim([(xc + sign * 0.22 * w, ts + 0.06 * h),
                                 (hx0 + hn / 2, hand_y)], arm_t, arm_c))
        prims.append(_shape_prim('circle', hb, _SKIN, 'outline', _SKIN_DARK))
        parts.append(('hand', hb))
    head_box = (y0, xc - hs / 2, y0 + hs, xc + hs / 2)
    head, face_box = _head_prims(head_box, hair_c, face)
    prims += head
    parts.append(('head', head_box))
    if face_box is not None:
        parts.append(('face', face_box))
    subject = _union([p[5] for p in prims])
    return prims, [(kind, subject)] + parts


def _layout_car(box):
    y0, x0, y1, x1 = box
    w, h = x1 - x0, y1 - y0
    d = 0.44 * h
    body = (190, 30, 40)
    prims = [
        _shape_prim('cabin', (y0, x0 + 0.16 * w, y0 + 0.42 * h, x0 + 0.8 * w),
                    body),
        _shape_prim('cabin', (y0 + 0.08 * h, x0 + 0.24 * w, y0 + 0.38 * h,
                              x0 + 0.72 * w), _GLASS),
        _shape_prim('rect', (y0 + 0.38 * h, x0, y1 - 0.22 * d, x1), body),
        _shape_prim('rect', (y0 + 0.48 * h, x1 - 0.06 * w, y0 + 0.58 * h, x1),
                    (250, 240, 150)),
    ]
    parts = []
    for wx in (x0 + 0.1 * w, x1 - 0.1 * w - d):
        wb = (y1 - d, wx, y1, wx + d)
        prims += _wheel_prims(wb)
        parts.append(('wheel', wb))
    return prims, [('car', _union([p[5] for p in prims]))] + parts


def _layout_truck(box):
    y0, x0, y1, x1 = box
    w, h = x1 - x0, y1 - y0
    d = 0.32 * h
    prims = [
        _shape_prim('rect', (y0, x0, y1 - 0.55 * d, x0 + 0.68 * w),
                    (215, 215, 220), 'outline', (90, 90, 100)),
        _shape_prim('cab', (y0 + 0.3 * h, x0 + 0.69 * w, y1 - 0.55 * d, x1),
                    (30, 70, 160)),
        _shape_prim('rect', (y0 + 0.36 * h, x0 + 0.73 * w, y0 + 0.52 * h,
                             x0 + 0.84 * w), _GLASS),
        _shape_prim('rect', (y1 - 0.75 * d, x0, y1 - 0.45 * d, x1),
                    (60, 60, 60)),
    ]
    parts = []
    for wx in (x0 + 0.04 * w, x0 + 0.05 * w + d, x1 - 0.08 * w - d):
        wb = (y1 - d, wx, y1, wx + d)
        prims += _wheel_prims(wb)
        parts.append(('wheel', wb))
    return prims, [('truck', _union([p[5] for p in prims]))] + parts


def _layout_bicycle(box):
    y0, x0, y1, x1 = box
    w, h = x1 - x0, y1 - y0
    d = 0.42 * w
    t = max(2, int(round(0.05 * w)))
    prims = []
    parts = []
    for wx in (x0, x1 - d):
        wb = (y1 - d, wx, y1, wx + d)
        prims += _bicycle_wheel_prims(wb)
        parts.append(('bicycle_wheel', wb))
    r = (x0 + d / 2, y1 - d / 2)
    f = (x1 - d / 2, y1 - d / 2)
    c = (x0 + 0.47 * w, y1 - d / 2)
    s = (x0 + 0.36 * w, y0 + 0.16 * h)
    hd = (x1 - d / 2 - 0.05 * w, y0 + 0.14 * h)
    green = (20, 150, 70)
    prims.append(_lines_prim([[r, s], [s, c], [c, r], [s, hd], [hd, c],
                              [hd, f]], t, green))
    prims.append(_lines_prim([[hd, (hd[0] + 0.07 * w, y0 + t / 2.)]], t,
                             (40, 40, 40)))
    prims.append(_shape_prim('rect', (y0 + 0.05 * h, s[0] - 0.08 * w,
                                      y0 + 0.13 * h, s[0] + 0.08 * w),
                             (40, 40, 40)))
    return prims, [('bicycle', _union([p[5] for p in prims]))] + parts


def _free_prim(key, box):
    c = _FREE_CLASSES[_INDEX[key] - len(_FIXED_CLASSES)]
    return _shape_prim(c[3], box, c[5], c[7], c[6])


def _layout_item(item):
    """Primitives and objects of a placed item.

    Returns:
        tuple: ``(prims, objects)`` where ``objects`` is a list of
        ``(key, box)``; the first object is the item itself (the subject,
        the free object or the group box) and the others lie inside it.

    """
    kind, box, flags = item
    if kind in _PERSON_KINDS:
        return _layout_person(kind, box, **flags)
    if kind == 'car':
        return _layout_car(box)
    if kind == 'truck':
        return _layout_truck(box)
    if kind == 'bicycle':
        return _layout_bicycle(box)
    if kind == 'group':
        prims = [_free_prim(flags['key'], b) for b in flags['members']]
        return prims, [(flags['key'], _union(flags['members']))] + [
            (flags['key'], tuple(b)) for b in flags['members']]
    if kind == 'head':
        prims, face_box = _head_prims(box, _PERSON_STYLE['man'][2],
                                      flags['face'])
        objs = [('head', box)]
        if face_box is not None:
            objs.append(('face', face_box))
        return prims, objs
    if kind == 'face':
        return _face_prims(box), [('face', box)]
    if kind == 'hand':
        return [_shape_prim('circle', box, _SKIN, 'outline', _SKIN_DARK)], \
            [('hand', box)]
    if kind == 'wheel':
        return _wheel_prims(box), [('wheel', box)]
    if kind == 'bicycle_wheel':
        return _bicycle_wheel_prims(box), [('bicycle_wheel', box)]
    if kind == 'tie':
        return [_shape_prim('tie', box, _TIE)], [('tie', box)]
    if kind == 'lookalike':
        return _lookalike_prims(flags['key'], box), []
    return [_free_prim(kind, box)], [(kind, box)]


def _flip_prims(prims, box):
    """``prims`` mirrored upside down inside ``box`` (y0, x0, y1, x1)."""
    s = box[0] + box[2]
    out = []
    for shape, lines, texture, c1, c2, ext in prims:
        lines = [(np.stack((pts[:, 0], s - pts[:, 1]), axis=1), t) for pts, t in lines]
        out.append((shape, lines, texture, c1, c2, (s - ext[2], ext[1], s - ext[0], ext[3])))
    return out


def _lookalike_prims(key, box):
    """Clutter resembling part class ``key`` (never annotated, in no class)."""
    y0, x0, y1, x1 = box
    if key == 'face':
        return _flip_prims(_face_prims(box), box)
    if key == 'head':
        return _flip_prims(_head_prims(box, _PERSON_STYLE['man'][2], True)[0], box)
    if key == 'hand':
        return [_shape_prim('rect', box, _SKIN, 'outline', _SKIN_DARK)]
    i = 0.3 * (x1 - x0)
    if key == 'wheel':
        return [_shape_prim('circle', box, _TYRE),
                _shape_prim('rect', (y0 + i, x0 + i, y1 - i, x1 - i), _HUB)]
    return [_shape_prim('ring', box, (30, 30, 30))]


# ---------------------------------------------------------------- scenes

def _free_size(rng, aspect, lo, hi):
    r = min(aspect, 1. / aspect)
    lo = max(lo, 10. / r)
    hi = max(hi, lo)
    s = rng.uniform(lo, hi)
    return (s / aspect, s) if aspect >= 1 else (s, s * aspect)


def _distance(rng, p):
    """Size factor of one subject (log-uniform in ``subject_scale``); no draw if fixed."""
    lo, hi = p['subject_scale']
    return lo if lo == hi else float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _sample_items(rng, p, free_freq):
    """Items to place: list of (kind, h, w, flags), in sampling order."""
    sc = p['object_scale']
    items = []
    if rng.random() < p['p_person']:
        n = 1 + rng.binomial(p['max_persons'] - 1, 0.25)
        for _ in range(n):
            kind = _PERSON_KINDS[rng.choice(3, p=_PERSON_KIND_P)]
            w = rng.uniform(36, 54) * sc * _distance(rng, p)
            h = w * rng.uniform(1.8, 2.0)
            u = rng.random(4)
            flags = {'face': bool(u[0] < p['p_face']),
                     'hand_l': bool(u[1] < p['p_hand']),
                     'hand_r': bool(u[2] < p['p_hand']),
                     'tie': bool(u[3] < p['p_tie'] * _TIE_FACTOR[kind])}
            items.append((kind, h, w, flags))
    if rng.random() < p['p_vehicle']:
        for _ in range(1 + int(rng.random() < 0.3)):
            if rng.random() < 0.6:
                w = rng.uniform(56, 96) * sc * _distance(rng, p)
                items.append(('car', w * rng.uniform(0.5, 0.56), w, {}))
            else:
                w = rng.uniform(66, 110) * sc * _distance(rng, p)
                items.append(('truck', w * rng.uniform(0.58, 0.66), w, {}))
    if rng.random() < p['p_bicycle']:
        w = rng.uniform(52, 84) * sc * _distance(rng, p)
        items.append(('bicycle', w * rng.uniform(0.62, 0.68), w, {}))
    present = rng.random(len(_FREE_CLASSES)) < free_freq
    for j in np.flatnonzero(present):
        c = _FREE_CLASSES[j]
        if c[8] and rng.random() < p['p_group']:
            items.append(('group', rng.uniform(28, 56) * sc,
                          rng.uniform(28, 56) * sc,
                          {'key': c[0], 'n': int(rng.integers(3, 8))}))
        else:
            for _ in range(1 + int(rng.random() < 0.2)):
                h, w = _free_size(rng, c[4], 16 * sc, 44 * sc)
                items.append((c[0], h, w, {}))
    u = rng.random(6)
    for k, ui in zip(('face', 'hand', 'head', 'wheel', 'bicycle_wheel',
                      'tie'), u):
        if ui >= p['p_standalone_part'] * _STANDALONE_SCALE[k]:
            continue
        flags = {}
        h, w = _standalone_size(rng, k, sc)
        if k == 'head':
            flags = {'face': bool(rng.random() < p['p_face'])}
        if k != 'tie':
            d = _distance(rng, p)
            h, w = h * d, w * d
        items.append((k, h, w, flags))
    if p['p_lookalike']:
        for k, ui in zip(_PART_KEYS, rng.random(len(_PART_KEYS))):
            if ui >= p['p_lookalike']:
                continue
            h, w = _standalone_size(rng, k, sc)
            d = _distance(rng, p)
            items.append(('lookalike', h * d, w * d, {'key': k}))
    return items


def _standalone_size(rng, key, sc):
    """``(h, w)`` of a part (or Tie) drawn on its own, before the subject distance."""
    if key == 'face':
        s = rng.uniform(14, 24) * sc
        return s, s * 0.95
    if key == 'hand':
        return (rng.uniform(12, 20) * sc,) * 2
    if key == 'head':
        return (rng.uniform(18, 30) * sc,) * 2
    if key == 'wheel':
        return (rng.uniform(14, 26) * sc,) * 2
    if key == 'bicycle_wheel':
        return (rng.uniform(18, 32) * sc,) * 2
    w = rng.uniform(9, 14) * sc
    return 2.2 * w, w


def _overlap_ok(cand, placed, max_overlap):
    """(K,) bool: candidates (K, 4) overlapping no placed box (M, 4) much."""
    if len(placed) == 0:
        return np.ones(len(cand), dtype=bool)
    placed = np.asarray(placed)
    tl = np.maximum(cand[:, None, :2], placed[None, :, :2])
    br = np.minimum(cand[:, None, 2:], placed[None, :, 2:])
    wh = np.maximum(br - tl, 0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    ac = (cand[:, 2] - cand[:, 0]) * (cand[:, 3] - cand[:, 1])
    ap = (placed[:, 2] - placed[:, 0]) * (placed[:, 3] - placed[:, 1])
    small = np.minimum(ac[:, None], ap[None, :])
    return (inter <= max_overlap * small).all(axis=1)


def _place(rng, h, w, H, W, placed, max_overlap, n_try=24, margin=1.):
    """A box (y0, x0, y1, x1) of size (h, w) in the image, or None."""
    y = rng.uniform(margin, H - margin - h, n_try)
    x = rng.uniform(margin, W - margin - w, n_try)
    cand = np.stack((y, x, y + h, x + w), axis=1)
    ok = np.flatnonzero(_overlap_ok(cand, placed, max_overlap))
    if len(ok) == 0:
        return None
    return tuple(float(v) for v in cand[ok[0]])


#: Median side (sqrt of the area, px at ``object_scale`` 1 and ``subject_scale`` 1) of each
#: part class's boxes: the reference of its salience.
_PART_NOMINAL_SIZE = {'face': 17.7, 'hand': 15.3, 'head': 25.2, 'wheel': 17.5,
                      'bicycle_wheel': 27.9}


def part_salience(p, key, sizes):
    """Salience in [0, 1] of part class ``key`` in an image: where the side of its
    largest instance lies between the small and the large end of ``subject_scale``
    (log scale; 0.5 when ``subject_scale`` is fixed or the class is not drawn)."""
    lo, hi = p['subject_scale']
    if not len(sizes) or lo == hi:
        return 0.5
    rel = max(sizes) / (_PART_NOMINAL_SIZE[key] * p['object_scale'])
    return float(np.clip(np.log(rel / lo) / np.log(hi / lo), 0, 1))


def _verify_probability(p, key, sizes, standalone=False, split='train'):
    if standalone and p['q_standalone'] is not None:
        return p['q_standalone']
    if split != 'train' and p['q_validation'] is not None:
        return p['q_validation']
    q = p['q']
    if np.isscalar(q):
        return q
    return q[0] + (q[1] - q[0]) * part_salience(p, key, sizes)


def _sample_scene(seed, split, index, p, free_freq):
    rng = _rng(seed, split, index, 0)
    H, W = (int(v) for v in rng.integers(p['size'][0], p['size'][1] + 1, 2))
    u_verify = rng.random(len(_PART_KEYS))
    items = _sample_items(rng, p, free_freq)
    # place the large items first; a stable sort keeps ties in sample order
    area = np.array([h * w for _, h, w, _ in items])
    placed_items = []
    placed_boxes = []
    n_dropped = 0
    for i in np.argsort(-area, kind='stable'):
        kind, h, w, flags = items[i]
        shrink = min(1., (H - 2.) / h, (W - 2.) / w)
        h, w = h * shrink, w * shrink
        box = _place(rng, h, w, H, W, placed_boxes, p['max_overlap'])
        if box is None:
            n_dropped += 1
            continue
        if kind == 'group':
            c = _FREE_CLASSES[_INDEX[flags['key']] - len(_FIXED_CLASSES)]
            members = []
            for _ in range(flags['n']):
                mh, mw = _free_size(rng, c[4], 10 * p['object_scale'],
                                    16 * p['object_scale'])
                mh, mw = min(mh, h - 1), min(mw, w - 1)
                m = _place(rng, mh, mw, h, w,
                           [(b[0] - box[0], b[1] - box[1], b[2] - box[0],
                             b[3] - box[1]) for b in members], 0.25,
                           n_try=12, margin=0.)
                if m is not None:
                    members.append((m[0] + box[0], m[1] + box[1],
                                    m[2] + box[0], m[3] + box[1]))
            if len(members) < 2:
                n_dropped += 1
                continue
            flags = {'key': flags['key'], 'members': members}
        placed_items.append((kind, box, flags))
        placed_boxes.append(box)

    # which part classes are verified: the same uniform draw against q, or against
    # q(salience) where salience is the size of the class's largest instance
    part_sizes = {k: [] for k in _PART_KEYS}
    standalone = {k: False for k in _PART_KEYS}
    for kind, box, flags in placed_items:
        if kind == 'group':
            continue
        if kind in standalone:
            standalone[kind] = True
        for key, b in _layout_item((kind, box, flags))[1]:
            if key in part_sizes:
                part_sizes[key].append(np.sqrt((b[2] - b[0]) * (b[3] - b[1])))
    verified = u_verify < np.array([
        _verify_probability(p, k, part_sizes[k], standalone[k], split)
        for k in _PART_KEYS])
    label, bbox, parent, group, is_group_of, annotated = [], [], [], [], [], []
    for kind, box, flags in placed_items:
        _, objs = _layout_item((kind, box, flags))
        first = len(label)
        for j, (key, b) in enumerate(objs):
            label.append(_INDEX[key])
            bbox.append(b)
            if kind == 'group':
                parent.append(-1)
                group.append(-1 if j == 0 else first)
                is_group_of.append(j == 0)
                annotated.append(j == 0)
                continue
            parent.append(first if j > 0 and kind in _DRAWN_INSIDE_ANY
                          else -1)
            group.append(-1)
            is_group_of.append(False)
            if key in _PART_KEYS:
                annotated.append(bool(verified[_PART_KEYS.index(key)]))
            else:
                annotated.append(True)
    objects = {
        'label': np.array(label, dtype=np.int32),
        'bbox': np.array(bbox, dtype=np.float64).reshape(-1, 4),
        'parent': np.array(parent, dtype=np.int32),
        'group': np.array(group, dtype=np.int32),
        'is_group_of': np.array(is_group_of, dtype=bool),
        'annotated': np.array(annotated, dtype=bool),
    }

    # image-level labels: every annotated class is verified present; a few
    # classes absent from the image (with all their descendants) are
    # verified absent
    pos = np.unique(objects['label'][objects['annotated']])
    drawn = np.unique(objects['label'])
    present = np.zeros(len(_KEYS), dtype=bool)
    present[drawn] = True
    for lb in drawn:
        present[_ANCESTOR_IDX[lb]] = True
    absent = np.flatnonzero(~present)
    n_neg = int(rng.integers(p['n_negatives'][0], p['n_negatives'][1] + 1))
    if len(pos) == 0:
        # every image carries a verified label, so it is listed in the CSVs
        n_neg = max(n_neg, 1)
    n_neg = min(n_neg, len(absent))
    neg = np.sort(rng.choice(absent, n_neg, replace=False)) if n_neg else \
        np.zeros(0, dtype=int)
    # the decoy is exhaustively verified wherever a person is: a positive
    # label when drawn, a negative one otherwise
    if present[_INDEX['person']] and not present[_INDEX['tie']] and \
            _INDEX['tie'] not in neg:
        neg = np.sort(np.append(neg, _INDEX['tie']))
    return {
        'image_id': image_id(seed, split, index),
        'seed': seed, 'split': split, 'index': index,
        'height': H, 'width': W,
        'items': placed_items,
        'objects': objects,
        'img_label': np.concatenate((pos, neg)).astype(np.int32),
        'img_label_confidence': np.concatenate(
            (np.ones(len(pos), np.int8), np.zeros(len(neg), np.int8))),
        'verified_parts': {k: bool(v) for k, v in zip(_PART_KEYS, verified)},
        'n_dropped': n_dropped,
        'noise': p['noise'], 'colour_jitter': p['colour_jitter'],
    }


# items whose inner objects count as drawn inside them (ParentIndex)
_DRAWN_INSIDE_ANY = ('person', 'man', 'woman', 'car', 'truck', 'bicycle')


def sample_scenes(n_images, split='train', seed=0, **params):
    """Sample the content of images without drawing them.

    Scene ``i`` depends only on ``(seed, split, i)`` and the parameters, so
    this is also how :func:`generate` sees the data.

    Args:
        n_images (int): Number of images.
        split (str): Split name (part of the random stream and ImageIDs).
        seed (int): Non-negative seed.
        **params: Generator parameters (see :func:`default_params`).

    Returns:
        list of dict: One scene per image with ``image_id``, ``height``,
        ``width``, ``objects`` (dict of arrays ``label`` (R,) int32 class
        index into :obj:`synthetic_class_mids`, ``bbox`` (R, 4) float64
        ``(y_min, x_min, y_max, x_max)`` pixels, ``parent`` (R,) int32 index
        of the subject the object is drawn inside or -1, ``group`` (R,)
        int32 index of the group-of box the object belongs to or -1,
        ``is_group_of``, ``annotated`` (R,) bool), ``img_label`` (L,) int32
        and ``img_label_confidence`` (L,) int8 (verified image labels),
        ``verified_parts`` and the drawing instructions ``items``.

    """
    seed = _check_seed(seed)
    if int(n_images) < 0:
        raise ValueError('n_images must be >= 0, got {}'.format(n_images))
    p = _check_params(params)
    free_freq = np.array(list(free_class_frequencies(
        p['free_top_freq'], p['zipf_exponent']).values()))
    return [_sample_scene(seed, split, i, p, free_freq)
            for i in range(int(n_images))]


def _check_seed(seed):
    if isinstance(seed, (bool, np.bool_)) or \
            not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError('seed must be a non-negative int, got {!r}'.format(
            seed))
    return int(seed)


# ---------------------------------------------------------------- rendering

def _texture(kind, hc, wc, cy0, cx0, tbox, c1, c2):
    y0, x0, y1, x1 = tbox
    v = ((np.arange(hc) + cy0 + 0.5 - y0) / max(y1 - y0, 1e-6))[:, None]
    u = ((np.arange(wc) + cx0 + 0.5 - x0) / max(x1 - x0, 1e-6))[None, :]
    if kind in ('solid', 'outline'):
        return np.broadcast_to(c1, (hc, wc, 3))
    if kind == 'hstripes':
        sel = (np.floor(v * 6) % 2 == 1) & (u == u)
    elif kind == 'vstripes':
        sel = (np.floor(u * 6) % 2 == 1) & (v == v)
    elif kind == 'checker':
        sel = (np.floor(u * 4) + np.floor(v * 4)) % 2 == 1
    elif kind == 'dots':
        sel = ((u * 4) % 1 - 0.5) ** 2 + ((v * 4) % 1 - 0.5) ** 2 < 0.06
    elif kind == 'top':
        sel = (v < 0.3) & (u == u)
    elif kind == 'bottom':
        sel = (v > 0.78) & (u == u)
    elif kind == 'right':
        sel = (u > 0.8) & (v == v)
    elif kind == 'center':
        sel = (u - 0.5) ** 2 + (v - 0.5) ** 2 < 0.04
    elif kind == 'lights':
        out = np.empty((hc, wc, 3), np.float32)
        out[:] = c1
        ar = (x1 - x0) / max(y1 - y0, 1e-6)
        for k, col in enumerate(((230, 30, 30), (250, 210, 0),
                                 (40, 200, 60))):
            d = (u - 0.5) ** 2 + ((v - (2 * k + 1) / 6.) / ar) ** 2
            out[d < 0.09] = col
        return out
    else:
        raise ValueError('unknown texture {!r}'.format(kind))
    return np.where(sel[:, :, None], np.asarray(c2, np.float32),
                    np.asarray(c1, np.float32))


def _draw(img, prim, rng, jitter):
    shape, lines, tex, c1, c2, tbox = prim
    H, W = img.shape[:2]
    ext = tbox
    polys = []
    if shape is not None:
        scale = np.array([tbox[3] - tbox[1], tbox[2] - tbox[0]])
        origin = np.array([tbox[1], tbox[0]])
        polys = [(sg, origin + pts * scale) for sg, pts in _SHAPES[shape]]
    cy0 = max(int(np.floor(ext[0])) - 1, 0)
    cx0 = max(int(np.floor(ext[1])) - 1, 0)
    cy1 = min(int(np.ceil(ext[2])) + 1, H)
    cx1 = min(int(np.ceil(ext[3])) + 1, W)
    if cy1 <= cy0 or cx1 <= cx0:
        return
    hc, wc = cy1 - cy0, cx1 - cx0
    mask = np.zeros((hc, wc), np.uint8)
    # cv2 puts pixel centres on integers, the boxes have them at +0.5
    off = np.array([cx0 + 0.5, cy0 + 0.5])
    for sign, pts in polys:
        q = np.round((pts - off) * 16).astype(np.int32)
        cv2.fillPoly(mask, [q], 255 if sign > 0 else 0, cv2.LINE_AA, 4)
    for pts, t in lines:
        q = np.round((pts - off) * 16).astype(np.int32)
        cv2.polylines(mask, [q], False, 255, int(t), cv2.LINE_AA, 4)
    j = rng.uniform(-jitter, jitter, 6)
    c1 = np.minimum(np.maximum(np.add(c1, j[:3], dtype=np.float32), 0), 255)
    c2 = np.minimum(np.maximum(np.add(c2, j[3:], dtype=np.float32), 0), 255)
    colour = _texture(tex, hc, wc, cy0, cx0, tbox, c1, c2)
    alpha = mask.astype(np.float32) * (1. / 255)
    if tex == 'outline':
        inside = (mask >= 128).astype(np.uint8)
        b = max(1, int(round(0.12 * min(tbox[2] - tbox[0],
                                         tbox[3] - tbox[1]))))
        core = cv2.erode(inside, np.ones((2 * b + 1, 2 * b + 1), np.uint8))
        colour = np.where((core == 0)[:, :, None], c2, colour)
    crop = img[cy0:cy1, cx0:cx1]
    crop += (colour - crop) * alpha[:, :, None]


def _background(rng, H, W):
    top = rng.uniform(140, 235, 3)
    bottom = rng.uniform(110, 220, 3)
    t = np.linspace(0, 1, H)[:, None]
    img = (top * (1 - t) + bottom * t)[:, None, :] * np.ones((1, W, 1))
    img = img.astype(np.uint8)
    for _ in range(int(rng.integers(2, 7))):
        col = tuple(float(c) for c in np.clip(
            img[H // 2, W // 2] + rng.uniform(-30, 30, 3), 0, 255))
        if rng.random() < 0.5:
            pts = rng.uniform(0, 1, (2, 2)) * (W, H)
            cv2.line(img, tuple(int(v) for v in pts[0]),
                     tuple(int(v) for v in pts[1]), col,
                     int(rng.integers(1, 4)), cv2.LINE_AA)
        else:
            c = rng.uniform(0, 1, 2) * (W, H)
            ax = rng.uniform(4, 30, 2)
            cv2.ellipse(img, (int(c[0]), int(c[1])), (int(ax[0]), int(ax[1])),
                        float(rng.uniform(0, 180)), 0, 360, col, -1,
                        cv2.LINE_AA)
    return img.astype(np.float32)


def render_scene(scene):
    """Draw a scene sampled by :func:`sample_scenes`.

    Args:
        scene (dict): One scene.

    Returns:
        numpy.ndarray: The image, (H, W, 3) uint8, **RGB**.

    """
    rng = _rng(scene['seed'], scene['split'], scene['index'], 1)
    H, W = scene['height'], scene['width']
    img = _background(rng, H, W)
    jitter = scene['colour_jitter']
    for item in scene['items']:
        prims, _ = _layout_item(item)
        for prim in prims:
            _draw(img, prim, rng, jitter)
    if scene['noise'] > 0:
        img += rng.standard_normal(img.shape, dtype=np.float32) * \
            np.float32(scene['noise'])
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _render_to_file(args):
    scene, path, quality = args
    img = render_scene(scene)
    if not cv2.imwrite(path, img[:, :, ::-1],
                       [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise IOError('cannot write image {}'.format(path))
    return path


# ---------------------------------------------------------------- tables

HIDDEN_TRUTH_EXTRA_COLUMNS = ('Annotated', 'ObjectIndex', 'ParentIndex',
                              'GroupIndex', 'ImageWidth', 'ImageHeight')


def scenes_to_frames(scenes):
    """The hidden truth and image-level labels of scenes as DataFrames.

    Returns:
        tuple: ``(hidden, image_labels)``. ``hidden`` has the 13 columns of
        the 2018 box format plus ``Annotated`` (1: the row is in the box
        CSV), ``ObjectIndex`` (row index within its image), ``ParentIndex``
        (``ObjectIndex`` of the subject the object was drawn inside, -1 if
        none), ``GroupIndex`` (``ObjectIndex`` of the group-of box covering
        this instance, -1 if none), ``ImageWidth``, ``ImageHeight``. A
        group-of annotation is a row with ``IsGroupOf=1`` followed by its
        instances (``Annotated=0``). ``image_labels`` has ``ImageID,
        Source, LabelName, Confidence``.

    """
    mids = np.array(synthetic_class_mids, dtype=object)
    n = np.array([len(s['objects']['label']) for s in scenes], dtype=int)

    def cat(key, dtype):
        if not scenes:
            return np.zeros((0,) + ((4,) if key == 'bbox' else ()), dtype)
        return np.concatenate([s['objects'][key] for s in scenes]).astype(
            dtype)
    bbox = cat('bbox', np.float64).reshape(-1, 4)
    H = np.repeat([s['height'] for s in scenes], n).astype(np.float64)
    W = np.repeat([s['width'] for s in scenes], n).astype(np.float64)
    x0 = np.clip(bbox[:, 1] / W, 0, 1)
    x1 = np.clip(bbox[:, 3] / W, 0, 1)
    y0 = np.clip(bbox[:, 0] / H, 0, 1)
    y1 = np.clip(bbox[:, 2] / H, 0, 1)
    zeros = np.zeros(len(bbox), np.int8)
    hidden = pd.DataFrame({
        'ImageID': np.repeat([s['image_id'] for s in scenes], n).astype(
            object),
        'Source': 'xclick',
        'LabelName': mids[cat('label', np.int64)],
        'Confidence': np.ones(len(bbox), np.int8),
        'XMin': x0, 'XMax': x1, 'YMin': y0, 'YMax': y1,
        'IsOccluded': zeros, 'IsTruncated': zeros,
        'IsGroupOf': cat('is_group_of', np.int8),
        'IsDepiction': zeros, 'IsInside': zeros,
        'Annotated': cat('annotated', np.int8),
        'ObjectIndex': np.concatenate([np.arange(k) for k in n]).astype(
            np.int32) if len(n) else np.zeros(0, np.int32),
        'ParentIndex': cat('parent', np.int32),
        'GroupIndex': cat('group', np.int32),
        'ImageWidth': W.astype(np.int32), 'ImageHeight': H.astype(np.int32),
    })
    m = np.array([len(s['img_label']) for s in scenes], dtype=int)
    labels = pd.DataFrame({
        'ImageID': np.repeat([s['image_id'] for s in scenes], m).astype(
            object),
        'Source': 'verification',
        'LabelName': mids[np.concatenate(
            [s['img_label'] for s in scenes]).astype(np.int64)]
        if scenes else np.zeros(0, object),
        'Confidence': np.concatenate(
            [s['img_label_confidence'] for s in scenes]).astype(np.int8)
        if scenes else np.zeros(0, np.int8),
    })
    return hidden, labels


def _class_counts(hidden, labels):
    """Per-class statistics of one split (JSON-ready)."""
    inst = hidden[hidden['IsGroupOf'] == 0]
    ann = hidden[hidden['Annotated'] == 1]
    counts = {}
    img_drawn = inst.groupby('LabelName')['ImageID'].nunique()
    n_inst = inst.groupby('LabelName').size()
    img_ann = ann.groupby('LabelName')['ImageID'].nunique()
    n_box = ann.groupby('LabelName').size()
    n_group = ann[ann['IsGroupOf'] != 0].groupby('LabelName').size()
    pos = labels[labels['Confidence'] == 1].groupby('LabelName').size()
    neg = labels[labels['Confidence'] == 0].groupby('LabelName').size()
    for mid in synthetic_class_mids:
        counts[mid] = {
            'images_drawn': int(img_drawn.get(mid, 0)),
            'instances_drawn': int(n_inst.get(mid, 0)),
            'images_annotated': int(img_ann.get(mid, 0)),
            'boxes': int(n_box.get(mid, 0)),
            'group_of_boxes': int(n_group.get(mid, 0)),
            'positive_image_labels': int(pos.get(mid, 0)),
            'negative_image_labels': int(neg.get(mid, 0)),
        }
    return counts


# ---------------------------------------------------------------- generate

def generate(out_dir, n_train=2000, n_val=400, seed=0, n_jobs=1,
             overwrite=False, verbose=False, **params):
    """Write a synthetic Open-Images-like dataset.

    Args:
        out_dir (str): Output directory (created). It must be empty or
            absent unless ``overwrite``.
        n_train (int): Number of training images (split ``train``).
        n_val (int): Number of validation images (split ``validation``).
        seed (int): Non-negative seed; the same seed and parameters give
            byte-identical files (with the same OpenCV JPEG encoder).
        n_jobs (int): Worker processes for drawing; the output does not
            depend on it.
        overwrite (bool): Allow writing into a non-empty directory.
        verbose (bool): Print progress to stderr.
        **params: Generator parameters (see :func:`default_params`).

    Returns:
        dict: The metadata written to ``meta.json``.

    """
    seed = _check_seed(seed)
    p = _check_params(params)
    for name, v in (('n_train', n_train), ('n_val', n_val),
                    ('n_jobs', n_jobs)):
        if int(v) < (1 if name == 'n_jobs' else 0):
            raise ValueError('{} must be >= {}, got {}'.format(
                name, 1 if name == 'n_jobs' else 0, v))
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise ValueError('{} exists and is not empty; choose another '
                         'directory or pass overwrite=True '
                         '(--overwrite)'.format(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    start = time.time()
    splits = (('train', int(n_train)), ('validation', int(n_val)))
    mids = list(synthetic_class_mids)
    write_class_descriptions(os.path.join(out_dir, 'class-descriptions.csv'),
                             mids, list(synthetic_class_names))
    write_label_map(os.path.join(out_dir, 'label_map.pbtxt'), mids,
                    list(synthetic_class_names))
    with open(os.path.join(out_dir, 'hierarchy.json'), 'w',
              encoding='utf-8', newline='\n') as f:
        json.dump(hierarchy_tree(), f, indent=1)
        f.write('\n')

    free_freq = free_class_frequencies(p['free_top_freq'],
                                       p['zipf_exponent'])
    freq = np.array(list(free_freq.values()))
    stats = {}
    ids = set()
    for split, n in splits:
        scenes = [_sample_scene(seed, split, i, p, freq) for i in range(n)]
        split_ids = [s['image_id'] for s in scenes]
        if len(set(split_ids) | ids) != len(ids) + len(split_ids):
            raise RuntimeError('ImageID collision for seed {}'.format(seed))
        ids.update(split_ids)
        img_dir = os.path.join(out_dir, split)
        os.makedirs(img_dir, exist_ok=True)
        jobs = [(s, os.path.join(img_dir, s['image_id'] + '.jpg'),
                 p['jpeg_quality']) for s in scenes]
        if int(n_jobs) > 1 and n > 1:
            with multiprocessing.get_context().Pool(int(n_jobs)) as pool:
                for _ in pool.imap_unordered(_render_to_file, jobs,
                                             chunksize=16):
                    pass
        else:
            for job in jobs:
                _render_to_file(job)
        hidden, labels = scenes_to_frames(scenes)
        write_bbox_csv(
            os.path.join(out_dir, split + '-annotations-bbox.csv'),
            hidden[hidden['Annotated'] == 1].reset_index(drop=True))
        write_image_labels_csv(
            os.path.join(out_dir,
                         split + '-annotations-human-imagelabels.csv'),
            labels)
        hidden.to_csv(os.path.join(out_dir, split + '-hidden-truth.csv'),
                      index=False, lineterminator='\n')
        stats[split] = {
            'n_images': n,
            'n_boxes': int(hidden['Annotated'].sum()),
            'n_objects_drawn': int((hidden['IsGroupOf'] == 0).sum()),
            'n_items_dropped': int(sum(s['n_dropped'] for s in scenes)),
            'n_positive_image_labels': int(labels['Confidence'].sum()),
            'n_negative_image_labels': int((labels['Confidence'] == 0).sum()),
            'class_counts': _class_counts(hidden, labels),
        }
        if verbose:
            print('{}: {} images written ({:.1f} s)'.format(
                split, n, time.time() - start), file=sys.stderr)

    def mid(k):
        return synthetic_class_mids[_INDEX[k]]
    meta = {
        'generator': 'pfdet.datasets.synthetic',
        'format_version': 1,
        'seed': seed,
        # an optional parameter left at None is not written, so that data
        # generated before it existed has the same meta.json
        'params': {k: list(v) if isinstance(v, tuple) else v
                   for k, v in p.items()
                   if not (v is None and k in _OPTIONAL_PARAMS)},
        'classes': [{'mid': m, 'name': nm, 'role': r}
                    for m, nm, r in zip(synthetic_class_mids,
                                        synthetic_class_names, _ROLES)],
        'planted_pairs': [
            {'subject': mid(s), 'part': mid(pt),
             'drawn_inside': [mid(k) for k in _DRAWN_INSIDE[pt]]}
            for s, pt in _PART_EDGES],
        'decoy': {'mid': mid('tie'),
                  'drawn_inside': [mid(k) for k in _PERSON_KINDS],
                  'p_inside': {mid(k): p['p_tie'] * _TIE_FACTOR[k]
                               for k in _PERSON_KINDS},
                  'always_annotated': True,
                  'verified_in_every_image_with': mid('person')},
        'free_class_frequencies': free_freq,
        'splits': stats,
    }
    with open(os.path.join(out_dir, 'meta.json'), 'w', encoding='utf-8',
              newline='\n') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    return meta


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m pfdet.datasets.synthetic',
        description='Write a seeded synthetic dataset in the Open Images '
        'formats (train and validation splits).')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--n-images', type=int, default=2000,
                        help='training images (default 2000)')
    parser.add_argument('--n-val', type=int, default=None,
                        help='validation images (default n-images / 5)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, nargs='+', default=None,
                        metavar='PX', help='image side, or MIN MAX drawn per '
                        'side (default 128 192)')
    parser.add_argument('--q', type=float, nargs='+', default=None,
                        metavar='Q', help='probability that a drawn part class is '
                        'annotated in an image: Q, or Q_SMALL Q_LARGE growing with '
                        'its salience (see --subject-scale)')
    parser.add_argument('--subject-scale', type=float, nargs=2, default=None,
                        metavar=('MIN', 'MAX'), help='size factor range of subjects '
                        'and stand-alone parts')
    parser.add_argument('--q-standalone', type=float, default=None,
                        help='probability that a part class is verified in an image '
                             'where it is drawn on its own (default: --q)')
    parser.add_argument('--q-validation', type=float, default=None,
                        help='--q in the validation split (default: --q); a larger value '
                             'verifies held-out images more densely, as in Open Images')
    parser.add_argument('--p-standalone-part', type=float, default=None)
    parser.add_argument('--p-lookalike', type=float, default=None,
                        help='probability, per part class, of an unannotated look-alike '
                             'drawn on its own (default: none)')
    parser.add_argument('--zipf-exponent', type=float, default=None)
    parser.add_argument('--free-top-freq', type=float, default=None)
    parser.add_argument('--p-group', type=float, default=None)
    parser.add_argument('--object-scale', type=float, default=None)
    parser.add_argument('--jobs', type=int, default=1,
                        help='drawing processes (output is identical)')
    parser.add_argument('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    params = {}
    if args.size is not None:
        if len(args.size) > 2:
            parser.error('--size takes one or two values')
        params['size'] = tuple(args.size) * (3 - len(args.size))
        params['size'] = params['size'][:2]
    if args.q is not None:
        if len(args.q) > 2:
            parser.error('--q takes one or two values')
        params['q'] = args.q[0] if len(args.q) == 1 else tuple(args.q)
    for k in ('q_standalone', 'q_validation', 'p_standalone_part', 'p_lookalike',
              'subject_scale', 'zipf_exponent', 'free_top_freq', 'p_group', 'object_scale'):
        if getattr(args, k) is not None:
            params[k] = getattr(args, k)
    n_val = args.n_val if args.n_val is not None else args.n_images // 5
    start = time.time()
    try:
        meta = generate(args.out, n_train=args.n_images, n_val=n_val,
                        seed=args.seed, n_jobs=args.jobs,
                        overwrite=args.overwrite, verbose=True, **params)
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    n_box = sum(s['n_boxes'] for s in meta['splits'].values())
    print('wrote {} train + {} validation images, {} boxes, {} classes to {} '
          'in {:.1f} s'.format(args.n_images, n_val, n_box,
                               len(synthetic_class_mids), args.out,
                               time.time() - start))


if __name__ == '__main__':
    main()
