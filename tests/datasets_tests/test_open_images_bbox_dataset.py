import csv
import json
import os

import numpy as np
import pytest
from PIL import Image

from chainercv.utils.testing import assert_is_bbox_dataset

from pfdet.datasets import ClassHierarchy
from pfdet.datasets import OIDFormatError
from pfdet.datasets import OpenImagesBboxDataset
from pfdet.datasets import load_split
from pfdet.datasets import read_bbox_csv
from pfdet.datasets import read_class_descriptions
from pfdet.datasets import write_bbox_csv
from pfdet.datasets import write_class_descriptions
from pfdet.datasets import write_image_labels_csv
import pfdet.datasets.open_images_bbox_dataset as dataset_module

# (H, W) of the fixture photographs
FIXTURE_SIZES = {
    'darknet_dog': (576, 768), 'darknet_person': (424, 640),
    'darknet_horses': (512, 773), 'darknet_kite': (900, 1352),
    'skimage_astronaut': (512, 512)}


@pytest.fixture
def fixture_dir(shared):
    return shared('data', 'real_fixture')


def _csv_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_real_fixture(fixture_dir):
    ds = OpenImagesBboxDataset(
        os.path.join(fixture_dir, 'annotations-bbox.csv'),
        os.path.join(fixture_dir, 'images'),
        os.path.join(fixture_dir, 'annotations-human-imagelabels.csv'))
    assert len(ds) == 5
    assert ds.keys == ('img', 'bbox', 'label', 'is_group_of', 'img_label',
                       'img_label_confidence')
    assert ds.image_ids == ['darknet_dog', 'darknet_person', 'darknet_horses',
                            'darknet_kite', 'skimage_astronaut']
    # 22 box classes + Cat, Car, Airplane, Human hand (verified absent only)
    assert len(ds.class_mids) == 26 and ds.class_mids == sorted(ds.class_mids)
    assert ds.n_dropped_boxes == 0 and ds.n_dropped_img_labels == 0

    rows = _csv_rows(os.path.join(fixture_dir, 'annotations-bbox.csv'))
    labels = _csv_rows(os.path.join(fixture_dir,
                                    'annotations-human-imagelabels.csv'))
    n_box = 0
    for i, image_id in enumerate(ds.image_ids):
        img, bbox, label, is_group_of, img_label, img_conf = ds[i]
        h, w = FIXTURE_SIZES[image_id]
        assert img.shape == (3, h, w) and img.dtype == np.float32
        assert ds.get_size(i) == (h, w)
        mine = [r for r in rows if r['ImageID'] == image_id]
        expected = np.array([[float(r['YMin']) * h, float(r['XMin']) * w,
                              float(r['YMax']) * h, float(r['XMax']) * w]
                             for r in mine])
        assert bbox.dtype == np.float32 and bbox.shape == (len(mine), 4)
        np.testing.assert_allclose(bbox, expected, rtol=1e-6, atol=1e-3)
        assert label.dtype == np.int32
        assert [ds.class_mids[j] for j in label] == [
            r['LabelName'] for r in mine]
        assert is_group_of.dtype == bool
        np.testing.assert_array_equal(
            is_group_of, [r['IsGroupOf'] == '1' for r in mine])
        assert img_label.dtype == np.int32 and img_conf.dtype == np.int8
        got = sorted(zip([ds.class_mids[j] for j in img_label],
                         img_conf.tolist()))
        assert got == sorted((r['LabelName'], int(r['Confidence']))
                             for r in labels if r['ImageID'] == image_id)
        n_box += len(bbox)
    assert n_box == 43
    # the only group-of box: a crowd of persons on darknet_kite
    assert sum(int(g.sum()) for g in ds.slice[:, 'is_group_of']) == 1
    assert int(ds.slice[[3], 'is_group_of'][0].sum()) == 1
    # first box of darknet_dog by hand: 0.190972 * 576, 0.162760 * 768, ...
    np.testing.assert_allclose(ds[0][1][0], [110.0, 125.0, 420.0, 568.0],
                               atol=0.01)


def test_real_fixture_is_bbox_dataset(fixture_dir):
    ds = OpenImagesBboxDataset(
        os.path.join(fixture_dir, 'annotations-bbox.csv'),
        os.path.join(fixture_dir, 'images'))
    assert_is_bbox_dataset(ds.slice[:, ('img', 'bbox', 'label')],
                           len(ds.class_mids), n_example=2)


