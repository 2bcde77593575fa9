"""Co-occurrence loss of PFDet: pair mining and the RoI ignore mask.

Open Images annotates only the classes verified in each image, so a part
(Human arm, Wheel, ...) inside an unverified subject is unannotated and would
be learnt as background. PFDet "ignore[s] classification loss for a part
class if a proposal is inside the subject class" (poster). This module

* mines (subject, part) pairs from training statistics
  (:func:`mine_cooccurrence_pairs`), and
* builds the :math:`(R', C)` ignore mask of the second-stage classifier
  (:func:`cooccurrence_ignore_mask`), which
  :func:`~pfdet.links.model.pfdet.bbox_head.make_head_targets` turns into
  targets of -1, and
* optionally narrows that mask to the RoIs near the detector's own
  pseudo-boxes (:func:`pseudo_box_ignore_mask`; not in the PFDet sources), or
  weights the entries it keeps inside subjects by the inverse of the pair's
  annotation rate (:func:`pair_annotation_rates`,
  :func:`verified_part_weights`; not in the PFDet sources either).

Shape shorthand: B = images, R' = sampled RoIs, G_n = boxes of image n,
C = foreground classes.
"""

from __future__ import division

import numpy as np
import pandas as pd

from chainer.backends import cuda
from chainercv import utils


def cooccurrence_pairs_matrix(pairs, class_mids):
    """(C, C) bool matrix ``P[s, p]`` of (subject, part) pairs.

    Args:
        pairs (iterable of (str, str)): (subject MID, part MID).
        class_mids (list of str): The class of each label id.

    Returns:
        numpy.ndarray: :math:`(C, C)` bool.
    """
    index = {mid: i for i, mid in enumerate(class_mids)}
    matrix = np.zeros((len(class_mids), len(class_mids)), dtype=bool)
    for subject, part in pairs:
        for mid in (subject, part):
            if mid not in index:
                raise ValueError(
                    'co-occurrence pair ({}, {}): {} is not in class_mids'
                    .format(subject, part, mid))
        matrix[index[subject], index[part]] = True
    return matrix


def _as_pairs_matrix(pairs, n_class):
    pairs = np.asarray(pairs)
    if pairs.dtype == bool:
        if pairs.shape != (n_class, n_class):
            raise ValueError('pairs matrix must have shape ({0}, {0}), not '
                             '{1}'.format(n_class, pairs.shape))
        return pairs
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= n_class):
        raise ValueError(
            'pair label ids must be in [0, {})'.format(n_class))
    matrix = np.zeros((n_class, n_class), dtype=bool)
    matrix[pairs[:, 0], pairs[:, 1]] = True
    return matrix


