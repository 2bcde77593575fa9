"""Readers and writers of the Open Images (OID) challenge file formats.

All CSV readers select columns **by name** (extra columns are ignored), parse
with pandas' C parser and validate with vectorized boolean masks. A bad row
raises :class:`OIDFormatError` naming the file and the 1-based physical line
(the header is line 1). With ``skip_invalid=True`` bad rows are dropped
instead, their count is stored in ``df.attrs['skipped']`` and reported with
:func:`warnings.warn`. Lines that hold no value at all (blank lines) carry no
data and are ignored.

Formats (see the Open Images challenge pages):

* class descriptions: ``MID,Name``, no header.
* label map: protobuf text,
  ``item { name: "/m/..." id: 1 display_name: "..." }``.
* boxes, 2018: ``ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,
  IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside``; 2019:
  ``ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf``. Coordinates are
  normalized to [0, 1].
* image-level labels: ``ImageID,Source,LabelName,Confidence``.
* evaluator predictions: ``ImageID,LabelName,Score,XMin,XMax,YMin,YMax``.
* Kaggle submission: ``ImageId,PredictionString`` where the string is a
  space-separated list of ``LabelName Confidence XMin YMin XMax YMax``.

"""

import csv
import re
import warnings

import numpy as np
import pandas as pd


class OIDFormatError(ValueError):
    """A malformed Open Images file.

    Args:
        path (str): The file.
        line (int): 1-based physical line number (header = line 1), or
            :obj:`None` when the error concerns the whole file.
        reason (str): What is wrong.

    """

    def __init__(self, path, line, reason):
        self.path = str(path)
        self.line = line
        self.reason = reason
        if line is None:
            msg = '{}: {}'.format(self.path, reason)
        else:
            msg = '{}, line {}: {}'.format(self.path, line, reason)
        super(OIDFormatError, self).__init__(msg)

    def __reduce__(self):
        return (type(self), (self.path, self.line, self.reason))


BBOX_2018_COLUMNS = (
    'ImageID', 'Source', 'LabelName', 'Confidence',
    'XMin', 'XMax', 'YMin', 'YMax',
    'IsOccluded', 'IsTruncated', 'IsGroupOf', 'IsDepiction', 'IsInside')
BBOX_2019_COLUMNS = (
    'ImageID', 'LabelName', 'XMin', 'XMax', 'YMin', 'YMax', 'IsGroupOf')
IMAGE_LABELS_COLUMNS = ('ImageID', 'Source', 'LabelName', 'Confidence')
PREDICTIONS_COLUMNS = (
    'ImageID', 'LabelName', 'Score', 'XMin', 'XMax', 'YMin', 'YMax')

_COORDS = ('XMin', 'XMax', 'YMin', 'YMax')
_FLAGS = ('IsOccluded', 'IsTruncated', 'IsGroupOf', 'IsDepiction', 'IsInside')

# column name -> kind ('str', 'float' or 'int8'); order = output order
_BBOX_SPEC = dict(
    [('ImageID', 'str'), ('Source', 'str'), ('LabelName', 'str'),
     ('Confidence', 'int8')]
    + [(c, 'float') for c in _COORDS] + [(c, 'int8') for c in _FLAGS])
_BBOX_REQUIRED = BBOX_2019_COLUMNS
_IMAGE_LABELS_SPEC = {
    'ImageID': 'str', 'Source': 'str', 'LabelName': 'str',
    'Confidence': 'int8'}
_IMAGE_LABELS_REQUIRED = ('ImageID', 'LabelName', 'Confidence')
_PREDICTIONS_SPEC = dict(
    [('ImageID', 'str'), ('LabelName', 'str'), ('Score', 'float')]
    + [(c, 'float') for c in _COORDS])

_LINE_RE = re.compile(r'line (\d+)')


# ---------------------------------------------------------------- class lists

