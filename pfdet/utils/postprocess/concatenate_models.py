import numpy as np

import chainer
from chainer.backends import cuda

from pfdet.utils.postprocess import _common


def concatenate_models(bboxes, scores, labels, weights=None,
                       normalize='max'):
    """Concatenates several models' detections of one image for ensembling.

    The result feeds the suppression functions ("concat, then suppress"),
    e.g. ``non_maximum_weighted(bbox, score, label, weight=weight)``.

    Model weights may be per model, ``(M,)``, or per model and class,
    ``(M, n_class)`` (PFDet's class-weight ensemble: ``w[m, c]`` = AP of
    model m on class c). They are normalised over the models:

    * ``'max'``: ``w / max_m w`` (per class for 2-D weights), the
      "relative AP" of the PFDet reproduction and ensemble-boxes' NMW;
    * ``'sum'``: ``w / sum_m w`` (ensemble-boxes' NMS and Soft-NMS);
    * :obj:`None`: as given.

    Args:
        bboxes (list of arrays): M arrays of shape (R_m, 4).
        scores (list of arrays): M arrays of shape (R_m,).
        labels (list of arrays): M arrays of shape (R_m,), integers.
        weights (array): Optional, (M,) or (M, n_class), >= 0.
        normalize (str): ``'max'``, ``'sum'`` or :obj:`None`.

    Returns:
        tuple: ``(bbox, score, label, weight)``: the concatenation, and the
        (R,) float weight of each box (all ones without ``weights``).

    """
    name = 'concatenate_models'
    n_model = len(bboxes)
    if not (len(scores) == n_model and len(labels) == n_model):
        raise ValueError('{}: got {} bbox arrays, {} score arrays and {} '
                         'label arrays'.format(name, n_model, len(scores),
                                               len(labels)))
    if n_model == 0:
        raise ValueError('{}: no models'.format(name))
    xp = chainer.backend.get_array_module(bboxes[0])
    bboxes = [_common.to_host(b).reshape(-1, 4) for b in bboxes]
    scores = [_common.to_host(s) for s in scores]
    labels = [_common.to_host(lb) for lb in labels]
    for m in range(n_model):
        if not len(bboxes[m]) == len(scores[m]) == len(labels[m]):
            raise ValueError('{}: model {} has {} boxes, {} scores and {} '
                             'labels'.format(name, m, len(bboxes[m]),
                                             len(scores[m]), len(labels[m])))
    bbox = np.concatenate(bboxes)
    score = np.concatenate(scores)
    label = np.concatenate(labels)
    model = np.repeat(np.arange(n_model), [len(s) for s in scores])
    if weights is None:
        weight = np.ones(len(score))
    else:
        weights = np.asarray(_common.to_host(weights), dtype=np.float64)
        if weights.ndim not in (1, 2) or len(weights) != n_model:
            raise ValueError('{}: weights must have shape ({},) or ({}, '
                             'n_class), got {}'.format(
                                 name, n_model, n_model, weights.shape))
        if not np.all(np.isfinite(weights) & (weights >= 0)):
            raise ValueError('{}: weights must be finite and >= 0'.format(
                name))
        if normalize == 'max':
            den = weights.max(axis=0)
        elif normalize == 'sum':
            den = weights.sum(axis=0)
        elif normalize is None:
            den = np.ones(weights.shape[1:])
        else:
            raise ValueError("{}: normalize must be 'max', 'sum' or None, "
                             'got {!r}'.format(name, normalize))
        weights = np.divide(weights, den, out=np.zeros_like(weights),
                            where=den > 0)
        if weights.ndim == 1:
            weight = weights[model]
        else:
            lab = label.astype(np.int64)
            bad = (lab < 0) | (lab >= weights.shape[1])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError('{}: label {} (box {}) has no weight column '
                                 '(n_class = {})'.format(
                                     name, lab[i], i, weights.shape[1]))
            weight = weights[model, lab]
    out = (bbox, score, label, weight)
    if xp is not np:
        out = tuple(cuda.to_gpu(a) for a in out)
    return out