def cooccurrence_ignore_mask(rois, roi_indices, bboxes, labels, pairs,
                             ancestor_matrix=None, img_labels=None,
                             ioa_thresh=1.0, fg_thresh=0.5,
                             unless_verified=True):
    """(RoI, class) classification entries ignored by the co-occurrence loss.

    Entry :math:`(r, p)` of image :math:`n` is ignored when

    * some box :math:`g` of image :math:`n` has a label that is a subject
      :math:`s` or a descendant of :math:`s` (``ancestor_matrix[label, s]``,
      so a Man box counts as Person), with :math:`(s, p)` a pair, and
      :math:`IoA(r, g) = area(r \\cap g) / area(r) \\geq` :obj:`ioa_thresh`
      (1.0: the RoI lies inside the box; a tolerance of 1e-6 absorbs rounding);
    * and :math:`r` is not a positive for :math:`p`: no box whose label is
      :math:`p` or a descendant of :math:`p` has :math:`IoU \\geq`
      :obj:`fg_thresh` with :math:`r`;
    * and, when :obj:`unless_verified` is true, :math:`p` is not among the
      verified image-level labels of image :math:`n` (positive or negative:
      a verified class is exhaustively annotated).

    Subject boxes appended as RoIs have IoA 1 with themselves, so their part
    entries are ignored too ("a person proposal: ignore Arm, Face"). The RPN
    is not affected.

    Args:
        rois (array or list of arrays): :math:`(R', 4)`; a list (per level)
            is concatenated, in the order the head sees it.
        roi_indices (array or list of arrays): :math:`(R',)` int32.
        bboxes (list of arrays): :math:`(G_n, 4)` per image.
        labels (list of arrays): :math:`(G_n,)` int32 per image.
        pairs (array): :math:`(C, C)` bool ``P[s, p]``
            (:func:`cooccurrence_pairs_matrix`) or :math:`(n, 2)` int
            (subject id, part id).
        ancestor_matrix (array): :math:`(C, C)` bool, ``M[i, j]``: class j is
            class i or an ancestor of i. :obj:`None`: identity.
        img_labels (list of arrays): Verified class ids per image, or
            :obj:`None` (nothing verified).
        ioa_thresh (float): Containment threshold :math:`\\tau`.
        fg_thresh (float): IoU of a positive RoI.
        unless_verified (bool): Do not ignore verified classes.

    Returns:
        numpy.ndarray or cupy.ndarray: :math:`(R', C)` bool.
    """
    rois, roi_indices = _concat_levels(rois, roi_indices)
    xp = cuda.get_array_module(rois)
    pairs = cuda.to_cpu(pairs)
    if ancestor_matrix is not None:
        n_class = len(ancestor_matrix)
    elif np.asarray(pairs).dtype == bool:
        n_class = len(pairs)
    else:
        raise ValueError('id pairs need the ancestor_matrix (or pass the '
                         '(C, C) bool pairs matrix) to know C')
    pairs = _as_pairs_matrix(pairs, n_class)
    ancestor = _ancestor_or_identity(ancestor_matrix, n_class)
    # label g of a box -> parts of every subject that g is or descends from
    box_parts = xp.asarray(
        ancestor.astype(np.int32).dot(pairs.astype(np.int32)) > 0)
    ancestor = xp.asarray(ancestor)

    mask = xp.zeros((len(rois), n_class), dtype=bool)
    roi_indices = cuda.to_cpu(roi_indices)
    for i in np.unique(roi_indices):
        bbox = xp.asarray(bboxes[i]).reshape(-1, 4).astype(np.float32)
        if len(bbox) == 0:
            continue
        label = xp.asarray(labels[i]).astype(np.int32)
        index = xp.asarray(np.where(roi_indices == i)[0])
        roi = rois[index].astype(np.float32)
        inside = _contained(roi, bbox, ioa_thresh)
        ignore = inside.astype(np.int32).dot(
            box_parts[label].astype(np.int32)) > 0
        positive = (utils.bbox_iou(roi, bbox) >= fg_thresh).astype(
            np.int32).dot(ancestor[label].astype(np.int32)) > 0
        ignore &= ~positive
        if unless_verified and img_labels is not None:
            verified = xp.asarray(img_labels[i]).astype(np.int32).ravel()
            ignore[:, verified] = False
        mask[index] = ignore
    return mask


def verified_part_weights(rois, roi_indices, bboxes, labels, pair_weights,
                          ancestor_matrix=None, img_labels=None,
                          ioa_thresh=1.0):
    """(RoI, class) weights of the inverse-annotation-rate variant (not in the sources).

    PFDet's rule ignores the part-class entries of the RoIs inside a subject
    in the images where the part is not verified. What remains of them, the
    entries of the images where it *is* verified, is a sample of the whole
    that an image enters with probability :math:`ann(p | s)`
    (:func:`pair_annotation_rates`). Weighting each of them by
    :math:`1 / ann(p | s)` makes their expected loss that of exhaustive
    annotation (inverse probability weighting): the positives *and* the
    negatives beside a part inside a subject (the boxes that cover half a
    wheel or a head instead of a face) weigh as much as if every image had
    been verified, while the unverified images stay ignored.

    Entry :math:`(r, p)` of image :math:`n` gets weight
    :math:`\max_s W[s, p]` over the subjects :math:`s` of the boxes
    :math:`g` of image :math:`n` with :math:`IoA(r, g) \geq`
    :obj:`ioa_thresh` (the containment of :func:`cooccurrence_ignore_mask`;
    a box counts for every subject it is or descends from), when :math:`p`
    is verified in image :math:`n`; every other entry gets 1.

    Args:
        rois (array or list of arrays): :math:`(R', 4)`, or a list per level.
        roi_indices (array or list of arrays): :math:`(R',)` int32.
        bboxes (list of arrays): :math:`(G_n, 4)` per image.
        labels (list of arrays): :math:`(G_n,)` int32 per image.
        pair_weights (array): :math:`(C, C)` float ``W[s, p]`` >= 1 for the
            pairs (:math:`1 / ann(p | s)`), 1 (or 0) elsewhere.
        ancestor_matrix (array): :math:`(C, C)` bool, ``M[i, j]``: class j is
            class i or an ancestor of i. :obj:`None`: identity.
        img_labels (list of arrays): Verified class ids per image, or
            :obj:`None` (nothing verified: every weight is 1).
        ioa_thresh (float): Containment threshold :math:`\tau`.

    Returns:
        numpy.ndarray or cupy.ndarray: :math:`(R', C)` float32, >= 1.
    """
    rois, roi_indices = _concat_levels(rois, roi_indices)
    xp = cuda.get_array_module(rois)
    pair_weights = np.asarray(cuda.to_cpu(pair_weights), dtype=np.float32)
    n_class = len(pair_weights)
    if pair_weights.shape != (n_class, n_class):
        raise ValueError('pair_weights must be (C, C), not {}'.format(
            pair_weights.shape))
    ancestor = _ancestor_or_identity(ancestor_matrix, n_class)
    # label g of a box -> weight of each part over the subjects g is or descends from
    box_weights = xp.asarray(
        (ancestor[:, :, None] * pair_weights[None, :, :]).max(axis=1))
    weights = xp.ones((len(rois), n_class), dtype=np.float32)
    if img_labels is None:
        return weights
    roi_indices = cuda.to_cpu(roi_indices)
    for i in np.unique(roi_indices):
        bbox = xp.asarray(bboxes[i]).reshape(-1, 4).astype(np.float32)
        verified = xp.asarray(img_labels[i]).astype(np.int32).ravel()
        if len(bbox) == 0 or len(verified) == 0:
            continue
        label = xp.asarray(labels[i]).astype(np.int32)
        index = xp.asarray(np.where(roi_indices == i)[0])
        inside = _contained(rois[index].astype(np.float32), bbox, ioa_thresh)
        w = (inside[:, :, None] *
             box_weights[label][:, verified][None]).max(axis=1)
        weights[index[:, None], verified[None, :]] = xp.maximum(w, 1)
    return weights


