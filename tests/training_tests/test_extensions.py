import os
import zipfile

import numpy as np
import pytest

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import training

from pfdet.training import find_latest_snapshot
from pfdet.training import list_snapshots
from pfdet.training import load_snapshot
from pfdet.training import make_lr_schedule
from pfdet.training import MultiNodeSnapshot
from pfdet.training import NonFiniteLossError
from pfdet.training import ShuffleOrderSampler
from pfdet.training import SnapshotError
from pfdet.training import StopOnNonFiniteLoss
from pfdet.training import write_npz_atomic


class _Noisy(chainer.dataset.DatasetMixin):
    """x -> 2x + 1 with a random sign flip drawn from numpy's global RNG."""

    def __len__(self):
        return 10

    def get_example(self, i):
        x = np.array([i / 10.0], np.float32)
        s = np.float32(np.random.choice([-1, 1]))
        return s * x, s * (2 * x + 1)


class _Reg(chainer.Chain):
    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = scale
        with self.init_scope():
            self.l = L.Linear(1, 1, initialW=0.5)

    def __call__(self, x, t):
        loss = F.mean_squared_error(self.l(x), t) * self.scale
        chainer.reporter.report({'loss': loss}, self)
        return loss


def _trainer(out, stop, snapshot_at=None, scale=1.0, total=None):
    model = _Reg(scale)
    opt = chainer.optimizers.MomentumSGD(lr=0.1)
    opt.setup(model)
    opt.add_hook(chainer.optimizer_hooks.WeightDecay(1e-3))
    it = chainer.iterators.SerialIterator(_Noisy(), 3, order_sampler=ShuffleOrderSampler(0))
    updater = training.StandardUpdater(it, opt)
    trainer = training.Trainer(updater, (stop, 'iteration'), out=str(out))
    trainer.extend(make_lr_schedule(0.1, total or stop, warmup_iteration=2))
    trainer.extend(StopOnNonFiniteLoss())
    if snapshot_at:
        trainer.extend(MultiNodeSnapshot(None), trigger=(snapshot_at, 'iteration'))
    return trainer, model, opt


def test_resume_equals_uninterrupted(tmp_path):
    np.random.seed(0)
    ref, ref_model, ref_opt = _trainer(tmp_path / 'ref', 9)
    ref.run()

    np.random.seed(0)
    first, _, _ = _trainer(tmp_path / 'a', 4, snapshot_at=4, total=9)  # interrupted at 4
    first.run()
    snap = find_latest_snapshot(str(tmp_path / 'a'))
    assert os.path.basename(snap) == 'snapshot_iter_4'

    np.random.seed(123)  # the snapshot restores the random state
    resumed, model, opt = _trainer(tmp_path / 'b', 9)
    load_snapshot(snap, resumed)
    assert resumed.updater.iteration == 4
    resumed.run()
    assert opt.t == ref_opt.t == 9
    assert opt.lr == ref_opt.lr
    np.testing.assert_array_equal(model.l.W.array, ref_model.l.W.array)
    np.testing.assert_array_equal(opt.target.l.W.update_rule.state['v'],
                                  ref_opt.target.l.W.update_rule.state['v'])


def test_snapshot_keep_and_no_tmp_left(tmp_path):
    trainer, _, _ = _trainer(tmp_path, 6)
    trainer.extend(MultiNodeSnapshot(None, n_keep=2), trigger=(2, 'iteration'))
    trainer.run()
    names = [os.path.basename(p) for p in list_snapshots(str(tmp_path))]
    assert names == ['snapshot_iter_4', 'snapshot_iter_6']
    assert not [n for n in os.listdir(str(tmp_path)) if 'tmp' in n]


def test_write_npz_atomic_keeps_old_file_on_failure(tmp_path):
    path = str(tmp_path / 'x.npz')
    write_npz_atomic(path, {'a': np.arange(3)})

    class Bad(object):
        def __array__(self):
            raise RuntimeError('boom')
    with pytest.raises(Exception):
        write_npz_atomic(path, {'a': np.arange(5), 'b': Bad()})
    with np.load(path) as f:
        np.testing.assert_array_equal(f['a'], np.arange(3))
    assert os.listdir(str(tmp_path)) == ['x.npz']


