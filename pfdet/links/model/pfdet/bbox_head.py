"""Bounding box head of PFDet and its losses.

Shape shorthand: B = images, R = RoIs (all levels), R' = sampled RoIs,
C = foreground classes (``n_fg_class``), K = feature levels,
C_loc = columns of class-specific box regression (C for the sigmoid
classifier, C + 1 for softmax, column 0 being background).
"""

from __future__ import division

import numpy as np

import chainer
from chainer.backends import cuda
import chainer.functions as F
from chainer import initializers
import chainer.links as L

from chainercv.links.model.fpn.bbox_head import Caffe2FCUniform
from chainercv.links.model.fpn.misc import argsort
from chainercv.links.model.fpn.misc import choice
from chainercv.links.model.fpn.misc import smooth_l1
from chainercv import utils

from pfdet.functions import roi_average_align_2d
from pfdet.links.model.pfdet.rpn import _array
from pfdet.links.model.pfdet.rpn import _decode_boxes
from pfdet.links.model.pfdet.rpn import _encode_boxes
from pfdet.utils import non_maximum_suppression
from pfdet.utils import non_maximum_weighted


class PFDetBboxHead(chainer.Chain):
    """Bounding box head of PFDet.

    RoIAlign (7x7, sampling ratio 2) from the RoI's FPN level, an optional
    context branch, fc1 - [BN] - ReLU - fc2 - [BN] - ReLU, then a classifier
    and class-specific box regression.

    Differences from :class:`chainercv.links.model.fpn.BboxHead`:

    * :meth:`distribute` can use all levels (:obj:`n_pooled_level`);
      ChainerCV never pools the last one (P6).
    * Context head (paper Sec. 2, after CoupleNet): a box with the same
      centre whose sides are multiplied by :obj:`context_scale` (default
      :math:`\\sqrt{2}`, "twice the area"), clipped to the image, is pooled
      from the same level and concatenated on channels before fc1.
    * Optional BN after fc1 and fc2 ("add BN to head"; local
      :class:`chainer.links.BatchNormalization`: the head sees hundreds of
      RoIs per image).
    * Classifier ``'sigmoid'`` (C independent sigmoids, background = all
      zeros; the bias starts at :math:`-\\log((1 - \\pi) / \\pi)`,
      :math:`\\pi` = :obj:`conf_prior`) or ``'softmax'`` (C + 1 classes, the
      ChainerCV baseline).
    * :meth:`decode` uses per-class NMW (default) or NMS and caps the number
      of detections per image.

    Args:
        n_fg_class (int): The number of foreground classes C.
        scales (tuple of floats): The scales of the feature maps.
        classifier ({'sigmoid', 'softmax'}): The classification loss.
        n_pooled_level (int): RoIs are pooled from the first
            :obj:`n_pooled_level` levels. :obj:`None` means
            ``len(scales) - 1`` (ChainerCV).
        context (bool): Use the context branch.
        context_scale (float): Side multiplier of the context box.
        fc_channels (int): Width of fc1 and fc2.
        bn (bool): BN after fc1 and fc2.
        suppression ({'nmw', 'nms'}): Per-class suppression in
            :meth:`decode`.
        conf_prior (float): Initial foreground probability of the sigmoid
            classifier; :obj:`None` gives a zero bias.
        in_channels (int): Channels of the feature maps (:obj:`None`:
            inferred at the first call).

    """

    _canonical_scale = 224
    _canonical_stride = 16
    _roi_size = 7
    _roi_sample_ratio = 2
    std = (0.1, 0.2)

    def __init__(self, n_fg_class, scales, classifier='sigmoid',
                 n_pooled_level=None, context=False, context_scale=2 ** 0.5,
                 fc_channels=1024, bn=False, suppression='nmw',
                 conf_prior=0.01, in_channels=None):
        super(PFDetBboxHead, self).__init__()
        if classifier not in ('sigmoid', 'softmax'):
            raise ValueError(
                "classifier must be 'sigmoid' or 'softmax', not {!r}".format(
                    classifier))
        if suppression not in ('nmw', 'nms'):
            raise ValueError(
                "suppression must be 'nmw' or 'nms', not {!r}".format(
                    suppression))
        if n_pooled_level is None:
            n_pooled_level = len(scales) - 1
        if not 1 <= n_pooled_level <= len(scales):
            raise ValueError(
                'n_pooled_level must be in [1, {}], not {}'.format(
                    len(scales), n_pooled_level))
        if context_scale <= 0:
            raise ValueError('context_scale must be positive')

        self.n_fg_class = n_fg_class
        self.classifier = classifier
        self.suppression = suppression
        self.context = context
        self.context_scale = context_scale
        self.n_pooled_level = n_pooled_level
        self._scales = scales
        self._n_conf = n_fg_class if classifier == 'sigmoid' \
            else n_fg_class + 1
        # a 224-px RoI goes to the level of stride 16 (P4 of an FPN at 1/4)
        self._canonical_level = int(round(
            np.log2(self._canonical_stride * scales[0])))

        if in_channels is not None:
            fc1_in = in_channels * self._roi_size ** 2 * (2 if context else 1)
        else:
            fc1_in = None
        fc_init = {'initialW': Caffe2FCUniform()}
        if not bn:
            fc_init['initial_bias'] = Caffe2FCUniform()
        if classifier == 'sigmoid' and conf_prior is not None:
            conf_bias = -np.log((1 - conf_prior) / conf_prior)
        else:
            conf_bias = 0
        with self.init_scope():
            self.fc1 = L.Linear(fc1_in, fc_channels, nobias=bn, **fc_init)
            self.fc2 = L.Linear(fc_channels, fc_channels, nobias=bn,
                                **fc_init)
            if bn:
                self.bn1 = L.BatchNormalization(fc_channels)
                self.bn2 = L.BatchNormalization(fc_channels)
            self.loc = L.Linear(
                fc_channels, self._n_conf * 4,
                initialW=initializers.Normal(0.001))
            self.conf = L.Linear(
                fc_channels, self._n_conf,
                initialW=initializers.Normal(0.01),
                initial_bias=initializers.Constant(conf_bias))
        self._bn = bn
        self.use_preset('visualize')

    def use_preset(self, preset):
        """Sets :obj:`nms_thresh`, :obj:`score_thresh`, :obj:`max_n_detection`.

        * ``'visualize'``: score >= 0.5, IoU 0.55 (NMW) / 0.5 (NMS), at most
          100 detections per image.
        * ``'evaluate'``: score >= 0.01 (sigmoid) / 0.05 (softmax), same IoU,
          at most 100 detections per image.
        """
        iou = 0.55 if self.suppression == 'nmw' else 0.5
        if preset == 'visualize':
            self.nms_thresh = iou
            self.score_thresh = 0.5
            self.max_n_detection = 100
        elif preset == 'evaluate':
            self.nms_thresh = iou
            self.score_thresh = 0.01 if self.classifier == 'sigmoid' \
                else 0.05
            self.max_n_detection = 100
        else:
            raise ValueError(
                "preset must be 'visualize' or 'evaluate', not {!r}".format(
                    preset))

    def forward(self, hs, rois, roi_indices, sizes=None):
        """Computes box offsets and class scores of RoIs.

        Args:
            hs (list of arrays): Feature maps, one per level.
            rois (list of arrays): :math:`(R_l, 4)` per level
                (:meth:`distribute` output).
            roi_indices (list of arrays): :math:`(R_l,)` per level.
            sizes (list of tuples of two ints): :math:`(H_n, W_n)` of the
                images in input coordinates, used to clip context boxes;
                :obj:`None` clips them to the padded input.

        Returns:
            tuple of two variables:

            * **locs**: :math:`(R, C_{loc}, 4)`.
            * **confs**: :math:`(R, C_{loc})`, logits. The RoIs of all levels
              are concatenated in level order.
        """
        pooled = []
        for l, h in enumerate(hs):
            if l >= len(rois) or len(rois[l]) == 0:
                continue
            if l >= self.n_pooled_level:
                raise ValueError(
                    'RoIs given for level {} but only {} levels are '
                    'pooled'.format(l, self.n_pooled_level))
            scale = self._scales[l]
            x = roi_average_align_2d(
                h, rois[l], roi_indices[l], self._roi_size, scale,
                self._roi_sample_ratio)
            if self.context:
                if sizes is None:
                    upper = self.xp.array(
                        [s / scale for s in h.shape[2:]], dtype=np.float32)
                    upper = self.xp.broadcast_to(upper, (len(rois[l]), 2))
                else:
                    upper = self.xp.array(sizes, dtype=np.float32)[
                        roi_indices[l]]
                ctx = context_boxes(rois[l], self.context_scale, upper)
                x_ctx = roi_average_align_2d(
                    h, ctx, roi_indices[l], self._roi_size, scale,
                    self._roi_sample_ratio)
                x = F.concat((x, x_ctx), axis=1)
            pooled.append(x)

        if len(pooled) == 0:
            locs = chainer.Variable(
                self.xp.empty((0, self._n_conf, 4), dtype=np.float32))
            confs = chainer.Variable(
                self.xp.empty((0, self._n_conf), dtype=np.float32))
            return locs, confs

        h = F.concat(pooled, axis=0)
        h = F.reshape(h, (h.shape[0], -1))
        h = self.fc1(h)
        if self._bn:
            h = self.bn1(h)
        h = F.relu(h)
        h = self.fc2(h)
        if self._bn:
            h = self.bn2(h)
        h = F.relu(h)
        locs = F.reshape(self.loc(h), (h.shape[0], -1, 4))
        confs = self.conf(h)
        return locs, confs

    def distribute(self, rois, roi_indices):
        """Assigns RoIs to feature levels by size.

        level = clip(floor(log2(sqrt(wh) / 224 + 1e-6)) + l_0, 0,
        n_pooled_level - 1), where :math:`l_0` is the level of stride 16.

        Args:
            rois (array): :math:`(R, 4)`.
            roi_indices (array): :math:`(R,)`.

        Returns:
            tuple of two lists of length K:
            :obj:`rois` (:math:`(R_l, 4)` each) and :obj:`roi_indices`
            (:math:`(R_l,)` each); levels that are not pooled get empty
            arrays.
        """
        level = self.roi_levels(rois)
        masks = [level == l for l in range(len(self._scales))]
        return ([rois[m] for m in masks], [roi_indices[m] for m in masks])

    def roi_levels(self, rois):
        """Level index of each RoI (see :meth:`distribute`)."""
        xp = cuda.get_array_module(rois)
        hw = xp.maximum(rois[:, 2:] - rois[:, :2], 0)
        size = xp.sqrt(hw[:, 0] * hw[:, 1])
        level = xp.floor(xp.log2(
            size / self._canonical_scale + 1e-6)).astype(np.int32)
        return xp.clip(
            level + self._canonical_level, 0, self.n_pooled_level - 1)

    def decode(self, rois, roi_indices, locs, confs, scales, sizes,
               nms_thresh=None, score_thresh=None, max_n_detection=None):
        """Decodes head outputs to detections in original image coordinates.

        Scores are :math:`\\sigma` of the logits (sigmoid classifier) or the
        softmax without the background column. Every (RoI, class) pair with
        score >= :obj:`score_thresh` is a candidate; candidates go through
        per-class NMW or NMS, and the :obj:`max_n_detection` best remain.

        Args:
            rois (list of arrays): :math:`(R_l, 4)` per level.
            roi_indices (list of arrays): :math:`(R_l,)` per level.
            locs (array): :math:`(R, C_{loc}, 4)`.
            confs (array): :math:`(R, C_{loc})`.
            scales (list of floats): Resize factor of each image.
            sizes (list of tuples of two ints): Original :math:`(H, W)`.
            nms_thresh (float): IoU threshold of the suppression
                (:obj:`None`: the attribute).
            score_thresh (float): Score threshold (:obj:`None`: attribute).
            max_n_detection (int): Cap per image (:obj:`None`: attribute;
                the attribute :obj:`None` means no cap).

        Returns:
            tuple of three lists (one entry per image):
            :obj:`bboxes` :math:`(R'_n, 4)` float32, :obj:`labels`
            :math:`(R'_n,)` int32 in :math:`[0, C - 1]`, :obj:`scores`
            :math:`(R'_n,)` float32, sorted by decreasing score.
        """
        if nms_thresh is None:
            nms_thresh = self.nms_thresh
        if score_thresh is None:
            score_thresh = self.score_thresh
        if max_n_detection is None:
            max_n_detection = self.max_n_detection
        xp = self.xp
        rois = xp.concatenate(list(rois), axis=0).astype(np.float32)
        roi_indices = xp.concatenate(list(roi_indices), axis=0)
        locs = _array(locs)
        confs = _array(confs)
        if self.classifier == 'sigmoid':
            prob = 1 / (1 + xp.exp(-confs))
        else:
            prob = F.softmax(confs).array[:, 1:]
            locs = locs[:, 1:]

        bboxes = []
        labels = []
        scores = []
        for i in range(len(scales)):
            mask = roi_indices == i
            roi = rois[mask] / scales[i]
            bbox = _decode_boxes(roi[:, None], locs[mask], self.std)
            bbox[..., :2] = xp.maximum(bbox[..., :2], 0)
            bbox[..., 2:] = xp.minimum(
                bbox[..., 2:], xp.array(sizes[i], dtype=np.float32))
            prob_i = prob[mask]
            r, c = xp.where(prob_i >= score_thresh)
            bbox = bbox[r, c].astype(np.float32)
            score = prob_i[r, c].astype(np.float32)
            label = c.astype(np.int32)
            valid = (bbox[:, 2:] > bbox[:, :2]).all(axis=1)
            bbox, score, label = _suppress(
                bbox[valid], score[valid], label[valid], self.suppression,
                nms_thresh)
            order = argsort(-score)
            if max_n_detection is not None:
                order = order[:max_n_detection]
            bboxes.append(bbox[order].astype(np.float32))
            labels.append(label[order].astype(np.int32))
            scores.append(score[order].astype(np.float32))
        return bboxes, labels, scores