def read_class_descriptions(path):
    """Read a class-descriptions CSV (``MID,Name``, no header).

    Args:
        path (str): The file, e.g.
            ``challenge-2018-class-descriptions-500.csv``.

    Returns:
        tuple of two lists of str: ``(mids, names)`` in file order.

    """
    try:
        df = pd.read_csv(
            path, header=None, dtype=str, keep_default_na=False,
            skip_blank_lines=False, on_bad_lines='error')
    except pd.errors.EmptyDataError:
        return [], []
    except pd.errors.ParserError as e:
        raise OIDFormatError(path, _parser_error_line(e), str(e))
    if df.shape[1] != 2:
        raise OIDFormatError(
            path, 1, 'expected 2 columns (MID,Name), found {}'.format(
                df.shape[1]))
    lines = np.arange(len(df)) + 1
    blank = ((df[0] == '') & (df[1] == '')).to_numpy()
    df, lines = df[~blank], lines[~blank]
    mids = df[0].str.strip()
    bad = (mids == '').to_numpy()
    if bad.any():
        raise OIDFormatError(path, int(lines[np.argmax(bad)]), 'empty MID')
    dup = mids.duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise OIDFormatError(path, int(lines[i]),
                             'duplicate MID {!r}'.format(mids.iloc[i]))
    return mids.tolist(), df[1].tolist()


def write_class_descriptions(path, mids, names):
    """Write a class-descriptions CSV (``MID,Name``, no header, ``\\n``).

    Args:
        path (str): The output file.
        mids (list of str): Class MIDs.
        names (list of str): Display names, same length.

    """
    if len(mids) != len(names):
        raise ValueError('mids and names differ in length: {} vs {}'.format(
            len(mids), len(names)))
    pd.DataFrame({'MID': list(mids), 'Name': list(names)}).to_csv(
        path, header=False, index=False, lineterminator='\n')


_ITEM_RE = re.compile(r'\bitem\s*\{([^{}]*)\}', re.S)
_STR_FIELD = r'\b{}\s*:\s*"((?:[^"\\]|\\.)*)"'
_NAME_RE = re.compile(_STR_FIELD.format('name'))
_DISPLAY_RE = re.compile(_STR_FIELD.format('display_name'))
_ID_RE = re.compile(r'\bid\s*:\s*(-?\d+)')


def _unescape(s):
    return re.sub(r'\\(.)', r'\1', s)


def read_label_map(path):
    """Read an official label map (protobuf text format).

    Args:
        path (str): A ``.pbtxt`` file with entries
            ``item { name: "/m/..." id: 1 display_name: "..." }``.

    Returns:
        tuple: ``(mids, ids, display_names)``: a list of str, a list of int
        and a list of str (``''`` where no display name is given), sorted by
        id.

    """
    with open(path, encoding='utf-8') as f:
        text = f.read()
    mids, ids, names, lines = [], [], [], []
    for m in _ITEM_RE.finditer(text):
        body = m.group(1)
        line = text.count('\n', 0, m.start()) + 1
        name = _NAME_RE.search(body)
        id_ = _ID_RE.search(body)
        if name is None or id_ is None:
            raise OIDFormatError(
                path, line, 'label-map item without a "name" or an "id"')
        disp = _DISPLAY_RE.search(body)
        mids.append(_unescape(name.group(1)))
        ids.append(int(id_.group(1)))
        names.append(_unescape(disp.group(1)) if disp else '')
        lines.append(line)
    if not mids and text.strip():
        raise OIDFormatError(path, 1, 'no "item { ... }" entries found')
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind='stable')
    for key, what in ((ids, 'id'), (mids, 'name')):
        seen = {}
        for i in range(len(key)):
            if key[i] in seen:
                raise OIDFormatError(
                    path, lines[i], 'duplicate {} {!r} (first on line {})'
                    .format(what, key[i], lines[seen[key[i]]]))
            seen[key[i]] = i
    return ([mids[i] for i in order], [ids[i] for i in order],
            [names[i] for i in order])


