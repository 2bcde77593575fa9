import pickle

import numpy as np
import pytest

from pfdet.training import choose_scale
from pfdet.training import TrainTransform


def test_choose_scale():
    assert choose_scale((100, 200), 50, 1000) == pytest.approx(0.5)
    # longer side capped: 200 * 2 = 400 > 300
    assert choose_scale((100, 200), 200, 300) == pytest.approx(1.5)


def _example(H=40, W=80):
    img = np.zeros((3, H, W), np.float32)
    img[:, 10:20, 5:25] = 255
    bbox = np.array([[10, 5, 20, 25]], np.float32)
    label = np.array([2], np.int32)
    return img, bbox, label


def test_scale_flip_and_mean():
    mean = np.array([1, 2, 3], np.float32).reshape(3, 1, 1)
    t = TrainTransform((20,), 1000, mean, flip=False)
    img, bbox, label = t(_example())
    assert img.shape == (3, 20, 40)
    np.testing.assert_allclose(bbox, [[5, 2.5, 10, 12.5]])
    np.testing.assert_allclose(img[:, 0, 39], [-1, -2, -3])
    assert img.dtype == np.float32 and bbox.dtype == np.float32 and label.dtype == np.int32


def test_flip_maps_boxes_with_pixels():
    np.random.seed(0)
    t = TrainTransform((40,), 1000, np.zeros((3, 1, 1), np.float32), flip=True)
    flips = 0
    for _ in range(20):
        img, bbox, _ = t(_example())
        y0, x0, y1, x1 = bbox[0].astype(int)
        # the box still covers exactly the white rectangle
        assert np.all(img[0, y0:y1, x0:x1] == 255)
        assert img[0].sum() == 255 * 10 * 20
        flips += x0 != 5
    assert 0 < flips < 20


def test_multi_scale_draws_each_scale():
    np.random.seed(1)
    t = TrainTransform((20, 30, 40), 1000, np.zeros(3, np.float32), flip=False)
    heights = {t(_example())[0].shape[1] for _ in range(50)}
    assert heights == {20, 30, 40}


def test_extra_items_pass_through_and_picklable():
    t = TrainTransform((20,), 100, np.zeros(3, np.float32))
    t2 = pickle.loads(pickle.dumps(t))
    extra = np.array([1, 4], np.int32)
    out = t2(_example() + (extra,))
    assert len(out) == 4 and out[3] is extra
