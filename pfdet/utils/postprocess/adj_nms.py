from pfdet.utils.postprocess import _common
from pfdet.utils.postprocess.non_maximum_suppression import nms_index
from pfdet.utils.postprocess.soft_nms import soft_nms_index


def adj_nms(bbox, score, label=None, iou_thresh=0.5, sigma=0.5,
            score_thresh=0.001, strict=False, return_index=False):
    """Adj-NMS (MMfruit, Open Images 2019): NMS, then Gaussian Soft-NMS.

    Per label: hard NMS at ``iou_thresh`` (IoU ``>=``, or ``>`` with
    ``strict=True``), then Gaussian Soft-NMS of the survivors, which
    multiplies scores by ``exp(-IoU ** 2 / sigma)``, and finally drops boxes
    whose decayed score is below ``score_thresh``. After the NMS step every
    pairwise IoU is at most ``iou_thresh``, so each decay factor is at least
    ``exp(-iou_thresh ** 2 / sigma)`` (0.6065 for the defaults). The report
    gives 0.5 and 0.5; ``score_thresh`` 1e-3 is mmdetection's default (a
    design choice). IoU is continuous (no +1 pixel as in legacy mmdet).

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
        iou_thresh (float): NMS threshold.
        sigma (float): Gaussian Soft-NMS parameter.
        score_thresh (float): Minimum decayed score.
        strict (bool): NMS suppresses at IoU ``> iou_thresh``.
        return_index (bool): Also return the indices of the kept boxes.

    Returns:
        tuple: ``(bbox, score, label)`` (plus ``index``), sorted by label,
        then by descending decayed score.

    """
    name = 'adj_nms'
    bbox, score, label, ctx = _common.prepare(name, bbox, score, label)
    iou_thresh = _common.check_thresh(name, 'iou_thresh', iou_thresh)
    if not sigma > 0:
        raise ValueError('{}: sigma must be > 0, got {}'.format(name, sigma))
    index, decayed = adj_nms_index(bbox, score, label, iou_thresh,
                                   float(sigma), float(score_thresh), strict)
    return ctx.output(bbox[index], decayed, label[index], index,
                      return_index)


def adj_nms_index(bbox, score, label, iou_thresh, sigma, score_thresh,
                  strict):
    keep = nms_index(bbox, score, label, iou_thresh, strict)
    sub, decayed = soft_nms_index(bbox[keep], score[keep], label[keep],
                                  'gaussian', 1., sigma, score_thresh)
    return keep[sub], decayed
