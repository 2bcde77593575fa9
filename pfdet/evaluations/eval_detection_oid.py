"""Open Images Challenge detection metric (exact, vectorized).

Shape shorthand: N = detections, M = ground-truth boxes, L = verified image
labels, E = scored entries, C = classes (``n_class``).
"""

import itertools

import numpy as np

from chainer import backend

# Constants of the official evaluator (TF Object Detection API,
# ``ObjectDetectionEvaluation``): at most 10,000 detections per class and
# image, and its score-sorting "NMS" keeps only scores > -10.
_MAX_DETS_PER_CLASS = 10000
_SCORE_FLOOR = -10.0
# Images are gathered into chunks of about this many boxes, and the
# detection/GT pairs of one class in one image are built in slices of about
# this many pairs, which keeps memory linear in the number of detections.
_CHUNK_BOXES = 1 << 20
_PAIR_BUDGET = 1 << 22

_NAMES = ('pred_bboxes', 'pred_labels', 'pred_scores', 'gt_bboxes',
          'gt_labels', 'gt_is_group_ofs', 'gt_image_labels')


def eval_detection_oid(
        pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
        gt_is_group_ofs, gt_image_labels, n_class=None, iou_thresh=0.5):
    """Evaluate detections with the Open Images Challenge metric.

    This is the metric of the official
    ``OpenImagesDetectionChallengeEvaluator`` of the TensorFlow Object
    Detection API (Open Images Challenge 2018 and 2019), reproduced rule by
    rule and vectorized over detections, images and classes.

    * A detection whose box is invalid (:math:`y_{min} \\ge y_{max}` or
      :math:`x_{min} \\ge x_{max}`) or whose score is :math:`\\le -10` is
      dropped (not counted as a false positive).
    * Only classes that are *verified* in an image are scored there: the
      image-level labels (positive and negative) plus the classes of its
      ground-truth boxes. Detections of other classes are ignored.
    * Per image and class, detections are visited in descending score order
      (at most 10,000). A detection is a true positive if the
      non-group-of box with the highest IoU is not yet taken and
      :math:`IoU \\ge` :obj:`iou_thresh` (inclusive; no second-best
      fallback).
    * Every other detection is tested against the group-of boxes by
      intersection over the *detection's* area (IoA) with the same threshold;
      matched detections are removed, and each group-of box that got a match
      adds one true positive whose score is the highest matched score
      (kept only if that score is :math:`> 0`).
    * The number of positives of a class is the number of its non-group-of
      plus group-of boxes. AP is the all-points (VOC 2010+) average precision
      and mAP is the mean over classes with at least one ground-truth box.

    The ground truth must already be expanded up the class hierarchy
    (boxes and positive labels to ancestors, negative labels to descendants);
    predictions are used as given. Boxes may be in pixels or normalized
    coordinates: IoU and IoA are invariant to the scaling.

    Ties between equal scores are broken by the input order, whereas the
    official evaluator leaves them to an unstable sort; avoid exact ties
    when comparing with it.

    The inputs may be NumPy or CuPy arrays (copied to the host); the
    computation runs on the CPU with NumPy, in one pass over the images and
    with memory linear in the number of boxes.

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`pred_bboxes`, "list of :math:`(R, 4)`", :obj:`float32`, \
        ":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`pred_labels`, "list of :math:`(R,)`", :obj:`int32`, \
        ":math:`[0, \\#class - 1]`"
        :obj:`pred_scores`, "list of :math:`(R,)`", :obj:`float32`, --
        :obj:`gt_bboxes`, "list of :math:`(R', 4)`", :obj:`float32`, \
        ":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`gt_labels`, "list of :math:`(R',)`", :obj:`int32`, \
        ":math:`[0, \\#class - 1]`"
        :obj:`gt_is_group_ofs`, "list of :math:`(R',)`", :obj:`bool`, --
        :obj:`gt_image_labels`, "list of :math:`(L,)`", :obj:`int32`, \
        ":math:`[0, \\#class - 1]`"

    Args:
        pred_bboxes (iterable of numpy.ndarray): Predicted boxes, one array
            per image.
        pred_labels (iterable of numpy.ndarray): Labels of the predicted
            boxes.
        pred_scores (iterable of numpy.ndarray): Confidences of the predicted
            boxes.
        gt_bboxes (iterable of numpy.ndarray): Ground-truth boxes,
            hierarchy-expanded.
        gt_labels (iterable of numpy.ndarray): Labels of the ground-truth
            boxes.
        gt_is_group_ofs (iterable of numpy.ndarray): Whether each
            ground-truth box is a group-of box (any non-zero value counts).
            :obj:`None` means that no box is a group-of box.
        gt_image_labels (iterable of numpy.ndarray): Verified classes of each
            image, positive and negative, hierarchy-expanded (duplicates are
            allowed). :obj:`None` means that only the classes of the
            ground-truth boxes are verified.
        n_class (int): The number of classes. If :obj:`None`, it is one more
            than the largest label found in the inputs.
        iou_thresh (float): The IoU threshold of a true positive, also used
            as the IoA threshold of group-of boxes (as the official
            evaluator does).

    Returns:
        dict:

        The keys, value-types and the description of the values are listed
        below.

        * **ap** (*numpy.ndarray*): An array of average precisions, \
            shape :math:`(C,)`, :obj:`float64`. The :math:`l`-th value is \
            the AP of class :math:`l`, or :obj:`numpy.nan` if that class \
            has no ground-truth box.
        * **map** (*float*): The mean of the non-NaN APs (:obj:`numpy.nan` \
            if there is none).

    Raises:
        ValueError: On malformed input (mismatched lengths or shapes,
            non-integer or out-of-range labels, NaN or infinite values,
            ground-truth boxes with a negative side). The message names the
            argument and the index of the image.

    """
    scores, labels, is_tp, n_pos = calc_detection_oid_entries(
        pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
        gt_is_group_ofs, gt_image_labels, n_class=n_class,
        iou_thresh=iou_thresh)
    ap = ap_from_entries(scores, labels, is_tp, n_pos)
    return {'ap': ap, 'map': _nanmean(ap)}