def write_label_map(path, mids, names=None):
    """Write an official-style label map with ids ``1..C`` in list order.

    Args:
        path (str): The output ``.pbtxt``.
        mids (list of str): Class MIDs (the ``name`` field).
        names (list of str): Display names, or :obj:`None` to omit them.

    """
    if names is not None and len(names) != len(mids):
        raise ValueError('mids and names differ in length: {} vs {}'.format(
            len(mids), len(names)))

    def esc(s):
        return s.replace('\\', '\\\\').replace('"', '\\"')

    parts = []
    for i, mid in enumerate(mids):
        item = 'item {{\n  name: "{}"\n  id: {}\n'.format(esc(mid), i + 1)
        if names is not None:
            item += '  display_name: "{}"\n'.format(esc(names[i]))
        parts.append(item + '}\n')
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(''.join(parts))


def read_class_list(path):
    """Read class MIDs from a label map (``.pbtxt``) or class-descriptions CSV.

    Args:
        path (str): The file.

    Returns:
        list of str: MIDs (by id for a label map, file order for a CSV).

    """
    if str(path).endswith('.pbtxt'):
        return read_label_map(path)[0]
    return read_class_descriptions(path)[0]


# ---------------------------------------------------------------- CSV core

def _parser_error_line(e):
    m = _LINE_RE.search(str(e))
    return int(m.group(1)) if m else None


class _Table(object):
    """Parsed columns with row -> physical line bookkeeping."""

    def __init__(self, path, df, skipped_lines):
        self.path = path
        self.df = df
        self.skipped_lines = np.asarray(sorted(skipped_lines), dtype=np.int64)
        self.checks = []  # (mask, reason_fn(i)) in priority order

    def line(self, i):
        """Physical line of data row ``i`` (0-based, after parser skips)."""
        line = i + 2
        for s in self.skipped_lines:  # few; only on the error path
            if s <= line:
                line += 1
        return line

    def add(self, mask, reason):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.checks.append((mask, reason))

    def bad(self):
        bad = np.zeros(len(self.df), dtype=bool)
        for mask, _ in self.checks:
            bad |= mask
        return bad

    def first_error(self):
        best = None
        for mask, reason in self.checks:
            i = int(np.argmax(mask))
            if best is None or i < best[0]:
                best = (i, reason)
        i, reason = best
        return self.line(i), reason(i) if callable(reason) else reason


def _read_header(path):
    try:
        header = pd.read_csv(path, nrows=0, dtype=str)
    except pd.errors.EmptyDataError:
        raise OIDFormatError(path, 1, 'empty file (no header line)')
    return [str(c) for c in header.columns]


def _read_table(path, spec, required, skip_invalid):
    header = _read_header(path)
    missing = [c for c in required if c not in header]
    if missing:
        raise OIDFormatError(
            path, 1, 'missing required column(s) {} (header: {})'.format(
                ', '.join(missing), ','.join(header)))
    usecols = [c for c in header if c in spec]
    # the last column tells short rows (pandas fills missing fields with NaN)
    last = header[-1]
    if last not in usecols:
        usecols.append(last)
    dtype = {c: str for c in usecols if spec.get(c, 'str') == 'str'}
    skipped_lines = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            # Without usecols the C parser checks every row's field count;
            # with it, surplus fields go unnoticed (only when the file has
            # columns we do not read).
            df = pd.read_csv(
                path, usecols=None if usecols == header else usecols,
                dtype=dtype, keep_default_na=False,
                na_values={c: [''] for c in usecols}, skip_blank_lines=False,
                on_bad_lines='warn' if skip_invalid else 'error')
        except pd.errors.ParserError as e:
            raise OIDFormatError(
                path, _parser_error_line(e),
                'malformed row ({})'.format(
                    str(e).split('C error: ')[-1].strip()))
    for w in caught:
        if issubclass(w.category, pd.errors.ParserWarning):
            skipped_lines.extend(
                int(x) for x in re.findall(r'Skipping line (\d+)',
                                           str(w.message)))
        elif not issubclass(w.category, pd.errors.DtypeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename,
                                   w.lineno)
    table = _Table(path, df, skipped_lines)
    values, na = {}, {}
    for c in usecols:
        col = df[c]
        if spec.get(c, 'str') == 'str':
            values[c] = col
            na[c] = col.isna().to_numpy()
        elif col.dtype == object:
            # a non-numeric field made pandas keep the column as text
            values[c] = pd.to_numeric(col, errors='coerce').to_numpy(
                dtype=np.float64)
            na[c] = col.isna().to_numpy()
        else:
            values[c] = col.to_numpy(dtype=np.float64)
            na[c] = np.isnan(values[c])  # only empty fields give NaN here
    # blank lines (no value at all) carry no data: ignore them
    empty = np.logical_and.reduce([na[c] for c in usecols])

    if last not in spec:
        table.add(na[last] & ~empty,
                  'too few fields (expected {})'.format(len(header)))
    out = {}
    for c in usecols:
        if c not in spec:
            continue
        kind = spec[c]
        missing = na[c] & ~empty
        table.add(missing, 'empty or missing value in column {}'.format(c))
        v = values[c]
        out[c] = v
        if kind == 'str':
            continue
        raw = df[c].to_numpy()
        nonnum = ~np.isfinite(v) & ~na[c]
        table.add(nonnum, lambda i, c=c, raw=raw: (
            'non-numeric or non-finite value {!r} in column {}'.format(
                raw[i], c)))
        if kind == 'int8':
            with np.errstate(invalid='ignore'):
                nonint = np.isfinite(v) & (
                    (v != np.round(v)) | (np.abs(v) > 127))
            table.add(nonint, lambda i, c=c, raw=raw: (
                'value {!r} in column {} is not a small integer'.format(
                    raw[i], c)))
    table.values = out
    table.kinds = spec
    table.empty = empty
    return table, header


