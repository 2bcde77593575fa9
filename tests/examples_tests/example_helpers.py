"""Helpers for the example-script tests: subprocess runners and the tiny config template.

The scripts are run as a user runs them (``mpiexec -n 2 python examples/...``), so these
tests are ordinary (not ``mpi``-marked) tests: each launches its own MPI job.
"""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PYTHON = sys.executable
MPIEXEC = os.path.join(os.path.dirname(PYTHON), 'mpiexec')


def mpiexec_cmd(n):
    cmd = [MPIEXEC, '--oversubscribe']
    if os.geteuid() == 0:
        cmd.append('--allow-run-as-root')
    return cmd + ['-n', str(n)]


def env():
    e = dict(os.environ)
    e.update(OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1', MKL_NUM_THREADS='1',
             OMPI_MCA_rmaps_base_oversubscribe='1', PYTHONUNBUFFERED='1')
    return e


def run(args, n_ranks=None, timeout=120):
    """Run an example script (under ``mpiexec -n n_ranks`` if given); returns the process."""
    cmd = (mpiexec_cmd(n_ranks) if n_ranks else []) + [PYTHON] + args
    return subprocess.run(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout, universal_newlines=True)


TINY = '''
from experiments.pfdet.toy_base import config as _base
from pfdet.training import deep_update

config = deep_update(_base, dict(
    dataset=dict(root={root!r}),
    model=dict(min_size=64, max_size=96, fpn_channels=16, head_fc_channels=32),
    train_chain=dict(head_n_sample=32, rpn_n_sample=64),
    train=dict(batchsize=2, epoch=None, iteration={iteration}, scales=(64, 80), max_size=96,
               warmup_iteration=2, base_lr={base_lr}),
    eval=dict(interval=({eval_every}, 'iteration'), batchsize=4),
    log=dict(interval=(1, 'iteration'), snapshot_interval=({snapshot_every}, 'iteration'),
             keep_snapshots=None, progress_bar=False),
))
'''


