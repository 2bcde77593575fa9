"""Ensembling of detection tables: PFDet's class-weight ensemble and experts.

The detections of N models (each an evaluator prediction table
``ImageID,LabelName,Score,XMin,XMax,YMin,YMax`` as written by
``examples/evaluate.py``) are merged by "concat, then suppress"
(``pfdet.md`` §3.11-3.13):

1. every model's scores are re-weighted, ``s' = s * v_m * w_{m,c}``, where
   ``v_m`` is an optional per-model weight (divided by the largest) and
   ``w_{m,c}`` the class weight from the models' validation APs (the poster's
   "class-weight ensemble"; by default the relative AP
   ``AP_{m,c} / max_{m'} AP_{m',c}``, see :func:`class_weights`);
2. expert models may take over their classes (``expert_mode='replace'``) or
   simply add their detections (``'augment'``);
3. the rows of all models are concatenated and suppressed per image and per
   class with one of the functions of :mod:`pfdet.utils` (NMW by default).

Rows are grouped by image once; the suppression functions are class-wise, so
many images are processed in one vectorised call by giving each
(image, class) pair its own label (the result is the same as one call per
image).

Bad input raises :class:`ValueError` (:class:`~pfdet.datasets.OIDFormatError`
for files) naming the file and line, or the table and row. Rows that are
dropped on purpose are counted in the returned statistics.
"""

import collections
import os
import shutil
import tempfile

import numpy as np
import pandas as pd

from pfdet.datasets import oid_io
from pfdet import utils

# method name -> suppression function of pfdet.utils (class-wise, one image)
SUPPRESSIONS = collections.OrderedDict([
    ('nmw', utils.non_maximum_weighted),
    ('nms', utils.non_maximum_suppression),
    ('soft_nms', utils.soft_nms),
    ('adj_nms', utils.adj_nms),
    ('box_voting', utils.box_voting),
])

EXPERT_MODES = ('augment', 'replace')
NORMALIZATIONS = ('max', 'sum')
PER_CLASS_AP_COLUMNS = ('LabelName', 'Name', 'AP', 'NumGT')

_COORDS = ('XMin', 'XMax', 'YMin', 'YMax')


# ----------------------------------------------------------------- sources

class _Source(object):
    """Where the rows of one input table come from (for error messages).

    ``row`` is the 0-based data row of the table as read; for a file read
    without skipping rows it is turned into the 1-based physical line.
    """

    def __init__(self, name, path=None, exact_lines=True, row_word='row'):
        self.name = name
        self.path = path
        self.exact_lines = exact_lines
        self.row_word = row_word

    def _line(self, row):
        from pfdet.evaluations.oid_challenge import _physical_line
        return _physical_line(self.path, row)

    def where(self, row):
        if self.path is None:
            return '{}, {} {}'.format(self.name, self.row_word, row)
        if not self.exact_lines:
            return '{}, data row {} (after skipping invalid rows)'.format(
                self.path, row)
        return '{}, line {}'.format(self.path, self._line(row))

    def error(self, row, reason):
        if self.path is None or not self.exact_lines:
            return ValueError('{}: {}'.format(self.where(row), reason))
        return oid_io.OIDFormatError(self.path, self._line(row), reason)


def _load_detections(src, index, skip_invalid):
    """A prediction table from a path or a DataFrame, and its source."""
    if isinstance(src, pd.DataFrame):
        source = _Source('detections[{}]'.format(index))
        missing = [c for c in oid_io.PREDICTIONS_COLUMNS
                   if c not in src.columns]
        if missing:
            raise ValueError('{}: missing column(s) {}'.format(
                source.name, ', '.join(missing)))
        df = pd.DataFrame({
            'ImageID': src['ImageID'].to_numpy(dtype=object),
            'LabelName': src['LabelName'].to_numpy(dtype=object)})
        for c in ('Score',) + _COORDS:
            try:
                df[c] = pd.to_numeric(src[c].to_numpy(), errors='raise')
            except (ValueError, TypeError):
                v = pd.to_numeric(src[c], errors='coerce').to_numpy()
                row = int(np.argmax(np.isnan(v)))
                raise source.error(row, 'non-numeric value {!r} in column '
                                   '{}'.format(src[c].iloc[row], c))
            df[c] = df[c].astype(np.float64)
        df.attrs['skipped'] = 0
        return df, source
    path = str(src)
    try:
        header = pd.read_csv(path, nrows=0).columns
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        header = ()
    if 'PredictionString' in header:
        # a Kaggle submission: rows are prediction tuples, not lines
        df = oid_io.read_submission(path)
        df.attrs = {'skipped': 0}
        return df, _Source('{} (submission)'.format(path),
                           row_word='prediction')
    df = oid_io.read_predictions_csv(path, skip_invalid=skip_invalid)
    return df, _Source(path, path, df.attrs.get('skipped', 0) == 0)