def _finish(table, columns, skip_invalid, what):
    """Raise or drop, then build the typed output frame."""
    path = table.path
    bad = table.bad() | table.empty
    n_bad = int((table.bad() & ~table.empty).sum())
    if n_bad and not skip_invalid:
        line, reason = table.first_error()
        raise OIDFormatError(path, line, reason)
    keep = None if not bad.any() else ~bad
    data = {}
    for c in columns:
        if c not in table.values:
            continue
        v = table.values[c]
        if isinstance(v, pd.Series):
            v = v.to_numpy(dtype=object)
        if keep is not None:
            v = v[keep]
        data[c] = v if table.kinds[c] != 'int8' else v.astype(np.int8)
    df = pd.DataFrame(data, columns=[c for c in columns if c in data])
    skipped = n_bad + len(table.skipped_lines)
    df.attrs['skipped'] = skipped
    if skipped:
        first = None
        if len(table.skipped_lines):
            first = 'line {}: wrong number of fields'.format(
                table.skipped_lines[0])
        if n_bad:
            line, reason = table.first_error()
            if first is None or line < int(table.skipped_lines[0]):
                first = 'line {}: {}'.format(line, reason)
        warnings.warn('{}: skipped {} invalid {} row(s) (first: {})'.format(
            path, skipped, what, first))
    return df


def _check_known(table, known_mids):
    if known_mids is None:
        return
    labels = table.values['LabelName']
    unknown = (~labels.isin(list(known_mids))).to_numpy() & \
        labels.notna().to_numpy()
    table.add(unknown, lambda i: 'unknown class MID {!r}'.format(
        labels.iloc[i]))


def _check_duplicates(table, columns):
    """Flag exact repeats (over ``columns``) of an earlier valid row."""
    ok = ~(table.bad() | table.empty)
    cols = [c for c in columns if c in table.values]
    # one 64-bit hash per row, then an exact check among hash collisions
    h = np.zeros(len(ok), dtype=np.uint64)
    for c in cols:
        v = table.values[c]
        v = v.to_numpy() if isinstance(v, pd.Series) else v
        h = h * np.uint64(1000003) ^ pd.util.hash_array(v)
    cand = np.flatnonzero(ok)
    cand = cand[pd.Series(h[cand]).duplicated(keep=False).to_numpy()]
    dup = np.zeros(len(ok), dtype=bool)
    if len(cand) == 0:
        return
    frame = pd.DataFrame({c: np.asarray(table.values[c])[cand] for c in cols})
    dup[cand] = frame.duplicated(keep='first').to_numpy()

    def reason(i):
        j = int(np.searchsorted(cand, i))
        same = np.ones(len(frame), dtype=bool)
        for c in cols:
            same &= (frame[c] == frame[c].iloc[j]).to_numpy()
        first = int(cand[np.argmax(same)])
        return 'duplicate row (same as line {})'.format(table.line(first))
    table.add(dup, reason)


