"""Region Proposal Network of PFDet (FPN RPN with exact anchors) and its loss.

Shape shorthand: N = images, K = feature levels, A = anchors per location
(``len(anchor_scales) * len(anchor_ratios)``), :math:`K_l = H_l W_l A`.
"""

from __future__ import division

import numpy as np

import chainer
from chainer.backends import cuda
import chainer.functions as F
from chainer import initializers
import chainer.links as L

from chainercv.links.model.fpn.misc import argsort
from chainercv.links.model.fpn.misc import choice
from chainercv.links.model.fpn.misc import exp_clip
from chainercv.links.model.fpn.misc import smooth_l1
from chainercv import utils

from pfdet.utils import non_maximum_suppression


class RPN(chainer.Chain):
    """Region Proposal Network of Feature Pyramid Networks.

    Same interface and defaults as
    :class:`chainercv.links.model.fpn.RPN`, with two differences:

    * anchors are generated **without** rounding to whole strides: an anchor
      of base size :math:`S` and ratio :math:`a` (= height / width) has
      :math:`h = S \\sqrt{a}` and :math:`w = S / \\sqrt{a}` exactly
      (ChainerCV rounds them, which distorts extreme ratios);
    * several scales per octave and any ratios can be used. The base size of
      the :math:`l`-th level is :math:`S_l = anchor\\_size \\cdot 2^l \\cdot
      s` for every :math:`s` in :obj:`anchor_scales`.

    Example: MMfruit's 18-anchor set ({0.1, 0.5, 1, 2, 4, 8} x {8, 11, 14}
    strides at stride 4) is ``anchor_scales=(1, 11 / 8, 14 / 8)``,
    ``anchor_ratios=(0.1, 0.5, 1, 2, 4, 8)``.

    Args:
        scales (tuple of floats): The scales of feature maps.
        anchor_size (float): The base anchor size of the first level.
        anchor_scales (tuple of floats): Scale multipliers per level.
        anchor_ratios (tuple of floats): Aspect ratios (height / width).
        mid_channels (int): The channels of the shared 3x3 convolution.
        in_channels (int): The channels of the input feature maps.
            :obj:`None` infers them at the first call.

    """

    _nms_thresh = 0.7
    _train_nms_limit_pre = 2000
    _train_nms_limit_post = 2000
    _test_nms_limit_pre = 1000
    _test_nms_limit_post = 1000

    def __init__(self, scales, anchor_size=32, anchor_scales=(1,),
                 anchor_ratios=(0.5, 1, 2), mid_channels=256,
                 in_channels=None):
        super(RPN, self).__init__()
        anchor_scales = tuple(float(s) for s in anchor_scales)
        anchor_ratios = tuple(float(r) for r in anchor_ratios)
        if len(anchor_scales) == 0 or min(anchor_scales) <= 0:
            raise ValueError(
                'anchor_scales must be non-empty and positive: {}'.format(
                    anchor_scales))
        if len(anchor_ratios) == 0 or min(anchor_ratios) <= 0:
            raise ValueError(
                'anchor_ratios must be non-empty and positive: {}'.format(
                    anchor_ratios))
        self._scales = scales
        self._anchor_size = anchor_size
        self.anchor_scales = anchor_scales
        self.anchor_ratios = anchor_ratios
        n_anchor = self.n_anchor

        init = {'initialW': initializers.Normal(0.01)}
        with self.init_scope():
            self.conv = L.Convolution2D(
                in_channels, mid_channels, 3, pad=1, **init)
            self.loc = L.Convolution2D(mid_channels, n_anchor * 4, 1, **init)
            self.conf = L.Convolution2D(mid_channels, n_anchor, 1, **init)

    @property
    def n_anchor(self):
        """The number of anchors per location, :math:`A`."""
        return len(self.anchor_scales) * len(self.anchor_ratios)

    def forward(self, hs):
        """Calculates RPN outputs.

        Args:
            hs (iterable of array): An iterable of feature maps.

        Returns:
            tuple of two lists:
            :obj:`locs` and :obj:`confs`.

            * **locs**: A list of variables of shape :math:`(N, K_l, 4)`.
            * **confs**: A list of variables of shape :math:`(N, K_l)`.
        """
        locs = []
        confs = []
        for h in hs:
            h = F.relu(self.conv(h))
            loc = F.transpose(self.loc(h), (0, 2, 3, 1))
            locs.append(F.reshape(loc, (loc.shape[0], -1, 4)))
            conf = F.transpose(self.conf(h), (0, 2, 3, 1))
            confs.append(F.reshape(conf, (conf.shape[0], -1)))
        return locs, confs

    def anchor_hw(self, level):
        """Heights and widths of the :math:`A` anchors of a level.

        Returns:
            numpy.ndarray: :math:`(A, 2)` float64 array of
            :math:`(h, w)`, ordered scale-major then ratio.
        """
        size = self._anchor_size * 2 ** level * np.array(self.anchor_scales)
        sqrt_ratio = np.sqrt(np.array(self.anchor_ratios))
        h = size[:, None] * sqrt_ratio[None]
        w = size[:, None] / sqrt_ratio[None]
        return np.stack((h.ravel(), w.ravel()), axis=1)

    def anchors(self, sizes):
        """Calculates anchor boxes.

        Args:
            sizes (iterable of tuples of two ints): :math:`(H_l, W_l)` of the
                feature maps.

        Returns:
            list of arrays:
            The :math:`l`-th array has shape :math:`(H_l W_l A, 4)`, float32,
            :math:`(y_{min}, x_{min}, y_{max}, x_{max})`; the order is
            (y, x, anchor) as in :meth:`forward`.
        """
        anchors = []
        for l, (H, W) in enumerate(sizes):
            stride = 1 / self._scales[l]
            hw = self.anchor_hw(l)
            y = (np.arange(H) + 0.5) * stride
            x = (np.arange(W) + 0.5) * stride
            anchor = np.empty((H, W, len(hw), 4), dtype=np.float64)
            anchor[..., 0] = y[:, None, None] - hw[None, None, :, 0] / 2
            anchor[..., 1] = x[None, :, None] - hw[None, None, :, 1] / 2
            anchor[..., 2] = y[:, None, None] + hw[None, None, :, 0] / 2
            anchor[..., 3] = x[None, :, None] + hw[None, None, :, 1] / 2
            anchors.append(
                self.xp.array(anchor.reshape(-1, 4), dtype=np.float32))
        return anchors

    def decode(self, locs, confs, anchors, in_shape, sizes=None):
        """Decodes back to coordinates of RoIs.

        Per image and level: decode, clip, keep the top ``nms_limit_pre``
        boxes, NMS at IoU 0.7 keeping at most ``nms_limit_post``; then the
        top ``nms_limit_post`` over all levels. The limits are 2000/2000 in
        train mode and 1000/1000 otherwise (ChainerCV's values).

        Args:
            locs (list of arrays): :meth:`forward` output.
            confs (list of arrays): :meth:`forward` output.
            anchors (list of arrays): :meth:`anchors` output.
            in_shape (tuple of ints): The shape of the (padded) input batch.
            sizes (list of tuples of two ints): :math:`(H_n, W_n)` of each
                image before padding. RoIs are clipped to these sizes.
                :obj:`None` clips to the padded shape (ChainerCV's behaviour).

        Returns:
            tuple of two arrays:
            :obj:`rois` :math:`(R, 4)` float32 and :obj:`roi_indices`
            :math:`(R,)` int32.
        """
        xp = self.xp
        if chainer.config.train:
            limit_pre = self._train_nms_limit_pre
            limit_post = self._train_nms_limit_post
        else:
            limit_pre = self._test_nms_limit_pre
            limit_post = self._test_nms_limit_post

        rois = []
        roi_indices = []
        for i in range(in_shape[0]):
            if sizes is None:
                size = in_shape[2:]
            else:
                size = sizes[i]
            upper = xp.array(size, dtype=np.float32)
            roi = []
            conf = []
            for l in range(len(anchors)):
                loc_l = _array(locs[l])[i]
                conf_l = _array(confs[l])[i]
                roi_l = _decode_boxes(anchors[l], loc_l, (1, 1))
                roi_l[:, :2] = xp.maximum(roi_l[:, :2], 0)
                roi_l[:, 2:] = xp.minimum(roi_l[:, 2:], upper)

                order = argsort(-conf_l)[:limit_pre]
                roi_l = roi_l[order]
                conf_l = conf_l[order]
                keep = (roi_l[:, 2:] - roi_l[:, :2] > 0).all(axis=1)
                roi_l = roi_l[keep]
                conf_l = conf_l[keep]

                indices = _nms_index(
                    roi_l, conf_l, self._nms_thresh, limit_post)
                roi.append(roi_l[indices])
                conf.append(conf_l[indices])

            roi = xp.concatenate(roi, axis=0).astype(np.float32)
            conf = xp.concatenate(conf, axis=0)
            roi = roi[argsort(-conf)[:limit_post]]
            rois.append(roi)
            roi_indices.append(xp.full(len(roi), i, dtype=np.int32))

        rois = xp.concatenate(rois, axis=0).astype(np.float32)
        roi_indices = xp.concatenate(roi_indices, axis=0).astype(np.int32)
        return rois, roi_indices