def pseudo_box_ignore_mask(ignore, scores, rois, roi_indices, iou_thresh=0.5,
                           min_score=None):
    """Narrows a co-occurrence ignore mask to the model's own pseudo-boxes.

    The co-occurrence rule (:func:`cooccurrence_ignore_mask`) ignores part
    class :math:`p` for every RoI inside an unverified subject, so RoIs that
    only partly cover an unannotated part (a head box for Human face, half a
    wheel) never learn to be negatives and come out as near-miss false
    positives. This variant (not in the PFDet sources; cf. the pseudo-label
    sampling that Niitani et al., arXiv:1811.10862, compare with part-aware
    sampling) keeps an entry ignored only where the part probably is, judged
    by the detector itself:

    * a *candidate* of :math:`p` is an entry :math:`(r, p)` of
      :obj:`ignore`;
    * the *pseudo-boxes* of :math:`p` are the candidates of :math:`p` that
      a greedy non-maximum suppression of its image keeps when any overlap
      (IoU > 0) suppresses: taken in descending score for :math:`p`, a
      candidate is kept unless it overlaps a kept one of higher score
      (equal scores do not suppress each other). Separate instances (two
      wheels, two hands) each get one;
    * a candidate stays ignored when its IoU with some pseudo-box of
      :math:`p` of its image is :math:`\\geq` :obj:`iou_thresh` (the
      pseudo-box itself included); the other candidates become negatives
      again;
    * with :obj:`min_score`, only the pseudo-boxes scoring at least that
      much count, and a candidate that overlaps none of them stays ignored:
      where the head has no confident guess of where the part is (early in
      training, or a part it does not localize yet), PFDet's rule holds.
      Without it every candidate overlaps a pseudo-box (it is one, or was
      suppressed by one), so the two readings agree.

    Nothing outside :obj:`ignore` changes. Scores are taken as constants (no
    gradient flows through the selection).

    Args:
        ignore (array): :math:`(R', C)` bool, the co-occurrence ignores.
        scores (array): :math:`(R', C)` float, the head's current scores
            (or logits: only their order within a class matters).
        rois (array or list of arrays): :math:`(R', 4)`; a list (per level)
            is concatenated, in the order the head sees it.
        roi_indices (array or list of arrays): :math:`(R',)` int32.
        iou_thresh (float): IoU with a pseudo-box that keeps an entry
            ignored (the head's foreground IoU, 0.5, makes a pseudo-box act
            like an unannotated box for the ignore).
        min_score (float): :obj:`None` or the least score of a pseudo-box,
            in the units of :obj:`scores` (pass the logit of a probability
            when :obj:`scores` are logits).

    Returns:
        numpy.ndarray or cupy.ndarray: :math:`(R', C)` bool, a subset of
        :obj:`ignore`.
    """
    rois, roi_indices = _concat_levels(rois, roi_indices)
    xp = cuda.get_array_module(ignore)
    if ignore.shape != scores.shape or ignore.shape[0] != len(rois):
        raise ValueError(
            'ignore {}, scores {} and {} RoIs disagree'.format(
                ignore.shape, scores.shape, len(rois)))
    if not 0 < iou_thresh <= 1:
        raise ValueError('iou_thresh must be in (0, 1], not {!r}'.format(iou_thresh))
    if min_score is not None and not np.isfinite(min_score):
        raise ValueError('min_score must be None or a finite number, not {!r}'.format(
            min_score))
    out = xp.zeros_like(ignore)
    roi_indices_cpu = cuda.to_cpu(roi_indices)
    rows_cpu = cuda.to_cpu(ignore.any(axis=1))
    for i in np.unique(roi_indices_cpu[rows_cpu]):
        # only the RoIs that are candidates somewhere can be or meet a pseudo-box
        index = xp.asarray(np.where((roi_indices_cpu == i) & rows_cpu)[0])
        cand = ignore[index]
        cols = xp.where(cand.any(axis=0))[0]
        cand = cand[:, cols]                                  # (R, K)
        score = xp.where(cand, scores[index][:, cols].astype(np.float32),
                         -np.inf).astype(np.float32)
        roi = rois[index].astype(np.float32)
        iou = utils.bbox_iou(roi, roi)                        # (R, R)
        overlap = iou > 0
        peak = _greedy_peaks(cand, score, overlap)
        if min_score is not None:
            peak &= score >= min_score
        peak = peak.astype(np.float32)
        # on a pseudo-box of the column (IoU >= iou_thresh), or overlapping none
        on_peak = (iou >= iou_thresh - 1e-6).astype(np.float32).dot(peak) > 0
        near_peak = overlap.astype(np.float32).dot(peak) > 0
        keep = xp.zeros((len(index), ignore.shape[1]), dtype=bool)
        keep[:, cols] = cand & (on_peak | ~near_peak)
        out[index] = keep
    return out


