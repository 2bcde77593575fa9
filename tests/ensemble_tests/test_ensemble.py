import numpy as np
import pandas as pd
import pytest

from pfdet import ensemble
from pfdet import utils
from pfdet.datasets import OIDFormatError
from pfdet.datasets import write_predictions_csv

COLS = ['ImageID', 'LabelName', 'Score', 'XMin', 'XMax', 'YMin', 'YMax']


def frame(rows):
    """rows: (image, mid, score, x0, x1, y0, y1)."""
    return pd.DataFrame(rows, columns=COLS)


def sort(df):
    return df.sort_values(['ImageID', 'LabelName', 'Score', 'XMin']) \
        .reset_index(drop=True)


# ------------------------------------------------------------- class weights

def test_class_weights_relative_ap():
    ap = [[0.4, 0.2, np.nan, 0.0, np.nan],
          [0.8, 0.1, np.nan, 0.0, 0.5]]
    w = ensemble.class_weights(ap)
    np.testing.assert_allclose(w, [[0.5, 1, 1, 1, 0],
                                   [1, 0.5, 1, 1, 1]])


def test_class_weights_sum():
    ap = [[0.4, 0.2, np.nan], [0.8, 0.1, np.nan]]
    w = ensemble.class_weights(ap, normalize='sum')
    np.testing.assert_allclose(w, [[1 / 3, 2 / 3, 0.5], [2 / 3, 1 / 3, 0.5]])


def test_class_weights_min_fraction():
    # 0.4 < 0.6 * 0.8 and 0.1 < 0.6 * 0.2: zero; 0.3 >= 0.6 * 0.5: kept
    ap = [[0.4, 0.2, 0.3], [0.8, 0.1, 0.5]]
    w = ensemble.class_weights(ap, min_fraction=0.6)
    np.testing.assert_allclose(w, [[0, 1, 0.6], [1, 0, 1]])


@pytest.mark.parametrize('kwargs', [
    dict(ap=[[1.5]]), dict(ap=[[-0.1]]), dict(ap=[[np.inf]]),
    dict(ap=[[0.5]], normalize='mean'), dict(ap=[[0.5]], min_fraction=2),
    dict(ap=np.zeros((2, 2, 2)))])
def test_class_weights_bad(kwargs):
    with pytest.raises(ValueError, match='class_weights'):
        ensemble.class_weights(**kwargs)


# ------------------------------------------------------------- closed form

# A and B overlap with IoU 0.16 / 0.2 = 0.8 > 0.55
BOX_A = (0.0, 0.4, 0.0, 0.4)
BOX_B = (0.0, 0.4, 0.0, 0.5)


def two_models():
    a = frame([('i', '/m/x', 0.9) + BOX_A])
    b = frame([('i', '/m/x', 0.6) + BOX_B])
    return a, b


def test_two_models_nmw_plain():
    a, b = two_models()
    out, stats = ensemble.ensemble_detections([a, b])
    assert len(out) == 1
    # head A (0.9, IoU 1), member B (0.6, IoU 0.8)
    y_max = (0.9 * 0.4 + 0.6 * 0.8 * 0.5) / (0.9 + 0.6 * 0.8)
    np.testing.assert_allclose(
        out[['Score', 'XMin', 'XMax', 'YMin', 'YMax']].to_numpy()[0],
        [0.9, 0, 0.4, 0, y_max])
    assert stats['n_suppressed_input'] == 2 and stats['n_output'] == 1


def test_two_models_class_weights_from_ap():
    a, b = two_models()
    # w_A = 0.8 / 0.8 = 1, w_B = 0.4 / 0.8 = 0.5: B's score 0.6 -> 0.3
    out, _ = ensemble.ensemble_detections(
        [a, b], per_class_ap=[{'/m/x': 0.8}, {'/m/x': 0.4}])
    y_max = (0.9 * 0.4 + 0.3 * 0.8 * 0.5) / (0.9 + 0.3 * 0.8)
    np.testing.assert_allclose(out['YMax'], [y_max])
    np.testing.assert_allclose(out['Score'], [0.9])


def test_class_weights_can_change_the_head():
    a, b = two_models()
    # w_A = 0.2 / 0.8 = 0.25 -> 0.225; w_B = 1 -> 0.6: B is the head
    out, _ = ensemble.ensemble_detections(
        [a, b], per_class_ap=[{'/m/x': 0.2}, {'/m/x': 0.8}])
    y_max = (0.6 * 0.5 + 0.225 * 0.8 * 0.4) / (0.6 + 0.225 * 0.8)
    np.testing.assert_allclose(out['Score'], [0.6])
    np.testing.assert_allclose(out['YMax'], [y_max])