def test_real_fixture_expanded(shared, fixture_dir):
    meta = shared('data', 'open_images_metadata')
    mids, _ = read_class_descriptions(os.path.join(
        meta, 'challenge-2018-class-descriptions-500.csv'))
    all_mids, all_names = read_class_descriptions(os.path.join(
        meta, 'class-descriptions-boxable.csv'))
    name_of = dict(zip(all_mids, all_names))
    ds = OpenImagesBboxDataset(
        os.path.join(fixture_dir, 'annotations-bbox.csv'),
        os.path.join(fixture_dir, 'images'),
        os.path.join(fixture_dir, 'annotations-human-imagelabels.csv'),
        class_mids=mids, expand_hierarchy=True,
        hierarchy=os.path.join(meta, 'bbox_labels_500_hierarchy.DERIVED.json'))
    assert ds.class_mids == mids
    labels = ds.slice[:, 'label']
    assert sum(len(lb) for lb in labels) == 71
    assert len(np.unique(np.concatenate(labels))) == 29
    assert ds.n_dropped_boxes == 0
    negatives = {}
    for i in range(len(ds)):
        img_label, conf = ds.slice[[i], ('img_label',
                                         'img_label_confidence')][0]
        negatives[ds.image_ids[i]] = sorted(
            name_of[mids[j]] for j in img_label[conf == 0])
        # merged duplicates: each (class, confidence) once
        assert len(set(zip(img_label, conf))) == len(img_label)
    assert negatives['darknet_dog'] == sorted(
        ['Cat', 'Horse', 'Person', 'Man', 'Woman', 'Boy', 'Girl'])
    assert negatives['darknet_person'] == sorted(
        ['Human face', 'Car', 'Limousine', 'Van', 'Cat'])
    # the Woman box of the astronaut is copied to Person, same coordinates
    bbox, label = ds.slice[[4], ('bbox', 'label')][0]
    person = mids.index('/m/01g317')
    woman = mids.index('/m/03bt1vf')
    np.testing.assert_array_equal(bbox[label == person], bbox[label == woman])

    # the 600 hierarchy expands to 5 classes outside the 500 set: dropped,
    # counted and reported
    with pytest.warns(UserWarning, match='dropped'):
        ds600 = OpenImagesBboxDataset(
            os.path.join(fixture_dir, 'annotations-bbox.csv'),
            os.path.join(fixture_dir, 'images'), class_mids=mids,
            expand_hierarchy=True,
            hierarchy=ClassHierarchy.from_json(
                os.path.join(meta, 'bbox_labels_600_hierarchy.json')))
    n_kept = sum(len(lb) for lb in ds600.slice[:, 'label'])
    assert ds600.n_dropped_boxes > 0
    assert n_kept + ds600.n_dropped_boxes == 90


def _make_image(path, h, w, seed=0):
    rng = np.random.RandomState(seed)
    Image.fromarray(rng.randint(0, 255, (h, w, 3)).astype(np.uint8)).save(
        path)


def _tiny(tmp_path):
    """Two images with boxes, one with only a negative label."""
    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    _make_image(str(img_dir / 'a.jpg'), 40, 60)
    _make_image(str(img_dir / 'b.png'), 30, 20)
    _make_image(str(img_dir / 'c.jpg'), 10, 10)
    bbox_csv = str(tmp_path / 'bbox.csv')
    with open(bbox_csv, 'w') as f:
        f.write('ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf\n'
                'b,/m/y,0.5,1.0,0.0,0.5,-1\n'
                'a,/m/x,0.0,0.5,0.25,0.75,0\n'
                'a,/m/y,0.25,1.0,0.5,1.0,1\n')
    labels_csv = str(tmp_path / 'labels.csv')
    with open(labels_csv, 'w') as f:
        f.write('ImageID,Source,LabelName,Confidence\n'
                'a,verification,/m/x,1\n'
                'c,verification,/m/x,0\n')
    return bbox_csv, str(img_dir), labels_csv