def context_boxes(rois, context_scale, upper):
    """Same-centre boxes with sides multiplied by :obj:`context_scale`.

    Args:
        rois (array): :math:`(R, 4)`.
        context_scale (float): Side multiplier (:math:`\\sqrt{2}` doubles the
            area).
        upper (array): :math:`(R, 2)` image :math:`(H, W)` to clip to.

    Returns:
        array: :math:`(R, 4)` float32, clipped to :math:`[0, H] \\times
        [0, W]`.
    """
    xp = cuda.get_array_module(rois)
    yx = (rois[:, :2] + rois[:, 2:]) / 2
    half = (rois[:, 2:] - rois[:, :2]) * (context_scale / 2)
    ctx = xp.concatenate(
        (xp.maximum(yx - half, 0), xp.minimum(yx + half, upper)), axis=1)
    return ctx.astype(np.float32)


def _suppress(bbox, score, label, method, thresh):
    if len(bbox) == 0:
        return bbox, score, label
    if method == 'nmw':
        out = non_maximum_weighted(bbox, score, label, iou_thresh=thresh)
    else:
        out = non_maximum_suppression(bbox, score, label, iou_thresh=thresh)
    return out[0], out[1], out[2]


def bbox_head_loss_pre(rois, roi_indices, std, bboxes, labels, n_sample=512,
                       fg_ratio=0.25, fg_thresh=0.5):
    """Samples RoIs and assigns targets for the head (no graph).

    A parameterised version of ChainerCV's :func:`bbox_head_loss_pre` that
    also returns the matched ground-truth index. A RoI is foreground when its
    maximum IoU with the image's boxes is at least :obj:`fg_thresh`,
    background otherwise; per image at most ``n_sample * fg_ratio``
    foreground and ``n_sample`` in total are sampled without replacement
    (:func:`numpy.random`). Images without boxes give only background.

    Args:
        rois (list of arrays): :math:`(R_l, 4)` per level.
        roi_indices (list of arrays): :math:`(R_l,)` per level.
        std (tuple of floats): Offset normalisation (:obj:`PFDetBboxHead.std`).
        bboxes (list of arrays): :math:`(G_n, 4)` per image.
        labels (list of arrays): :math:`(G_n,)` int32 per image.
        n_sample (int): RoIs sampled per image.
        fg_ratio (float): Maximum foreground fraction.
        fg_thresh (float): IoU threshold of foreground.

    Returns:
        tuple of five lists (one array per level, sampled RoIs only):

        * **rois**: :math:`(R'_l, 4)`.
        * **roi_indices**: :math:`(R'_l,)`.
        * **gt_locs**: :math:`(R'_l, 4)` encoded offsets (zeros for
          background).
        * **gt_labels**: :math:`(R'_l,)` int32, label + 1 for foreground and
          0 for background (ChainerCV's convention).
        * **gt_indices**: :math:`(R'_l,)` int32, index of the matched box in
          ``bboxes[n]`` for foreground, -1 for background.
    """
    xp = cuda.get_array_module(*rois)
    n_level = len(rois)
    roi_levels = xp.concatenate(
        [xp.full(len(rois[l]), l, dtype=np.int32) for l in range(n_level)])
    rois = xp.concatenate(rois, axis=0).astype(np.float32)
    roi_indices = xp.concatenate(roi_indices, axis=0).astype(np.int32)

    gt_locs = xp.zeros_like(rois)
    gt_labels = xp.full(len(rois), -1, dtype=np.int32)
    gt_indices = xp.full(len(rois), -1, dtype=np.int32)
    n_fg_max = int(n_sample * fg_ratio)
    for i in np.unique(cuda.to_cpu(roi_indices)):
        index = xp.where(roi_indices == i)[0]
        bbox = xp.asarray(bboxes[i]).reshape(-1, 4).astype(np.float32)
        gt_label = xp.zeros(len(index), dtype=np.int32)
        gt_index = xp.full(len(index), -1, dtype=np.int32)
        if len(bbox) > 0:
            iou = utils.bbox_iou(rois[index], bbox)
            argmax = iou.argmax(axis=1).astype(np.int32)
            fg = iou.max(axis=1) >= fg_thresh
            label = xp.asarray(labels[i]).astype(np.int32)
            gt_label[fg] = label[argmax[fg]] + 1
            gt_index[fg] = argmax[fg]
            if int(fg.sum()) > 0:
                gt_locs[index[fg]] = _encode_boxes(
                    rois[index[fg]], bbox[argmax[fg]], std)

        fg_index = xp.where(gt_label > 0)[0]
        if len(fg_index) > n_fg_max:
            gt_label[choice(fg_index, size=len(fg_index) - n_fg_max)] = -1
        bg_index = xp.where(gt_label == 0)[0]
        n_bg = n_sample - int((gt_label > 0).sum())
        if len(bg_index) > n_bg:
            gt_label[choice(bg_index, size=len(bg_index) - n_bg)] = -1
        gt_labels[index] = gt_label
        gt_indices[index] = xp.where(gt_label > 0, gt_index, -1)

    keep = gt_labels >= 0
    outputs = [a[keep] for a in
               (rois, roi_indices, gt_locs, gt_labels, gt_indices)]
    roi_levels = roi_levels[keep]
    masks = [roi_levels == l for l in range(n_level)]
    return tuple([a[m] for m in masks] for a in outputs)


