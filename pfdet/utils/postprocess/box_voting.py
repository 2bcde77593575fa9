import numpy as np

from pfdet.utils.postprocess import _common
from pfdet.utils.postprocess.adj_nms import adj_nms_index
from pfdet.utils.postprocess.non_maximum_suppression import nms_index


def box_voting(bbox, score, label=None, iou_thresh=0.5, n_voter=4,
               score_weight=0.05, box_weight=0.7, voter_iou_thresh=None,
               pad=True, suppression='nms', sigma=0.5, score_thresh=0.001,
               strict=False, return_index=False):
    """Box voting of MMfruit (Open Images 2019, Eq. 8-9) for one image.

    Per label:

    1. Suppress the pool: NMS (``suppression='nms'``) or Adj-NMS
       (``'adj_nms'``, see :func:`adj_nms`) at ``iou_thresh``. Each survivor
       P keeps the score the suppression gives it (decayed for Adj-NMS).
    2. The voters of P are the ``n_voter`` (k) boxes of the **input pool**
       (before suppression, same label, P itself excluded) with the highest
       IoU with P; ties go to the higher score, then the lower index. With
       ``voter_iou_thresh``, only boxes with IoU ``>=`` it can vote; by
       default there is no floor (as in the report's wording), so any box of
       the label can vote.
    3. Score :math:`C = S_P + w_s \\sum_i S_{P_i}` (Eq. 8, ``w_s =
       score_weight``; C may exceed 1) and box
       :math:`B = w_b B_P + \\frac{1 - w_b}{k} \\sum_i B_{P_i}` (Eq. 9,
       ``w_b = box_weight``).

    With fewer than k voters, Eq. 9 taken literally shrinks the box toward
    the origin; ``pad=True`` (default) fills the missing voters with
    :math:`B_P` (the box term then equals ``w_b B_P + (1 - w_b) * mean``
    over voters and padding). ``pad=False`` is the literal formula.
    Voter scores are never padded.

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`bbox`, ":math:`(R, 4)`", float32, \
":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`score`, ":math:`(R,)`", float32, --
        :obj:`label`, ":math:`(R,)`", int32, any integers
        returned :obj:`index`, ":math:`(K,)`", int32, "survivors P"

    Args:
        bbox (array): Boxes (numpy or cupy). Re-weight scores (e.g. per
            model and class) before calling.
        score (array): Scores.
        label (array): Labels, or :obj:`None` for one class.
        iou_thresh (float): Suppression threshold.
        n_voter (int): k, the number of voters (4 in the report).
        score_weight (float): Weight of the voters' scores (0.05).
        box_weight (float): Weight of P's own box (0.7).
        voter_iou_thresh (float): Optional IoU floor for voters.
        pad (bool): Pad missing voters with :math:`B_P` in Eq. 9.
        suppression (str): ``'nms'`` or ``'adj_nms'``.
        sigma (float): Adj-NMS Gaussian parameter.
        score_thresh (float): Adj-NMS minimum decayed score.
        strict (bool): NMS suppresses at IoU ``> iou_thresh``.
        return_index (bool): Also return the input index of each survivor.

    Returns:
        tuple: ``(bbox, score, label)`` of the voted boxes (plus
        ``index``), sorted by label, then by descending voted score.

    """
    name = 'box_voting'
    bbox, score, label, ctx = _common.prepare(name, bbox, score, label)
    iou_thresh = _common.check_thresh(name, 'iou_thresh', iou_thresh)
    if not (isinstance(n_voter, (int, np.integer)) and n_voter >= 1):
        raise ValueError('{}: n_voter must be an integer >= 1, got {!r}'
                         .format(name, n_voter))
    if suppression == 'nms':
        keep = nms_index(bbox, score, label, iou_thresh, strict)
        keep_score = score[keep]
    elif suppression == 'adj_nms':
        keep, keep_score = adj_nms_index(bbox, score, label, iou_thresh,
                                         float(sigma), float(score_thresh),
                                         strict)
    else:
        raise ValueError("{}: suppression must be 'nms' or 'adj_nms', got "
                         '{!r}'.format(name, suppression))

    voter, valid = find_voters(bbox, score, label, keep, n_voter,
                               voter_iou_thresh)
    voter_score = np.where(valid, score[voter], 0.).sum(axis=1)
    voted_score = keep_score + score_weight * voter_score
    voter_box = np.where(valid[:, :, None], bbox[voter], 0.).sum(axis=1)
    if pad:
        n_missing = n_voter - valid.sum(axis=1)
        voter_box += n_missing[:, None] * bbox[keep]
    voted_box = (box_weight * bbox[keep]
                 + (1. - box_weight) / n_voter * voter_box)
    out = np.lexsort((keep, -voted_score, label[keep]))
    return ctx.output(voted_box[out], voted_score[out], label[keep][out],
                      keep[out], return_index)


def find_voters(bbox, score, label, keep, n_voter, voter_iou_thresh=None):
    """Top-k IoU voters of each survivor in its label's input pool.

    Returns:
        tuple: ``voter`` (K, k) input indices and ``valid`` (K, k) bool
        (False where fewer than k boxes qualify).

    """
    n_keep = len(keep)
    voter = np.zeros((n_keep, n_voter), np.int64)
    valid = np.zeros((n_keep, n_voter), bool)
    if n_keep == 0:
        return voter, valid
    order = _common.rank_order(score, label)
    pool_label = label[order]
    pool_box = bbox[order]
    pool_area = _common.area(pool_box)
    pos_all = np.argsort(label[keep], kind='stable')
    rows_all = keep[pos_all]
    for r0, r1, c0, c1 in _common.label_blocks(label[rows_all], pool_label):
        rows, pos = rows_all[r0:r1], pos_all[r0:r1]
        iou = _common.iou_matrix(bbox[rows], pool_box[c0:c1],
                                 _common.area(bbox[rows]), pool_area[c0:c1])
        ok = pool_label[None, c0:c1] == label[rows][:, None]
        ok &= order[None, c0:c1] != rows[:, None]
        if voter_iou_thresh is not None:
            ok &= iou >= voter_iou_thresh
        iou = np.where(ok, iou, -1.)
        k = min(n_voter, c1 - c0)
        # stable: ties keep rank order (higher score, then lower index)
        top = np.argsort(-iou, axis=1, kind='stable')[:, :k]
        voter[pos, :k] = order[c0 + top]
        valid[pos, :k] = np.take_along_axis(ok, top, axis=1)
    return voter, valid