def _nms_index(bbox, score, thresh, limit):
    # class-agnostic NMS (suppress at IoU >= thresh) of boxes sorted by score
    if len(bbox) == 0:
        return cuda.get_array_module(bbox).zeros((0,), dtype=np.int32)
    index = non_maximum_suppression(
        bbox, score, None, iou_thresh=thresh, return_index=True)[-1]
    return index[:limit]


def _array(x):
    return x.array if isinstance(x, chainer.Variable) else x


def _encode_boxes(src, dst, std):
    """Offsets :math:`(t_y, t_x, t_h, t_w)` of :obj:`dst` w.r.t. :obj:`src`."""
    xp = cuda.get_array_module(src)
    src_hw = src[:, 2:] - src[:, :2]
    src_yx = src[:, :2] + src_hw / 2
    dst_hw = dst[:, 2:] - dst[:, :2]
    dst_yx = dst[:, :2] + dst_hw / 2
    loc = xp.empty_like(src)
    loc[:, :2] = (dst_yx - src_yx) / src_hw / std[0]
    loc[:, 2:] = xp.log(dst_hw / src_hw) / std[1]
    return loc


def _decode_boxes(src, loc, std):
    """Inverse of :func:`_encode_boxes` (broadcasts over leading axes)."""
    xp = cuda.get_array_module(src)
    src_hw = src[..., 2:] - src[..., :2]
    src_yx = src[..., :2] + src_hw / 2
    yx = src_yx + loc[..., :2] * std[0] * src_hw
    hw = src_hw * xp.exp(xp.minimum(loc[..., 2:] * std[1], exp_clip))
    return xp.concatenate((yx - hw / 2, yx + hw / 2), axis=-1)