def test_tiny_2019_format(tmp_path):
    bbox_csv, img_dir, labels_csv = _tiny(tmp_path)
    ds = OpenImagesBboxDataset(bbox_csv, img_dir, labels_csv)
    assert ds.image_ids == ['b', 'a', 'c']
    assert ds.class_mids == ['/m/x', '/m/y']
    bbox, label, g = ds.slice[[1], ('bbox', 'label', 'is_group_of')][0]
    np.testing.assert_allclose(bbox, [[10, 0, 30, 30], [20, 15, 40, 60]])
    np.testing.assert_array_equal(label, [0, 1])
    np.testing.assert_array_equal(g, [False, True])
    bbox, g = ds.slice[[0], ('bbox', 'is_group_of')][0]
    np.testing.assert_allclose(bbox, [[0, 10, 15, 20]])
    # IsGroupOf -1 counts as group-of (as in the official evaluation)
    np.testing.assert_array_equal(g, [True])
    # image without boxes: an example with empty arrays
    img, bbox, label, g, img_label, conf = ds[2]
    assert img.shape == (3, 10, 10)
    assert bbox.shape == (0, 4) and bbox.dtype == np.float32
    assert label.shape == (0,) and label.dtype == np.int32
    assert g.shape == (0,) and g.dtype == bool
    np.testing.assert_array_equal(img_label, [0])
    np.testing.assert_array_equal(conf, [0])


def test_annotations_without_reading_pixels(tmp_path, monkeypatch):
    bbox_csv, img_dir, _ = _tiny(tmp_path)
    ds = OpenImagesBboxDataset(bbox_csv, img_dir)

    def fail(*args, **kwargs):
        raise AssertionError('pixels read')
    monkeypatch.setattr(dataset_module, 'read_image', fail)
    bboxes = ds.slice[:, 'bbox']
    np.testing.assert_allclose(bboxes[1], [[10, 0, 30, 30], [20, 15, 40, 60]])


def test_image_ids_subset_and_order(tmp_path):
    bbox_csv, img_dir, labels_csv = _tiny(tmp_path)
    ds = OpenImagesBboxDataset(bbox_csv, img_dir, labels_csv,
                               image_ids=['c', 'a'])
    assert len(ds) == 2
    assert len(ds[0][1]) == 0 and len(ds[1][1]) == 2


def test_class_mids_filter(tmp_path):
    bbox_csv, img_dir, labels_csv = _tiny(tmp_path)
    with pytest.warns(UserWarning, match='dropped 2 box'):
        ds = OpenImagesBboxDataset(bbox_csv, img_dir, labels_csv,
                                   class_mids=['/m/x'])
    assert ds.n_dropped_boxes == 2 and ds.n_dropped_img_labels == 0
    assert [len(b) for b in ds.slice[:, 'bbox']] == [0, 1, 0]


def test_missing_and_unreadable_image(tmp_path):
    bbox_csv, img_dir, labels_csv = _tiny(tmp_path)
    os.remove(os.path.join(img_dir, 'c.jpg'))
    with open(os.path.join(img_dir, 'b.png'), 'wb') as f:
        f.write(b'not an image')
    ds = OpenImagesBboxDataset(bbox_csv, img_dir, labels_csv)
    with pytest.raises(OIDFormatError) as e:
        ds[2]
    assert os.path.join(img_dir, 'c.jpg') in str(e.value)
    assert "'c'" in str(e.value) and 'example 2' in str(e.value)
    with pytest.raises(OIDFormatError, match='b.png'):
        ds.slice[[0], 'img'][0]
    with pytest.raises(OIDFormatError, match='b.png'):
        ds.slice[[0], 'bbox'][0]
    # the other examples still work
    assert ds[1][0].shape == (3, 40, 60)


def test_invalid_csv_rows(tmp_path):
    bbox_csv, img_dir, _ = _tiny(tmp_path)
    with open(bbox_csv, 'a') as f:
        f.write('a,/m/x,0.9,0.5,0.0,0.5,0\n')
    with pytest.raises(OIDFormatError, match='line 5'):
        OpenImagesBboxDataset(bbox_csv, img_dir)
    with pytest.warns(UserWarning, match='skipped 1'):
        ds = OpenImagesBboxDataset(bbox_csv, img_dir, skip_invalid=True)
    assert ds.n_skipped == 1
    assert sum(len(b) for b in ds.slice[:, 'label']) == 3


