import csv
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from pfdet.datasets import BBOX_2018_COLUMNS
from pfdet.datasets import BBOX_2019_COLUMNS
from pfdet.datasets import OIDFormatError
from pfdet.datasets import read_bbox_csv
from pfdet.datasets import read_class_descriptions
from pfdet.datasets import read_class_list
from pfdet.datasets import read_image_labels_csv
from pfdet.datasets import read_label_map
from pfdet.datasets import read_predictions_csv
from pfdet.datasets import read_submission
from pfdet.datasets import write_bbox_csv
from pfdet.datasets import write_class_descriptions
from pfdet.datasets import write_image_labels_csv
from pfdet.datasets import write_label_map
from pfdet.datasets import write_predictions_csv
from pfdet.datasets import write_submission

H2018 = ','.join(BBOX_2018_COLUMNS)
H2019 = ','.join(BBOX_2019_COLUMNS)
GOOD_2019 = [
    'img1,/m/a,0.1,0.5,0.2,0.6,0',
    'img1,/m/b,0.0,1.0,0.0,1.0,1',
    'img2,/m/a,0.25,0.75,0.125,0.5,-1',
]


def _write(tmp_path, name, lines):
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


# ------------------------------------------------------------ boxes

def test_read_bbox_2019(tmp_path):
    path = _write(tmp_path, 'b.csv', [H2019] + GOOD_2019)
    df = read_bbox_csv(path)
    assert list(df.columns) == list(BBOX_2019_COLUMNS)
    assert df['ImageID'].tolist() == ['img1', 'img1', 'img2']
    assert df['LabelName'].tolist() == ['/m/a', '/m/b', '/m/a']
    np.testing.assert_array_equal(df['XMin'], [0.1, 0.0, 0.25])
    np.testing.assert_array_equal(df['YMax'], [0.6, 1.0, 0.5])
    # -1 ("unknown") is kept as in the file
    np.testing.assert_array_equal(df['IsGroupOf'], [0, 1, -1])
    assert df['IsGroupOf'].dtype == np.int8
    for c in ('XMin', 'XMax', 'YMin', 'YMax'):
        assert df[c].dtype == np.float64
    assert df.attrs['skipped'] == 0


def test_read_bbox_2018_columns_by_name(tmp_path):
    # 2018 columns in another order plus an unknown column
    cols = ['Extra', 'YMax', 'LabelName', 'IsInside', 'ImageID', 'XMin',
            'Source', 'IsGroupOf', 'XMax', 'IsOccluded', 'Confidence',
            'YMin', 'IsDepiction', 'IsTruncated']
    row = dict(Extra='zz', YMax='0.6', LabelName='/m/a', IsInside='0',
               ImageID='img1', XMin='0.1', Source='xclick', IsGroupOf='1',
               XMax='0.5', IsOccluded='1', Confidence='1', YMin='0.2',
               IsDepiction='0', IsTruncated='-1')
    path = _write(tmp_path, 'b.csv', [','.join(cols),
                                      ','.join(row[c] for c in cols)])
    df = read_bbox_csv(path)
    assert list(df.columns) == list(BBOX_2018_COLUMNS)
    r = df.iloc[0]
    assert (r.ImageID, r.Source, r.LabelName) == ('img1', 'xclick', '/m/a')
    assert (r.XMin, r.XMax, r.YMin, r.YMax) == (0.1, 0.5, 0.2, 0.6)
    assert (r.IsOccluded, r.IsTruncated, r.IsGroupOf) == (1, -1, 1)


def test_read_bbox_real_fixture(shared):
    df = read_bbox_csv(shared('data', 'real_fixture', 'annotations-bbox.csv'))
    assert len(df) == 43
    assert df['ImageID'].nunique() == 5
    assert df['LabelName'].nunique() == 22
    assert int((df['IsGroupOf'] != 0).sum()) == 1
    assert df.loc[df['IsGroupOf'] != 0, 'ImageID'].tolist() == [
        'darknet_kite']
    mids, _ = read_class_descriptions(shared(
        'data', 'open_images_metadata',
        'challenge-2018-class-descriptions-500.csv'))
    # all classes are in the 500 set: known_mids accepts every row
    assert len(read_bbox_csv(shared('data', 'real_fixture',
                                    'annotations-bbox.csv'),
                             known_mids=mids)) == 43


