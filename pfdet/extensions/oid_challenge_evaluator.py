import copy

from chainer import reporter
import chainer.training.extensions

from chainercv.utils import apply_to_iterator

from pfdet.evaluations import eval_detection_oid


class OIDChallengeEvaluator(chainer.training.extensions.Evaluator):

    """An extension that evaluates a detector by the Open Images metric.

    This extension iterates over an iterator, predicts with the target's
    :meth:`predict` and evaluates the predictions with
    :func:`pfdet.evaluations.eval_detection_oid` (the Open Images Challenge
    2018/2019 detection metric: verified image-level labels, group-of boxes,
    VOC all-points AP). It reports the following values.
    :obj:`'ap/<label_names[l]>'` is reported only if :obj:`label_names` is
    given.

    * :obj:`'map'`: The mean of the APs of the classes that have at least \
        one ground-truth box.
    * :obj:`'ap/<label_names[l]>'`: The AP of class :obj:`label_names[l]`, \
        or :obj:`numpy.nan` if it has no ground-truth box.

    With a ChainerMN communicator, the root worker iterates, the batches are
    scattered and predicted on every worker, and the predictions are
    gathered at the root, which computes the metric once over all images.
    The result is therefore identical to a single-process evaluation (not a
    mean of per-worker mAPs). Non-root workers report nothing (``{}``).

    Args:
        iterator (chainer.Iterator): An iterator. Each sample is a tuple
            :obj:`img, bbox, label, is_group_of, img_label`: an image,
            its ground-truth boxes, their labels, their group-of flags and
            the verified (positive and negative) class ids of the image,
            all hierarchy-expanded (see
            :class:`pfdet.datasets.OpenImagesBboxDataset`). Samples
            :obj:`img, bbox, label, is_group_of` (only the classes of the
            boxes are verified) and :obj:`img, bbox, label` (no group-of box
            either) are accepted too. With :obj:`comm`, only the root
            worker's iterator is used; the others may pass :obj:`None`.
        target (chainer.Link): A detection link with a :meth:`predict`
            method that takes a list of images and returns :obj:`bboxes`,
            :obj:`labels` and :obj:`scores` (ChainerCV convention).
        label_names (iterable of str): Names of the classes. If given, the
            number of classes is :obj:`len(label_names)` and per-class APs
            are reported as :obj:`'ap/<name>'`.
        comm (~chainermn.communicators.CommunicatorBase): A ChainerMN
            communicator, or :obj:`None`.

    """

    trigger = 1, 'epoch'
    default_name = 'validation'
    priority = chainer.training.PRIORITY_WRITER

    def __init__(self, iterator, target, label_names=None, comm=None):
        if iterator is None:
            iterator = {}
        super(OIDChallengeEvaluator, self).__init__(iterator, target)
        self.label_names = None if label_names is None else list(label_names)
        self.comm = comm

    def evaluate(self):
        target = self._targets['main']
        if self.comm is not None and self.comm.rank != 0:
            apply_to_iterator(target.predict, None, comm=self.comm)
            return {}
        iterator = self._iterators['main']

        if hasattr(iterator, 'reset'):
            iterator.reset()
            it = iterator
        else:
            it = copy.copy(iterator)

        in_values, out_values, rest_values = apply_to_iterator(
            target.predict, it, comm=self.comm)
        # images are not needed: dropping them lets them be freed
        del in_values

        pred_bboxes, pred_labels, pred_scores = out_values
        if len(rest_values) == 4:
            gt_bboxes, gt_labels, gt_is_group_ofs, gt_img_labels = rest_values
        elif len(rest_values) == 3:
            gt_bboxes, gt_labels, gt_is_group_ofs = rest_values
            gt_img_labels = None
        elif len(rest_values) == 2:
            gt_bboxes, gt_labels = rest_values
            gt_is_group_ofs = gt_img_labels = None
        else:
            raise ValueError(
                'samples must be (img, bbox, label[, is_group_of'
                '[, img_label]]), got {} values after img'.format(
                    len(rest_values)))

        n_class = None if self.label_names is None else len(self.label_names)
        result = eval_detection_oid(
            pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels,
            gt_is_group_ofs, gt_img_labels, n_class=n_class)

        report = {'map': result['map']}
        if self.label_names is not None:
            for l, label_name in enumerate(self.label_names):
                report['ap/{:s}'.format(label_name)] = result['ap'][l]

        observation = {}
        with reporter.report_scope(observation):
            reporter.report(report, target)
        return observation