def make_head_targets(gt_labels, n_fg_class, ancestor_matrix=None,
                      ignore_mask=None):
    """Builds multi-hot sigmoid targets, hierarchy-expanded, with ignores.

    For a foreground RoI matched to a box of class :math:`\\ell`,
    :math:`t_c = 1` for :math:`c = \\ell` and every ancestor of
    :math:`\\ell` (``ancestor_matrix[l, c]``); all other entries and all
    background rows are 0. Entries where :obj:`ignore_mask` is true and the
    target is 0 become -1 (ignored by the loss); positives are never ignored.

    Args:
        gt_labels (array or list of arrays): :math:`(R',)` int32,
            :func:`bbox_head_loss_pre` convention (label + 1, 0 =
            background), a list of them (concatenated), or an
            :math:`(R', C)` bool matrix of matched labels
            (:func:`matched_label_mask`, several labels per RoI).
        n_fg_class (int): C.
        ancestor_matrix (array): :math:`(C, C)` bool, ``M[i, j]``: class j
            is class i or an ancestor of i. :obj:`None`: identity (leaf-only
            targets).
        ignore_mask (array): :math:`(R', C)` bool or :obj:`None`.

    Returns:
        array: :math:`(R', C)` int32 in {-1, 0, 1}.
    """
    if isinstance(gt_labels, (list, tuple)):
        xp = cuda.get_array_module(*gt_labels)
        gt_labels = xp.concatenate(gt_labels, axis=0)
    xp = cuda.get_array_module(gt_labels)
    if ancestor_matrix is None:
        table = xp.eye(n_fg_class, dtype=np.int32)
    else:
        ancestor_matrix = xp.asarray(ancestor_matrix)
        if ancestor_matrix.shape != (n_fg_class, n_fg_class):
            raise ValueError(
                'ancestor_matrix must have shape ({0}, {0}), not {1}'.format(
                    n_fg_class, ancestor_matrix.shape))
        table = ancestor_matrix.astype(np.int32)
    if gt_labels.ndim == 2:
        if gt_labels.shape[1] != n_fg_class:
            raise ValueError('a label matrix must have {} columns, not '
                             '{}'.format(n_fg_class, gt_labels.shape[1]))
        targets = (gt_labels.astype(np.int32).dot(table) > 0).astype(
            np.int32)
    else:
        gt_labels = gt_labels.astype(np.int32)
        if len(gt_labels) and (gt_labels.min() < 0 or
                               gt_labels.max() > n_fg_class):
            raise ValueError(
                'gt_labels must be in [0, {}] (label + 1, 0 = background)'
                .format(n_fg_class))
        table = xp.concatenate(
            (xp.zeros((1, n_fg_class), dtype=np.int32), table), axis=0)
        targets = table[gt_labels]
    if ignore_mask is not None:
        ignore_mask = xp.asarray(ignore_mask)
        if ignore_mask.shape != targets.shape:
            raise ValueError(
                'ignore_mask must have shape {}, not {}'.format(
                    targets.shape, ignore_mask.shape))
        targets[ignore_mask & (targets == 0)] = -1
    return targets