def test_model_weights_divided_by_max():
    a = frame([('i', '/m/x', 0.9) + BOX_A])
    b = frame([('i', '/m/x', 0.6, 0.6, 0.9, 0.6, 0.9)])  # no overlap
    out, _ = ensemble.ensemble_detections([a, b], model_weights=[4, 2])
    np.testing.assert_allclose(sorted(out['Score']), [0.3, 0.9])


def test_zero_weight_rows_are_dropped_and_counted():
    a, b = two_models()
    out, stats = ensemble.ensemble_detections(
        [a, b], per_class_ap=[{'/m/x': 0.8}, {'/m/x': 0.0}])
    assert stats['n_zero_weight'] == [0, 1]
    assert out[COLS[2:]].to_numpy().tolist() == [[0.9, 0, 0.4, 0, 0.4]]


@pytest.mark.parametrize('method,expected', [
    ('nms', [0.9]),
    # Gaussian decay of the non-suppressed box: IoU(A, C) = 1/3
    ('soft_nms', [0.9, 0.6 * np.exp(-(1 / 3) ** 2 / 0.5)]),
])
def test_methods_closed_form(method, expected):
    a = frame([('i', '/m/x', 0.9) + BOX_A])
    c = frame([('i', '/m/x', 0.6, 0.0, 0.4, 0.2, 0.6)])  # IoU(A, C) = 1/3
    out, _ = ensemble.ensemble_detections(
        [a, c], method=method, iou_thresh=0.3)
    np.testing.assert_allclose(sorted(out['Score'], reverse=True), expected)


# ------------------------------------------------------------- experts

def general_and_expert():
    general = frame([
        ('i', '/m/x', 0.9) + BOX_A,
        ('i', '/m/y', 0.8, 0.5, 0.9, 0.5, 0.9),
        ('j', '/m/x', 0.7, 0.1, 0.2, 0.1, 0.2)])
    expert = frame([
        ('i', '/m/x', 0.6) + BOX_B,
        ('k', '/m/x', 0.5, 0.3, 0.6, 0.3, 0.6)])
    return general, expert


def test_expert_replace():
    general, expert = general_and_expert()
    out, stats = ensemble.ensemble_detections(
        [general, expert], expert_classes=[None, ['/m/x']],
        expert_mode='replace')
    # /m/x only from the expert (NMW leaves non-overlapping boxes as they
    # are), /m/y from the general model
    assert stats['n_replaced'] == [2, 0]
    expected = pd.concat([expert, general[general['LabelName'] == '/m/y']])
    pd.testing.assert_frame_equal(sort(out), sort(expected),
                                  check_dtype=False)


def test_expert_augment():
    general, expert = general_and_expert()
    out, stats = ensemble.ensemble_detections(
        [general, expert], expert_classes=[None, ['/m/x']],
        expert_mode='augment')
    assert stats['n_replaced'] == [0, 0]
    assert len(out) == 4  # A and B fused on image i
    fused = out[(out['ImageID'] == 'i') & (out['LabelName'] == '/m/x')]
    y_max = (0.9 * 0.4 + 0.6 * 0.8 * 0.5) / (0.9 + 0.6 * 0.8)
    np.testing.assert_allclose(fused['YMax'], [y_max])


def test_expert_class_list_file(tmp_path):
    general, expert = general_and_expert()
    path = tmp_path / 'classes.csv'
    path.write_text('/m/x,X\n')
    out, stats = ensemble.ensemble_detections(
        [general, expert], expert_classes=[None, str(path)],
        expert_mode='replace')
    assert stats['n_replaced'] == [2, 0]


def test_expert_outside_its_classes_is_an_error(tmp_path):
    general, expert = general_and_expert()
    path = str(tmp_path / 'expert.csv')
    write_predictions_csv(path, pd.concat([expert, frame(
        [('i', '/m/y', 0.5, 0.1, 0.2, 0.1, 0.2)])]))
    with pytest.raises(OIDFormatError, match=r'expert\.csv, line 4: class '
                       "'/m/y' is not one of the 1 classes of this expert"):
        ensemble.ensemble_detections([general, path],
                                     expert_classes=[None, ['/m/x']])