@pytest.mark.parametrize('fmt', ['2018', '2019'])
def test_bbox_round_trip(tmp_path, fmt):
    path = _write(tmp_path, 'b.csv', [H2019] + GOOD_2019)
    df = read_bbox_csv(path)
    if fmt == '2018':
        df.insert(1, 'Source', ['xclick', 'activemil', 'xclick'])
    out = str(tmp_path / 'out.csv')
    write_bbox_csv(out, df, fmt=fmt)
    with open(out) as f:
        header = f.readline().strip()
    assert header == (H2018 if fmt == '2018' else H2019)
    back = read_bbox_csv(out)
    cols = list(BBOX_2019_COLUMNS) + (['Source'] if fmt == '2018' else [])
    pd.testing.assert_frame_equal(back[cols], df[cols])
    if fmt == '2018':
        # defaults of the columns the 2019 frame lacked
        assert back['Confidence'].tolist() == [1, 1, 1]
        assert back['IsOccluded'].tolist() == [-1, -1, -1]


def test_bbox_round_trip_real(shared, tmp_path):
    src = shared('data', 'real_fixture', 'annotations-bbox.csv')
    df = read_bbox_csv(src)
    out = str(tmp_path / 'out.csv')
    write_bbox_csv(out, df)
    pd.testing.assert_frame_equal(read_bbox_csv(out), df)


def test_write_bbox_bad_fmt(tmp_path):
    df = read_bbox_csv(_write(tmp_path, 'b.csv', [H2019] + GOOD_2019))
    with pytest.raises(ValueError):
        write_bbox_csv(str(tmp_path / 'o.csv'), df, fmt='2020')
    with pytest.raises(ValueError, match='IsGroupOf'):
        write_bbox_csv(str(tmp_path / 'o.csv'), df.drop(columns='IsGroupOf'))


BAD_BBOX = [
    # (data lines, 1-based bad line, message fragment)
    (GOOD_2019[:1] + ['img1,/m/a,0.1,0.5,0.2,0.6,0,7'], 3, 'Expected 7'),
    (GOOD_2019[:1] + ['img1,/m/a,0.1,0.5,0.2'], 3, 'YMax'),
    (GOOD_2019[:2] + ['img1,/m/a,abc,0.5,0.2,0.6,0'], 4, "'abc'"),
    (GOOD_2019[:1] + ['img1,/m/a,0.1,0.5,0.2,nan,0'], 3, 'non-finite'),
    (['img1,/m/a,0.5,0.5,0.2,0.6,0'], 2, 'XMin < XMax'),
    (['img1,/m/a,0.1,0.5,0.7,0.6,0'], 2, 'YMin < YMax'),
    (['img1,/m/a,0.1,1.5,0.2,0.6,0'], 2, 'outside [0, 1]'),
    (['img1,/m/a,-0.1,0.5,0.2,0.6,0'], 2, 'outside [0, 1]'),
    (GOOD_2019 + [GOOD_2019[1]], 5, 'same as line 3'),
    (['img1,/m/a,0.1,0.5,0.2,0.6,x'], 2, 'IsGroupOf'),
    (['img1,/m/a,0.1,0.5,0.2,0.6,0.5'], 2, 'IsGroupOf'),
    ([',/m/a,0.1,0.5,0.2,0.6,0'], 2, 'ImageID'),
    (['img1,,0.1,0.5,0.2,0.6,0'], 2, 'LabelName'),
    (GOOD_2019[:1] + ['', 'img1,/m/zzz,0.1,0.5,0.2,0.6,0'], 4, "'/m/zzz'"),
]