def calc_detection_oid_entries(
        pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
        gt_is_group_ofs, gt_image_labels, n_class=None, iou_thresh=0.5):
    """Compute the scored entries of the Open Images Challenge metric.

    This is the per-image part of :func:`eval_detection_oid`: it returns the
    (score, true/false positive, class) entries that the official evaluator
    keeps, and the number of positives of each class. Entries and counts of
    disjoint sets of images can be merged by concatenation and addition,
    which is how a multi-node or streaming evaluation is built; pass them to
    :func:`ap_from_entries`. The inputs are the same as those of
    :func:`eval_detection_oid` and are consumed in one pass (any iterables,
    e.g. generators).

    Args:
        pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
            gt_is_group_ofs, gt_image_labels, n_class, iou_thresh: See
            :func:`eval_detection_oid`.

    Returns:
        tuple of four arrays:

        * **scores** (:math:`(E,)`, :obj:`float64`): Score of each entry.
        * **labels** (:math:`(E,)`, :obj:`int32`): Class of each entry.
        * **is_tp** (:math:`(E,)`, :obj:`bool`): Whether each entry is a \
            true positive.
        * **n_pos** (:math:`(C,)`, :obj:`int64`): Number of ground-truth \
            boxes (non-group-of plus group-of) of each class.

    """
    if n_class is not None:
        n_class = int(n_class)
        if n_class < 1:
            raise ValueError('n_class must be positive, got {}'.format(
                n_class))
    seqs = [pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
            gt_is_group_ofs, gt_image_labels]
    _check_lengths(seqs)
    score_chunks, label_chunks, tp_chunks, n_pos_chunks = [], [], [], []
    max_label = -1
    for chunk in _iter_chunks(seqs, n_class):
        n_key = n_class if n_class is not None else chunk['max_label'] + 1
        max_label = max(max_label, chunk['max_label'])
        scores, labels, is_tp = _entries_flat(chunk, max(n_key, 1),
                                              float(iou_thresh))
        score_chunks.append(scores)
        label_chunks.append(labels)
        tp_chunks.append(is_tp)
        n_pos_chunks.append(np.bincount(chunk['gt_label'],
                                        minlength=max(n_key, 0)))
    if n_class is None:
        n_class = max_label + 1
        if n_class < 1:
            raise ValueError(
                'n_class cannot be inferred: the inputs hold no label')
    n_pos = np.zeros(n_class, dtype=np.int64)
    for c in n_pos_chunks:
        n_pos[:len(c)] += c
    if score_chunks:
        return (np.concatenate(score_chunks),
                np.concatenate(label_chunks).astype(np.int32),
                np.concatenate(tp_chunks), n_pos)
    return (np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=bool), n_pos)


