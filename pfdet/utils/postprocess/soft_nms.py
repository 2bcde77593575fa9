import numpy as np

from pfdet.utils.postprocess import _common


def soft_nms(bbox, score, label=None, iou_thresh=0.5, sigma=0.5,
             method='gaussian', score_thresh=0.001, return_index=False):
    """Class-wise Soft-NMS (Bodla et al., ICCV 2017) of one image.

    Within each label, the box with the highest current score is taken, and
    the score of every remaining box of that label is multiplied by

    * ``exp(-IoU ** 2 / sigma)`` (``method='gaussian'``; ``iou_thresh`` is
      unused), or
    * ``1 - IoU`` where ``IoU > iou_thresh`` and 1 elsewhere
      (``method='linear'``);

    then the next highest box is taken, and so on. Boxes whose decayed score
    falls below ``score_thresh`` are dropped (they could not suppress a kept
    box any more). The returned scores are the **decayed** scores, as in
    Bodla's code, mmcv and OpenCV.

    All labels advance together: each round takes the top box of every
    label at once and decays all remaining boxes with vectorised array
    operations, so the number of Python-level rounds is the largest number
    of boxes kept for one label.

    Differences from ``ensemble_boxes.soft_nms``: it returns the original,
    **undecayed** scores of the kept boxes and keeps decayed scores
    ``> thresh`` (here ``>= score_thresh``); it clips boxes to [0, 1] and
    drops zero-area boxes (kept here, IoU 0 with every box); its ``weights``
    rescale scores to ``s * w_m / sum(w)``.

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`bbox`, ":math:`(R, 4)`", float32, \
":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`score`, ":math:`(R,)`", float32, --
        :obj:`label`, ":math:`(R,)`", int32, any integers
        returned :obj:`score`, ":math:`(K,)`", float32, decayed
        returned :obj:`index`, ":math:`(K,)`", int32, "into the input"

    Args:
        bbox (array): Boxes (numpy or cupy).
        score (array): Scores.
        label (array): Labels, or :obj:`None` for one class.
        iou_thresh (float): IoU threshold of the linear method.
        sigma (float): Gaussian parameter (> 0).
        method (str): ``'gaussian'`` or ``'linear'``.
        score_thresh (float): Boxes whose decayed score is below this are
            dropped.
        return_index (bool): Also return the indices of the kept boxes.

    Returns:
        tuple: ``(bbox, score, label)`` (plus ``index``), sorted by label,
        then by pick order, i.e. by descending decayed score.

    """
    name = 'soft_nms'
    bbox, score, label, ctx = _common.prepare(name, bbox, score, label)
    if method not in ('gaussian', 'linear'):
        raise ValueError("{}: method must be 'gaussian' or 'linear', got {!r}"
                         .format(name, method))
    iou_thresh = _common.check_thresh(name, 'iou_thresh', iou_thresh)
    if not sigma > 0:
        raise ValueError('{}: sigma must be > 0, got {}'.format(name, sigma))
    index, decayed = soft_nms_index(bbox, score, label, method, iou_thresh,
                                    float(sigma), float(score_thresh))
    return ctx.output(bbox[index], decayed, label[index], index,
                      return_index)


def soft_nms_index(bbox, score, label, method, iou_thresh, sigma,
                   score_thresh):
    """Kept indices and decayed scores, sorted by (label, pick order)."""
    order = _common.rank_order(score, label)
    idx = order[score[order] >= score_thresh]
    sc, lb = score[idx], label[idx]
    y0, x0, y1, x1 = (bbox[idx, k] for k in range(4))
    ar = (y1 - y0) * (x1 - x0)
    picked, picked_score, picked_round = [], [], []
    rnd = 0
    while len(sc):
        head = np.empty(len(sc), bool)
        head[0] = True
        np.not_equal(lb[1:], lb[:-1], out=head[1:])
        seg = np.cumsum(head) - 1
        top = np.maximum.reduceat(sc, np.flatnonzero(head))
        cand = np.flatnonzero(sc == top[seg])
        # first (lowest rank) maximum of each label
        first = np.empty(len(cand), bool)
        first[0] = True
        np.not_equal(seg[cand[1:]], seg[cand[:-1]], out=first[1:])
        pick = cand[first]
        picked.append(idx[pick])
        picked_score.append(sc[pick])
        picked_round.append(np.full(len(pick), rnd))
        rnd += 1
        p = pick[seg]
        h = np.minimum(y1, y1[p]) - np.maximum(y0, y0[p])
        w = np.minimum(x1, x1[p]) - np.maximum(x0, x0[p])
        inter = np.maximum(h, 0.) * np.maximum(w, 0.)
        union = ar + ar[p] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter),
                        where=union > 0)
        if method == 'gaussian':
            sc = sc * np.exp(-(iou * iou) / sigma)
        else:
            sc = sc * np.where(iou > iou_thresh, 1. - iou, 1.)
        live = sc >= score_thresh
        live[pick] = False
        idx, sc, lb, ar = idx[live], sc[live], lb[live], ar[live]
        y0, x0, y1, x1 = y0[live], x0[live], y1[live], x1[live]
    if not picked:
        return np.zeros(0, np.int64), np.zeros(0)
    index = np.concatenate(picked)
    decayed = np.concatenate(picked_score)
    out = np.lexsort((np.concatenate(picked_round), label[index]))
    return index[out], decayed[out]
