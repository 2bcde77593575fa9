"""Shared machinery of the class-wise suppression functions.

Every function of :mod:`pfdet.utils.postprocess` works on one image:

* boxes are sorted by ``(label, -score, index)`` ("rank order"); ties in score
  are broken by the lower input index;
* sequential rules (greedy NMS, Soft-NMS) run in rounds that advance every
  class at once, each round a few vectorised passes over the remaining boxes
  (:func:`greedy_nms`); there is no loop over boxes;
* classes that keep many boxes are finished on the list of overlapping
  same-class pairs, found for all classes at once by a sweep along x (each
  class has its own stretch of the sort key, so boxes of different classes
  are never paired), with a vectorised fixed-point solver
  (:func:`greedy_keep`);
* dense IoU blocks (:func:`label_blocks`) serve the per-box searches of
  NMW (best head) and box voting (top-k voters).

Inputs may be numpy or cupy arrays; the work is done with numpy on the host
(a few thousand boxes per image) and results are returned in the input's
array module.
"""

import numpy as np

import chainer
from chainer.backends import cuda


# Upper bound on candidate pairs handled in one vectorised chunk.
_PAIR_CHUNK = 2 ** 18


class _Context(object):

    """Remembers the caller's array module and dtypes for the outputs."""

    def __init__(self, xp, bbox_dtype, score_dtype, label_dtype, has_label):
        self.xp = xp
        self.bbox_dtype = bbox_dtype
        self.score_dtype = score_dtype
        self.label_dtype = label_dtype
        self.has_label = has_label

    def output(self, bbox, score, label, index, return_index):
        bbox = np.asarray(bbox, dtype=self.bbox_dtype).reshape(-1, 4)
        score = np.asarray(score, dtype=self.score_dtype)
        label = np.asarray(label).astype(self.label_dtype)
        index = np.asarray(index, dtype=np.int32)
        out = [bbox, score, label if self.has_label else None]
        if return_index:
            out.append(index)
        if self.xp is not np:
            out = [None if a is None else cuda.to_gpu(a) for a in out]
        return tuple(out)


def to_host(a):
    """numpy array of a numpy or cupy array (or array-like)."""
    if not isinstance(a, np.ndarray) and \
            chainer.backend.get_array_module(a) is not np:
        return cuda.to_cpu(a)
    return np.asarray(a)


def _float_dtype(dtype):
    return dtype if np.dtype(dtype).kind == 'f' else np.dtype(np.float32)