def ap_from_entries(scores, labels, is_tp, n_pos):
    """Average precision per class from scored entries.

    Entries from several workers or batches (outputs of
    :func:`calc_detection_oid_entries`) may be given as lists of arrays;
    they are concatenated, and a list of :obj:`n_pos` arrays is summed
    (shorter arrays are zero-padded). Entries are ranked by descending score
    within each class (ties in input order); AP is the all-points average
    precision of the VOC 2010+ protocol, i.e. the area under the precision
    envelope, as in the official evaluator.

    Args:
        scores (numpy.ndarray or list of numpy.ndarray): Scores, shape
            :math:`(E,)`.
        labels (numpy.ndarray or list of numpy.ndarray): Classes of the
            entries, shape :math:`(E,)`.
        is_tp (numpy.ndarray or list of numpy.ndarray): Whether each entry
            is a true positive, shape :math:`(E,)`.
        n_pos (numpy.ndarray or list of numpy.ndarray): Number of positives
            of each class, shape :math:`(C,)`.

    Returns:
        numpy.ndarray:
        AP of each class, shape :math:`(C,)`, :obj:`float64`;
        :obj:`numpy.nan` where :obj:`n_pos` is zero.

    """
    scores = _merge(scores, np.float64)
    labels = _merge(labels, np.int64)
    is_tp = _merge(is_tp, bool)
    if isinstance(n_pos, (list, tuple)):
        arrays = [_to_numpy(c).ravel() for c in n_pos]
        total = np.zeros(max([len(a) for a in arrays] + [0]),
                         dtype=np.float64)
        for a in arrays:
            total[:len(a)] += a
        n_pos = total
    else:
        n_pos = _to_numpy(n_pos).astype(np.float64).ravel()
    if not len(scores) == len(labels) == len(is_tp):
        raise ValueError(
            'scores, labels and is_tp differ in length: {}, {}, {}'.format(
                len(scores), len(labels), len(is_tp)))
    n_class = len(n_pos)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_class):
        raise ValueError('entry labels must be in [0, {})'.format(n_class))
    ap = np.full(n_class, np.nan)
    has_pos = n_pos > 0
    ap[has_pos] = 0
    keep = has_pos[labels]
    scores, labels, is_tp = scores[keep], labels[keep], is_tp[keep]
    if len(scores) == 0:
        return ap

    order = np.lexsort((-scores, labels))
    labels = labels[order]
    tp = is_tp[order].astype(np.float64)
    n = len(labels)
    is_start = np.ones(n, dtype=bool)
    is_start[1:] = labels[1:] != labels[:-1]
    seg = np.cumsum(is_start) - 1
    starts = np.flatnonzero(is_start)
    rank = np.arange(n) - starts[seg]
    # Cumulative sums of 0/1 values are exact in float64.
    tp_cum = np.cumsum(tp)
    tp_cum -= (tp_cum - tp)[starts][seg]
    prec = tp_cum / (rank + 1)
    # Precision envelope: a running maximum from the right that restarts at
    # every class. NumPy orders complex numbers lexicographically, so a
    # class-rank real part keeps the classes apart without rounding.
    rev_seg = (seg[-1] - seg)[::-1].astype(np.float64)
    prec_env = np.maximum.accumulate(rev_seg + 1j * prec[::-1]).imag[::-1]
    rec = tp_cum / n_pos[labels]
    prev_rec = np.zeros(n)
    prev_rec[1:] = rec[:-1]
    prev_rec[starts] = 0
    ap += np.bincount(labels, weights=(rec - prev_rec) * prec_env,
                      minlength=n_class)
    return ap


