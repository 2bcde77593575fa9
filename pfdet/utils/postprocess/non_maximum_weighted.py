import numpy as np

from pfdet.utils.postprocess import _common


# Above this sum over labels of (boxes per label) ** 2, heads and their
# members come from the overlapping pairs instead of rounds and dense
# IoU blocks.
_DENSE_LIMIT = 2 ** 22


def non_maximum_weighted(bbox, score, label=None, iou_thresh=0.55,
                         weight=None, score_thresh=0., return_index=False):
    """Class-wise non-maximum weighted (NMW) fusion of one image.

    NMW (Zhou et al., CAD, ICCVW 2017) as implemented by
    ``ensemble_boxes.non_maximum_weighted`` and used by PFDet:

    1. Boxes whose raw score is below ``score_thresh`` are skipped; the
       scores of the rest are multiplied by ``weight`` (per box, e.g. the
       model weight divided by the largest model weight, see
       :func:`concatenate_models`).
    2. Within each label, boxes are visited by descending weighted score.
       A box joins the cluster whose *head* (its first box, never updated)
       has the highest IoU with it, provided that IoU is ``> iou_thresh``;
       otherwise it becomes the head of a new cluster. The heads are exactly
       the boxes kept by NMS with the strict ``>`` rule.
    3. Each cluster gives one box
       :math:`\\sum_i s_i \\mathrm{IoU}(b_i, h) b_i /
       \\sum_i s_i \\mathrm{IoU}(b_i, h)` (the head counts with IoU 1) with
       the head's (weighted) score.

    Heads come from the rounds of
    :func:`pfdet.utils.postprocess._common.greedy_nms` and each member's
    head from dense same-label IoU blocks; for crowded labels (the sum of
    squared label sizes above ``2 ** 22``) both come from the list of
    overlapping pairs instead. No loop runs over boxes.

    Differences from ensemble-boxes: boxes are
    ``(y_min, x_min, y_max, x_max)`` in pixels, not clipped, and fused in
    float64 (it accumulates float32 and returns xyxy float32 boxes and float
    labels); zero-area boxes are kept as their own clusters instead of being
    dropped; the output is sorted by label, then by descending score (it
    sorts by score over all labels); ties in score go to the lower index.

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`bbox`, ":math:`(R, 4)`", float32, \
":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`score`, ":math:`(R,)`", float32, --
        :obj:`label`, ":math:`(R,)`", int32, any integers
        :obj:`weight`, ":math:`(R,)`", float32, "optional, per box"
        returned :obj:`index`, ":math:`(K,)`", int32, "cluster heads"

    Args:
        bbox (array): Boxes (numpy or cupy).
        score (array): Scores.
        label (array): Labels, or :obj:`None` for one class.
        iou_thresh (float): A box joins a cluster when its IoU with the
            head is strictly greater than this.
        weight (array): Optional per-box score multipliers (>= 0).
        score_thresh (float): Boxes with a raw score below this are skipped
            (ensemble-boxes' ``skip_box_thr``).
        return_index (bool): Also return the input index of each head.

    Returns:
        tuple: ``(bbox, score, label)`` of the fused boxes (plus ``index``),
        sorted by label, then by descending score.

    """
    name = 'non_maximum_weighted'
    bbox, score, label, ctx = _common.prepare(name, bbox, score, label)
    iou_thresh = _common.check_thresh(name, 'iou_thresh', iou_thresh,
                                      low_open=False)
    if weight is not None:
        weight = _common.to_host(weight).astype(np.float64)
        if weight.shape != score.shape:
            raise ValueError('{}: weight must have shape ({},), got {}'
                             .format(name, len(score), weight.shape))
        if not np.all(np.isfinite(weight) & (weight >= 0)):
            raise ValueError('{}: weight must be finite and >= 0'.format(
                name))
    index, fused, fused_score = nmw_index(bbox, score, label, iou_thresh,
                                          weight, score_thresh)
    return ctx.output(fused, fused_score, label[index], index, return_index)


def nmw_index(bbox, score, label, iou_thresh, weight=None, score_thresh=0.):
    """Heads (input indices), fused boxes and head scores, validated input."""
    valid = np.flatnonzero(score >= score_thresh)
    score = score if weight is None else score * weight
    order = valid[_common.rank_order(score[valid], label[valid])]
    bb, sc, lb = bbox[order], score[order], label[order]
    ar = _common.area(bb)
    n = len(order)
    if n == 0:
        return order, np.zeros((0, 4)), np.zeros(0)
    n_per_label = np.bincount(lb - lb.min())
    # Each other box joins the earlier head with the highest IoU (the first
    # such head on ties, as ensemble-boxes scans heads in creation order).
    w = sc.copy()  # heads count with IoU 1
    slot = np.empty(n, np.int64)
    if np.dot(n_per_label, n_per_label) <= _DENSE_LIMIT:
        is_head = _common.greedy_nms(bb, lb, iou_thresh, strict=True)
        heads = np.flatnonzero(is_head)
        others = np.flatnonzero(~is_head)
        slot[heads] = np.arange(len(heads))
        for r0, r1, c0, c1 in _common.label_blocks(lb[others], lb[heads]):
            rows, cols = others[r0:r1], heads[c0:c1]
            iou = _common.iou_matrix(bb[rows], bb[cols], ar[rows], ar[cols])
            ok = (lb[rows][:, None] == lb[cols][None, :]) & (
                cols[None, :] < rows[:, None]) & (iou > iou_thresh)
            iou = np.where(ok, iou, -1.)
            best = np.argmax(iou, axis=1)
            slot[rows] = c0 + best
            w[rows] *= iou[np.arange(len(rows)), best]
    else:  # crowded labels: work on the overlapping pairs only
        src, dst, iou = _common.overlapping_pairs(bb, lb, iou_thresh)
        hit = iou > iou_thresh
        src, dst, iou = src[hit], dst[hit], iou[hit]
        is_head = _common.greedy_keep(n, src, dst)
        heads = np.flatnonzero(is_head)
        slot[heads] = np.arange(len(heads))
        hit = is_head[src] & ~is_head[dst]
        src, dst, iou = src[hit], dst[hit], iou[hit]
        best = np.lexsort((src, -iou, dst))
        first = np.ones(len(best), bool)
        first[1:] = dst[best][1:] != dst[best][:-1]
        best = best[first]
        slot[dst[best]] = slot[src[best]]
        w[dst[best]] *= iou[best]
    den = np.bincount(slot, weights=w, minlength=len(heads))
    fused = np.stack([np.bincount(slot, weights=w * bb[:, k],
                                  minlength=len(heads))
                      for k in range(4)], axis=1)
    zero = den == 0  # heads with a zero score: keep the head box
    fused[~zero] /= den[~zero, None]
    fused[zero] = bb[heads[zero]]
    return order[heads], fused, sc[heads]