def matched_label_mask(rois, roi_indices, gt_labels, bboxes, labels,
                       n_fg_class, tol=1e-6):
    """Labels of all boxes tied for the best IoU with each foreground RoI.

    A hierarchy-expanded ground truth repeats a box with the labels of its
    ancestors (a Man box is also a Person box). :func:`bbox_head_loss_pre`
    matches a RoI to one of the copies; this function returns every label of
    the boxes whose IoU with the RoI equals the best one (within
    :obj:`tol`), so that duplicated boxes give the union of their labels
    instead of contradictory targets.

    Args:
        rois (array or list of arrays): :math:`(R', 4)` sampled RoIs.
        roi_indices (array or list of arrays): :math:`(R',)`.
        gt_labels (array or list of arrays): :math:`(R',)`
            (:func:`bbox_head_loss_pre` convention); background rows stay
            empty.
        bboxes (list of arrays): :math:`(G_n, 4)` per image.
        labels (list of arrays): :math:`(G_n,)` per image.
        n_fg_class (int): C.
        tol (float): IoU tolerance of a tie.

    Returns:
        array: :math:`(R', C)` bool.
    """
    if isinstance(rois, (list, tuple)):
        xp = cuda.get_array_module(*rois)
        rois = xp.concatenate(rois, axis=0)
        roi_indices = xp.concatenate(roi_indices, axis=0)
        gt_labels = xp.concatenate(gt_labels, axis=0)
    xp = cuda.get_array_module(rois)
    mask = xp.zeros((len(rois), n_fg_class), dtype=bool)
    fg = cuda.to_cpu(gt_labels) > 0
    roi_indices_cpu = cuda.to_cpu(roi_indices)
    for i in np.unique(roi_indices_cpu[fg]):
        index = xp.asarray(np.where(fg & (roi_indices_cpu == i))[0])
        bbox = xp.asarray(bboxes[i]).reshape(-1, 4).astype(np.float32)
        label = xp.asarray(labels[i]).astype(np.int32)
        iou = utils.bbox_iou(rois[index].astype(np.float32), bbox)
        tied = iou >= iou.max(axis=1, keepdims=True) - tol
        onehot = xp.eye(n_fg_class, dtype=np.int32)[label]
        mask[index] = tied.astype(np.int32).dot(onehot) > 0
    return mask