def _nanmean(ap):
    valid = ~np.isnan(ap)
    if not valid.any():
        return np.nan
    return float(np.mean(ap[valid]))


def _merge(x, dtype):
    if isinstance(x, (list, tuple)) and len(x) and np.ndim(x[0]) >= 1:
        return np.concatenate(
            [_to_numpy(c).ravel() for c in x]).astype(dtype)
    return _to_numpy(x).ravel().astype(dtype)


# ---------------------------------------------------------------- input ----

def _check_lengths(seqs):
    lengths = {}
    for name, seq in zip(_NAMES, seqs):
        if seq is None:
            continue
        try:
            lengths[name] = len(seq)
        except TypeError:
            return
    if len(set(lengths.values())) > 1:
        raise ValueError(
            'the inputs differ in the number of images: ' + ', '.join(
                '{}: {}'.format(k, v) for k, v in lengths.items()))


def _to_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    if backend.get_array_module(x) is not np:
        # cupy / chainerx arrays (e.g. predictions on a GPU) go to the host
        return backend.CpuDevice().send(x)
    return np.asarray(x)


def _as_bbox(x, name, i):
    x = _to_numpy(x)
    if x.ndim != 2 or x.shape[1] != 4:
        if x.size == 0:
            return np.zeros((0, 4))
        raise ValueError('{}[{}]: expected an array of shape (R, 4), got '
                         'shape {}'.format(name, i, x.shape))
    if x.dtype.kind not in 'fiu':
        raise ValueError('{}[{}]: expected numbers, got dtype {}'.format(
            name, i, x.dtype))
    return x


def _as_vector(x, name, i, n, kind):
    x = _to_numpy(x)
    if x.ndim != 1:
        if x.size == 0:
            x = x.reshape(0)
        else:
            raise ValueError('{}[{}]: expected a 1-d array, got shape '
                             '{}'.format(name, i, x.shape))
    if n is not None and len(x) != n:
        raise ValueError('{}[{}]: has {} values for {} boxes'.format(
            name, i, len(x), n))
    if len(x) and x.dtype.kind not in kind:
        raise ValueError('{}[{}]: unexpected dtype {}{}'.format(
            name, i, x.dtype, ' (labels must be integers)'
            if kind == 'iu' else ''))
    return x


def _iter_chunks(seqs, n_class):
    """Validate images one by one and yield them concatenated in chunks."""
    for name, seq in zip(_NAMES[:5], seqs[:5]):
        if seq is None:
            raise ValueError('{} must not be None'.format(name))
    present = [k for k, s in enumerate(seqs) if s is not None]
    its = [iter(seqs[k]) for k in present]
    sentinel = object()
    if all(hasattr(seqs[k], '__len__') for k in present):
        rows = zip(*its)  # lengths already checked
    else:
        rows = itertools.zip_longest(*its, fillvalue=sentinel)
    buf = []
    n_box = 0
    first = 0
    for i, row in enumerate(rows):
        if any(x is sentinel for x in row):
            ended = [_NAMES[k] for k, x in zip(present, row) if x is sentinel]
            raise ValueError(
                'the inputs differ in the number of images: {} end after '
                '{} images, the others go on'.format(', '.join(ended), i))
        items = [None] * 7
        for k, x in zip(present, row):
            items[k] = x
        pb, pl, ps, gb, gl, gg, il = items
        pb = _as_bbox(pb, 'pred_bboxes', i)
        pl = _as_vector(pl, 'pred_labels', i, len(pb), 'iu')
        ps = _as_vector(ps, 'pred_scores', i, len(pb), 'fiu')
        gb = _as_bbox(gb, 'gt_bboxes', i)
        gl = _as_vector(gl, 'gt_labels', i, len(gb), 'iu')
        if gg is None:
            gg = np.zeros(len(gb), dtype=bool)
        else:
            gg = _as_vector(gg, 'gt_is_group_ofs', i, len(gb), 'biuf')
        if il is None:
            il = np.zeros(0, dtype=np.int32)
        else:
            il = _as_vector(il, 'gt_image_labels', i, None, 'iu')
        buf.append((pb, pl, ps, gb, gl, gg, il))
        n_box += len(pb) + len(gb)
        if n_box >= _CHUNK_BOXES:
            yield _concat(buf, first, n_class)
            first += len(buf)
            buf = []
            n_box = 0
    if buf or first == 0:
        yield _concat(buf, first, n_class)