# ------------------------------------------------------------- oracle

def random_tables(seed, n_model=3, n_image=7, n_class=4, n_row=60):
    rng = np.random.RandomState(seed)
    tables = []
    for _ in range(n_model):
        # clustered boxes so that suppression has work to do
        c = rng.uniform(0.2, 0.8, (n_row, 2))
        s = rng.uniform(0.05, 0.3, (n_row, 2))
        centre = np.round(c * 4) / 4 + rng.normal(0, 0.02, (n_row, 2))
        tables.append(frame({
            'ImageID': np.array(['img%d' % k for k in range(n_image)],
                                object)[rng.randint(0, n_image, n_row)],
            'LabelName': np.array(['/m/c%d' % k for k in range(n_class)],
                                  object)[rng.randint(0, n_class, n_row)],
            'Score': rng.uniform(0, 1, n_row),
            'XMin': centre[:, 0] - s[:, 0], 'XMax': centre[:, 0] + s[:, 0],
            'YMin': centre[:, 1] - s[:, 1], 'YMax': centre[:, 1] + s[:, 1]}))
    return tables


def per_image_oracle(tables, func, **kwargs):
    """The suppression function on each image's concatenation, one call per
    image (independent of the chunked path)."""
    pool = pd.concat(tables, ignore_index=True)
    mids = np.sort(pool['LabelName'].unique())
    out = []
    for image in pool['ImageID'].unique():
        g = pool[pool['ImageID'] == image]
        label = np.searchsorted(mids, g['LabelName'].to_numpy())
        bbox, score, lab = func(
            g[['YMin', 'XMin', 'YMax', 'XMax']].to_numpy(),
            g['Score'].to_numpy(), label, **kwargs)[:3]
        out.append(frame({
            'ImageID': image, 'LabelName': mids[lab], 'Score': score,
            'XMin': bbox[:, 1], 'XMax': bbox[:, 3],
            'YMin': bbox[:, 0], 'YMax': bbox[:, 2]}))
    return pd.concat(out, ignore_index=True)


@pytest.mark.parametrize('chunk_size', [1, 25, 1 << 18])
def test_equals_nmw_on_concatenation_when_weights_are_one(chunk_size):
    tables = random_tables(0)
    aps = [{'/m/c%d' % k: 0.5 for k in range(4)}] * 3  # all weights 1
    out, stats = ensemble.ensemble_detections(
        tables, per_class_ap=aps, model_weights=[2, 2, 2],
        chunk_size=chunk_size)
    expected = per_image_oracle(tables, utils.non_maximum_weighted)
    assert stats['n_output'] < stats['n_suppressed_input'] == 180
    pd.testing.assert_frame_equal(sort(out), sort(expected), rtol=1e-12)


@pytest.mark.parametrize('method', list(ensemble.SUPPRESSIONS))
def test_every_method_equals_per_image_calls(method):
    tables = random_tables(1)
    out, _ = ensemble.ensemble_detections(tables, method=method,
                                          chunk_size=40)
    expected = per_image_oracle(tables, ensemble.SUPPRESSIONS[method])
    pd.testing.assert_frame_equal(sort(out), sort(expected), rtol=1e-12)


def test_suppression_kwargs_are_passed():
    tables = random_tables(2)
    out, _ = ensemble.ensemble_detections(tables, method='nms',
                                          iou_thresh=0.3, strict=True)
    expected = per_image_oracle(tables, utils.non_maximum_suppression,
                                iou_thresh=0.3, strict=True)
    pd.testing.assert_frame_equal(sort(out), sort(expected))


def test_score_thresh_and_max_per_image():
    rows = [('i', '/m/x', s, x, x + 0.05, 0, 0.05) for s, x in
            [(0.9, 0), (0.5, 0.1), (0.3, 0.2), (0.1, 0.3)]]
    rows += [('j', '/m/x', 0.05, 0, 0.05, 0, 0.05)]
    out, stats = ensemble.ensemble_detections(
        [frame(rows)], score_thresh=0.08, max_per_image=2)
    assert stats['n_below_score_thresh'] == 1
    assert stats['n_over_cap'] == 2
    assert sorted(out['Score']) == [0.5, 0.9]


# ------------------------------------------------------------- bad input

def test_no_tables():
    with pytest.raises(ValueError, match='non-empty list'):
        ensemble.ensemble_detections([])


