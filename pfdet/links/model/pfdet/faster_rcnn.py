"""Two-stage FPN detector base class (ChainerCV FasterRCNN-compatible)."""

from __future__ import division

import numpy as np

import chainer
from chainer.backends import cuda

from chainercv.links.model.fpn.misc import scale_img


class FasterRCNN(chainer.Chain):
    """Base class of Faster R-CNN with FPN for PFDet.

    Same interface as :class:`chainercv.links.model.fpn.FasterRCNN`
    (:meth:`prepare`, :meth:`predict`, :meth:`use_preset`), without masks.
    Differences: the batch is padded to a multiple of the coarsest stride of
    the extractor (ChainerCV: always 32), RPN proposals and context boxes are
    clipped to each image rather than to the padded batch, and the
    thresholds live in the head (:obj:`nms_thresh`, :obj:`score_thresh`,
    :obj:`max_n_detection` are forwarded to it).

    Images whose shorter side is below :obj:`min_size` are upscaled, exactly
    like larger ones are downscaled: the shorter side becomes
    :obj:`min_size` unless the longer side would exceed :obj:`max_size`.

    Args:
        extractor (~chainer.Link): Has :meth:`forward` (a batch to a list of
            K feature maps), :obj:`scales` and :obj:`mean`.
        rpn (~chainer.Link): A :class:`~pfdet.links.model.pfdet.rpn.RPN`.
        bbox_head (~chainer.Link): A :class:`~pfdet.links.model.pfdet.\
bbox_head.PFDetBboxHead`.
        min_size (int): Target length of the shorter side.
        max_size (int): Maximum length of the longer side.

    """

    def __init__(self, extractor, rpn, bbox_head, min_size=800,
                 max_size=1333):
        super(FasterRCNN, self).__init__()
        with self.init_scope():
            self.extractor = extractor
            self.rpn = rpn
            self.bbox_head = bbox_head
        self.min_size = min_size
        self.max_size = max_size
        self.use_preset('visualize')

    @property
    def stride(self):
        """Padding multiple: the coarsest stride of the extractor."""
        return int(round(1 / min(self.extractor.scales)))

    @property
    def n_fg_class(self):
        return self.bbox_head.n_fg_class

    def _get_head_attr(name):
        return property(
            lambda self: getattr(self.bbox_head, name),
            lambda self, value: setattr(self.bbox_head, name, value))

    nms_thresh = _get_head_attr('nms_thresh')
    score_thresh = _get_head_attr('score_thresh')
    max_n_detection = _get_head_attr('max_n_detection')
    del _get_head_attr

    def use_preset(self, preset):
        """Use the given preset during prediction.

        Args:
            preset ({'visualize', 'evaluate'}): See
                :meth:`PFDetBboxHead.use_preset`.
        """
        self.bbox_head.use_preset(preset)

    def forward(self, x, sizes=None):
        """RoIs of a prepared batch (inference mode).

        Args:
            x (array): :math:`(B, 3, H, W)` prepared batch.
            sizes (list of tuples of two ints): Image sizes inside the
                padded batch (:obj:`None`: the whole batch).

        Returns:
            tuple: :obj:`hs` (list of K feature maps), :obj:`rois`
            :math:`(R, 4)` and :obj:`roi_indices` :math:`(R,)`.
        """
        hs = self.extractor(x)
        rpn_locs, rpn_confs = self.rpn(hs)
        anchors = self.rpn.anchors([h.shape[2:] for h in hs])
        rois, roi_indices = self.rpn.decode(
            rpn_locs, rpn_confs, anchors, x.shape, sizes)
        return hs, rois, roi_indices

    def predict(self, imgs):
        """Detects objects in images.

        Args:
            imgs (iterable of numpy.ndarray): Images.

        Returns:
            tuple of three lists: :obj:`bboxes`, :obj:`labels`,
            :obj:`scores`, one entry per image, in original image coordinates
            and sorted by decreasing score.

        .. csv-table::
            :header: Input name, shape, dtype, format

            :obj:`imgs`, ":math:`[(3, H, W)]`", :obj:`float32`, \
            "RGB, :math:`[0, 255]`"

        .. csv-table::
            :header: Output name, shape, dtype, format

            :obj:`bboxes`, ":math:`[(R, 4)]`", :obj:`float32`, \
            ":math:`(y_{min}, x_{min}, y_{max}, x_{max})`"
            :obj:`labels`, ":math:`[(R,)]`", :obj:`int32`, \
            ":math:`[0, \\#fg\\_class - 1]`"
            :obj:`scores`, ":math:`[(R,)]`", :obj:`float32`, \
            ":math:`[0, 1]`"

        """
        imgs = list(imgs)
        if len(imgs) == 0:
            return [], [], []
        sizes = [img.shape[1:] for img in self._check_imgs(imgs)]
        x, scales, in_sizes = self._prepare(imgs)
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            hs, rois, roi_indices = self.forward(x, in_sizes)
            rois, roi_indices = self.bbox_head.distribute(rois, roi_indices)
            locs, confs = self.bbox_head(hs, rois, roi_indices, in_sizes)
        bboxes, labels, scores = self.bbox_head.decode(
            rois, roi_indices, locs, confs, scales, sizes)
        return ([cuda.to_cpu(b) for b in bboxes],
                [cuda.to_cpu(l) for l in labels],
                [cuda.to_cpu(s) for s in scores])

    @staticmethod
    def _check_imgs(imgs):
        for i, img in enumerate(imgs):
            shape = getattr(img, 'shape', None)
            if shape is None or len(shape) != 3 or shape[0] != 3 or \
                    shape[1] < 1 or shape[2] < 1:
                raise ValueError(
                    'image {}: expected a (3, H, W) array with H, W >= 1, '
                    'got shape {}'.format(i, shape))
        return imgs

    def prepare(self, imgs):
        """Resizes, subtracts the mean and pads images into a batch.

        Args:
            imgs (iterable of numpy.ndarray): CHW RGB images in [0, 255].

        Returns:
            tuple: the :math:`(B, 3, H, W)` float32 batch (on the link's
            device) and the list of resize factors.
        """
        x, scales, _ = self._prepare(list(imgs))
        return x, scales

    def _prepare(self, imgs):
        self._check_imgs(imgs)
        resized = []
        scales = []
        for img in imgs:
            img, scale = scale_img(
                cuda.to_cpu(img).astype(np.float32), self.min_size,
                self.max_size)
            resized.append(img - self.extractor.mean)
            scales.append(scale)
        x, sizes = pad_images(resized, self.stride)
        return self.xp.asarray(x), scales, sizes


def pad_images(imgs, stride):
    """Zero-pads CHW images into one batch of a multiple of :obj:`stride`.

    Args:
        imgs (list of numpy.ndarray): :math:`(C, H_n, W_n)` images.
        stride (int): The padding multiple.

    Returns:
        tuple: :math:`(B, C, H, W)` float32 numpy array and the list of
        :math:`(H_n, W_n)`.
    """
    sizes = [tuple(int(s) for s in img.shape[1:]) for img in imgs]
    H, W = np.max(np.array(sizes), axis=0)
    H = int(np.ceil(H / stride) * stride)
    W = int(np.ceil(W / stride) * stride)
    x = np.zeros((len(imgs), imgs[0].shape[0], H, W), dtype=np.float32)
    for i, img in enumerate(imgs):
        x[i, :, :img.shape[1], :img.shape[2]] = cuda.to_cpu(img)
    return x, sizes