def _concat(buf, first, n_class):
    """Concatenate images ``first, first + 1, ...`` and check values."""
    n_img = len(buf)
    cols = list(zip(*buf)) if buf else [()] * 7

    def cat(k, dtype, shape=(0,)):
        if n_img == 0:
            return np.zeros(shape, dtype=dtype)
        return np.concatenate(cols[k]).astype(dtype, copy=False)

    def owner(k):
        counts = np.array([len(a) for a in cols[k]], dtype=np.int64)
        return np.repeat(np.arange(n_img), counts)

    chunk = {
        'det_bbox': cat(0, np.float64, (0, 4)),
        'det_label': cat(1, np.int64),
        'det_score': cat(2, np.float64),
        'gt_bbox': cat(3, np.float64, (0, 4)),
        'gt_label': cat(4, np.int64),
        'gt_group': cat(5, bool),
        'il_label': cat(6, np.int64),
    }
    chunk['det_img'] = owner(0) if n_img else np.zeros(0, np.int64)
    chunk['gt_img'] = owner(3) if n_img else np.zeros(0, np.int64)
    chunk['il_img'] = owner(6) if n_img else np.zeros(0, np.int64)

    def fail(bad, img, name, what):
        if bad.ndim == 2:
            bad = bad.any(axis=1)
        j = int(np.flatnonzero(bad)[0])
        raise ValueError('{}[{}]: {}'.format(name, first + int(img[j]),
                                             what))

    for key, img_key, name in (('det_bbox', 'det_img', 'pred_bboxes'),
                               ('det_score', 'det_img', 'pred_scores'),
                               ('gt_bbox', 'gt_img', 'gt_bboxes')):
        bad = ~np.isfinite(chunk[key])
        if bad.any():
            fail(bad, chunk[img_key], name,
                 'contains NaN or infinite values')
    gb = chunk['gt_bbox']
    bad = (gb[:, 0] > gb[:, 2]) | (gb[:, 1] > gb[:, 3])
    if bad.any():
        fail(bad, chunk['gt_img'], 'gt_bboxes',
             'has a box with y_min > y_max or x_min > x_max')
    max_label = -1
    for key, img_key, name in (('det_label', 'det_img', 'pred_labels'),
                               ('gt_label', 'gt_img', 'gt_labels'),
                               ('il_label', 'il_img', 'gt_image_labels')):
        lab = chunk[key]
        if not len(lab):
            continue
        upper = n_class if n_class is not None else np.inf
        bad = (lab < 0) | (lab >= upper)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            fail(bad, chunk[img_key], name, 'label {} is out of range '
                 '[0, {})'.format(lab[j], n_class if n_class is not None
                                  else 'inf'))
        max_label = max(max_label, int(lab.max()))
    chunk['max_label'] = max_label
    return chunk


