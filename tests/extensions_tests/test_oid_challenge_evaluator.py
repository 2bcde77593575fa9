import chainer
from chainer.iterators import SerialIterator
import numpy as np

from pfdet.evaluations import eval_detection_oid
from pfdet.extensions import OIDChallengeEvaluator

NAMES = ('cls0', 'cls1', 'cls2', 'cls3', 'cls4')


def _evaluator(link_class, dataset, preds, label_names=NAMES):
    link = link_class(preds)
    it = SerialIterator(dataset, 5, repeat=False, shuffle=False)
    return OIDChallengeEvaluator(it, link, label_names=label_names), link


def test_replayed_ground_truth_gives_map_one(oid_data, oid_stub_link):
    dataset, preds = oid_data(0, mode='gt')
    assert sum(g.sum() for g in dataset._datasets[3]) > 3
    evaluator, link = _evaluator(oid_stub_link, dataset, preds)
    reporter = chainer.Reporter()
    reporter.add_observer('target', link)
    with reporter:
        mean = evaluator.evaluate()
    # results are returned, not reported to the current reporter
    assert len(reporter.observation) == 0
    assert mean['target/map'] == 1
    for name in NAMES[:4]:
        assert mean['target/ap/' + name] == 1
    # class 4 has no ground truth
    assert np.isnan(mean['target/ap/cls4'])


def test_equals_direct_metric(oid_data, oid_stub_link):
    dataset, preds = oid_data(1)
    evaluator, _ = _evaluator(oid_stub_link, dataset, preds)
    mean = evaluator()
    gt = [list(x) for x in dataset._datasets[1:]]
    expected = eval_detection_oid(*zip(*preds), *gt, n_class=len(NAMES))
    assert 0 < expected['map'] < 1
    assert mean['main/map'] == expected['map']
    for l, name in enumerate(NAMES):
        np.testing.assert_equal(mean['main/ap/' + name], expected['ap'][l])


def test_call_twice_and_name(oid_data, oid_stub_link):
    dataset, preds = oid_data(2)
    evaluator, _ = _evaluator(oid_stub_link, dataset, preds)
    first = evaluator()
    evaluator.name = 'eval'
    second = evaluator()
    assert second['eval/main/map'] == first['main/map']


def test_current_report(oid_data, oid_stub_link):
    dataset, preds = oid_data(3)
    evaluator, _ = _evaluator(oid_stub_link, dataset, preds)
    reporter = chainer.Reporter()
    with reporter:
        mean = evaluator()
    assert reporter.observation == mean


def test_without_label_names_and_shorter_samples(oid_data, oid_stub_link):
    dataset, preds = oid_data(4, mode='gt')
    evaluator, _ = _evaluator(oid_stub_link, dataset, preds, label_names=None)
    mean = evaluator()
    assert mean == {'main/map': 1.0}
    # (img, bbox, label): no group-of box, only box classes verified
    short = chainer.datasets.TupleDataset(*dataset._datasets[:3])
    evaluator, _ = _evaluator(oid_stub_link, short, preds)
    assert evaluator()['main/map'] == 1.0


class _SequenceLink(chainer.Link):
    """Returns the given per-image predictions in iteration order."""

    def __init__(self, bboxes, labels):
        super(_SequenceLink, self).__init__()
        self.bboxes, self.labels, self.count = bboxes, labels, 0

    def predict(self, imgs):
        s = slice(self.count, self.count + len(imgs))
        self.count += len(imgs)
        return (self.bboxes[s], self.labels[s],
                [np.ones(len(lab), np.float32) for lab in self.labels[s]])


def test_real_fixture_through_the_dataset(shared):
    """open_images.md §6 with the DERIVED 500 hierarchy: perfect predictions
    give mAP 1 over 29 classes, leaf-only predictions 0.752874."""
    from pfdet.datasets import OpenImagesBboxDataset
    from pfdet.datasets import read_class_descriptions
    meta = shared('data', 'open_images_metadata')
    fix = shared('data', 'real_fixture')
    mids = read_class_descriptions(
        meta + '/challenge-2018-class-descriptions-500.csv')[0]
    kwargs = dict(
        bbox_csv=fix + '/annotations-bbox.csv', image_dir=fix + '/images',
        image_labels_csv=fix + '/annotations-human-imagelabels.csv',
        class_mids=mids,
        hierarchy=meta + '/bbox_labels_500_hierarchy.DERIVED.json')
    expanded = OpenImagesBboxDataset(expand_hierarchy=True, **kwargs)
    leaf = OpenImagesBboxDataset(image_ids=expanded.image_ids, **kwargs)
    data = expanded.slice[:, ('img', 'bbox', 'label', 'is_group_of',
                              'img_label')]
    for source, expected in ((expanded, 1.0), (leaf, 0.752874)):
        boxes = source.slice[:, ('bbox', 'label')]
        bboxes = [boxes[i][0] for i in range(len(boxes))]
        labels = [boxes[i][1] for i in range(len(boxes))]
        link = _SequenceLink(bboxes, labels)
        evaluator = OIDChallengeEvaluator(
            SerialIterator(data, 2, repeat=False, shuffle=False), link,
            label_names=mids)
        mean = evaluator()
        assert abs(mean['main/map'] - expected) < 5e-7
        n_valid = sum(not np.isnan(mean['main/ap/' + m]) for m in mids)
        assert n_valid == 29