@pytest.mark.parametrize('lines,line,fragment', BAD_BBOX)
def test_read_bbox_bad(tmp_path, lines, line, fragment):
    path = _write(tmp_path, 'bad.csv', [H2019] + lines)
    with pytest.raises(OIDFormatError) as e:
        read_bbox_csv(path, known_mids=['/m/a', '/m/b'])
    msg = str(e.value)
    assert path in msg
    assert 'line {}:'.format(line) in msg
    assert fragment in msg
    assert e.value.line == line
    assert isinstance(e.value, ValueError)

    with pytest.warns(UserWarning) as w:
        df = read_bbox_csv(path, known_mids=['/m/a', '/m/b'],
                           skip_invalid=True)
    assert df.attrs['skipped'] == 1
    # one row skipped, the good ones (and not the blank line) kept
    assert len(df) == len([x for x in lines if x]) - 1
    text = ' '.join(str(x.message) for x in w)
    assert 'skipped 1 invalid' in text and path in text


def test_read_bbox_skip_counts_several(tmp_path):
    lines = [H2019, GOOD_2019[0], 'img1,/m/a,0.1,0.5,0.2,0.6,0,7',
             'img1,/m/a,0.9,0.5,0.2,0.6,0', GOOD_2019[1],
             'img1,/m/a,0.1', GOOD_2019[2]]
    path = _write(tmp_path, 'bad.csv', lines)
    with pytest.raises(OIDFormatError, match='line 3'):
        read_bbox_csv(path)
    with pytest.warns(UserWarning, match='skipped 3 invalid'):
        df = read_bbox_csv(path, skip_invalid=True)
    assert df.attrs['skipped'] == 3
    assert df['LabelName'].tolist() == ['/m/a', '/m/b', '/m/a']
    assert df['ImageID'].tolist() == ['img1', 'img1', 'img2']


def test_read_bbox_line_numbers_after_skipped_line(tmp_path):
    # a parser-skipped line shifts the row -> line mapping
    lines = [H2019, GOOD_2019[0], 'img1,/m/a,0.1,0.5,0.2,0.6,0,7',
             GOOD_2019[1], 'img3,/m/a,0.9,0.5,0.2,0.6,0']
    path = _write(tmp_path, 'bad.csv', lines)
    with pytest.warns(UserWarning, match=r'first: line 3'):
        df = read_bbox_csv(path, skip_invalid=True)
    assert df.attrs['skipped'] == 2
    lines = [H2019, GOOD_2019[0], '', GOOD_2019[1],
             'img3,/m/a,0.9,0.5,0.2,0.6,0']
    path = _write(tmp_path, 'bad2.csv', lines)
    with pytest.raises(OIDFormatError, match='line 5: empty box'):
        read_bbox_csv(path)


def test_read_bbox_missing_column(tmp_path):
    path = _write(tmp_path, 'b.csv', [
        'ImageID,LabelName,XMin,XMax,YMin,YMax', 'a,/m/a,0.1,0.2,0.1,0.2'])
    with pytest.raises(OIDFormatError) as e:
        read_bbox_csv(path, skip_invalid=True)
    assert 'line 1' in str(e.value) and 'IsGroupOf' in str(e.value)


def test_read_bbox_empty_file(tmp_path):
    path = _write(tmp_path, 'b.csv', [])
    with pytest.raises(OIDFormatError, match='empty file'):
        read_bbox_csv(path)


def test_read_bbox_header_only(tmp_path):
    df = read_bbox_csv(_write(tmp_path, 'b.csv', [H2018]))
    assert len(df) == 0 and list(df.columns) == list(BBOX_2018_COLUMNS)


def test_read_bbox_allow_duplicates(tmp_path):
    path = _write(tmp_path, 'b.csv', [H2019] + GOOD_2019 + GOOD_2019[:1])
    df = read_bbox_csv(path, allow_duplicates=True)
    assert len(df) == 4 and df.attrs['skipped'] == 0