def _entries_from_flat(det_bbox, det_label, det_score, det_img, gt_bbox,
                       gt_label, gt_group, gt_img, il_label, il_img, n_class,
                       iou_thresh=0.5):
    """:func:`calc_detection_oid_entries` on already validated flat arrays.

    Every box and image label carries the index of its image (``*_img``,
    non-negative integers); labels are in ``[0, n_class)`` and coordinates
    finite. Used by the CSV tool; images are processed in chunks.
    """
    sets = {}
    for name, img, cols in (
            ('det', det_img, (det_bbox, det_label, det_score)),
            ('gt', gt_img, (gt_bbox, gt_label, gt_group)),
            ('il', il_img, (il_label,))):
        img = np.asarray(img, dtype=np.int64)
        order = np.argsort(img, kind='stable')
        sets[name] = (img[order], [np.asarray(c)[order] for c in cols])
    n_img = 1 + max([int(img.max()) for img, _ in sets.values() if len(img)]
                    + [-1])
    per_img = sum(np.bincount(sets[k][0], minlength=n_img)
                  for k in ('det', 'gt'))
    cum = np.cumsum(per_img)
    cuts = np.unique(np.searchsorted(
        cum, np.arange(_CHUNK_BOXES, cum[-1] if n_img else 0, _CHUNK_BOXES),
        'right'))
    bounds = np.concatenate(([0], cuts, [n_img]))
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        chunk = {}
        for name, keys in (('det', ('det_bbox', 'det_label', 'det_score')),
                           ('gt', ('gt_bbox', 'gt_label', 'gt_group')),
                           ('il', ('il_label',))):
            img, cols = sets[name]
            a, b = np.searchsorted(img, [lo, hi])
            chunk[name + '_img'] = img[a:b]
            for key, col in zip(keys, cols):
                chunk[key] = col[a:b]
        chunk['det_bbox'] = chunk['det_bbox'].astype(np.float64).reshape(
            -1, 4)
        chunk['gt_bbox'] = chunk['gt_bbox'].astype(np.float64).reshape(-1, 4)
        chunk['det_score'] = chunk['det_score'].astype(np.float64)
        chunk['det_label'] = chunk['det_label'].astype(np.int64)
        chunk['gt_label'] = chunk['gt_label'].astype(np.int64)
        chunk['il_label'] = chunk['il_label'].astype(np.int64)
        chunk['gt_group'] = chunk['gt_group'].astype(bool)
        out.append(_entries_flat(chunk, n_class, float(iou_thresh)))
    n_pos = np.bincount(np.asarray(gt_label, dtype=np.int64),
                        minlength=n_class)
    if not out:
        return (np.zeros(0), np.zeros(0, np.int32), np.zeros(0, bool), n_pos)
    scores, labels, is_tp = [np.concatenate(x) for x in zip(*out)]
    return scores, labels.astype(np.int32), is_tp, n_pos


# ------------------------------------------------------------- matching ----

def _entries_flat(chunk, n_key, iou_thresh):
    """Entries of a chunk of images given as flat arrays.

    Detections and ground truth are keyed by ``image * n_key + class``; every
    step below works on all keys at once.
    """
    bbox = chunk['det_bbox']
    label = chunk['det_label']
    score = chunk['det_score']
    key = chunk['det_img'] * n_key + label
    gt_key = chunk['gt_img'] * n_key + chunk['gt_label']
    verified = np.union1d(chunk['il_img'] * n_key + chunk['il_label'],
                          gt_key)

    keep = ((bbox[:, 0] < bbox[:, 2]) & (bbox[:, 1] < bbox[:, 3])
            & (score > _SCORE_FLOOR) & _isin_sorted(key, verified))
    bbox, label, score, key = bbox[keep], label[keep], score[keep], key[keep]

    # Sort by (image, class), then by descending score; lexsort is stable so
    # ties keep the input order.
    order = np.lexsort((-score, key))
    bbox, label, score, key = (bbox[order], label[order], score[order],
                               key[order])
    if len(key) > _MAX_DETS_PER_CLASS:
        is_start = np.ones(len(key), dtype=bool)
        is_start[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(is_start)
        rank = np.arange(len(key)) - starts[np.cumsum(is_start) - 1]
        keep = rank < _MAX_DETS_PER_CLASS
        bbox, label, score, key = (bbox[keep], label[keep], score[keep],
                                   key[keep])
    area = (bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1])

    gt_group = chunk['gt_group']
    gt_bbox = chunk['gt_bbox']
    gt_order = np.argsort(gt_key, kind='stable')
    gt_order_ng = gt_order[~gt_group[gt_order]]
    gt_order_g = gt_order[gt_group[gt_order]]

    # Stage 1: with argmax-only matching, a detection is a TP iff it is the
    # first detection (in score order) whose best non-group-of box is g and
    # reaches the threshold; later ones pointing at g are duplicates.
    best, best_iou = _best_overlap(key, bbox, area, gt_key[gt_order_ng],
                                   gt_bbox[gt_order_ng], 'iou')
    cand = np.flatnonzero(best_iou >= iou_thresh)
    _, first = np.unique(best[cand], return_index=True)
    is_tp = np.zeros(len(key), dtype=bool)
    is_tp[cand[first]] = True

    # Stage 2: the other detections are matched to group-of boxes by IoA and
    # removed; a hit box yields one TP with the highest matched score, which
    # is that of its first match since detections are sorted by score.
    rest = np.flatnonzero(~is_tp)
    best_g, best_ioa = _best_overlap(key[rest], bbox[rest], area[rest],
                                     gt_key[gt_order_g], gt_bbox[gt_order_g],
                                     'ioa')
    hit = best_ioa >= iou_thresh
    matched = rest[hit]
    _, first = np.unique(best_g[hit], return_index=True)
    group_det = matched[first]
    group_det = group_det[score[group_det] > 0]

    keep = np.ones(len(key), dtype=bool)
    keep[matched] = False
    out_score = np.concatenate((score[keep], score[group_det]))
    out_label = np.concatenate((label[keep], label[group_det]))
    out_tp = np.concatenate((is_tp[keep], np.ones(len(group_det), bool)))
    return out_score, out_label, out_tp