# ---------------------------------------------------------------- boxes

def read_bbox_csv(path, skip_invalid=False, known_mids=None,
                  allow_duplicates=False):
    """Read an Open Images box CSV (2018 13-column or 2019 7-column format).

    Columns are selected by name, so both formats (and files with extra
    columns) are accepted. Rows are validated: every required field present,
    coordinates numeric in [0, 1] with ``XMin < XMax`` and ``YMin < YMax``,
    integer flags, known MIDs (if ``known_mids`` is given) and no exact
    duplicate rows (unless ``allow_duplicates``).

    ``IsGroupOf`` is kept as in the file: any non-zero value (including -1,
    "unknown") counts as group-of, as in the official evaluation tool.

    Args:
        path (str): The CSV file.
        skip_invalid (bool): Drop bad rows (counted in
            ``df.attrs['skipped']`` and warned about) instead of raising.
        known_mids (iterable of str): If given, a row whose ``LabelName`` is
            not in it is invalid.
        allow_duplicates (bool): Accept exact duplicate rows (hierarchy-
            expanded files may contain them).

    Returns:
        pandas.DataFrame: Columns ``ImageID``, ``LabelName`` (str), ``XMin``,
        ``XMax``, ``YMin``, ``YMax`` (float64) and ``IsGroupOf`` (int8), plus
        ``Source`` (str) and ``Confidence``, ``IsOccluded``, ``IsTruncated``,
        ``IsDepiction``, ``IsInside`` (int8) when the file has them, in the
        2018 column order. ``df.attrs['skipped']`` is the number of dropped
        rows.

    Raises:
        OIDFormatError: On a bad row (file and 1-based line in the message)
            unless ``skip_invalid``, or on a missing required column.

    """
    table, _ = _read_table(path, _BBOX_SPEC, _BBOX_REQUIRED, skip_invalid)
    v = table.values
    with np.errstate(invalid='ignore'):
        finite = np.ones(len(table.df), dtype=bool)
        for c in _COORDS:
            finite &= np.isfinite(v[c])
        outside = np.zeros_like(finite)
        for c in _COORDS:
            outside |= (v[c] < 0) | (v[c] > 1)
        outside &= finite
        table.add(outside, lambda i: (
            'box coordinates outside [0, 1] (XMin={}, XMax={}, YMin={}, '
            'YMax={})'.format(*[v[c][i] for c in _COORDS])))
        empty_box = finite & ~outside & (
            (v['XMin'] >= v['XMax']) | (v['YMin'] >= v['YMax']))
        table.add(empty_box, lambda i: (
            'empty box: need XMin < XMax and YMin < YMax (XMin={}, XMax={}, '
            'YMin={}, YMax={})'.format(*[v[c][i] for c in _COORDS])))
    _check_known(table, known_mids)
    if not allow_duplicates:
        _check_duplicates(table, [c for c in BBOX_2018_COLUMNS if c in v])
    return _finish(table, BBOX_2018_COLUMNS, skip_invalid, 'box')


def write_bbox_csv(path, df, fmt='2018', float_format=None):
    """Write boxes in the 2018 (13-column) or 2019 (7-column) format.

    Args:
        path (str or file): The output.
        df (pandas.DataFrame): At least ``ImageID, LabelName, XMin, XMax,
            YMin, YMax, IsGroupOf``. For the 2018 format missing columns are
            filled: ``Source='xclick'``, ``Confidence=1``, the other flags
            ``-1`` (unknown).
        fmt (str): ``'2018'`` or ``'2019'``.
        float_format (str): Passed to :meth:`pandas.DataFrame.to_csv`;
            :obj:`None` writes the shortest exact representation.

    """
    if fmt == '2018':
        columns = BBOX_2018_COLUMNS
        defaults = {'Source': 'xclick', 'Confidence': 1, 'IsOccluded': -1,
                    'IsTruncated': -1, 'IsDepiction': -1, 'IsInside': -1}
    elif fmt == '2019':
        columns = BBOX_2019_COLUMNS
        defaults = {}
    else:
        raise ValueError("fmt must be '2018' or '2019', got {!r}".format(fmt))
    _write(path, df, columns, defaults, float_format)


