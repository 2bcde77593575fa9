"""MPI consistency of OIDChallengeEvaluator (run under ``mpiexec -n 2``)::

    .venv/bin/mpiexec --allow-run-as-root --oversubscribe -n 2 \\
        .venv/bin/python -m pytest -m mpi tests/extensions_tests
"""

import os

import chainer
from chainer.iterators import SerialIterator
import numpy as np
import pytest

from pfdet.extensions import OIDChallengeEvaluator

pytestmark = pytest.mark.mpi

NAMES = ('cls0', 'cls1', 'cls2', 'cls3')


def _under_mpiexec():
    return any(k in os.environ for k in (
        'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMIX_RANK'))


@pytest.mark.filterwarnings('ignore:The batchsize:RuntimeWarning')
@pytest.mark.parametrize('batchsize', [4, 5])
def test_consistency(oid_data, oid_stub_link, batchsize):
    if not _under_mpiexec():
        pytest.skip('needs mpiexec (see the module docstring)')
    import chainermn
    comm = chainermn.create_communicator('naive')
    # every rank builds the same seeded data and predictor
    dataset, preds = oid_data(11, n_img=23)
    iterator = SerialIterator(dataset, batchsize, repeat=False,
                              shuffle=False) if comm.rank == 0 else None
    link = oid_stub_link(preds)
    reporter = chainer.Reporter()
    reporter.add_observer('target', link)
    with reporter:
        multi = OIDChallengeEvaluator(iterator, link, label_names=NAMES,
                                      comm=comm).evaluate()
    if comm.rank != 0:
        assert multi == {}
        return

    single_link = oid_stub_link(preds)
    reporter = chainer.Reporter()
    reporter.add_observer('target', single_link)
    with reporter:
        single = OIDChallengeEvaluator(
            SerialIterator(dataset, batchsize, repeat=False, shuffle=False),
            single_link, label_names=NAMES).evaluate()
    assert comm.size >= 1
    assert set(multi) == set(single)
    assert 0 < single['target/map'] < 1
    for key in multi:
        np.testing.assert_equal(multi[key], single[key])