def test_nonfinite_loss_names_iteration(tmp_path):
    trainer, model, _ = _trainer(tmp_path, 10)

    @training.make_extension(trigger=(1, 'iteration'), priority=training.PRIORITY_WRITER + 10)
    def poison(tr):
        if tr.updater.iteration == 3:
            tr.observation['main/loss'] = np.float32(np.nan)
    trainer.extend(poison)
    trainer.extend(MultiNodeSnapshot(None), trigger=(1, 'iteration'))
    with pytest.raises(NonFiniteLossError,
                       match=r'non-finite loss at iteration 3: main/loss = nan on rank 0'):
        trainer.run()
    # the snapshot of the bad iteration was not written
    assert os.path.basename(find_latest_snapshot(str(tmp_path))) == 'snapshot_iter_2'


def test_nonfinite_loss_from_huge_scale(tmp_path):
    trainer, _, _ = _trainer(tmp_path, 5, scale=np.float32(1e38))
    with pytest.raises(NonFiniteLossError, match=r'at iteration \d+: main/loss = (inf|nan)'):
        trainer.run()


def test_stop_guard_collective_unit():
    class Comm(object):
        size, rank = 2, 0

        class mpi_comm(object):
            @staticmethod
            def allgather(v):
                return [v, float('inf')]

    class Tr(object):
        observation = {'main/loss': np.float32(1.0)}

        class updater(object):
            iteration = 7
    with pytest.raises(NonFiniteLossError, match=r'iteration 7: main/loss = inf on rank 1'):
        StopOnNonFiniteLoss(Comm())(Tr())


def test_load_missing(tmp_path):
    trainer, _, _ = _trainer(tmp_path, 2)
    with pytest.raises(SnapshotError, match='snapshot not found: .*nope'):
        load_snapshot(str(tmp_path / 'nope'), trainer)


def test_load_truncated(tmp_path):
    t, _, _ = _trainer(tmp_path, 2, snapshot_at=2)
    t.run()
    snap = find_latest_snapshot(str(tmp_path))
    data = open(snap, 'rb').read()
    bad = str(tmp_path / 'snapshot_iter_99')
    with open(bad, 'wb') as f:
        f.write(data[:len(data) // 2])
    trainer, _, _ = _trainer(tmp_path / 'x', 2)
    with pytest.raises(SnapshotError, match='not a readable snapshot|corrupt snapshot'):
        load_snapshot(bad, trainer)


def test_load_not_a_trainer_snapshot(tmp_path):
    path = str(tmp_path / 'model.npz')
    chainer.serializers.save_npz(path, _Reg())
    trainer, _, _ = _trainer(tmp_path, 2)
    with pytest.raises(SnapshotError, match='not a trainer snapshot'):
        load_snapshot(path, trainer)


def test_load_other_model(tmp_path):
    t, _, _ = _trainer(tmp_path, 2, snapshot_at=2)
    t.run()
    snap = find_latest_snapshot(str(tmp_path))
    trainer, model, _ = _trainer(tmp_path / 'x', 2)
    with model.init_scope():
        model.extra = L.Linear(1, 1)
    with pytest.raises(SnapshotError, match='does not match the trainer'):
        load_snapshot(snap, trainer)


def test_load_other_world_size(tmp_path):
    t, _, _ = _trainer(tmp_path, 2, snapshot_at=2)
    t.run()
    snap = find_latest_snapshot(str(tmp_path))

    class Comm(object):
        rank, size = 0, 2
    trainer, _, _ = _trainer(tmp_path / 'x', 2)
    with pytest.raises(SnapshotError, match=r'written by 1 rank\(s\), but this job has 2'):
        load_snapshot(snap, trainer, Comm())


def test_zip_garbage(tmp_path):
    bad = tmp_path / 'snap'
    with zipfile.ZipFile(str(bad), 'w') as z:
        z.writestr('hello.txt', 'x')
    trainer, _, _ = _trainer(tmp_path / 'x', 2)
    with pytest.raises(SnapshotError):
        load_snapshot(str(bad), trainer)