def _write(path, df, columns, defaults, float_format):
    missing = [c for c in columns if c not in df.columns and c not in defaults]
    if missing:
        raise ValueError('cannot write {}: missing column(s) {}'.format(
            path, ', '.join(missing)))
    out = pd.DataFrame(index=df.index)
    for c in columns:
        if c in df.columns:
            out[c] = df[c]
        else:
            out[c] = defaults[c]
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = out[c].astype(np.int8)
    out.to_csv(path, index=False, float_format=float_format,
               lineterminator='\n')


# ---------------------------------------------------------------- labels

def read_image_labels_csv(path, skip_invalid=False, known_mids=None,
                          allow_duplicates=False):
    """Read a human-verified image-level labels CSV.

    Args:
        path (str): The CSV file (``ImageID,Source,LabelName,Confidence``;
            ``Source`` is optional).
        skip_invalid (bool): Drop bad rows (counted in
            ``df.attrs['skipped']``) instead of raising.
        known_mids (iterable of str): If given, unknown MIDs are invalid.
        allow_duplicates (bool): Accept exact duplicate rows (expanded files
            contain them).

    Returns:
        pandas.DataFrame: ``ImageID`` (str), ``Source`` (str, if present),
        ``LabelName`` (str), ``Confidence`` (int8, 1 = verified present,
        0 = verified absent).

    Raises:
        OIDFormatError: On a bad row (e.g. a confidence other than 0 or 1).

    """
    table, _ = _read_table(path, _IMAGE_LABELS_SPEC, _IMAGE_LABELS_REQUIRED,
                           skip_invalid)
    conf = table.values['Confidence']
    raw = table.df['Confidence'].to_numpy()
    with np.errstate(invalid='ignore'):
        table.add(np.isfinite(conf) & (conf != 0) & (conf != 1),
                  lambda i: 'Confidence must be 0 or 1, got {!r}'.format(
                      raw[i]))
    _check_known(table, known_mids)
    if not allow_duplicates:
        _check_duplicates(table, [c for c in IMAGE_LABELS_COLUMNS
                                  if c in table.values])
    return _finish(table, IMAGE_LABELS_COLUMNS, skip_invalid, 'image-label')


def write_image_labels_csv(path, df):
    """Write image-level labels (``ImageID,Source,LabelName,Confidence``).

    Args:
        path (str or file): The output.
        df (pandas.DataFrame): ``ImageID, LabelName, Confidence`` and
            optionally ``Source`` (default ``'verification'``).

    """
    _write(path, df, IMAGE_LABELS_COLUMNS, {'Source': 'verification'}, None)


# ---------------------------------------------------------------- predictions

def read_predictions_csv(path, skip_invalid=False):
    """Read predictions in the official evaluator's CSV format.

    Boxes are not required to be valid: the evaluator itself drops boxes with
    ``XMin >= XMax`` or ``YMin >= YMax``.

    Args:
        path (str): ``ImageID,LabelName,Score,XMin,XMax,YMin,YMax`` with
            header.
        skip_invalid (bool): Drop malformed rows instead of raising.

    Returns:
        pandas.DataFrame: ``ImageID``, ``LabelName`` (str), ``Score``,
        ``XMin``, ``XMax``, ``YMin``, ``YMax`` (float64).

    """
    table, _ = _read_table(path, _PREDICTIONS_SPEC, PREDICTIONS_COLUMNS,
                           skip_invalid)
    return _finish(table, PREDICTIONS_COLUMNS, skip_invalid, 'prediction')