def prepare(func_name, bbox, score, label):
    """Validates one image's detections and moves them to numpy.

    Returns:
        tuple: ``(bbox, score, label, context)`` with float64 ``bbox``
        (R, 4), float64 ``score`` (R,), int64 ``label`` (R,) and a
        :class:`_Context` for the outputs.

    """
    xp = chainer.backend.get_array_module(bbox)
    has_label = label is not None
    bbox = to_host(bbox)
    score = to_host(score)
    if bbox.ndim != 2 or bbox.shape[1] != 4:
        raise ValueError('{}: bbox must have shape (R, 4), got {}'.format(
            func_name, bbox.shape))
    if score.ndim != 1 or len(score) != len(bbox):
        raise ValueError('{}: score must have shape (R,) = ({},), got {}'
                         .format(func_name, len(bbox), score.shape))
    if has_label:
        label = to_host(label)
        if label.ndim != 1 or len(label) != len(bbox):
            raise ValueError('{}: label must have shape (R,) = ({},), got {}'
                             .format(func_name, len(bbox), label.shape))
        if label.dtype.kind not in 'iu':
            if label.dtype.kind != 'f' or not np.all(
                    np.isfinite(label) & (label == np.round(label))):
                raise ValueError('{}: label must hold integers, got dtype {}'
                                 .format(func_name, label.dtype))
        label_dtype = label.dtype if label.dtype.kind in 'iu' else np.int32
        label64 = label.astype(np.int64)
    else:
        label_dtype = np.int32
        label64 = np.zeros(len(bbox), np.int64)
    ctx = _Context(xp, _float_dtype(bbox.dtype), _float_dtype(score.dtype),
                   label_dtype, has_label)

    bbox64 = bbox.astype(np.float64)
    score64 = score.astype(np.float64)
    bad = ~np.isfinite(bbox64).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError('{}: bbox[{}] is not finite: {} ({} such boxes)'
                         .format(func_name, i, bbox64[i].tolist(),
                                 int(bad.sum())))
    bad = (bbox64[:, 2] < bbox64[:, 0]) | (bbox64[:, 3] < bbox64[:, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError('{}: bbox[{}] = {} has y_max < y_min or x_max < '
                         'x_min ({} such boxes)'.format(
                             func_name, i, bbox64[i].tolist(),
                             int(bad.sum())))
    bad = ~np.isfinite(score64)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError('{}: score[{}] = {} is not finite ({} such scores)'
                         .format(func_name, i, score64[i], int(bad.sum())))
    return bbox64, score64, label64, ctx


def check_thresh(func_name, name, value, low=0., high=1.,
                 low_open=True):
    value = float(value)
    ok = (low < value if low_open else low <= value) and value <= high
    if not ok:
        raise ValueError('{}: {} must be in {}{}, {}], got {}'.format(
            func_name, name, '(' if low_open else '[', low, high, value))
    return value


def rank_order(score, label):
    """Indices sorting boxes by ``(label, -score, index)``."""
    return np.lexsort((np.arange(len(score)), -score, label))


def area(bbox):
    return (bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1])


def iou_matrix(bbox_a, bbox_b, area_a, area_b):
    """(N, M) IoU between two box arrays; 0 where the union is 0."""
    h = np.minimum(bbox_a[:, None, 2], bbox_b[None, :, 2]) - np.maximum(
        bbox_a[:, None, 0], bbox_b[None, :, 0])
    w = np.minimum(bbox_a[:, None, 3], bbox_b[None, :, 3]) - np.maximum(
        bbox_a[:, None, 1], bbox_b[None, :, 1])
    inter = np.maximum(h, 0.) * np.maximum(w, 0.)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter),
                     where=union > 0)