def _isin_sorted(x, sorted_unique):
    if len(sorted_unique) == 0:
        return np.zeros(len(x), dtype=bool)
    pos = np.searchsorted(sorted_unique, x)
    pos[pos == len(sorted_unique)] = 0
    return sorted_unique[pos] == x


def _best_overlap(key, bbox, area, gt_key, gt_bbox, mode):
    """Best ground-truth box of each detection among those with its key.

    ``gt_key`` is sorted. Returns the index (into ``gt_key``) of the first
    box with the highest IoU (``mode='iou'``) or IoA (``mode='ioa'``),
    ``-1`` if there is none, and that overlap (``-inf`` if none). The pairs
    are built in slices of at most about ``_PAIR_BUDGET``.
    """
    n = len(key)
    best = np.full(n, -1, dtype=np.int64)
    best_val = np.full(n, -np.inf)
    if n == 0 or len(gt_key) == 0:
        return best, best_val
    lo = np.searchsorted(gt_key, key, 'left')
    count = np.searchsorted(gt_key, key, 'right') - lo
    dets = np.flatnonzero(count)
    if len(dets) == 0:
        return best, best_val
    gt_area = (gt_bbox[:, 2] - gt_bbox[:, 0]) * (gt_bbox[:, 3] - gt_bbox[:, 1])
    ends = np.cumsum(count[dets])
    cut = np.searchsorted(ends, np.arange(_PAIR_BUDGET, ends[-1],
                                          _PAIR_BUDGET), 'left') + 1
    for d in np.split(dets, cut):
        if len(d) == 0:
            continue
        c = count[d]
        n_pair = int(c.sum())
        seg_start = np.cumsum(c) - c
        pair_det = np.repeat(np.arange(len(d)), c)
        pair_gt = np.repeat(lo[d] - seg_start, c) + np.arange(n_pair)
        db = bbox[d][pair_det]
        gb = gt_bbox[pair_gt]
        h = np.minimum(db[:, 2], gb[:, 2]) - np.maximum(db[:, 0], gb[:, 0])
        w = np.minimum(db[:, 3], gb[:, 3]) - np.maximum(db[:, 1], gb[:, 1])
        inter = np.maximum(h, 0) * np.maximum(w, 0)
        # Same formulas as the official np_box_ops (iou, ioa).
        if mode == 'iou':
            val = inter / (area[d][pair_det] + gt_area[pair_gt] - inter)
        else:
            val = inter / area[d][pair_det]
        seg_max = np.maximum.reduceat(val, seg_start)
        is_max = np.flatnonzero(val == seg_max[pair_det])
        first = np.ones(len(is_max), dtype=bool)
        first[1:] = pair_det[is_max[1:]] != pair_det[is_max[:-1]]
        best[d] = pair_gt[is_max[first]]
        best_val[d] = seg_max
    return best, best_val
