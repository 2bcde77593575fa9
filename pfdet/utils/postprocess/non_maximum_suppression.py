from pfdet.utils.postprocess import _common


def non_maximum_suppression(bbox, score, label=None, iou_thresh=0.5,
                            strict=False, return_index=False):
    """Class-wise greedy non-maximum suppression (NMS) of one image.

    Within each label, boxes are visited by descending score (ties: lower
    index first); a box is kept unless a kept box of the same label overlaps
    it with IoU ``>= iou_thresh`` (ChainerCV's rule), or ``> iou_thresh``
    with ``strict=True`` (ensemble-boxes, torchvision, OpenCV). Boxes with a
    zero area have IoU 0 with every box, so they are always kept.

    All labels are processed at once, in rounds that each keep the next box
    of every label (vectorised over the remaining boxes); labels that keep
    many boxes are finished on their list of overlapping pairs (see
    :func:`pfdet.utils.postprocess._common.greedy_nms`). There is no loop
    over boxes.

    Differences from ``ensemble_boxes.nms``: boxes are
    ``(y_min, x_min, y_max, x_max)`` in pixels and are not clipped; zero-area
    boxes are kept rather than dropped; scores are never rescaled (its
    ``weights`` turn every score into ``s * w_m / sum(w)``); ``>=`` by default.

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`bbox`, ":math:`(R, 4)`", float32, \
":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`score`, ":math:`(R,)`", float32, --
        :obj:`label`, ":math:`(R,)`", int32, any integers
        returned :obj:`index`, ":math:`(K,)`", int32, "into the input"

    Args:
        bbox (array): Boxes (numpy or cupy).
        score (array): Scores.
        label (array): Labels; :obj:`None` treats all boxes as one class
            (and :obj:`None` is returned in place of the labels).
        iou_thresh (float): IoU threshold in :math:`(0, 1]`.
        strict (bool): Suppress at IoU ``> iou_thresh`` instead of ``>=``.
        return_index (bool): Also return the indices of the kept boxes.

    Returns:
        tuple: ``(bbox, score, label)`` of the kept boxes, plus ``index`` if
        :obj:`return_index`; sorted by label, then by descending score.
        Same array module and float dtypes as the input.

    """
    name = 'non_maximum_suppression'
    bbox, score, label, ctx = _common.prepare(name, bbox, score, label)
    iou_thresh = _common.check_thresh(name, 'iou_thresh', iou_thresh)
    index = nms_index(bbox, score, label, iou_thresh, strict)
    return ctx.output(bbox[index], score[index], label[index], index,
                      return_index)


def nms_index(bbox, score, label, iou_thresh, strict):
    """Kept indices (in rank order) for validated float64/int64 arrays."""
    order = _common.rank_order(score, label)
    keep = _common.greedy_nms(bbox[order], label[order], iou_thresh, strict)
    return order[keep]