def test_empty_tables():
    a, b = two_models()
    empty = frame([])
    out, stats = ensemble.ensemble_detections([empty, a])
    alone, _ = ensemble.ensemble_detections([a])
    pd.testing.assert_frame_equal(out, alone)
    out, stats = ensemble.ensemble_detections([empty, empty])
    assert len(out) == 0 and list(out.columns) == COLS
    assert stats['n_output'] == 0 and stats['n_image'] == 0


def test_empty_file(tmp_path):
    path = str(tmp_path / 'empty.csv')
    write_predictions_csv(path, frame([]))
    a, _ = two_models()
    out, stats = ensemble.ensemble_detections([path, a])
    assert len(out) == 1 and stats['n_input'] == [0, 1]


@pytest.mark.parametrize('kwargs,match', [
    (dict(per_class_ap=[{'/m/x': 1}]), 'per_class_ap has 1 entries for 2'),
    (dict(model_weights=[1, 2, 3]), 'model_weights has 3 entries for 2'),
    (dict(expert_classes=[None]), 'expert_classes has 1 entries for 2'),
    (dict(per_class_ap=[{'/m/x': 1}, None]), 'for every model or for none'),
    (dict(model_weights=[0, 0]), 'not all 0'),
    (dict(model_weights=[1, np.nan]), 'finite'),
    (dict(method='wbf'), "unknown suppression method 'wbf'"),
    (dict(expert_mode='both'), 'expert_mode'),
    (dict(expert_classes=[None, []]), r'expert_classes\[1\] is empty'),
    (dict(class_mids=['/m/x'], expert_classes=[None, ['/m/q']]),
     "class '/m/q' is not in class_mids"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ensemble.ensemble_detections(list(two_models()), **kwargs)


def test_unknown_class_in_file_names_file_and_line(tmp_path):
    a, _ = two_models()
    path = str(tmp_path / 'model_b.csv')
    write_predictions_csv(path, frame([
        ('i', '/m/x', 0.5, 0.1, 0.2, 0.1, 0.2),
        ('i', '/m/zzz', 0.5, 0.1, 0.2, 0.1, 0.2)]))
    with pytest.raises(OIDFormatError, match=r"model_b\.csv, line 3: unknown "
                       r"class '/m/zzz' \(not in the class list\)"):
        ensemble.ensemble_detections([a, path], class_mids=['/m/x'])


def test_unknown_class_in_frame_names_table_and_row():
    a, _ = two_models()
    b = frame([('i', '/m/x', 0.5, 0.1, 0.2, 0.1, 0.2),
               ('i', '/m/zzz', 0.5, 0.1, 0.2, 0.1, 0.2)])
    with pytest.raises(ValueError, match=r"detections\[1\], row 1: unknown "
                       r"class '/m/zzz'"):
        ensemble.ensemble_detections([a, b], class_mids=['/m/x'])


def test_unknown_class_skip_invalid_counts():
    a, _ = two_models()
    b = frame([('i', '/m/zzz', 0.5, 0.1, 0.2, 0.1, 0.2)])
    out, stats = ensemble.ensemble_detections(
        [a, b], class_mids=['/m/x'], skip_invalid=True)
    assert stats['n_unknown_class'] == [0, 1] and len(out) == 1


def test_nan_score_in_file(tmp_path):
    path = str(tmp_path / 'nan.csv')
    with open(path, 'w') as f:
        f.write(','.join(COLS) + '\n')
        f.write('i,/m/x,0.5,0.1,0.2,0.1,0.2\n')
        f.write('i,/m/x,nan,0.1,0.2,0.1,0.2\n')
    with pytest.raises(OIDFormatError, match=r'nan\.csv, line 3: '
                       'non-numeric or non-finite'):
        ensemble.ensemble_detections([path])
    with pytest.warns(UserWarning, match='skipped 1'):
        out, stats = ensemble.ensemble_detections([path], skip_invalid=True)
    assert stats['n_skipped'] == [1] and stats['n_input'] == [2]
    assert len(out) == 1


def test_nan_score_in_frame():
    a = frame([('i', '/m/x', 0.5, 0.1, 0.2, 0.1, 0.2),
               ('i', '/m/x', np.nan, 0.1, 0.2, 0.1, 0.2)])
    with pytest.raises(ValueError, match=r'detections\[0\], row 1: '
                       'non-finite value nan in column Score'):
        ensemble.ensemble_detections([a])
    out, stats = ensemble.ensemble_detections([a], skip_invalid=True)
    assert stats['n_skipped'] == [1] and len(out) == 1


def test_non_numeric_in_frame():
    a = frame([('i', '/m/x', 'high', 0.1, 0.2, 0.1, 0.2)])
    with pytest.raises(ValueError, match=r"detections\[0\], row 0: "
                       r"non-numeric value 'high' in column Score"):
        ensemble.ensemble_detections([a])


def test_missing_column():
    a = frame([('i', '/m/x', 0.5, 0.1, 0.2, 0.1, 0.2)]).drop(columns='YMax')
    with pytest.raises(ValueError, match=r'detections\[0\]: missing '
                       'column.*YMax'):
        ensemble.ensemble_detections([a])


def test_zero_area_boxes_dropped_and_counted():
    a = frame([('i', '/m/x', 0.5, 0.1, 0.2, 0.1, 0.2),
               ('i', '/m/x', 0.9, 0.1, 0.1, 0.1, 0.2),
               ('i', '/m/x', 0.9, 0.1, 0.2, 0.3, 0.3)])
    out, stats = ensemble.ensemble_detections([a])
    assert stats['n_zero_area'] == [2]
    assert out[COLS[2:]].to_numpy().tolist() == [[0.5, 0.1, 0.2, 0.1, 0.2]]


def test_inverted_box(tmp_path):
    path = str(tmp_path / 'inv.csv')
    write_predictions_csv(path, frame([
        ('i', '/m/x', 0.5, 0.3, 0.2, 0.1, 0.2)]))
    with pytest.raises(OIDFormatError, match=r'inv\.csv, line 2: inverted '
                       'box'):
        ensemble.ensemble_detections([path])
    out, stats = ensemble.ensemble_detections([path], skip_invalid=True)
    assert stats['n_skipped'] == [1] and len(out) == 0


def test_ap_table_without_a_detected_class(tmp_path):
    a, b = two_models()
    path = str(tmp_path / 'b.csv')
    write_predictions_csv(path, b)
    with pytest.raises(ValueError, match=r"b\.csv, line 2: model 1 detects "
                       r"class '/m/x' but its per-class AP table"):
        ensemble.ensemble_detections(
            [a, path], per_class_ap=[{'/m/x': 0.5}, {'/m/y': 0.5}])


# ------------------------------------------------------------- AP tables

def test_per_class_ap_roundtrip(tmp_path):
    path = str(tmp_path / 'ap.csv')
    table = pd.DataFrame({'LabelName': ['/m/a', '/m/b'], 'Name': ['A', 'B'],
                          'AP': [0.25, np.nan], 'NumGT': [3, 0]})
    ensemble.write_per_class_ap(path, table)
    assert open(path).read().splitlines() == [
        'LabelName,Name,AP,NumGT', '/m/a,A,0.25,3', '/m/b,B,,0']
    back = ensemble.read_per_class_ap(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)


@pytest.mark.parametrize('body,match', [
    ('LabelName,AP\n/m/a,0.5\n/m/b,high\n', "line 3: non-numeric AP 'high'"),
    ('LabelName,AP\n/m/a,1.5\n', r'line 2: AP 1\.5 is outside \[0, 1\]'),
    ('LabelName,AP\n/m/a,0.5\n/m/a,0.4\n', "line 3: duplicate class '/m/a'"),
    ('LabelName,Score\n/m/a,0.5\n', 'line 1: missing required column AP'),
    ('', 'line 1: empty file'),
])
def test_per_class_ap_bad(tmp_path, body, match):
    path = tmp_path / 'ap.csv'
    path.write_text(body)
    with pytest.raises(OIDFormatError, match=match):
        ensemble.read_per_class_ap(str(path))


def test_submission_file_as_input(tmp_path):
    from pfdet.datasets import write_submission
    a, b = two_models()
    path = str(tmp_path / 'submission.csv')
    write_submission(path, b, image_ids=['i', 'empty'])
    out, stats = ensemble.ensemble_detections([a, path])
    expected, _ = ensemble.ensemble_detections([a, b])
    pd.testing.assert_frame_equal(out, expected)
    with pytest.raises(ValueError, match=r"submission\.csv \(submission\), "
                       r"prediction 0: unknown class '/m/x'"):
        ensemble.ensemble_detections([path], class_mids=['/m/y'])