def _greedy_peaks(cand, score, overlap):
    """Greedy NMS of every column at once.

    ``cand`` (R, K) bool, ``score`` (R, K) (``-inf`` off the candidates),
    ``overlap`` (R, R) bool. Returns the (R, K) bool kept candidates: taken
    in descending score, a candidate is kept unless an overlapping kept one
    scores strictly higher (so the result does not depend on how ties are
    ordered). Step ``t`` decides the ``t``-th best candidate of every column
    at once: as many steps as the largest column has candidates, each
    ``O(K R)``.
    """
    xp = cuda.get_array_module(cand)
    n_row, n_col = cand.shape
    keep = xp.zeros_like(cand)
    if n_row == 0 or n_col == 0:
        return keep
    order = xp.argsort(-score, axis=0)                    # candidates first, best first
    n_cand = cand.sum(axis=0)                             # (K,)
    cols = xp.arange(n_col)
    score_t = score.T                                     # (K, R)
    for t in range(int(n_cand.max())):
        r = order[t]                                      # (K,) the t-th best of each column
        higher = score_t > score[r, cols][:, None]        # (K, R)
        suppressed = (overlap[r] & keep.T & higher).any(axis=1)
        new = (t < n_cand) & ~suppressed
        keep[r[new], cols[new]] = True
    return keep


def _concat_levels(rois, roi_indices):
    """``(rois, roi_indices)`` as single arrays: a list per level is concatenated in the
    order the head sees it; arrays pass through."""
    if isinstance(rois, (list, tuple)):
        xp = cuda.get_array_module(*rois)
        rois = xp.concatenate(rois, axis=0)
        roi_indices = xp.concatenate(roi_indices, axis=0)
    return rois, roi_indices


def _ancestor_or_identity(ancestor_matrix, n_class):
    """``(C, C)`` bool on the CPU: ``ancestor_matrix``, or the identity when it is None."""
    if ancestor_matrix is None:
        return np.eye(n_class, dtype=bool)
    return np.asarray(cuda.to_cpu(ancestor_matrix), dtype=bool)


def _contained(roi, bbox, ioa_thresh):
    """:math:`(R, G)` bool: the containment of the rule, IoA >= ``ioa_thresh`` (a
    tolerance of 1e-6 absorbs rounding, so 1.0 means inside)."""
    return _ioa(roi, bbox) >= ioa_thresh - 1e-6


def _ioa(roi, bbox):
    """:math:`(R, G)` area(roi & bbox) / area(roi)."""
    xp = cuda.get_array_module(roi)
    tl = xp.maximum(roi[:, None, :2], bbox[None, :, :2])
    br = xp.minimum(roi[:, None, 2:], bbox[None, :, 2:])
    inter = xp.prod(xp.maximum(br - tl, 0), axis=2)
    area = xp.prod(roi[:, 2:] - roi[:, :2], axis=1)
    return inter / xp.maximum(area, 1e-12)[:, None]


