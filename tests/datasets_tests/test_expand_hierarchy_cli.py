import collections
import csv
import json
import os
import subprocess
import sys

import pytest

from pfdet.datasets import ClassHierarchy
from pfdet.datasets import read_bbox_csv
from pfdet.datasets import read_image_labels_csv
from pfdet.datasets.expand_hierarchy import main

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TREE = {'LabelName': '/m/0bl9f', 'Subcategory': [
    {'LabelName': '/m/veh', 'Subcategory': [
        {'LabelName': '/m/land', 'Subcategory': [
            {'LabelName': '/m/car'}, {'LabelName': '/m/truck'}]}]},
    {'LabelName': '/m/person', 'Subcategory': [{'LabelName': '/m/woman'}],
     'Part': [{'LabelName': '/m/face'}]}]}


def _rows(path):
    with open(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, collections.Counter(map(tuple, reader))


def _frame_rows(df):
    return collections.Counter(
        tuple(str(x) for x in r) for r in df.to_numpy().tolist())


@pytest.fixture
def tree_file(tmp_path):
    path = str(tmp_path / 'h.json')
    with open(path, 'w') as f:
        json.dump(TREE, f)
    return path


def _write(tmp_path, name, lines):
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def test_boxes_2019_text_kept(tmp_path, tree_file):
    src = _write(tmp_path, 'in.csv', [
        'ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf',
        'i1,/m/car,0.100000,0.5,0.2,0.6,1',
        'i1,/m/face,0.1,0.5,0.2,0.6,0',
        'i2,/m/woman,0.1,0.5,0.2,0.60,0'])
    out = str(tmp_path / 'out.csv')
    assert main(['--json_hierarchy_file', tree_file, '--input_annotations',
                 src, '--output_annotations', out,
                 '--annotation_type', '1']) == 0
    header, rows = _rows(out)
    assert header == ['ImageID', 'LabelName', 'XMin', 'XMax', 'YMin', 'YMax',
                      'IsGroupOf']
    # field text is kept (0.100000, 0.60), only LabelName changes
    assert rows == collections.Counter([
        ('i1', m, '0.100000', '0.5', '0.2', '0.6', '1')
        for m in ('/m/car', '/m/land', '/m/veh')] + [
        ('i1', '/m/face', '0.1', '0.5', '0.2', '0.6', '0')] + [
        ('i2', m, '0.1', '0.5', '0.2', '0.60', '0')
        for m in ('/m/woman', '/m/person')])
    with open(out) as f:
        lines = f.read().splitlines()
    # each row followed by its copies
    assert lines[1].startswith('i1,/m/car,')


def test_labels(tmp_path, tree_file):
    src = _write(tmp_path, 'in.csv', [
        'ImageID,Source,LabelName,Confidence',
        'i1,verification,/m/car,1', 'i1,verification,/m/veh,0',
        'i2,verification,/m/person,0', 'i2,verification,/m/face,1'])
    out = str(tmp_path / 'out.csv')
    assert main(['--json_hierarchy_file=' + tree_file,
                 '--input_annotations=' + src,
                 '--output_annotations=' + out, '--annotation_type=2']) == 0
    _, rows = _rows(out)
    expected = [('i1', 'verification', m, '1')
                for m in ('/m/car', '/m/land', '/m/veh')]
    expected += [('i1', 'verification', m, '0')
                 for m in ('/m/veh', '/m/land', '/m/car', '/m/truck')]
    expected += [('i2', 'verification', m, '0')
                 for m in ('/m/person', '/m/woman')]
    expected += [('i2', 'verification', '/m/face', '1')]
    assert rows == collections.Counter(expected)


def test_errors(tmp_path, tree_file, capsys):
    src = _write(tmp_path, 'in.csv', [
        'ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf',
        'i1,/m/car,0.1,0.5,0.2,0.6,1', 'i1,/m/nope,0.1,0.5,0.2,0.6,0'])
    out = str(tmp_path / 'out.csv')
    args = ['--json_hierarchy_file', tree_file, '--input_annotations', src,
            '--output_annotations', out]
    assert main(args + ['--annotation_type', '1']) == 1
    err = capsys.readouterr().err
    assert src in err and 'line 3' in err and "'/m/nope'" in err
    # labels need a Confidence column
    assert main(args + ['--annotation_type', '2']) == 1
    assert 'Confidence' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(args + ['--annotation_type', '3'])
    src = _write(tmp_path, 'in2.csv', [
        'ImageID,Source,LabelName,Confidence', 'i1,v,/m/car,yes'])
    assert main(['--json_hierarchy_file', tree_file, '--input_annotations',
                 src, '--output_annotations', out,
                 '--annotation_type', '2']) == 1
    assert "line 2: Confidence 'yes'" in capsys.readouterr().err
    src = _write(tmp_path, 'in3.csv', [
        'ImageID,Source,LabelName,Confidence', 'i1,v,/m/car,1,1'])
    assert main(['--json_hierarchy_file', tree_file, '--input_annotations',
                 src, '--output_annotations', out,
                 '--annotation_type', '2']) == 1
    assert 'line 2' in capsys.readouterr().err


@pytest.mark.parametrize('which', ['bbox_labels_500_hierarchy.DERIVED.json',
                                   'bbox_labels_600_hierarchy.json'])
def test_real_fixture_cli_equals_library(shared, tmp_path, which):
    hierarchy = shared('data', 'open_images_metadata', which)
    boxes = shared('data', 'real_fixture', 'annotations-bbox.csv')
    labels = shared('data', 'real_fixture',
                    'annotations-human-imagelabels.csv')
    h = ClassHierarchy.from_json(hierarchy)
    n_box, n_label = (71, 65) if 'DERIVED' in which else (90, 78)

    out = str(tmp_path / 'boxes.csv')
    # the real entry point, in a subprocess
    proc = subprocess.run(
        [sys.executable, '-m', 'pfdet.datasets.expand_hierarchy',
         '--json_hierarchy_file', hierarchy, '--input_annotations', boxes,
         '--output_annotations', out, '--annotation_type', '1'],
        cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert '43 rows' in proc.stdout and '{} rows'.format(n_box) in proc.stdout
    cli = read_bbox_csv(out, allow_duplicates=True)
    lib = h.expand_boxes(read_bbox_csv(boxes))
    assert len(cli) == len(lib) == n_box
    assert _frame_rows(cli) == _frame_rows(lib)

    out = str(tmp_path / 'labels.csv')
    assert main(['--json_hierarchy_file', hierarchy, '--input_annotations',
                 labels, '--output_annotations', out,
                 '--annotation_type', '2']) == 0
    cli = read_image_labels_csv(out, allow_duplicates=True)
    lib = h.expand_image_labels(read_image_labels_csv(labels))
    assert len(cli) == len(lib) == n_label
    assert _frame_rows(cli) == _frame_rows(lib)
