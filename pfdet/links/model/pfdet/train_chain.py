"""Training chain of PFDet: RPN loss + head loss with co-occurrence ignores."""

from __future__ import division

import numpy as np

import chainer
from chainer.backends import cuda

from pfdet.links.model.pfdet.bbox_head import bbox_head_loss_post
from pfdet.links.model.pfdet.bbox_head import bbox_head_loss_pre
from pfdet.links.model.pfdet.bbox_head import make_head_targets
from pfdet.links.model.pfdet.bbox_head import matched_label_mask
from pfdet.links.model.pfdet.cooccurrence import _as_pairs_matrix
from pfdet.links.model.pfdet.cooccurrence import cooccurrence_ignore_mask
from pfdet.links.model.pfdet.cooccurrence import pseudo_box_ignore_mask
from pfdet.links.model.pfdet.cooccurrence import verified_part_weights
from pfdet.links.model.pfdet.faster_rcnn import pad_images
from pfdet.links.model.pfdet.rpn import rpn_loss


class PFDetTrainChain(chainer.Chain):
    """Computes the training loss of a :class:`~pfdet.links.PFDet`.

    The pattern of ChainerCV's ``examples/fpn`` train chain, with PFDet's
    changes: the batch is padded to the model's stride; the extractor runs in
    train mode unless the model's BN is ``'frozen'``; RPN loss
    (:func:`~pfdet.links.model.pfdet.rpn.rpn_loss`); proposals
    (:meth:`RPN.decode`) plus the ground-truth boxes are distributed to
    levels and sampled (:func:`bbox_head_loss_pre`); for the sigmoid
    classifier, hierarchy-expanded multi-hot targets over the labels of
    every box tied for the best IoU (:func:`matched_label_mask`,
    :func:`make_head_targets`: both hierarchy-expanded and non-expanded
    ground truth give the same targets) with co-occurrence ignores
    (:func:`cooccurrence_ignore_mask`); head loss
    (:func:`bbox_head_loss_post`).

    Reports ``loss``, ``loss/rpn/loc``, ``loss/rpn/conf``,
    ``loss/bbox_head/loc``, ``loss/bbox_head/conf`` with
    :func:`chainer.reporter.report`.

    Args:
        model (~pfdet.links.PFDet): The detector.
        ancestor_matrix (array): :math:`(C, C)` bool, ``M[i, j]``: class j
            is class i or one of its ancestors; targets become 1 for the
            label and its ancestors. :obj:`None`: leaf-only targets.
        cooccurrence_pairs (array): :math:`(C, C)` bool ``P[s, p]`` or
            :math:`(n, 2)` int (subject id, part id) pairs; :obj:`None`
            disables the co-occurrence loss. Needs the sigmoid classifier.
        cooc_ioa_thresh (float): Containment threshold of the ignore rule.
        cooc_unless_verified (bool): Do not ignore parts verified in the
            image (needs :obj:`img_labels` in :meth:`forward`).
        cooc_ignore_weight (float): Weight in [0, 1] of the entries the rule
            selects, as negatives: 0 (PFDet) ignores them; a soft variant
            keeps a fraction of their negative signal
            (:func:`bbox_head_loss_post`).
        cooc_pseudo_box_iou (float): :obj:`None` (PFDet): every entry the
            rule selects is ignored. A number in (0, 1]: only those with at
            least this IoU with one of the head's own pseudo-boxes (the
            candidates a greedy NMS by current score keeps) stay ignored,
            the others are negatives (:func:`pseudo_box_ignore_mask`; not in
            the sources).
        cooc_pseudo_box_min_score (float): :obj:`None`, or a probability in
            (0, 1) with :obj:`cooc_pseudo_box_iou`: only pseudo-boxes the head
            scores at least this high count, and the entries that overlap
            none of them stay ignored (PFDet's rule where the head has no
            confident guess yet).
        cooc_pair_weights (array): :obj:`None` (PFDet), or :math:`(C, C)`
            float ``W[s, p]`` >= 1: the entries the rule keeps for part
            :math:`p` inside a box of subject :math:`s`, in the images where
            :math:`p` is verified, weigh ``W[s, p]``, the inverse of the pair's
            annotation rate (:func:`verified_part_weights`; not in the
            sources). Needs :obj:`cooc_unless_verified`.
        head_n_sample (int): RoIs sampled per image for the head.
        head_fg_ratio (float): Maximum foreground fraction of the samples.
        head_fg_thresh (float): IoU of a foreground RoI (and of a positive
            in the ignore rule).
        conf_normalize ({'roi', 'entry'}): Normalisation of the sigmoid
            loss (:func:`bbox_head_loss_post`).
        rpn_n_sample (int): Anchors sampled per image for the RPN.

    """

    def __init__(self, model, ancestor_matrix=None, cooccurrence_pairs=None,
                 cooc_ioa_thresh=1.0, cooc_unless_verified=True,
                 cooc_ignore_weight=0., cooc_pseudo_box_iou=None,
                 cooc_pseudo_box_min_score=None, cooc_pair_weights=None,
                 head_n_sample=512,
                 head_fg_ratio=0.25, head_fg_thresh=0.5,
                 conf_normalize='roi', rpn_n_sample=256):
        super(PFDetTrainChain, self).__init__()
        with self.init_scope():
            self.model = model
        n_fg_class = model.bbox_head.n_fg_class
        sigmoid = model.bbox_head.classifier == 'sigmoid'
        if ancestor_matrix is not None:
            ancestor_matrix = np.asarray(
                cuda.to_cpu(ancestor_matrix), dtype=bool)
            if ancestor_matrix.shape != (n_fg_class, n_fg_class):
                raise ValueError(
                    'ancestor_matrix must have shape ({0}, {0}) for {0} '
                    'classes, not {1}'.format(
                        n_fg_class, ancestor_matrix.shape))
            if not sigmoid:
                raise ValueError(
                    "ancestor_matrix needs classifier='sigmoid' (softmax "
                    'targets are single-label)')
        if cooccurrence_pairs is not None:
            if not sigmoid:
                raise ValueError(
                    "the co-occurrence loss needs classifier='sigmoid'")
            cooccurrence_pairs = _as_pairs_matrix(
                cuda.to_cpu(cooccurrence_pairs), n_fg_class)
        if conf_normalize not in ('roi', 'entry'):
            raise ValueError(
                "conf_normalize must be 'roi' or 'entry', not {!r}".format(
                    conf_normalize))
        self.ancestor_matrix = ancestor_matrix
        self.cooccurrence_pairs = cooccurrence_pairs
        self.cooc_ioa_thresh = cooc_ioa_thresh
        self.cooc_unless_verified = cooc_unless_verified
        if not 0 <= cooc_ignore_weight <= 1:
            raise ValueError('cooc_ignore_weight must be in [0, 1], not {!r}'.format(
                cooc_ignore_weight))
        self.cooc_ignore_weight = float(cooc_ignore_weight)
        if cooc_pseudo_box_iou is not None and not 0 < cooc_pseudo_box_iou <= 1:
            raise ValueError('cooc_pseudo_box_iou must be None or in (0, 1], not {!r}'.format(
                cooc_pseudo_box_iou))
        self.cooc_pseudo_box_iou = cooc_pseudo_box_iou
        if cooc_pseudo_box_min_score is not None:
            if cooc_pseudo_box_iou is None:
                raise ValueError('cooc_pseudo_box_min_score needs cooc_pseudo_box_iou')
            if not 0 < cooc_pseudo_box_min_score < 1:
                raise ValueError('cooc_pseudo_box_min_score must be None or in (0, 1), '
                                 'not {!r}'.format(cooc_pseudo_box_min_score))
        self.cooc_pseudo_box_min_score = cooc_pseudo_box_min_score
        if cooc_pair_weights is not None:
            if cooccurrence_pairs is None:
                raise ValueError('cooc_pair_weights needs cooccurrence_pairs')
            if not cooc_unless_verified:
                raise ValueError('cooc_pair_weights needs cooc_unless_verified (the '
                                 'weighted entries are those of verified parts)')
            cooc_pair_weights = np.asarray(cuda.to_cpu(cooc_pair_weights),
                                           dtype=np.float32)
            if cooc_pair_weights.shape != (n_fg_class, n_fg_class):
                raise ValueError('cooc_pair_weights must have shape ({0}, {0}), not '
                                 '{1}'.format(n_fg_class, cooc_pair_weights.shape))
            if not np.isfinite(cooc_pair_weights).all() or (cooc_pair_weights < 0).any():
                raise ValueError('cooc_pair_weights must be finite and non-negative')
        self.cooc_pair_weights = cooc_pair_weights
        self.head_n_sample = head_n_sample
        self.head_fg_ratio = head_fg_ratio
        self.head_fg_thresh = head_fg_thresh
        self.conf_normalize = conf_normalize
        self.rpn_n_sample = rpn_n_sample

    def _check(self, imgs, bboxes, labels, img_labels):
        n_fg_class = self.model.bbox_head.n_fg_class
        if not (len(imgs) == len(bboxes) == len(labels)):
            raise ValueError(
                'imgs, bboxes and labels must have the same length: {}, {}, '
                '{}'.format(len(imgs), len(bboxes), len(labels)))
        if img_labels is not None and len(img_labels) != len(imgs):
            raise ValueError('img_labels must have one entry per image')
        if len(imgs) == 0:
            raise ValueError('empty batch')
        out_bboxes = []
        out_labels = []
        for i, (img, bbox, label) in enumerate(zip(imgs, bboxes, labels)):
            if img.ndim != 3 or img.shape[1] < 1 or img.shape[2] < 1:
                raise ValueError('image {}: expected (C, H, W), got {}'.format(
                    i, img.shape))
            bbox = self.xp.asarray(bbox, dtype=np.float32).reshape(-1, 4) \
                if len(bbox) else self.xp.zeros((0, 4), dtype=np.float32)
            label = self.xp.asarray(label)
            if label.ndim != 1 or len(label) != len(bbox):
                raise ValueError(
                    'image {}: {} boxes but labels of shape {}'.format(
                        i, len(bbox), label.shape))
            if len(label):
                if label.dtype.kind not in 'iu':
                    raise ValueError('image {}: labels must be integers, '
                                     'not {}'.format(i, label.dtype))
                bad = (label < 0) | (label >= n_fg_class)
                if bad.any():
                    raise ValueError(
                        'image {}: label {} outside [0, {}) (box {})'.format(
                            i, int(label[bad][0]), n_fg_class,
                            int(self.xp.where(bad)[0][0])))
                bad = (bbox[:, 2:] <= bbox[:, :2]).any(axis=1)
                if bad.any():
                    k = int(self.xp.where(bad)[0][0])
                    raise ValueError(
                        'image {}: box {} {} has no area (y_min, x_min, '
                        'y_max, x_max)'.format(i, k, cuda.to_cpu(bbox[k])))
            out_bboxes.append(bbox)
            out_labels.append(label.astype(np.int32))
        return out_bboxes, out_labels

    def forward(self, imgs, bboxes, labels, img_labels=None):
        """Computes the loss.

        Args:
            imgs (list of arrays): :math:`(3, H_n, W_n)` images, already
                resized and mean-subtracted.
            bboxes (list of arrays): :math:`(G_n, 4)` float32 boxes in the
                resized images, possibly empty.
            labels (list of arrays): :math:`(G_n,)` int32 in
                :math:`[0, C - 1]`.
            img_labels (list of arrays): Verified class ids per image (for
                the co-occurrence rule), or :obj:`None`.

        Returns:
            ~chainer.Variable: The total loss.
        """
        model = self.model
        bboxes, labels = self._check(imgs, bboxes, labels, img_labels)
        x, sizes = pad_images(
            [cuda.to_cpu(img) for img in imgs], model.stride)
        x = self.xp.asarray(x)
        B = len(imgs)

        with chainer.using_config(
                'train', getattr(model, 'bn', 'local') != 'frozen'):
            hs = model.extractor(x)
        rpn_locs, rpn_confs = model.rpn(hs)
        anchors = model.rpn.anchors([h.shape[2:] for h in hs])
        rpn_loc_loss, rpn_conf_loss = rpn_loss(
            rpn_locs, rpn_confs, anchors, sizes, bboxes,
            n_sample=self.rpn_n_sample)

        rois, roi_indices = model.rpn.decode(
            rpn_locs, rpn_confs, anchors, x.shape, sizes)
        rois = self.xp.concatenate([rois] + bboxes, axis=0)
        roi_indices = self.xp.concatenate(
            [roi_indices] +
            [self.xp.full(len(b), i, dtype=np.int32)
             for i, b in enumerate(bboxes)], axis=0)
        rois, roi_indices = model.bbox_head.distribute(rois, roi_indices)
        rois, roi_indices, gt_locs, gt_labels, _ = bbox_head_loss_pre(
            rois, roi_indices, model.bbox_head.std, bboxes, labels,
            n_sample=self.head_n_sample, fg_ratio=self.head_fg_ratio,
            fg_thresh=self.head_fg_thresh)

        head_locs, head_confs = model.bbox_head(hs, rois, roi_indices, sizes)
        targets = entry_weight = None
        if model.bbox_head.classifier == 'sigmoid':
            ignore = None
            if self.cooccurrence_pairs is not None:
                ignore = cooccurrence_ignore_mask(
                    rois, roi_indices, bboxes, labels,
                    self.cooccurrence_pairs, self.ancestor_matrix,
                    img_labels, ioa_thresh=self.cooc_ioa_thresh,
                    fg_thresh=self.head_fg_thresh,
                    unless_verified=self.cooc_unless_verified)
                if self.cooc_pseudo_box_iou is not None:
                    # logits order like scores; no gradient through the selection
                    ignore = pseudo_box_ignore_mask(
                        ignore, head_confs.array, rois, roi_indices,
                        iou_thresh=self.cooc_pseudo_box_iou,
                        min_score=_logit(self.cooc_pseudo_box_min_score))
                if self.cooc_pair_weights is not None:
                    entry_weight = verified_part_weights(
                        rois, roi_indices, bboxes, labels, self.cooc_pair_weights,
                        self.ancestor_matrix, img_labels,
                        ioa_thresh=self.cooc_ioa_thresh)
            matched = matched_label_mask(
                rois, roi_indices, gt_labels, bboxes, labels,
                model.bbox_head.n_fg_class)
            targets = make_head_targets(
                matched, model.bbox_head.n_fg_class, self.ancestor_matrix,
                ignore)

        head_loc_loss, head_conf_loss = bbox_head_loss_post(
            head_locs, head_confs, roi_indices, gt_locs, gt_labels, B,
            targets, self.conf_normalize, ignore_weight=self.cooc_ignore_weight,
            entry_weight=entry_weight)

        loss = rpn_loc_loss + rpn_conf_loss + head_loc_loss + head_conf_loss
        chainer.reporter.report({
            'loss': loss,
            'loss/rpn/loc': rpn_loc_loss,
            'loss/rpn/conf': rpn_conf_loss,
            'loss/bbox_head/loc': head_loc_loss,
            'loss/bbox_head/conf': head_conf_loss}, self)
        return loss


def _logit(p):
    """The logit of a probability (the head's scores are logits), or None."""
    return None if p is None else float(np.log(p) - np.log1p(-p))