def part_edge_pairs(hierarchy, class_mids):
    """(subject, part) pairs implied by the hierarchy's ``Part`` edges.

    For an edge (s, q), every class among :math:`q`, its descendants, and
    (recursively) their own parts is a part of :math:`s` (Person -> Human
    body -> Human arm; Land vehicle -> Auto part -> Wheel). Only classes in
    :obj:`class_mids` are returned. Beware of the official hierarchy's
    ``Building`` quirk (a Part list of unrelated classes).

    Args:
        hierarchy: A :class:`pfdet.datasets.hierarchy.ClassHierarchy` (needs
            ``part_edges`` and ``descendants``).
        class_mids (list of str): The classes.

    Returns:
        set of (str, str).
    """
    direct = {}
    for subject, part in hierarchy.part_edges:
        direct.setdefault(subject, set()).add(part)

    def closure(subject, seen):
        out = set()
        for q in direct.get(subject, ()):
            for x in {q} | set(hierarchy.descendants(q)):
                if x in seen:
                    continue
                seen.add(x)
                out.add(x)
                out |= closure(x, seen)
        return out

    class_set = set(class_mids)
    pairs = set()
    for subject in direct:
        if subject not in class_set:
            continue
        for part in closure(subject, {subject}):
            if part in class_set and part != subject:
                pairs.add((subject, part))
    return pairs


def _verified_table(boxes, image_label_df, parts):
    """DataFrame (ImageID, Part): the classes of ``parts`` verified in each image (an
    image-level label of either confidence, or a box)."""
    verified = [boxes[['ImageID', 'LabelName']]]
    if image_label_df is not None:
        verified.append(image_label_df[['ImageID', 'LabelName']])
    verified = pd.concat(verified, ignore_index=True)
    verified = verified[verified['LabelName'].isin(parts)]
    return verified.drop_duplicates().rename(columns={'LabelName': 'Part'})


def _add_annotation_rates(table, subject_images, verified):
    """``table`` (Subject, Part, ...) with ``n_subject_image``, ``n_verified`` and
    ``ann`` = n_verified / n_subject_image (0 without subject images)."""
    n_subject_image = subject_images.groupby('Subject').size()
    both = subject_images[subject_images['Subject'].isin(
        set(table['Subject']))].merge(verified, on='ImageID')
    n_verified = both.groupby(['Subject', 'Part']).size().rename(
        'n_verified').reset_index()
    table = table.merge(n_verified, on=['Subject', 'Part'], how='left')
    table['n_verified'] = table['n_verified'].fillna(0).astype(np.int64)
    table['n_subject_image'] = table['Subject'].map(
        n_subject_image).fillna(0).astype(np.int64)
    table['ann'] = table['n_verified'] / table['n_subject_image'].clip(
        lower=1)
    return table


def pair_annotation_rates(bbox_df, image_label_df, pairs, class_mids=None,
                          hierarchy=None):
    """The annotation rate :math:`ann(p | s)` of given (subject, part) pairs.

    As in :func:`mine_cooccurrence_pairs`: the share of the images containing
    :math:`s` (a box of :math:`s` or of a descendant of :math:`s`) in which
    :math:`p` is verified (an image-level label of either confidence, or a
    box of :math:`p`). The class-wise statistic behind the
    inverse-annotation-rate weights of :func:`verified_part_weights`.

    Args:
        bbox_df (pandas.DataFrame): Boxes (``ImageID``, ``LabelName``).
        image_label_df (pandas.DataFrame): Image-level labels (``ImageID``,
            ``LabelName``), or :obj:`None`.
        pairs (list of tuples): (subject MID, part MID) pairs.
        class_mids (list of str): The classes a box may count as (its label
            and its ancestors among them); :obj:`None`: the subjects of
            :obj:`pairs` and the labels of :obj:`bbox_df`.
        hierarchy: A :class:`pfdet.datasets.hierarchy.ClassHierarchy`, or
            :obj:`None` (a box counts only as its own label).

    Returns:
        pandas.DataFrame: one row per pair, in the order of :obj:`pairs`:
        ``Subject, Part, n_subject_image, n_verified, ann``.
    """
    for col in ('ImageID', 'LabelName'):
        if col not in bbox_df.columns:
            raise ValueError('bbox_df has no column {!r}'.format(col))
    table = pd.DataFrame([tuple(p) for p in pairs], columns=['Subject', 'Part'])
    boxes = bbox_df[['ImageID', 'LabelName']]
    if class_mids is None:
        class_mids = set(table['Subject']) | set(boxes['LabelName'])
    to_subject = _self_or_ancestor_table(
        boxes['LabelName'].unique(), class_mids, hierarchy)
    subject_images = boxes.merge(to_subject, on='LabelName')[
        ['ImageID', 'Subject']].drop_duplicates()
    verified = _verified_table(boxes, image_label_df, set(table['Part']))
    table = _add_annotation_rates(table, subject_images, verified)
    return table[['Subject', 'Part', 'n_subject_image', 'n_verified', 'ann']]