def _drop_counted(df, bad, source, reason, skip_invalid, what):
    """Raise on the first bad row, or drop them all and return the count."""
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return df, 0
    if not skip_invalid:
        pos = int(np.argmax(bad))
        raise source.error(int(df.index[pos]), reason(pos) + ' ({} such '
                           'row(s) in {}; '
                           'skip_invalid drops and counts them)'.format(
                               int(bad.sum()), what))
    return df[~bad], int(bad.sum())


def _validate_rows(df, source, skip_invalid):
    """NaN / infinite values and inverted boxes; returns (df, n_dropped)."""
    values = df[['Score'] + list(_COORDS)].to_numpy(np.float64)
    finite = np.isfinite(values)

    def nonfinite(row):
        col = (['Score'] + list(_COORDS))[int(np.argmin(finite[row]))]
        return 'non-finite value {} in column {}'.format(
            df[col].iloc[row], col)
    df, n_bad = _drop_counted(df, ~finite.all(axis=1), source, nonfinite,
                              skip_invalid, source.name)
    x0, x1 = df['XMin'].to_numpy(), df['XMax'].to_numpy()
    y0, y1 = df['YMin'].to_numpy(), df['YMax'].to_numpy()

    def inverted(row):
        return ('inverted box: XMin={}, XMax={}, YMin={}, YMax={} (need '
                'XMin <= XMax and YMin <= YMax)'.format(
                    x0[row], x1[row], y0[row], y1[row]))
    df, n_inv = _drop_counted(df, (x1 < x0) | (y1 < y0), source, inverted,
                              skip_invalid, source.name)
    return df, n_bad + n_inv


# ----------------------------------------------------------------- AP tables

def read_per_class_ap(path):
    """Read a per-class AP table (``per_class_ap.csv`` of ``evaluate.py``).

    Args:
        path (str): CSV with a header and at least the columns
            ``LabelName`` and ``AP`` (``Name`` and ``NumGT`` optional). An
            empty ``AP`` field or ``nan`` means "no ground truth".

    Returns:
        pandas.DataFrame: ``LabelName`` (str), ``AP`` (float64, NaN allowed)
        and the optional columns present in the file.

    Raises:
        pfdet.datasets.OIDFormatError: Missing column, non-numeric AP, AP
            outside [0, 1], empty or duplicate ``LabelName`` (file and line
            in the message).

    """
    path = str(path)
    try:
        df = pd.read_csv(path, dtype={'LabelName': str, 'Name': str},
                         keep_default_na=False, na_values={'AP': ['', 'nan',
                                                                  'NaN']})
    except pd.errors.EmptyDataError:
        raise oid_io.OIDFormatError(path, 1, 'empty file (no header line)')
    except pd.errors.ParserError as e:
        raise oid_io.OIDFormatError(path, None, 'malformed CSV ({})'.format(
            str(e).strip()))
    for c in ('LabelName', 'AP'):
        if c not in df.columns:
            raise oid_io.OIDFormatError(
                path, 1, 'missing required column {} (header: {})'.format(
                    c, ','.join(map(str, df.columns))))
    source = _Source(path, path)
    ap = pd.to_numeric(df['AP'], errors='coerce').to_numpy(np.float64)
    raw_na = df['AP'].isna().to_numpy()
    bad = np.isnan(ap) & ~raw_na
    if bad.any():
        row = int(np.argmax(bad))
        raise source.error(row, 'non-numeric AP {!r}'.format(
            df['AP'].iloc[row]))
    with np.errstate(invalid='ignore'):
        bad = ~np.isnan(ap) & ((ap < 0) | (ap > 1))
    if bad.any():
        row = int(np.argmax(bad))
        raise source.error(row, 'AP {} is outside [0, 1]'.format(ap[row]))
    mids = df['LabelName'].to_numpy(dtype=object)
    bad = (df['LabelName'].str.strip() == '').to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise source.error(row, 'empty LabelName')
    dup = df['LabelName'].duplicated().to_numpy()
    if dup.any():
        row = int(np.argmax(dup))
        raise source.error(row, 'duplicate class {!r}'.format(mids[row]))
    df['AP'] = ap
    return df


