"""Expand Open Images annotations with the class hierarchy (command line).

Same flags and output rows as the official TF Object Detection API tool
``oid_hierarchical_labels_expansion.py``, vectorized::

    python -m pfdet.datasets.expand_hierarchy \\
        --json_hierarchy_file bbox_labels_500_hierarchy.json \\
        --input_annotations validation-annotations-bbox.csv \\
        --output_annotations validation-annotations-bbox_expanded.csv \\
        --annotation_type 1

``--annotation_type 1``: boxes (or segments), each row kept and copied to
every ancestor of its ``LabelName``. ``--annotation_type 2``: image-level
labels, positives (``Confidence`` 1) copied to ancestors, negatives to
descendants. The header and every field's text are kept as in the input;
only ``LabelName`` changes on the copies, and each row is followed by its
copies.

"""

import argparse
import sys

import numpy as np
import pandas as pd

from pfdet.datasets.hierarchy import ClassHierarchy
from pfdet.datasets.oid_io import OIDFormatError

_LINE_PREFIX = 'line '


def _read_text_csv(path, required):
    try:
        header = pd.read_csv(path, nrows=0, dtype=str).columns.tolist()
    except pd.errors.EmptyDataError:
        raise OIDFormatError(path, 1, 'empty file (no header line)')
    missing = [c for c in required if c not in header]
    if missing:
        raise OIDFormatError(path, 1, 'missing required column(s) {}'.format(
            ', '.join(missing)))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False,
                         na_values=[], skip_blank_lines=False,
                         on_bad_lines='error')
    except pd.errors.ParserError as e:
        msg = str(e)
        line = None
        if _LINE_PREFIX in msg:
            digits = msg.split(_LINE_PREFIX, 1)[1].split(',')[0]
            line = int(digits) if digits.isdigit() else None
        raise OIDFormatError(path, line, 'malformed row ({})'.format(
            msg.split('C error: ')[-1].strip()))
    lines = np.arange(len(df)) + 2
    blank = (df.fillna('') == '').all(axis=1).to_numpy()
    return df[~blank], lines[~blank], header


def expand_annotations(hierarchy, input_path, output_path, annotation_type):
    """Expand an annotation CSV file.

    Args:
        hierarchy (ClassHierarchy or str): The hierarchy or its JSON file.
        input_path (str): Input CSV (with header).
        output_path (str): Output CSV.
        annotation_type (int): 1 for boxes / segments, 2 for image-level
            labels.

    Returns:
        tuple of int: Number of input rows and of output rows.

    Raises:
        OIDFormatError: If a label is not in the hierarchy (first such
            line named), a confidence is not an integer or a row is
            malformed.

    """
    if annotation_type not in (1, 2):
        raise ValueError('annotation_type must be 1 (boxes) or 2 (image-level '
                         'labels), got {!r}'.format(annotation_type))
    if not isinstance(hierarchy, ClassHierarchy):
        hierarchy = ClassHierarchy.from_json(hierarchy)
    required = ('LabelName',) if annotation_type == 1 else (
        'LabelName', 'Confidence')
    df, lines, header = _read_text_csv(input_path, required)
    known = pd.Index(hierarchy.mids).get_indexer(df['LabelName']) >= 0
    if not known.all():
        i = int(np.argmin(known))
        raise OIDFormatError(
            input_path, int(lines[i]), 'label {!r} is not in the class '
            'hierarchy'.format(df['LabelName'].iloc[i]))
    if annotation_type == 1:
        out = hierarchy.expand_boxes(df)
    else:
        conf = pd.to_numeric(df['Confidence'], errors='coerce').to_numpy()
        bad = ~np.isfinite(conf) | (conf != np.round(conf))
        if bad.any():
            i = int(np.argmax(bad))
            raise OIDFormatError(
                input_path, int(lines[i]), 'Confidence {!r} is not an '
                'integer'.format(df['Confidence'].iloc[i]))
        out = hierarchy.expand_image_labels(df)
    out = out[header]
    out.to_csv(output_path, index=False, lineterminator='\n')
    return len(df), len(out)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Expand Open Images boxes or image-level labels with the '
        'class hierarchy (as the official oid_hierarchical_labels_expansion'
        '.py).')
    parser.add_argument('--json_hierarchy_file', required=True,
                        help='label hierarchy in JSON format')
    parser.add_argument('--input_annotations', required=True,
                        help='annotations CSV (boxes, segments or '
                        'image-level labels)')
    parser.add_argument('--output_annotations', required=True,
                        help='output CSV')
    parser.add_argument('--annotation_type', type=int, required=True,
                        choices=(1, 2),
                        help='1: boxes or segments, 2: image-level labels')
    args = parser.parse_args(argv)
    try:
        n_in, n_out = expand_annotations(
            args.json_hierarchy_file, args.input_annotations,
            args.output_annotations, args.annotation_type)
    except (OIDFormatError, ValueError, OSError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    print('{}: {} rows -> {}: {} rows'.format(
        args.input_annotations, n_in, args.output_annotations, n_out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