def _self_or_ancestor_table(mids, class_mids, hierarchy):
    """DataFrame (LabelName, Subject): Subject is the label or an ancestor."""
    class_set = set(class_mids)
    rows = []
    for mid in mids:
        anc = {mid}
        if hierarchy is not None:
            try:
                anc |= set(hierarchy.ancestors(mid))
            except KeyError:
                pass
        rows.extend((mid, a) for a in anc if a in class_set)
    return pd.DataFrame(rows, columns=['LabelName', 'Subject'])


def _chunks_by_pairs(n_box_per_image, max_pairs):
    """Split image codes into ranges whose self-join stays below max_pairs."""
    cost = np.cumsum(n_box_per_image.astype(np.int64) ** 2)
    chunk = cost // max(int(max_pairs), 1)
    bounds = np.concatenate(
        ([0], np.flatnonzero(np.diff(chunk)) + 1, [len(chunk)]))
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _redundant_pairs(selected, hierarchy):
    """Selected pairs made redundant by a pair of an ancestor subject.

    For a part selected with both a subject and one of its ancestors: when
    both explain the same number of contained part boxes, the ancestor adds
    nothing and is dropped (the most specific subject that explains the
    evidence is kept, e.g. Land vehicle rather than Vehicle); otherwise the
    descendant is implied by the ancestor (the ignore rule expands subjects
    to their descendants) and is dropped.
    """
    if hierarchy is None or len(selected) == 0:
        return set()
    rows = []
    for subject in selected['Subject'].unique():
        try:
            rows.extend((subject, a) for a in hierarchy.ancestors(subject))
        except KeyError:
            pass
    anc = pd.DataFrame(rows, columns=['Subject', 'Ancestor'])
    sel = selected[['Subject', 'Part', 'n_contained']]
    m = sel.merge(anc, on='Subject').merge(
        sel.rename(columns={'Subject': 'Ancestor',
                            'n_contained': 'n_contained_a'}),
        on=['Ancestor', 'Part'])
    same = m['n_contained'] == m['n_contained_a']
    return (set(zip(m.loc[same, 'Ancestor'], m.loc[same, 'Part'])) |
            set(zip(m.loc[~same, 'Subject'], m.loc[~same, 'Part'])))