def overlapping_pairs(bbox, label, min_iou=0.):
    """Pairs of same-label boxes that overlap (a superset of IoU >= min_iou).

    A sweep along x: boxes are sorted by ``(group, x_min)`` on one float key
    in which each group has its own stretch, so that a box's sweep never
    reaches another group. Groups are labels, and for ``min_iou = t > 0``
    also size bands: IoU >= t needs ``t * w_i <= w_j <= w_i / t`` (since
    ``IoU <= w_inter / max(w_i, w_j)``), and the same for heights, so with
    bands of a factor ``1 / t`` a matching pair lies in the same or in
    neighbouring bands on each axis. Each box is entered in the groups of
    its bands and of the bands below, and each pair is counted only in the
    group of its lower bands. The same bound gives
    ``x_min_j <= x_max_i - t * w_i``, which shortens the sweep.

    Args:
        bbox (numpy.ndarray): (R, 4) float64, in rank order.
        label (numpy.ndarray): (R,) int64, in rank order (sorted).
        min_iou (float): Pairs with IoU below this may be left out.

    Returns:
        tuple of numpy.ndarray: ``src``, ``dst`` (P,) int64 positions with
        ``src < dst`` (``src`` ranks first), and their ``iou`` (P,) float64.
        Every pair with IoU > 0 and IoU >= ``min_iou`` is included once;
        other pairs may be.

    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    width = bbox[:, 3] - bbox[:, 1]
    height = bbox[:, 2] - bbox[:, 0]
    box = np.flatnonzero((width > 0) & (height > 0))  # others have IoU 0
    if len(box) < 2:
        return empty
    _, group = np.unique(label[box], return_inverse=True)
    band = None
    if min_iou > 0:
        # bands of width and height; a box is entered in 4 groups: its own
        # band and the one below, on each axis
        log_t = np.log(1. / min(min_iou, 0.999))
        band = np.stack([np.floor(np.log(side[box]) / log_t).astype(np.int64)
                         for side in (width, height)], axis=1)
        band -= band.min(axis=0) - 1
        n_band = band.max(axis=0) + 1
        shift = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
        box = np.tile(box, 4)
        group = np.tile(group, 4)
        band = np.tile(band, (4, 1))
        group_band = band - np.repeat(shift, len(band) // 4, axis=0)
        group = (group * n_band[0] + group_band[:, 0]) * n_band[1] \
            + group_band[:, 1]
        _, group = np.unique(group, return_inverse=True)
    x0 = bbox[box, 1] - bbox[box, 1].min()
    stretch = (x0 + width[box]).max() + 1.
    key = x0 + group * stretch
    xorder = np.argsort(key, kind='stable')
    key = key[xorder]
    box = box[xorder]
    if band is not None:
        bw, bh = band[xorder, 0], band[xorder, 1]
        gw, gh = group_band[xorder, 0], group_band[xorder, 1]
    n = len(box)
    # the margin covers the rounding of the keys; it only adds candidates
    # (checked exactly below) and stays far below the gap between groups
    margin = 1e-9 * stretch + 16 * np.spacing(key[-1])
    bound = key + (1. - min_iou) * width[box] + margin
    end = np.searchsorted(key, bound, side='right')
    count = np.maximum(end - np.arange(n) - 1, 0)
    total = np.cumsum(count)
    y_min, x_min, y_max, x_max = (
        np.ascontiguousarray(bbox[box, k]) for k in range(4))
    areas = (y_max - y_min) * (x_max - x_min)
    srcs, dsts, ious = [], [], []
    first = 0
    while first < n:
        done = total[first - 1] if first > 0 else 0
        last = int(np.searchsorted(total, done + _PAIR_CHUNK, side='right'))
        last = max(last, first + 1)
        c = count[first:last]
        m = int(c.sum())
        if m:
            i = np.repeat(np.arange(first, last), c)
            j = np.arange(m) + np.repeat(
                np.arange(first, last) + 1 - (np.cumsum(c) - c), c)
            if band is not None:
                # count each pair once: in the group of its lower bands
                hit = (np.minimum(bw[i], bw[j]) == gw[i]) & (
                    np.minimum(bh[i], bh[j]) == gh[i])
                i, j = i[hit], j[hit]
            h = np.minimum(y_max[i], y_max[j]) - np.maximum(y_min[i],
                                                            y_min[j])
            hit = h > 0
            i, j, h = i[hit], j[hit], h[hit]
            # same arithmetic as iou_matrix, so that both agree bit for bit
            w = np.minimum(x_max[i], x_max[j]) - np.maximum(x_min[i],
                                                            x_min[j])
            hit = w > 0
            i, j = i[hit], j[hit]
            inter = h[hit] * w[hit]
            iou = inter / (areas[i] + areas[j] - inter)
            hit = iou >= min_iou
            a, b = box[i[hit]], box[j[hit]]
            srcs.append(np.minimum(a, b))
            dsts.append(np.maximum(a, b))
            ious.append(iou[hit])
        first = last
    if not srcs:
        return empty
    return np.concatenate(srcs), np.concatenate(dsts), np.concatenate(ious)


def greedy_keep(n, src, dst):
    """Exact greedy suppression on a list of suppressing pairs.

    Greedy NMS keeps box ``j`` (in rank order) iff no kept box ``i < j``
    suppresses it. Instead of a loop over boxes, all boxes are decided in
    rounds: a box is suppressed as soon as one of its suppressors is kept,
    and kept as soon as all its suppressors are suppressed. Each round is a
    few vectorised passes over the pairs still undecided; the first
    undecided box in rank order is always decided, so the result equals the
    sequential greedy pass, and the number of rounds is the length of the
    longest keep/suppress chain (a handful on detector output).

    Args:
        n (int): Number of boxes.
        src, dst (numpy.ndarray): (P,) positions, ``src < dst``: box ``src``
            suppresses box ``dst`` if ``src`` is kept.

    Returns:
        numpy.ndarray: (n,) bool, kept boxes.

    """
    status = np.zeros(n, np.int8)  # 0 undecided, 1 kept, 2 suppressed
    has_src = np.zeros(n, bool)
    has_src[dst] = True
    status[~has_src] = 1
    undecided = has_src
    while undecided.any():
        src_status = status[src]
        suppressed = np.zeros(n, bool)
        suppressed[dst[src_status == 1]] = True
        waiting = np.zeros(n, bool)
        waiting[dst[src_status == 0]] = True
        status[undecided & suppressed] = 2
        status[undecided & ~suppressed & ~waiting] = 1
        undecided = status == 0
        live = undecided[dst] & (status[src] != 2)
        src, dst = src[live], dst[live]
    return status == 1


def greedy_nms(bbox, label, iou_thresh, strict, max_rounds=32):
    """Exact class-wise greedy NMS of boxes in rank order.

    Runs in rounds over all labels at once: each round keeps the first
    remaining box of every label and drops the boxes of that label it
    suppresses, with a few vectorised passes over the remaining boxes. On
    detector output most boxes go in the first rounds. After
    ``max_rounds`` rounds, the boxes still remaining (labels with many
    kept boxes) are finished exactly on their list of suppressing pairs
    (:func:`overlapping_pairs`, :func:`greedy_keep`), whose cost does not
    grow with the number of kept boxes.

    Args:
        bbox (numpy.ndarray): (R, 4) float64 in rank order.
        label (numpy.ndarray): (R,) int64 in rank order.
        iou_thresh (float): Suppression threshold.
        strict (bool): Suppress at IoU ``>`` instead of ``>=``.
        max_rounds (int): Rounds before switching to the pair solver.

    Returns:
        numpy.ndarray: (R,) bool, kept boxes.

    """
    n = len(bbox)
    keep = np.zeros(n, bool)
    pos = np.arange(n)
    lb = label
    y0, x0, y1, x1 = (np.ascontiguousarray(bbox[:, k]) for k in range(4))
    ar = (y1 - y0) * (x1 - x0)
    for _ in range(max_rounds):
        if len(pos) == 0:
            return keep
        head = np.empty(len(pos), bool)
        head[0] = True
        np.not_equal(lb[1:], lb[:-1], out=head[1:])
        start = np.flatnonzero(head)
        keep[pos[start]] = True
        # the first box of each label, repeated over the label's boxes
        n_rep = np.diff(np.append(start, len(pos)))
        h = np.minimum(y1, np.repeat(y1[start], n_rep)) - np.maximum(
            y0, np.repeat(y0[start], n_rep))
        w = np.minimum(x1, np.repeat(x1[start], n_rep)) - np.maximum(
            x0, np.repeat(x0[start], n_rep))
        inter = np.maximum(h, 0.) * np.maximum(w, 0.)
        union = ar + np.repeat(ar[start], n_rep) - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter),
                        where=union > 0)
        live = iou <= iou_thresh if strict else iou < iou_thresh
        live[start] = False
        pos, lb, ar = pos[live], lb[live], ar[live]
        y0, x0, y1, x1 = y0[live], x0[live], y1[live], x1[live]
    if len(pos):
        src, dst, iou = overlapping_pairs(bbox[pos], lb, iou_thresh)
        hit = iou > iou_thresh if strict else iou >= iou_thresh
        keep[pos[greedy_keep(len(pos), src[hit], dst[hit])]] = True
    return keep


def label_blocks(row_label, col_label, max_elems=2 ** 15, block=128):
    """Blocks of rows with the columns of their labels, for dense IoU.

    Args:
        row_label (numpy.ndarray): (N,) labels of the rows, sorted.
        col_label (numpy.ndarray): (M,) labels of the columns, sorted.
        max_elems (int): Soft cap on rows x columns per block (a single
            row may exceed it).
        block (int): Largest number of rows per block.

    Yields:
        tuple: ``(r0, r1, c0, c1)``: rows ``[r0, r1)`` and the columns
        ``[c0, c1)`` that hold every label of those rows.

    """
    n = len(row_label)
    begin = np.searchsorted(col_label, row_label, side='left')
    end = np.searchsorted(col_label, row_label, side='right')
    r0 = 0
    while r0 < n:
        r1 = min(n, r0 + block)
        while r1 - r0 > 1 and (r1 - r0) * (end[r1 - 1] - begin[r0]) \
                > max_elems:
            r1 = r0 + (r1 - r0) // 2
        yield r0, r1, int(begin[r0]), int(end[r1 - 1])
        r0 = r1
