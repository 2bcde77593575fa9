"""Training-time data transform: multi-scale resize, random flip, mean subtraction.

Picklable (a plain class, no lambdas), so that it can be sent to the worker processes of a
``MultiprocessIterator`` started with the ``forkserver`` method. Randomness comes from
numpy's global generator of the process that runs the transform (the main process with a
``SerialIterator``, whose state the multi-node snapshot saves).
"""

import numpy as np

from chainercv import transforms


def choose_scale(size, min_size, max_size):
    """The resize factor that makes the shorter side ``min_size`` and the longer ``<= max_size``.

    Args:
        size (tuple of int): ``(H, W)``.
        min_size (int): Target length of the shorter side.
        max_size (int): Upper bound of the longer side.

    Returns:
        float: The factor.

    """
    h, w = size
    return min(min_size / min(h, w), max_size / max(h, w))


class TrainTransform(object):
    """Multi-scale resize + random horizontal flip + mean subtraction (PFDet, ``pfdet.md`` §3.8).

    The shorter side is drawn uniformly from ``scales`` (the longer side is capped at
    ``max_size``), the image is flipped with probability 1/2 when ``flip`` is set, and the
    mean is subtracted, as ChainerCV's ``examples/fpn`` ``Transform`` does for one scale.
    Boxes are scaled and flipped with the image (``chainercv.transforms.flip_bbox``, the
    continuous ``W - x`` convention).

    Args:
        scales (tuple of int): Candidate shorter-side lengths.
        max_size (int): Upper bound of the longer side.
        mean (numpy.ndarray): Per-channel mean, shape :math:`(3, 1, 1)`.
        flip (bool): Random horizontal flip.

    The input is a tuple ``(img, bbox, label, *extra)``; ``extra`` (e.g. image-level labels)
    is passed through unchanged.

    .. csv-table::
        :header: name, shape, dtype, format

        :obj:`img`, ":math:`(3, H', W')`", float32, "RGB minus the mean"
        :obj:`bbox`, ":math:`(R, 4)`", float32, ":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
        :obj:`label`, ":math:`(R,)`", int32, ":math:`[0, \\#fg\\_class - 1]`"
    """

    def __init__(self, scales, max_size, mean, flip=True):
        self.scales = tuple(int(s) for s in scales)
        self.max_size = int(max_size)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        self.flip = flip

    def __call__(self, in_data):
        img, bbox, label = in_data[:3]
        extra = tuple(in_data[3:])
        _, H, W = img.shape
        min_size = self.scales[np.random.randint(len(self.scales))] \
            if len(self.scales) > 1 else self.scales[0]
        scale = choose_scale((H, W), min_size, self.max_size)
        out_h, out_w = int(round(H * scale)), int(round(W * scale))
        img = transforms.resize(img, (out_h, out_w))
        bbox = transforms.resize_bbox(np.asarray(bbox, dtype=np.float32), (H, W), (out_h, out_w))
        if self.flip and np.random.rand() < 0.5:
            img = img[:, :, ::-1]
            bbox = transforms.flip_bbox(bbox, (out_h, out_w), x_flip=True)
        img = (img - self.mean).astype(np.float32)
        return (np.ascontiguousarray(img), bbox.astype(np.float32),
                np.asarray(label, dtype=np.int32)) + extra