def test_exif_rotation(tmp_path):
    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: stored 40x20 (W x H), shown 20x40
    Image.fromarray(np.zeros((20, 40, 3), dtype=np.uint8)).save(
        str(img_dir / 'r.jpg'), exif=exif.tobytes())
    bbox_csv = str(tmp_path / 'b.csv')
    with open(bbox_csv, 'w') as f:
        f.write('ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf\n'
                'r,/m/x,0.0,0.5,0.0,0.25,0\n')
    ds = OpenImagesBboxDataset(bbox_csv, str(img_dir))
    h, w = ds.get_size(0)
    ds2 = OpenImagesBboxDataset(bbox_csv, str(img_dir))
    img = ds2.slice[[0], 'img'][0]
    assert img.shape[1:] == (h, w)
    np.testing.assert_allclose(ds.slice[[0], 'bbox'][0],
                               [[0, 0, 0.25 * h, 0.5 * w]])


def _write_layout(root):
    """An embedded dataset directory (the layout of dev_contracts.md)."""
    os.makedirs(os.path.join(root, 'train'))
    write_class_descriptions(os.path.join(root, 'class-descriptions.csv'),
                             ['/m/veh', '/m/car', '/m/person'],
                             ['Vehicle', 'Car', 'Person'])
    with open(os.path.join(root, 'hierarchy.json'), 'w') as f:
        json.dump({'LabelName': '/m/0bl9f', 'Subcategory': [
            {'LabelName': '/m/veh', 'Subcategory': [{'LabelName': '/m/car'}]},
            {'LabelName': '/m/person'}]}, f)
    _make_image(os.path.join(root, 'train', 'i0.jpg'), 20, 40)
    _make_image(os.path.join(root, 'train', 'i1.jpg'), 30, 30)
    boxes = read_bbox_csv(_tmp_csv(root, [
        'ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf',
        'i0,/m/car,0.0,0.5,0.0,0.5,0', 'i0,/m/person,0.5,1.0,0.5,1.0,0']))
    write_bbox_csv(os.path.join(root, 'train-annotations-bbox.csv'), boxes)
    import pandas as pd
    write_image_labels_csv(
        os.path.join(root, 'train-annotations-human-imagelabels.csv'),
        pd.DataFrame({'ImageID': ['i0', 'i1'],
                      'LabelName': ['/m/car', '/m/veh'],
                      'Confidence': [1, 0]}))


def _tmp_csv(root, lines):
    path = os.path.join(root, 'tmp.csv')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def test_load_split(tmp_path):
    root = str(tmp_path / 'ds')
    _write_layout(root)
    ds = load_split(root, 'train')
    assert ds.class_mids == ['/m/veh', '/m/car', '/m/person']
    assert ds.class_names == ['Vehicle', 'Car', 'Person']
    assert ds.image_ids == ['i0', 'i1']
    np.testing.assert_array_equal(ds.slice[[0], 'label'][0], [1, 2])
    np.testing.assert_allclose(ds.slice[[0], 'bbox'][0],
                               [[0, 0, 10, 20], [10, 20, 20, 40]])
    assert ds.slice[[1], 'bbox'][0].shape == (0, 4)

    ds = load_split(root, 'train', expand_hierarchy=True)
    bbox, label = ds.slice[[0], ('bbox', 'label')][0]
    assert sorted(label.tolist()) == [0, 1, 2]
    np.testing.assert_allclose(bbox[label == 0], bbox[label == 1])
    img_label, conf = ds.slice[[1], ('img_label', 'img_label_confidence')][0]
    # negative Vehicle goes down to Car
    assert sorted(zip(img_label.tolist(), conf.tolist())) == [(0, 0), (1, 0)]
    img_label, conf = ds.slice[[0], ('img_label', 'img_label_confidence')][0]
    assert sorted(zip(img_label.tolist(), conf.tolist())) == [(0, 1), (1, 1)]


def test_expand_needs_hierarchy(tmp_path):
    bbox_csv, img_dir, _ = _tiny(tmp_path)
    with pytest.raises(ValueError, match='hierarchy'):
        OpenImagesBboxDataset(bbox_csv, img_dir, expand_hierarchy=True)