# ------------------------------------------------------------ image labels

def test_image_labels_round_trip(tmp_path, shared):
    src = shared('data', 'real_fixture', 'annotations-human-imagelabels.csv')
    df = read_image_labels_csv(src)
    assert len(df) == 38
    assert int((df['Confidence'] == 1).sum()) == 26
    assert int((df['Confidence'] == 0).sum()) == 12
    assert df['Confidence'].dtype == np.int8
    out = str(tmp_path / 'l.csv')
    write_image_labels_csv(out, df)
    pd.testing.assert_frame_equal(read_image_labels_csv(out), df)


def test_image_labels_bad(tmp_path):
    path = _write(tmp_path, 'l.csv', [
        'ImageID,Source,LabelName,Confidence', 'a,verification,/m/a,1',
        'a,verification,/m/b,2'])
    with pytest.raises(OIDFormatError, match=r'line 3: Confidence must be 0'):
        read_image_labels_csv(path)
    with pytest.warns(UserWarning):
        df = read_image_labels_csv(path, skip_invalid=True)
    assert df['LabelName'].tolist() == ['/m/a']
    assert df.attrs['skipped'] == 1
    path = _write(tmp_path, 'l2.csv', [
        'ImageID,LabelName,Confidence', 'a,/m/a,1', 'b,/m/c,0'])
    with pytest.raises(OIDFormatError, match=r"line 3: unknown class MID "
                       r"'/m/c'"):
        read_image_labels_csv(path, known_mids={'/m/a'})
    path = _write(tmp_path, 'l3.csv', ['ImageID,Source,LabelName',
                                       'a,x,/m/a'])
    with pytest.raises(OIDFormatError, match='line 1.*Confidence'):
        read_image_labels_csv(path)


def test_image_labels_without_source(tmp_path):
    path = _write(tmp_path, 'l.csv', ['ImageID,LabelName,Confidence',
                                      'a,/m/a,1', 'a,/m/b,0'])
    df = read_image_labels_csv(path)
    assert list(df.columns) == ['ImageID', 'LabelName', 'Confidence']
    out = str(tmp_path / 'o.csv')
    write_image_labels_csv(out, df)
    assert open(out).read().splitlines() == [
        'ImageID,Source,LabelName,Confidence', 'a,verification,/m/a,1',
        'a,verification,/m/b,0']


# ------------------------------------------------------------ class lists

def test_class_descriptions_real(shared):
    mids, names = read_class_descriptions(shared(
        'data', 'open_images_metadata',
        'challenge-2018-class-descriptions-500.csv'))
    assert len(mids) == len(names) == 500 == len(set(mids))
    assert mids[:2] == ['/m/061hd_', '/m/06m11']
    assert names[:2] == ['Infant bed', 'Rose']
    by_mid = dict(zip(mids, names))
    assert by_mid['/m/0cvnqh'] == by_mid['/m/076lb9'] == 'Bench'
    assert by_mid['/m/04rmv'] == by_mid['/m/020lf'] == 'Mouse'
    mids601, _ = read_class_descriptions(shared(
        'data', 'open_images_metadata', 'class-descriptions-boxable.csv'))
    assert len(mids601) == 601 and set(mids) <= set(mids601)


def test_class_descriptions_round_trip(tmp_path):
    mids = ['/m/a', '/m/b', '/m/c', '/m/d']
    names = ['Plain', 'With, comma', 'With "quote"', 'NA']
    path = str(tmp_path / 'c.csv')
    write_class_descriptions(path, mids, names)
    assert read_class_descriptions(path) == (mids, names)
    assert read_class_list(path) == mids


def test_class_descriptions_bad(tmp_path):
    path = _write(tmp_path, 'c.csv', ['/m/a,A', '', '/m/b,B', '/m/a,C'])
    with pytest.raises(OIDFormatError, match="line 4: duplicate MID '/m/a'"):
        read_class_descriptions(path)
    path = _write(tmp_path, 'c2.csv', ['/m/a,A,extra', '/m/b,B,x'])
    with pytest.raises(OIDFormatError, match='2 columns'):
        read_class_descriptions(path)


