"""Multi-node behaviour of pfdet.training (run under ``mpiexec -n 2``)::

    .venv/bin/mpiexec --allow-run-as-root --oversubscribe -n 2 \\
        .venv/bin/python -m pytest -m mpi tests/training_tests
"""

import os
import shutil
import tempfile

import numpy as np
import pytest

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import training

from pfdet.training import builder
from pfdet.training import load_snapshot
from pfdet.training import MultiNodeSnapshot
from pfdet.training import NonFiniteLossError
from pfdet.training import ShuffleOrderSampler
from pfdet.training import StopOnNonFiniteLoss

pytestmark = pytest.mark.mpi


@pytest.fixture(scope='module')
def comm():
    if not any(k in os.environ for k in ('OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMIX_RANK')):
        pytest.skip('needs mpiexec (see the module docstring)')
    import chainermn
    c = chainermn.create_communicator('naive')
    if c.size != 2:
        pytest.skip('needs exactly 2 ranks')
    return c


class _Reg(chainer.Chain):
    def __init__(self, seed):
        super().__init__()
        with self.init_scope():
            self.l = L.Linear(2, 1, initialW=chainer.initializers.Normal(
                1.0, rng=np.random.RandomState(seed)))

    def __call__(self, x, t):
        loss = F.mean_squared_error(self.l(x), t)
        chainer.reporter.report({'loss': loss}, self)
        return loss


def _sgd(model, comm):
    import chainermn
    opt = chainermn.create_multi_node_optimizer(chainer.optimizers.SGD(lr=0.1), comm)
    opt.setup(model)
    return opt


def test_first_update_is_an_update(comm):
    """ChainerMN's own first update() only broadcasts; after synchronize_parameters it
    averages the gradients and updates: W1 = W0 - lr * mean_r(grad_r)."""
    model = _Reg(seed=comm.rank)  # different initial weights per rank
    opt = _sgd(model, comm)
    builder.synchronize_parameters(opt, comm)
    w0 = _Reg(seed=0).l.W.array.copy()
    np.testing.assert_array_equal(model.l.W.array, w0)
    x = np.array([[1.0, 2.0]], np.float32) * (comm.rank + 1)
    t = np.zeros((1, 1), np.float32)
    opt.update(model, x, t)
    # closed form of the averaged gradient of (w.x + b)^2 at w0, b = 0
    grads = []
    for r in range(2):
        xr = np.array([1.0, 2.0]) * (r + 1)
        grads.append(2 * float(w0[0] @ xr) * xr)
    expected = w0[0] - 0.1 * np.mean(grads, axis=0)
    np.testing.assert_allclose(model.l.W.array[0], expected, rtol=1e-5)
    gathered = comm.gather_obj(model.l.W.array)
    if comm.rank == 0:
        np.testing.assert_array_equal(gathered[0], gathered[1])


def test_nonfinite_on_one_rank_stops_both(comm):
    class Tr(object):
        observation = {'main/loss': np.float32(np.nan if comm.rank == 1 else 1.0)}

        class updater(object):
            iteration = 5
    with pytest.raises(NonFiniteLossError, match=r'iteration 5: main/loss = nan on rank 1$|'
                                                 r'iteration 5: main/loss = nan on rank 1;'):
        StopOnNonFiniteLoss(comm)(Tr())


def _trainer(comm, out, stop):
    model = _Reg(seed=0)
    opt = _sgd(model, comm)
    builder.synchronize_parameters(opt, comm)
    # each rank has its own shard: values 10 * rank + i
    data = [(np.array([10.0 * comm.rank + i, 1.0], np.float32), np.zeros(1, np.float32))
            for i in range(5)]
    it = chainer.iterators.SerialIterator(data, 2, order_sampler=ShuffleOrderSampler(
        (0, comm.rank)))
    trainer = training.Trainer(training.StandardUpdater(it, opt), (stop, 'iteration'), out)
    trainer.extend(MultiNodeSnapshot(comm), trigger=(2, 'iteration'))
    seen = []

    @training.make_extension(trigger=(1, 'iteration'))
    def record(tr):
        seen.append(float(np.random.rand()))  # the random state is per rank
    trainer.extend(record)
    return trainer, it, seen


def test_snapshot_restores_each_ranks_iterator_and_random_state(comm):
    out = tempfile.mkdtemp() if comm.rank == 0 else None
    out = comm.bcast_obj(out)
    try:
        np.random.seed(comm.rank)
        ref, ref_it, ref_seen = _trainer(comm, out, 5)
        ref.run()
        comm.mpi_comm.Barrier()
        np.random.seed(99)
        got, got_it, got_seen = _trainer(comm, os.path.join(out, 'b'), 5)
        load_snapshot(os.path.join(out, 'snapshot_iter_4'), got, comm)
        got.run()
        assert got_seen == ref_seen[4:]
        np.testing.assert_array_equal(got_it._state.order, ref_it._state.order)
        assert got_it.current_position == ref_it.current_position
    finally:
        comm.mpi_comm.Barrier()
        if comm.rank == 0:
            shutil.rmtree(out)