def write_predictions_csv(path, df, float_format=None):
    """Write predictions in the official evaluator's CSV format.

    Args:
        path (str or file): The output.
        df (pandas.DataFrame): ``ImageID, LabelName, Score, XMin, XMax,
            YMin, YMax`` (normalized coordinates).
        float_format (str): See :meth:`pandas.DataFrame.to_csv`.

    """
    _write(path, df, PREDICTIONS_COLUMNS, {}, float_format)


# ---------------------------------------------------------------- Kaggle

def arrays_to_predictions(arrays, image_ids, class_mids, sizes):
    """Convert ChainerCV per-image predictions to the evaluator's prediction table.

    Args:
        arrays (tuple): ``(bboxes, labels, scores)``: per-image lists in ChainerCV
            convention (pixels, ``(y_min, x_min, y_max, x_max)``, int labels).
        image_ids (list of str): The ImageID of each image.
        class_mids (list of str): The MID of each label id.
        sizes (list of tuple): ``(H, W)`` of each image, to normalize the boxes.

    Returns:
        pandas.DataFrame: ``ImageID, LabelName, Score, XMin, XMax, YMin, YMax``
        (normalized coordinates), one row per detection, images in input order.

    """
    if image_ids is None or class_mids is None or sizes is None:
        raise ValueError('predictions from arrays: needs image_ids, class_mids and sizes')
    bboxes, labels, scores = arrays
    n = len(image_ids)
    if not (len(bboxes) == len(labels) == len(scores) == len(sizes) == n):
        raise ValueError(
            'bboxes, labels, scores, sizes and image_ids differ in length: '
            '{}, {}, {}, {}, {}'.format(len(bboxes), len(labels), len(scores),
                                        len(sizes), n))
    counts = np.array([len(b) for b in bboxes], dtype=np.int64)
    if counts.sum() == 0:
        return pd.DataFrame({c: [] for c in PREDICTIONS_COLUMNS})
    bbox = np.concatenate(
        [np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in bboxes])
    label = np.concatenate([np.asarray(lb).reshape(-1) for lb in labels])
    score = np.concatenate(
        [np.asarray(s, dtype=np.float64).reshape(-1) for s in scores])
    if not (len(label) == len(score) == len(bbox)):
        raise ValueError('per-image bbox, label and score lengths differ')
    class_mids = np.asarray(class_mids, dtype=object)
    if len(label) and (label.min() < 0 or label.max() >= len(class_mids)):
        raise ValueError(
            'labels must be in [0, {}), got range [{}, {}]'.format(
                len(class_mids), label.min(), label.max()))
    hw = np.repeat(np.asarray(sizes, dtype=np.float64).reshape(-1, 2),
                   counts, axis=0)
    return pd.DataFrame({
        'ImageID': np.repeat(np.asarray(image_ids, dtype=object), counts),
        'LabelName': class_mids[label],
        'Score': score,
        'XMin': bbox[:, 1] / hw[:, 1], 'XMax': bbox[:, 3] / hw[:, 1],
        'YMin': bbox[:, 0] / hw[:, 0], 'YMax': bbox[:, 2] / hw[:, 0]})