def test_label_map_round_trip(tmp_path):
    mids = ['/m/01g317', '/m/0k4j', '/m/x']
    names = ['Person', 'Car', 'Say "hi"']
    path = str(tmp_path / 'm.pbtxt')
    write_label_map(path, mids, names)
    text = open(path).read()
    assert text.startswith(
        'item {\n  name: "/m/01g317"\n  id: 1\n  display_name: "Person"\n}\n')
    assert read_label_map(path) == (mids, [1, 2, 3], names)
    assert read_class_list(path) == mids


def test_label_map_official_layout(tmp_path):
    # ids out of order, one item on a line, a display name missing
    path = _write(tmp_path, 'm.pbtxt', [
        'item {', '  name: "/m/b"', '  id: 2', '  display_name: "B"', '}',
        'item { name: "/m/a" id: 1 display_name: "A" }',
        'item {', '  name: "/m/c"', '  id: 3', '}'])
    assert read_label_map(path) == (['/m/a', '/m/b', '/m/c'], [1, 2, 3],
                                    ['A', 'B', ''])


def test_label_map_bad(tmp_path):
    path = _write(tmp_path, 'm.pbtxt', [
        'item {', '  name: "/m/b"', '  id: 1', '}',
        'item {', '  name: "/m/a"', '}'])
    with pytest.raises(OIDFormatError, match='line 5'):
        read_label_map(path)
    path = _write(tmp_path, 'm2.pbtxt', [
        'item { name: "/m/b" id: 1 }', 'item { name: "/m/a" id: 1 }'])
    with pytest.raises(OIDFormatError, match="line 2: duplicate id 1"):
        read_label_map(path)


# ------------------------------------------------------------ predictions

def _predictions():
    return pd.DataFrame({
        'ImageID': ['i1', 'i1', 'i2'],
        'LabelName': ['/m/a', '/m/b', '/m/a'],
        'Score': [0.9, 0.25, 0.5],
        'XMin': [0.1, 0.0, 0.5], 'XMax': [0.5, 0.4, 0.6],
        'YMin': [0.2, 0.1, 0.5], 'YMax': [0.6, 0.9, 0.7]})


def test_predictions_round_trip(tmp_path):
    df = _predictions()
    path = str(tmp_path / 'p.csv')
    write_predictions_csv(path, df)
    assert open(path).readline().strip() == \
        'ImageID,LabelName,Score,XMin,XMax,YMin,YMax'
    pd.testing.assert_frame_equal(read_predictions_csv(path), df)


def test_predictions_bad(tmp_path):
    path = _write(tmp_path, 'p.csv', [
        'ImageID,LabelName,Score,XMin,XMax,YMin,YMax',
        'i1,/m/a,0.5,0.1,0.2,0.1,0.2', 'i1,/m/a,high,0.1,0.2,0.1,0.2'])
    with pytest.raises(OIDFormatError, match=r"line 3: .*'high'.*Score"):
        read_predictions_csv(path)
    # inverted boxes are legal predictions (the evaluator drops them)
    path = _write(tmp_path, 'p2.csv', [
        'ImageID,LabelName,Score,XMin,XMax,YMin,YMax',
        'i1,/m/a,0.5,0.3,0.2,0.1,0.2'])
    assert len(read_predictions_csv(path)) == 1


# ------------------------------------------------------------ submission