def mine_cooccurrence_pairs(bbox_df, image_label_df, class_mids=None,
                            hierarchy=None, contain_thresh=0.8,
                            ann_thresh=0.5, ioa_thresh=0.9,
                            presence_thresh=0.75, use_part_edges=False,
                            min_contained=1,
                            max_join_rows=5000000):
    """Mines (subject, part) pairs of the co-occurrence loss.

    For subject :math:`s` and part :math:`p` (classes of :obj:`class_mids`):

    * :math:`contain(p | s)` = #{boxes of :math:`p` lying in a box of
      :math:`s` in the same image, IoA(part box, subject box) >=
      :obj:`ioa_thresh`} / #{boxes of :math:`p`};
    * :math:`ann(p | s)` = #{images containing :math:`s` in which :math:`p`
      is verified} / #{images containing :math:`s`}. An image contains
      :math:`s` when it has a box of :math:`s` or of a descendant of
      :math:`s`; :math:`p` is verified when it is an image-level label of the
      image (either confidence) or has a box there.

    * :math:`presence(p | s)` = #{boxes of :math:`s` holding a box of
      :math:`p`} / #{boxes of :math:`s` in images where :math:`p` is
      verified}: where the annotation of :math:`p` is complete, how often a
      subject actually has the part.

    Boxes of a descendant count as boxes of the subject (Man and Woman boxes
    count as Person); the part side uses the exact label. Pairs of
    hierarchically related classes (a class and its ancestors) are skipped.
    A pair is selected when :math:`contain \\geq` :obj:`contain_thresh`,
    :math:`ann \\leq` :obj:`ann_thresh`, :math:`presence \\geq`
    :obj:`presence_thresh` and at least :obj:`min_contained` part boxes are
    contained: the part lies inside the subject far more often than it is
    annotated where the subject appears, and most subjects have it.

    The presence criterion rejects classes that are annotated whenever they
    are present but occur on few subjects (a Tie on some persons: ignoring
    them inside every person would drop mostly true negatives), and
    over-general subjects (Land vehicle for Bicycle wheel, when cars have
    none). It is a design choice of this reproduction: the poster's Table 4
    lists worn items such as Tie, Jeans or Dress among the ignored classes,
    so to mimic PFDet on Open Images lower it or pass :obj:`None`.

    Redundant pairs are then dropped (column ``redundant``): when a part is
    selected with a subject and with one of its ancestors, the descendant is
    implied by the ancestor (the ignore rule expands subjects), unless both
    explain the same contained boxes, in which case the ancestor is dropped
    (Land vehicle is kept rather than Vehicle when every vehicle is a land
    vehicle).

    The computation is vectorised: a per-image self-join of the boxes with
    :func:`pandas.merge`, processed in chunks of images of at most
    :obj:`max_join_rows` joined rows.

    Args:
        bbox_df (pandas.DataFrame): Boxes as read by
            :func:`pfdet.datasets.oid_io.read_bbox_csv` (``ImageID``,
            ``LabelName``, ``XMin``, ``XMax``, ``YMin``, ``YMax``).
        image_label_df (pandas.DataFrame): Image-level labels as read by
            :func:`pfdet.datasets.oid_io.read_image_labels_csv`
            (``ImageID``, ``LabelName``, ``Confidence``), or :obj:`None`.
        class_mids (list of str): The candidate classes (:obj:`None`: the
            classes of :obj:`bbox_df`).
        hierarchy: A :class:`pfdet.datasets.hierarchy.ClassHierarchy`
            (``ancestors``, ``descendants``, ``part_edges``) or :obj:`None`.
        contain_thresh (float): Minimum :math:`contain(p | s)`.
        ann_thresh (float): Maximum :math:`ann(p | s)`.
        ioa_thresh (float): Containment of a part box in a subject box.
        presence_thresh (float): Minimum :math:`presence(p | s)`;
            :obj:`None` disables the criterion.
        use_part_edges ({False, 'seed', 'restrict'}): ``'seed'`` adds the
            pairs of the hierarchy's Part edges (:func:`part_edge_pairs`)
            whatever their statistics; ``'restrict'`` selects only mined
            pairs that are also Part-edge pairs.
        min_contained (int): Minimum number of contained part boxes.
        max_join_rows (int): Memory bound of one self-join chunk.

    Returns:
        tuple: :obj:`pairs` and :obj:`report`.

        * **pairs**: sorted list of (subject MID, part MID).
        * **report**: :class:`pandas.DataFrame`, one row per candidate
          pair (at least one contained box, or a Part edge), columns
          ``Subject, Part, n_part_box, n_contained, contain,
          n_subject_image, n_verified, ann, n_verified_subject_box,
          n_filled_subject_box, presence, part_edge, redundant, selected``,
          sorted by decreasing ``contain - ann``.
    """
    if use_part_edges not in (False, 'seed', 'restrict'):
        raise ValueError(
            "use_part_edges must be False, 'seed' or 'restrict', not "
            '{!r}'.format(use_part_edges))
    if use_part_edges and hierarchy is None:
        raise ValueError('use_part_edges needs a hierarchy')
    for col in ('ImageID', 'LabelName', 'XMin', 'XMax', 'YMin', 'YMax'):
        if col not in bbox_df.columns:
            raise ValueError('bbox_df has no column {!r}'.format(col))
    if hasattr(class_mids, 'ancestors'):
        raise TypeError(
            'mine_cooccurrence_pairs: the third argument is class_mids; pass '
            'the hierarchy by keyword (hierarchy=...)')
    if class_mids is None:
        class_mids = sorted(bbox_df['LabelName'].unique())
    class_mids = list(class_mids)
    class_set = set(class_mids)

    boxes = bbox_df[['ImageID', 'LabelName', 'XMin', 'XMax', 'YMin',
                     'YMax']].reset_index(drop=True)
    boxes['BoxID'] = np.arange(len(boxes))
    image_code, _ = pd.factorize(boxes['ImageID'])
    boxes['Image'] = image_code

    to_subject = _self_or_ancestor_table(
        boxes['LabelName'].unique(), class_mids, hierarchy)
    subjects = boxes.merge(to_subject, on='LabelName')
    parts = boxes[boxes['LabelName'].isin(class_set)]
    n_part_box = parts.groupby('LabelName').size()

    # part box inside subject box: per-image self-join, chunked
    contained = []
    n_per_image = np.bincount(image_code) if len(boxes) else \
        np.zeros(0, dtype=np.int64)
    parts = parts.sort_values('Image', kind='stable')
    subjects = subjects.sort_values('Image', kind='stable')
    for start, stop in _chunks_by_pairs(n_per_image, max_join_rows):
        p = parts.iloc[slice(*parts['Image'].searchsorted([start, stop]))]
        s = subjects.iloc[
            slice(*subjects['Image'].searchsorted([start, stop]))]
        j = p.merge(s, on='Image', suffixes=('', '_s'))
        j = j[j['BoxID'] != j['BoxID_s']]
        ih = (np.minimum(j['YMax'], j['YMax_s']) -
              np.maximum(j['YMin'], j['YMin_s'])).clip(lower=0)
        iw = (np.minimum(j['XMax'], j['XMax_s']) -
              np.maximum(j['XMin'], j['XMin_s'])).clip(lower=0)
        area = ((j['YMax'] - j['YMin']) * (j['XMax'] - j['XMin'])).clip(
            lower=1e-12)
        j = j[ih * iw / area >= ioa_thresh - 1e-9]
        contained.append(j[['BoxID', 'BoxID_s', 'Subject', 'LabelName']])
    if contained:
        contained = pd.concat(contained, ignore_index=True)
    else:
        contained = pd.DataFrame(
            columns=['BoxID', 'BoxID_s', 'Subject', 'LabelName'])
    contained = contained.rename(columns={'LabelName': 'Part'})
    report = contained[['BoxID', 'Subject', 'Part']].drop_duplicates()
    report = report.groupby(['Subject', 'Part']).size().rename(
        'n_contained').reset_index()
    n_filled = contained[['BoxID_s', 'Subject', 'Part']].drop_duplicates()
    n_filled = n_filled.groupby(['Subject', 'Part']).size().rename(
        'n_filled_subject_box').reset_index()

    edge_pairs = set()
    if use_part_edges:
        edge_pairs = part_edge_pairs(hierarchy, class_mids)
        extra = pd.DataFrame(sorted(edge_pairs), columns=['Subject', 'Part'])
        report = report.merge(extra, on=['Subject', 'Part'], how='outer')
        report['n_contained'] = report['n_contained'].fillna(0)
    report['n_contained'] = report['n_contained'].astype(np.int64)

    # skip hierarchically related pairs (a class vs its ancestors)
    related = set(map(tuple, to_subject[['LabelName', 'Subject']].values))
    related |= {(b, a) for a, b in related}
    if hierarchy is not None:
        for mid in class_mids:
            try:
                related |= {(mid, a) for a in hierarchy.ancestors(mid)}
                related |= {(a, mid) for a in hierarchy.ancestors(mid)}
            except KeyError:
                pass
    is_related = pd.Series(
        [(s, p) in related or s == p
         for s, p in zip(report['Subject'], report['Part'])],
        index=report.index, dtype=bool)
    report = report[~is_related].reset_index(drop=True)

    # ann(p | s)
    subject_images = subjects[['ImageID', 'Subject']].drop_duplicates()
    verified = _verified_table(boxes, image_label_df, set(report['Part']))
    report = _add_annotation_rates(report, subject_images, verified)

    # presence(p | s): subject boxes holding a part box, among the subject
    # boxes of images where the part is verified
    sbox = subjects[subjects['Subject'].isin(set(report['Subject']))]
    sbox = sbox[['ImageID', 'Subject', 'BoxID']].merge(verified,
                                                       on='ImageID')
    n_sbox = sbox.groupby(['Subject', 'Part']).size().rename(
        'n_verified_subject_box').reset_index()
    for table, col in ((n_sbox, 'n_verified_subject_box'),
                       (n_filled, 'n_filled_subject_box')):
        report = report.merge(table, on=['Subject', 'Part'], how='left')
        report[col] = report[col].fillna(0).astype(np.int64)
    report['presence'] = report['n_filled_subject_box'] / \
        report['n_verified_subject_box'].clip(lower=1)

    report['n_part_box'] = report['Part'].map(n_part_box).fillna(0).astype(
        np.int64)
    report['contain'] = report['n_contained'] / report['n_part_box'].clip(
        lower=1)
    report['part_edge'] = pd.Series(
        [(s, p) in edge_pairs
         for s, p in zip(report['Subject'], report['Part'])],
        index=report.index, dtype=bool)
    selected = ((report['contain'] >= contain_thresh) &
                (report['ann'] <= ann_thresh) &
                (report['n_contained'] >= min_contained))
    if presence_thresh is not None:
        selected &= report['presence'] >= presence_thresh
    # Part-edge pairs take part in the comparison but are never dropped
    redundant = _redundant_pairs(report[selected | report['part_edge']],
                                 hierarchy)
    report['redundant'] = pd.Series(
        [(s, p) in redundant
         for s, p in zip(report['Subject'], report['Part'])],
        index=report.index, dtype=bool) & ~report['part_edge']
    selected &= ~report['redundant']
    if use_part_edges == 'seed':
        selected |= report['part_edge']
    elif use_part_edges == 'restrict':
        selected &= report['part_edge']
    report['selected'] = selected

    report = report.assign(_key=report['contain'] - report['ann'])
    report = report.sort_values(
        ['_key', 'Subject', 'Part'], ascending=[False, True, True])
    report = report.drop(columns='_key').reset_index(drop=True)
    report = report[['Subject', 'Part', 'n_part_box', 'n_contained',
                     'contain', 'n_subject_image', 'n_verified', 'ann',
                     'n_verified_subject_box', 'n_filled_subject_box',
                     'presence', 'part_edge', 'redundant', 'selected']]
    pairs = sorted(zip(report.loc[report['selected'], 'Subject'],
                       report.loc[report['selected'], 'Part']))
    return pairs, report