def write_submission(path, df_or_arrays, image_ids=None, class_mids=None,
                     sizes=None, float_format='%.6g'):
    """Write a Kaggle submission (``ImageId,PredictionString``).

    Each prediction string is a space-separated list of
    ``LabelName Confidence XMin YMin XMax YMax`` (normalized; note the X, Y,
    X, Y order). Every image of ``image_ids`` gets a row, with an empty string
    when it has no detection.

    Args:
        path (str or file): The output.
        df_or_arrays: Either a :class:`pandas.DataFrame` in the prediction
            format (``ImageID, LabelName, Score, XMin, XMax, YMin, YMax``),
            or a tuple ``(bboxes, labels, scores)`` of per-image lists in
            ChainerCV convention (pixels, ``(y_min, x_min, y_max, x_max)``,
            int labels), in which case ``image_ids``, ``class_mids`` and
            ``sizes`` (per-image ``(H, W)``) are required.
        image_ids (list of str): All images of the submission, in output
            order. :obj:`None` (DataFrame input only) uses the images of the
            frame in order of first appearance.
        class_mids (list of str): MID of each label id (arrays input).
        sizes (list of tuple): ``(H, W)`` of each image (arrays input).
        float_format (str): Format of scores and coordinates.

    """
    if isinstance(df_or_arrays, pd.DataFrame):
        pred = df_or_arrays
        missing = [c for c in PREDICTIONS_COLUMNS if c not in pred.columns]
        if missing:
            raise ValueError('write_submission: missing column(s) {}'.format(
                ', '.join(missing)))
    else:
        pred = arrays_to_predictions(df_or_arrays, image_ids, class_mids,
                                      sizes)
    if image_ids is None:
        image_ids = pd.unique(pred['ImageID'].to_numpy())
    image_ids = pd.Index(np.asarray(image_ids, dtype=object))
    if len(pred):
        cols = pred[['LabelName', 'Score', 'XMin', 'YMin', 'XMax', 'YMax']]
        # one C-level formatting pass: one line per (label, score, box) tuple
        buf = cols.to_csv(sep=' ', header=False, index=False,
                          float_format=float_format, lineterminator='\n',
                          quoting=csv.QUOTE_NONE, escapechar='\\')
        tuples = pd.Series(buf.split('\n')[:-1], index=pred.index)
        strings = tuples.groupby(pred['ImageID'].to_numpy(), sort=False).agg(
            ' '.join)
        extra = ~strings.index.isin(image_ids)
        if extra.any():
            raise ValueError(
                'write_submission: prediction for image {!r} not in '
                'image_ids'.format(strings.index[extra][0]))
    else:
        strings = pd.Series([], dtype=object)
    out = pd.DataFrame({
        'ImageId': image_ids,
        'PredictionString': strings.reindex(image_ids).fillna('').to_numpy()})
    out.to_csv(path, index=False, lineterminator='\n')


def read_submission(path):
    """Read a Kaggle submission back into the prediction format.

    Args:
        path (str): ``ImageId,PredictionString`` CSV.

    Returns:
        pandas.DataFrame: ``ImageID, LabelName, Score, XMin, XMax, YMin,
        YMax``; ``df.attrs['image_ids']`` lists every image of the file
        (including those with an empty prediction string).

    """
    header = _read_header(path)
    for c in ('ImageId', 'PredictionString'):
        if c not in header:
            raise OIDFormatError(path, 1, 'missing required column ' + c)
    sub = pd.read_csv(path, usecols=['ImageId', 'PredictionString'],
                      dtype=str, keep_default_na=False)
    tokens = sub['PredictionString'].str.split()
    n_tok = tokens.str.len().to_numpy()
    bad = n_tok % 6 != 0
    if bad.any():
        i = int(np.argmax(bad))
        raise OIDFormatError(
            path, i + 2, 'PredictionString has {} tokens, not a multiple of '
            '6'.format(n_tok[i]))
    flat = np.asarray(tokens.explode().dropna().to_numpy(), dtype=object)
    flat = flat.reshape(-1, 6)
    rows = np.repeat(np.arange(len(sub)), n_tok // 6)
    nums = pd.to_numeric(pd.Series(flat[:, 1:].ravel()), errors='coerce')
    nums = nums.to_numpy(dtype=np.float64).reshape(-1, 5)
    bad = ~np.isfinite(nums).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise OIDFormatError(
            path, int(rows[i]) + 2,
            'non-numeric value in prediction tuple {}'.format(
                ' '.join(flat[i])))
    df = pd.DataFrame({
        'ImageID': sub['ImageId'].to_numpy()[rows].astype(object),
        'LabelName': flat[:, 0],
        'Score': nums[:, 0],
        'XMin': nums[:, 1], 'XMax': nums[:, 3],
        'YMin': nums[:, 2], 'YMax': nums[:, 4]},
        columns=list(PREDICTIONS_COLUMNS))
    df.attrs['image_ids'] = sub['ImageId'].tolist()
    return df