def write_per_class_ap(path, table):
    """Write a per-class AP table (``LabelName,Name,AP,NumGT``).

    Args:
        path (str): The output CSV.
        table (pandas.DataFrame): At least ``LabelName`` and ``AP``; a
            missing ``Name`` is written empty and ``NumGT`` as -1 (unknown).

    """
    out = pd.DataFrame({'LabelName': table['LabelName'].to_numpy()})
    out['Name'] = table['Name'].to_numpy() if 'Name' in table else ''
    out['AP'] = table['AP'].to_numpy(np.float64)
    out['NumGT'] = table['NumGT'].to_numpy(np.int64) \
        if 'NumGT' in table else -1
    out.to_csv(path, index=False, lineterminator='\n')


def _ap_series(src, index):
    """MID -> AP Series from a path, a DataFrame, a dict or a Series."""
    if isinstance(src, pd.Series):
        s = src.astype(np.float64)
    elif isinstance(src, dict):
        s = pd.Series(src, dtype=np.float64)
    elif isinstance(src, pd.DataFrame):
        for c in ('LabelName', 'AP'):
            if c not in src.columns:
                raise ValueError('per_class_ap[{}]: missing column {}'.format(
                    index, c))
        s = pd.Series(src['AP'].to_numpy(np.float64),
                      index=src['LabelName'].to_numpy(dtype=object))
    else:
        s = read_per_class_ap(src)
        s = pd.Series(s['AP'].to_numpy(), index=s['LabelName'].to_numpy(
            dtype=object))
    if not s.index.is_unique:
        raise ValueError('per_class_ap[{}]: duplicate class {!r}'.format(
            index, s.index[s.index.duplicated()][0]))
    v = s.to_numpy()
    with np.errstate(invalid='ignore'):
        bad = np.isinf(v) | (v < 0) | (v > 1)
    if bad.any():
        raise ValueError('per_class_ap[{}]: AP of {!r} is {}, not in [0, 1] '
                         'or NaN'.format(index, s.index[np.argmax(bad)],
                                         v[np.argmax(bad)]))
    return s


def class_weights(ap, normalize='max', min_fraction=0.):
    """Per-model, per-class score weights from validation APs.

    For class c with at least one positive AP:

    * ``normalize='max'`` (default): :math:`w_{m,c} = AP_{m,c} /
      \\max_{m'} AP_{m',c}` (the "relative AP" of MMfruit's description of
      PFDet), so the best model keeps its scores;
    * ``normalize='sum'``: :math:`w_{m,c} = AP_{m,c} / \\sum_{m'}
      AP_{m',c}`;
    * with ``min_fraction`` f > 0, models with :math:`AP_{m,c} < f
      \\max_{m'} AP_{m',c}` get weight 0.

    A NaN AP of one model counts as 0 when another model has an AP for the
    class. A class where no model has a positive AP (all NaN, i.e. no
    validation ground truth, or all 0) gives every model the same weight,
    1 (``'max'``) or 1 / M (``'sum'``): there is no evidence to prefer one.

    The two normalisations scale all of a class's scores by the same factor,
    so they give the same per-class ranking and the same OID AP; they differ
    only under absolute score thresholds or a per-image cap.

    Args:
        ap (array): (M, C) APs, NaN allowed.
        normalize (str): ``'max'`` or ``'sum'``.
        min_fraction (float): In [0, 1].

    Returns:
        numpy.ndarray: (M, C) float64 weights in [0, 1].

    """
    ap = np.array(ap, dtype=np.float64, ndmin=2)
    if ap.ndim != 2:
        raise ValueError('class_weights: ap must have shape (M, C), got '
                         '{}'.format(ap.shape))
    if normalize not in NORMALIZATIONS:
        raise ValueError('class_weights: normalize must be one of {}, got '
                         '{!r}'.format(NORMALIZATIONS, normalize))
    if not 0 <= min_fraction <= 1:
        raise ValueError('class_weights: min_fraction must be in [0, 1], got '
                         '{}'.format(min_fraction))
    with np.errstate(invalid='ignore'):
        if np.any(np.isinf(ap) | (ap < 0) | (ap > 1)):
            raise ValueError('class_weights: APs must be in [0, 1] or NaN')
    a = np.nan_to_num(ap, nan=0.)
    best = a.max(axis=0)
    informative = best > 0
    if normalize == 'max':
        den = best
    else:
        den = a.sum(axis=0)
    w = np.divide(a, den, out=np.zeros_like(a), where=informative)
    if min_fraction > 0:
        w[a < min_fraction * best] = 0.
    n_model = ap.shape[0]
    w[:, ~informative] = 1. if normalize == 'max' else 1. / n_model
    return w