def rpn_loss(locs, confs, anchors, sizes, bboxes, fg_thresh=0.7,
             bg_thresh=0.3, n_sample=256, fg_ratio=0.25):
    """Loss function for RPN.

    Anchor assignment follows ChainerCV's :func:`rpn_loss` with its constants
    as defaults: only anchors lying inside the image take part; an anchor is
    foreground when its IoU with some ground truth is at least
    :obj:`fg_thresh` or when it is the best (positive IoU) anchor of a ground
    truth, background when its maximum IoU is below :obj:`bg_thresh`;
    :obj:`n_sample` anchors per image are sampled without replacement, at most
    ``n_sample * fg_ratio`` of them foreground. Images without boxes give only
    background samples. Sampling uses :func:`numpy.random`.

    Losses: smooth L1 (:math:`\\beta = 1/9`) on foreground offsets and sigmoid
    cross entropy on the sampled objectness, each summed and divided by the
    number of samples of the image, then averaged over images.

    Args:
        locs (iterable of arrays): :math:`(N, K_l, 4)` per level.
        confs (iterable of arrays): :math:`(N, K_l)` per level.
        anchors (list of arrays): :meth:`RPN.anchors` output.
        sizes (list of tuples of two ints): :math:`(H_n, W_n)` per image.
        bboxes (list of arrays): :math:`(R_n, 4)` ground truth per image.
        fg_thresh (float): IoU threshold for foreground anchors.
        bg_thresh (float): IoU threshold for background anchors.
        n_sample (int): Sampled anchors per image.
        fg_ratio (float): Maximum foreground fraction of the samples.

    Returns:
        tuple of two variables:
        :obj:`loc_loss` and :obj:`conf_loss`.
    """
    locs = F.concat(locs)
    confs = F.concat(confs)
    xp = cuda.get_array_module(locs.array, confs.array)
    anchors = xp.concatenate(anchors, axis=0)

    loc_loss = 0
    conf_loss = 0
    for i in range(len(sizes)):
        bbox = bboxes[i]
        H, W = sizes[i]
        inside = ((anchors[:, 0] >= 0) & (anchors[:, 1] >= 0) &
                  (anchors[:, 2] <= H) & (anchors[:, 3] <= W))
        gt_label = xp.full(len(anchors), -1, dtype=np.int32)
        if len(bbox) > 0:
            iou = utils.bbox_iou(anchors, bbox)
            max_iou = iou.max(axis=1)
            iou_in = xp.where(inside[:, None], iou, -1)
            best = iou_in.max(axis=0)
            is_best = ((iou_in == best[None]) & (best[None] > 0)).any(axis=1)
            gt_label[inside & (max_iou >= fg_thresh)] = 1
            gt_label[is_best] = 1
            bg = inside & (max_iou < bg_thresh) & (gt_label != 1)
        else:
            bg = inside

        fg_index = xp.where(gt_label == 1)[0]
        n_fg = int(n_sample * fg_ratio)
        if len(fg_index) > n_fg:
            gt_label[choice(fg_index, size=len(fg_index) - n_fg)] = -1
        bg_index = xp.where(bg)[0]
        n_bg = n_sample - int((gt_label == 1).sum())
        if len(bg_index) > n_bg:
            bg_index = choice(bg_index, size=n_bg)
        gt_label[bg_index] = 0

        n_sample_i = int((gt_label >= 0).sum())
        if n_sample_i == 0:
            continue
        fg = gt_label == 1
        if int(fg.sum()) > 0:
            gt_loc = _encode_boxes(
                anchors[fg], bbox[iou[fg].argmax(axis=1)], (1, 1))
            loc_loss += F.sum(smooth_l1(
                locs[i][fg], gt_loc.astype(np.float32), 1 / 9)) / n_sample_i
        sampled = gt_label >= 0
        conf_loss += F.sum(F.sigmoid_cross_entropy(
            confs[i][sampled], gt_label[sampled], reduce='no')) / n_sample_i

    # keep the outputs Variables (connected to the graph) in degenerate cases
    loc_loss = loc_loss / len(sizes) + 0 * F.sum(locs)
    conf_loss = conf_loss / len(sizes) + 0 * F.sum(confs)
    return loc_loss, conf_loss