def test_submission_example_row(tmp_path):
    # the example row of the Kaggle 2018 format (LabelName Conf XMin YMin
    # XMax YMax)
    df = pd.DataFrame({
        'ImageID': ['fd162df2a4fdb29d'] * 2,
        'LabelName': ['/m/05s2s', '/m/0c9ph5'], 'Score': [0.9, 0.5],
        'XMin': [0.46, 0.25], 'YMin': [0.08, 0.96],
        'XMax': [0.93, 0.6], 'YMax': [0.5, 0.9]})
    path = str(tmp_path / 's.csv')
    write_submission(path, df, image_ids=['fd162df2a4fdb29d', 'empty'])
    assert open(path).read().splitlines() == [
        'ImageId,PredictionString',
        'fd162df2a4fdb29d,/m/05s2s 0.9 0.46 0.08 0.93 0.5 '
        '/m/0c9ph5 0.5 0.25 0.96 0.6 0.9',
        'empty,']
    back = read_submission(path)
    assert back.attrs['image_ids'] == ['fd162df2a4fdb29d', 'empty']
    pd.testing.assert_frame_equal(back, df[list(back.columns)])


def test_submission_from_arrays(tmp_path):
    bboxes = [np.array([[10., 20., 50., 100.], [0., 0., 100., 200.]],
                       dtype=np.float32),
              np.zeros((0, 4), dtype=np.float32)]
    labels = [np.array([1, 0], dtype=np.int32), np.zeros(0, dtype=np.int32)]
    scores = [np.array([0.75, 0.5], dtype=np.float32),
              np.zeros(0, dtype=np.float32)]
    path = str(tmp_path / 's.csv')
    write_submission(path, (bboxes, labels, scores), image_ids=['a', 'b'],
                     class_mids=['/m/x', '/m/y'], sizes=[(100, 200),
                                                         (10, 10)])
    # (y_min, x_min, y_max, x_max) px / (H, W) -> XMin YMin XMax YMax
    assert open(path).read().splitlines() == [
        'ImageId,PredictionString',
        'a,/m/y 0.75 0.1 0.1 0.5 0.5 /m/x 0.5 0 0 1 1',
        'b,']
    with pytest.raises(ValueError, match='needs'):
        write_submission(path, (bboxes, labels, scores))


def test_submission_round_trip_many(tmp_path):
    rng = np.random.RandomState(0)
    n = 200
    xy = np.sort(rng.uniform(0, 1, size=(n, 2, 2)), axis=2)
    df = pd.DataFrame({
        'ImageID': np.array(['i{}'.format(i) for i in
                             rng.randint(0, 20, size=n)], dtype=object),
        'LabelName': np.array(['/m/{}'.format(i) for i in
                               rng.randint(0, 5, size=n)], dtype=object),
        'Score': rng.uniform(size=n),
        'XMin': xy[:, 0, 0], 'XMax': xy[:, 0, 1],
        'YMin': xy[:, 1, 0], 'YMax': xy[:, 1, 1]})
    path = str(tmp_path / 's.csv')
    write_submission(path, df, float_format=None)
    back = read_submission(path)
    key = ['ImageID', 'LabelName', 'Score']
    a = df.sort_values(key).reset_index(drop=True)
    b = back.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(b, a[list(b.columns)])
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    assert len(rows) == df['ImageID'].nunique()
    assert all(len(r[1].split()) % 6 == 0 for r in rows)


def test_read_submission_bad(tmp_path):
    path = _write(tmp_path, 's.csv', ['ImageId,PredictionString',
                                      'a,/m/x 0.5 0 0 1 1', 'b,/m/x 0.5 0'])
    with pytest.raises(OIDFormatError, match='line 3.*multiple of 6'):
        read_submission(path)


def test_no_stray_warnings(tmp_path):
    path = _write(tmp_path, 'b.csv', [H2019] + GOOD_2019)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        df = read_bbox_csv(path)
    assert len(df) == 3


def test_error_pickles():
    # errors cross process boundaries (MultiprocessIterator workers)
    e = pickle.loads(pickle.dumps(OIDFormatError('f.csv', 3, 'bad')))
    assert isinstance(e, OIDFormatError) and isinstance(e, ValueError)
    assert (e.path, e.line, str(e)) == ('f.csv', 3, 'f.csv, line 3: bad')