# ----------------------------------------------------------------- suppression

def suppress_detections(df, method='nmw', iou_thresh=None,
                        class_mids=None, chunk_size=1 << 18, **kwargs):
    """Class-wise suppression of every image of a prediction table.

    Each image's rows are suppressed per class with the function
    ``SUPPRESSIONS[method]`` of :mod:`pfdet.utils`; the result equals one call
    per image. Rows are grouped by image once and up to ``chunk_size`` rows
    (whole images) go through one vectorised call, with the label
    ``image * n_class + class`` keeping images and classes apart.

    Boxes are suppressed in normalized coordinates: IoU, and hence every
    decision and fused box, is unchanged by scaling x and y by the image
    size.

    Args:
        df (pandas.DataFrame): ``ImageID, LabelName, Score, XMin, XMax,
            YMin, YMax`` with finite values and ``XMin <= XMax``,
            ``YMin <= YMax``.
        method (str): ``'nmw'`` (default), ``'nms'``, ``'soft_nms'``,
            ``'adj_nms'`` or ``'box_voting'``.
        iou_thresh (float): The function's IoU threshold; :obj:`None` keeps
            its default (0.55 for NMW, 0.5 otherwise).
        class_mids (list of str): Label order; :obj:`None` uses the sorted
            MIDs of ``df``.
        chunk_size (int): Rows per vectorised call.
        **kwargs: Further arguments of the suppression function (e.g.
            ``sigma``, ``n_voter``, ``strict``).

    Returns:
        pandas.DataFrame: The suppressed rows in the same format, grouped by
        image (first-appearance order), then by label, then by descending
        score; index 0..K-1.

    """
    if method not in SUPPRESSIONS:
        raise ValueError('unknown suppression method {!r} (choose from {})'
                         .format(method, ', '.join(SUPPRESSIONS)))
    func = SUPPRESSIONS[method]
    if iou_thresh is not None:
        kwargs['iou_thresh'] = iou_thresh
    if chunk_size < 1:
        raise ValueError('chunk_size must be >= 1, got {}'.format(chunk_size))
    if len(df) == 0:
        return _empty_predictions()
    img, images = pd.factorize(df['ImageID'], sort=False)
    if class_mids is None:
        class_mids = np.sort(pd.unique(df['LabelName']))
    class_index = pd.Index(np.asarray(class_mids, dtype=object))
    cls = class_index.get_indexer(df['LabelName'])
    if (cls < 0).any():
        row = int(np.argmax(cls < 0))
        raise ValueError('suppress_detections: row {} has class {!r} not in '
                         'class_mids'.format(row, df['LabelName'].iloc[row]))
    n_class = len(class_index)
    order = np.argsort(img, kind='stable')
    img = img[order]
    cls = cls[order].astype(np.int64)
    score = df['Score'].to_numpy(np.float64)[order]
    bbox = np.stack([df[c].to_numpy(np.float64)[order]
                     for c in ('YMin', 'XMin', 'YMax', 'XMax')], axis=1)
    # image boundaries of the sorted rows, then chunks of whole images
    edges = np.r_[np.flatnonzero(np.r_[True, img[1:] != img[:-1]]),
                  len(img)]
    bounds = [0]
    while bounds[-1] < len(img):
        lo = bounds[-1]
        hi = int(edges[np.searchsorted(edges, lo + chunk_size, 'right') - 1])
        if hi <= lo:  # one image larger than a chunk
            hi = int(edges[np.searchsorted(edges, lo, 'right')])
        bounds.append(hi)
    out_bbox, out_score, out_label = [], [], []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        base = img[lo]
        label = (img[lo:hi] - base).astype(np.int64) * n_class + cls[lo:hi]
        b, s, lb = func(bbox[lo:hi], score[lo:hi], label, **kwargs)[:3]
        out_bbox.append(np.asarray(b, dtype=np.float64).reshape(-1, 4))
        out_score.append(np.asarray(s, dtype=np.float64))
        out_label.append(np.asarray(lb, dtype=np.int64) + base * n_class)
    bbox = np.concatenate(out_bbox)
    label = np.concatenate(out_label)
    return pd.DataFrame({
        'ImageID': np.asarray(images, dtype=object)[label // n_class],
        'LabelName': np.asarray(class_index, dtype=object)[label % n_class],
        'Score': np.concatenate(out_score),
        'XMin': bbox[:, 1], 'XMax': bbox[:, 3],
        'YMin': bbox[:, 0], 'YMax': bbox[:, 2]},
        columns=list(oid_io.PREDICTIONS_COLUMNS))


def _empty_predictions():
    return pd.DataFrame({
        'ImageID': pd.Series([], dtype=object),
        'LabelName': pd.Series([], dtype=object),
        'Score': [], 'XMin': [], 'XMax': [], 'YMin': [], 'YMax': []},
        columns=list(oid_io.PREDICTIONS_COLUMNS))


# ----------------------------------------------------------------- ensemble

def _as_mid_set(classes, index):
    if classes is None:
        return None
    if isinstance(classes, (str, os.PathLike)):
        mids = oid_io.read_class_list(str(classes))
    else:
        mids = list(classes)
    if not mids:
        raise ValueError('expert_classes[{}] is empty'.format(index))
    return pd.Index(pd.unique(np.asarray(mids, dtype=object)))


def ensemble_detections(detections, per_class_ap=None, model_weights=None,
                        method='nmw', iou_thresh=None, normalize='max',
                        min_fraction=0., expert_classes=None,
                        expert_mode='augment', class_mids=None,
                        score_thresh=None, max_per_image=None,
                        skip_invalid=False, chunk_size=1 << 18,
                        **suppression_kwargs):
    """Merge the detections of several models ("concat, then suppress").

    Steps:

    1. Read and validate every table. Rows with a NaN/infinite value or an
       inverted box (``XMin > XMax`` or ``YMin > YMax``), and rows of a class
       outside ``class_mids``, raise an error naming the file and line (or
       table and row); with ``skip_invalid=True`` they are dropped and
       counted. An expert's row of a class outside its own
       ``expert_classes`` always raises (a wrong class list).
    2. Zero-area boxes (``XMin == XMax`` or ``YMin == YMax``) are dropped
       and counted (``n_zero_area``): they overlap nothing, and the OID
       evaluator ignores them.
    3. ``expert_mode='replace'``: rows of the general models (those with
       ``expert_classes[m] = None``) whose class belongs to some expert are
       dropped (``n_replaced``), so an expert's classes come from experts
       only. ``'augment'`` keeps them ("Concat -> Suppression").
    4. Scores are multiplied by ``model_weights[m] / max(model_weights)``
       and by :func:`class_weights` of the ``per_class_ap`` tables. Rows whose
       weight is 0 are dropped (``n_zero_weight``).
    5. All rows are suppressed per image and class (:func:`
       suppress_detections`), then ``score_thresh`` and ``max_per_image``
       are applied (``n_below_score_thresh``, ``n_over_cap``).

    With all weights 1 the result is exactly the suppression function
    applied to each image's concatenated detections.

    Args:
        detections (list): M prediction tables, each a path to a CSV
            (``ImageID,LabelName,Score,XMin,XMax,YMin,YMax``, normalized
            coordinates; a Kaggle submission ``ImageId,PredictionString``
            is recognised by its header) or a :class:`pandas.DataFrame`
            with those columns. A table may be empty.
        per_class_ap (list): :obj:`None`, or M per-class AP tables (paths to
            ``per_class_ap.csv``, DataFrames with ``LabelName, AP``, or
            dicts / Series MID -> AP). Every class a model detects needs a
            row in its table (NaN AP allowed).
        model_weights (list of float): :obj:`None` or M non-negative
            weights (not all 0).
        method (str): Suppression, a key of :data:`SUPPRESSIONS`.
        iou_thresh (float): Its IoU threshold (:obj:`None`: its default).
        normalize (str): ``'max'`` (relative AP) or ``'sum'``; see
            :func:`class_weights`.
        min_fraction (float): Zero the class weight of a model whose AP is
            below this fraction of the best AP.
        expert_classes (list): :obj:`None`, or M entries: :obj:`None` for a
            general model, else the expert's classes (a list of MIDs or a
            class-list file).
        expert_mode (str): ``'augment'`` (default) or ``'replace'``.
        class_mids (list of str): The known classes (label order of the
            output); :obj:`None` accepts any class.
        score_thresh (float): Drop merged rows with a lower score.
        max_per_image (int): Keep the best rows of each image.
        skip_invalid (bool): Drop and count bad rows instead of raising.
        chunk_size (int): Rows per vectorised suppression call.
        **suppression_kwargs: Passed to the suppression function.

    Returns:
        tuple: ``(merged, stats)``: a prediction DataFrame and a dict of
        counts (``n_input``, ``n_skipped``, ``n_unknown_class``,
        ``n_zero_area``, ``n_replaced``, ``n_zero_weight``,
        ``n_suppressed_input``, ``n_below_score_thresh``, ``n_over_cap``,
        ``n_output``, ``n_image``; per-model counts are lists).

    """
    if isinstance(detections, (str, pd.DataFrame)) or not len(detections):
        raise ValueError('ensemble_detections: need a non-empty list of '
                         'detection tables')
    n_model = len(detections)
    for name, v in (('per_class_ap', per_class_ap),
                    ('model_weights', model_weights),
                    ('expert_classes', expert_classes)):
        if v is not None and len(v) != n_model:
            raise ValueError('ensemble_detections: {} has {} entries for {} '
                             'detection tables'.format(name, len(v),
                                                       n_model))
    if per_class_ap is not None and any(a is None for a in per_class_ap):
        raise ValueError('ensemble_detections: per_class_ap must be given '
                         'for every model or for none')
    if expert_mode not in EXPERT_MODES:
        raise ValueError('expert_mode must be one of {}, got {!r}'.format(
            EXPERT_MODES, expert_mode))
    if method not in SUPPRESSIONS:
        raise ValueError('unknown suppression method {!r} (choose from {})'
                         .format(method, ', '.join(SUPPRESSIONS)))
    if model_weights is not None:
        mw = np.asarray(model_weights, dtype=np.float64)
        if not (np.all(np.isfinite(mw)) and np.all(mw >= 0) and mw.max() > 0):
            raise ValueError('model_weights must be finite, >= 0 and not all '
                             '0, got {}'.format(list(model_weights)))
        mw = mw / mw.max()
    else:
        mw = np.ones(n_model)
    experts = [None] * n_model if expert_classes is None else [
        _as_mid_set(c, m) for m, c in enumerate(expert_classes)]
    known = None if class_mids is None else pd.Index(
        np.asarray(class_mids, dtype=object))
    if known is not None and not known.is_unique:
        raise ValueError('class_mids has duplicates')
    if known is not None:
        for m, ex in enumerate(experts):
            if ex is not None and (known.get_indexer(ex) < 0).any():
                raise ValueError('expert_classes[{}]: class {!r} is not in '
                                 'class_mids'.format(
                                     m, ex[known.get_indexer(ex) < 0][0]))

    stats = collections.OrderedDict(
        (k, [0] * n_model) for k in (
            'n_input', 'n_skipped', 'n_unknown_class', 'n_zero_area',
            'n_replaced', 'n_zero_weight'))
    tables = []
    for m, src in enumerate(detections):
        df, source = _load_detections(src, m, skip_invalid)
        stats['n_skipped'][m] = int(df.attrs.get('skipped', 0))
        stats['n_input'][m] = len(df) + stats['n_skipped'][m]
        df = df.reset_index(drop=True)
        df, n_bad = _validate_rows(df, source, skip_invalid)
        stats['n_skipped'][m] += n_bad
        if known is not None:
            unknown = known.get_indexer(df['LabelName']) < 0
            lab = df['LabelName'].to_numpy()
            df, stats['n_unknown_class'][m] = _drop_counted(
                df, unknown, source,
                lambda r: 'unknown class {!r} (not in the class list)'.format(
                    lab[r]), skip_invalid, source.name)
        if experts[m] is not None:
            outside = experts[m].get_indexer(df['LabelName']) < 0
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise source.error(
                    int(df.index[row]),
                    'class {!r} is not one of the {} classes of this expert '
                    '(wrong class list?)'.format(df['LabelName'].iloc[row],
                                                 len(experts[m])))
        zero = ((df['XMin'] == df['XMax']) | (df['YMin'] == df['YMax']))
        stats['n_zero_area'][m] = int(zero.sum())
        df = df[~zero.to_numpy()]
        tables.append((df, source))

    if expert_mode == 'replace' and any(e is not None for e in experts):
        owned = pd.Index(pd.unique(np.concatenate(
            [np.asarray(e, dtype=object) for e in experts if e is not None])))
        for m, (df, source) in enumerate(tables):
            if experts[m] is None:
                taken = (owned.get_indexer(df['LabelName']) >= 0)
                stats['n_replaced'][m] = int(taken.sum())
                tables[m] = (df[~taken], source)

    # class index of the merge
    if known is not None:
        mids = known
    else:
        mids = pd.Index(np.sort(pd.unique(np.concatenate(
            [t['LabelName'].to_numpy(dtype=object) for t, _ in tables]
            + [np.asarray(e, dtype=object) for e in experts
               if e is not None]))))

    weight_table = None
    if per_class_ap is not None:
        series = [_ap_series(a, m) for m, a in enumerate(per_class_ap)]
        ap = np.full((n_model, len(mids)), np.nan)
        for m, s in enumerate(series):
            pos = mids.get_indexer(s.index)
            ap[m, pos[pos >= 0]] = s.to_numpy()[pos >= 0]
            df, source = tables[m]
            missing = ~df['LabelName'].isin(s.index).to_numpy()
            if missing.any():
                row = int(np.flatnonzero(missing)[0])
                raise ValueError(
                    '{}: model {} detects class {!r} but its per-class AP '
                    'table (per_class_ap[{}]) has no row for it'.format(
                        source.where(int(df.index[row])), m,
                        df['LabelName'].iloc[row], m))
        weight_table = class_weights(ap, normalize, min_fraction)

    parts = []
    for m, (df, _) in enumerate(tables):
        w = np.full(len(df), mw[m])
        if weight_table is not None:
            w = w * weight_table[m, mids.get_indexer(df['LabelName'])]
        zero = w == 0
        stats['n_zero_weight'][m] = int(zero.sum())
        df = df[~zero].copy()
        df['Score'] = df['Score'].to_numpy() * w[~zero]
        parts.append(df)
    pool = pd.concat(parts, ignore_index=True) if parts else \
        _empty_predictions()
    stats['n_suppressed_input'] = len(pool)
    merged = suppress_detections(pool, method, iou_thresh, class_mids=mids,
                                 chunk_size=chunk_size, **suppression_kwargs)
    stats['n_below_score_thresh'] = 0
    if score_thresh is not None:
        low = merged['Score'].to_numpy() < score_thresh
        stats['n_below_score_thresh'] = int(low.sum())
        merged = merged[~low]
    stats['n_over_cap'] = 0
    if max_per_image is not None:
        if max_per_image < 1:
            raise ValueError('max_per_image must be >= 1, got {}'.format(
                max_per_image))
        img = pd.factorize(merged['ImageID'], sort=False)[0]
        order = np.lexsort((-merged['Score'].to_numpy(), img))
        rank = np.empty(len(order), np.int64)
        sorted_img = img[order]
        first = np.searchsorted(sorted_img, sorted_img, side='left')
        rank[order] = np.arange(len(order)) - first
        over = rank >= max_per_image
        stats['n_over_cap'] = int(over.sum())
        merged = merged[~over]
    merged = merged.reset_index(drop=True)
    stats['n_output'] = len(merged)
    stats['n_image'] = int(merged['ImageID'].nunique())
    return merged, dict(stats)


# ----------------------------------------------------------------- evaluation

def _class_names(class_list):
    path = str(class_list)
    if path.endswith('.pbtxt'):
        mids, _, names = oid_io.read_label_map(path)
    else:
        mids, names = oid_io.read_class_descriptions(path)
    return list(mids), list(names)


def evaluate_detections(detections, gt_boxes, gt_labels, class_list,
                        hierarchy=None, iou_thresh=0.5):
    """OID challenge metric of a prediction table against ground-truth CSVs.

    A thin wrapper of :func:`pfdet.evaluations.oid_challenge.
    evaluate_oid_challenge` (the official tool's semantics: only images with
    ground truth are scored, predictions are used as given). DataFrames and
    the hierarchy-expanded ground truth are written to a temporary directory
    first.

    Args:
        detections: Path of a prediction CSV or a DataFrame
            (``ImageID,LabelName,Score,XMin,XMax,YMin,YMax``).
        gt_boxes (str): Ground-truth box CSV (2018 or 2019 format).
        gt_labels (str): Ground-truth image-level labels CSV.
        class_list (str): Label map (``.pbtxt``) or class descriptions.
        hierarchy: :obj:`None` when the ground truth is already
            hierarchy-expanded (the official workflow); otherwise a hierarchy
            JSON path, dict or :class:`~pfdet.datasets.ClassHierarchy` used to
            expand it first.
        iou_thresh (float): Matching threshold.

    Returns:
        dict: ``map`` (float), ``per_class`` (DataFrame ``LabelName, Name,
        AP, NumGT`` in class-list order; NumGT = ground-truth boxes of the
        class after expansion, group-of boxes included), ``metrics`` (the
        official metric names and values) and ``stats`` (counts).

    """
    from pfdet.evaluations.oid_challenge import evaluate_oid_challenge
    tmp = tempfile.mkdtemp(prefix='pfdet_eval_')
    try:
        if isinstance(detections, pd.DataFrame):
            pred_path = os.path.join(tmp, 'detections.csv')
            oid_io.write_predictions_csv(pred_path, detections)
        else:
            pred_path = str(detections)
        if hierarchy is not None:
            from pfdet.datasets import ClassHierarchy
            if not isinstance(hierarchy, ClassHierarchy):
                hierarchy = ClassHierarchy.from_json(hierarchy)
            boxes = hierarchy.expand_boxes(oid_io.read_bbox_csv(
                gt_boxes, allow_duplicates=True))
            labels = hierarchy.expand_image_labels(
                oid_io.read_image_labels_csv(gt_labels,
                                             allow_duplicates=True))
            gt_boxes = os.path.join(tmp, 'boxes-expanded.csv')
            gt_labels = os.path.join(tmp, 'labels-expanded.csv')
            oid_io.write_bbox_csv(gt_boxes, boxes, fmt='2019')
            oid_io.write_image_labels_csv(gt_labels, labels)
        else:
            boxes = oid_io.read_bbox_csv(gt_boxes, allow_duplicates=True)
        metrics, stats = evaluate_oid_challenge(
            gt_boxes, gt_labels, class_list, pred_path, iou_thresh)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mids, names = _class_names(class_list)
    values = list(metrics.values())
    # per-class metrics are in id order; ids are 1..C in file order for a
    # class-descriptions CSV and as given in a label map
    from pfdet.evaluations.oid_challenge import read_class_map
    map_mids, ids = read_class_map(class_list)
    ap = pd.Series(values[1:], index=np.asarray(map_mids, dtype=object)[
        np.argsort(ids, kind='stable')])
    counts = boxes['LabelName'].value_counts()
    per_class = pd.DataFrame({
        'LabelName': mids, 'Name': names,
        'AP': ap.reindex(mids).to_numpy(np.float64),
        'NumGT': counts.reindex(mids).fillna(0).to_numpy(np.int64)},
        columns=list(PER_CLASS_AP_COLUMNS))
    return {'map': float(values[0]), 'per_class': per_class,
            'metrics': metrics, 'stats': stats}