def bbox_head_loss_post(locs, confs, roi_indices, gt_locs, gt_labels,
                        batchsize, targets=None, conf_normalize='roi',
                        ignore_weight=0., entry_weight=None):
    """Head losses (differentiable part).

    * Localisation: smooth L1 (:math:`\\beta = 1`) on the ground-truth class
      column of foreground RoIs, divided by the number of sampled RoIs of the
      image.
    * Classification, :obj:`targets` given (sigmoid classifier):
      :func:`chainer.functions.sigmoid_cross_entropy` per entry; entries with
      target -1 contribute 0 to loss and gradient (with :obj:`ignore_weight`
      :math:`w > 0`: they are negatives of weight :math:`w`). Normalisation
      (:obj:`conf_normalize`):

      * ``'roi'`` (default): sum over classes and RoIs divided by the number
        of sampled RoIs of the image, as detectron2 and mmdetection do for
        sigmoid heads; the magnitude matches the softmax loss.
      * ``'entry'``: divided by the number of non-ignored entries of the
        image (``normalize=True`` of Chainer; an entry of weight :math:`w`
        counts :math:`w`); weaker by a factor C.

      PFDet's choice is not published.
    * Classification, :obj:`targets` is :obj:`None` (softmax classifier):
      softmax cross entropy on :obj:`gt_labels`, averaged per image
      (ChainerCV).

    Both terms are averaged over the :obj:`batchsize` images.

    Args:
        locs (~chainer.Variable): :math:`(R', C_{loc}, 4)`.
        confs (~chainer.Variable): :math:`(R', C_{loc})`.
        roi_indices (list of arrays): :func:`bbox_head_loss_pre` output.
        gt_locs (list of arrays): :func:`bbox_head_loss_pre` output.
        gt_labels (list of arrays): :func:`bbox_head_loss_pre` output.
        batchsize (int): The number of images B.
        targets (array): :math:`(R', C)` int32 in {-1, 0, 1}
            (:func:`make_head_targets`), or :obj:`None` for softmax.
        conf_normalize ({'roi', 'entry'}): See above.
        ignore_weight (float): Weight in [0, 1] of the entries with target -1,
            as negatives: 0 ignores them (PFDet's co-occurrence loss), 1
            makes them plain negatives (no co-occurrence loss).
        entry_weight (array): :math:`(R', C)` non-negative weights of the
            entries with target 0 or 1 (sigmoid classifier only), e.g. the
            inverse annotation rates of
            :func:`~pfdet.links.model.pfdet.cooccurrence.verified_part_weights`;
            :obj:`None`: 1.

    Returns:
        tuple of two variables: :obj:`loc_loss` and :obj:`conf_loss`.
    """
    if conf_normalize not in ('roi', 'entry'):
        raise ValueError(
            "conf_normalize must be 'roi' or 'entry', not {!r}".format(
                conf_normalize))
    if not 0 <= ignore_weight <= 1:
        raise ValueError('ignore_weight must be in [0, 1], not {!r}'.format(
            ignore_weight))
    xp = cuda.get_array_module(locs.array, confs.array)
    roi_indices = xp.concatenate(roi_indices, axis=0).astype(np.int32)
    gt_locs = xp.concatenate(gt_locs, axis=0).astype(np.float32)
    gt_labels = xp.concatenate(gt_labels, axis=0).astype(np.int32)
    if len(roi_indices) != locs.shape[0]:
        raise ValueError('locs and roi_indices disagree: {} vs {}'.format(
            locs.shape[0], len(roi_indices)))
    if len(roi_indices) == 0:
        return 0 * F.sum(locs), 0 * F.sum(confs)

    counts = xp.bincount(roi_indices, minlength=batchsize)
    weight = (1 / counts[roi_indices]).astype(np.float32)

    fg = xp.where(gt_labels > 0)[0]
    if targets is None:
        col = gt_labels[fg]
    else:
        col = gt_labels[fg] - 1
    if len(fg) > 0:
        loc_loss = F.sum(
            smooth_l1(locs[fg, col], gt_locs[fg], 1) *
            weight[fg][:, None]) / batchsize
    else:
        loc_loss = 0 * F.sum(locs)

    if targets is None:
        conf_loss = F.sum(F.softmax_cross_entropy(
            confs, gt_labels, reduce='no') * weight) / batchsize
    else:
        targets = xp.asarray(targets).astype(np.int32)
        if targets.shape != confs.shape:
            raise ValueError('targets must have shape {}, not {}'.format(
                confs.shape, targets.shape))
        # an entry with target -1 is a negative of weight ignore_weight (0: ignored)
        entry_w = xp.where(targets < 0, np.float32(ignore_weight),
                           np.float32(1)).astype(np.float32)
        if entry_weight is not None:
            entry_weight = xp.asarray(entry_weight, dtype=np.float32)
            if entry_weight.shape != confs.shape:
                raise ValueError('entry_weight must have shape {}, not {}'.format(
                    confs.shape, entry_weight.shape))
            if (entry_weight < 0).any():
                raise ValueError('entry_weight must be non-negative')
            entry_w = xp.where(targets < 0, entry_w, entry_weight)
        loss = F.sigmoid_cross_entropy(
            confs, xp.maximum(targets, 0), reduce='no') * entry_w
        if conf_normalize == 'roi':
            w = weight[:, None]
        else:
            valid = entry_w.sum(axis=1)
            n_valid = xp.bincount(
                roi_indices, weights=valid, minlength=batchsize)
            w = (1 / xp.maximum(n_valid, 1))[roi_indices][:, None]
            w = w.astype(np.float32)
        conf_loss = F.sum(loss * w) / batchsize
    return loc_loss, conf_loss
