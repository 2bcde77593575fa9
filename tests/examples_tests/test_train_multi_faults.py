"""Faults and bad input of examples/train_multi.py (and evaluate.py)."""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from example_helpers import env
from example_helpers import mpiexec_cmd
from example_helpers import PYTHON
from example_helpers import ROOT
from example_helpers import run

TRAIN = 'examples/train_multi.py'


def _rank_pids(marker):
    """{rank: pid} of the MPI ranks whose command line contains ``marker``."""
    pids = {}
    for d in glob.glob('/proc/[0-9]*'):
        try:
            with open(d + '/cmdline', 'rb') as f:
                cmd = f.read().decode(errors='replace')
            if marker not in cmd or 'train_multi.py' not in cmd or 'mpiexec' in cmd:
                continue
            with open(d + '/environ', 'rb') as f:
                environ = dict(kv.split('=', 1) for kv in
                               f.read().decode(errors='replace').split('\0') if '=' in kv)
        except OSError:
            continue
        if 'OMPI_COMM_WORLD_RANK' in environ:
            pids[int(environ['OMPI_COMM_WORLD_RANK'])] = int(os.path.basename(d))
    return pids


def _start(cfg, out, log_path):
    log = open(log_path, 'w')
    return subprocess.Popen(mpiexec_cmd(2) + [PYTHON, TRAIN, '--config', cfg, '--out', out],
                            cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_for_iteration(out, proc, n, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, 'training ended early'
        try:
            with open(os.path.join(out, 'log')) as f:
                if json.load(f)[-1]['iteration'] >= n:
                    return
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.2)
    raise AssertionError('training did not reach iteration {}'.format(n))


def _finish(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError('the job hung for more than {} s'.format(timeout))


@pytest.mark.parametrize('victim', [1, 0])
def test_sigkill_of_a_rank_ends_the_job(make_config, tmp_path, victim):
    cfg = make_config(iteration=100000, eval_every=100000, snapshot_every=100000)
    out = str(tmp_path / 'out')
    proc = _start(cfg, out, str(tmp_path / 'stdout'))
    try:
        _wait_for_iteration(out, proc, 2)
        pids = _rank_pids(out)
        assert sorted(pids) == [0, 1], pids
        os.kill(pids[victim], signal.SIGKILL)
        start = time.time()
        rc = _finish(proc, 60)
        elapsed = time.time() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert rc != 0
    assert elapsed < 60
    time.sleep(1)
    assert _rank_pids(out) == {}, 'a rank survived'


def test_exception_on_one_rank_aborts_the_job(make_config, tiny_data, tmp_path):
    """A corrupt image in one rank's shard: that rank raises, the job aborts (no hang)."""
    data = str(tmp_path / 'data')
    shutil.copytree(tiny_data, data)
    victim = sorted(glob.glob(os.path.join(data, 'train', '*.jpg')))[5]
    with open(victim, 'wb') as f:
        f.write(b'not a jpeg')
    cfg = make_config(iteration=100000, eval_every=100000, snapshot_every=100000)
    with open(cfg) as f:
        text = f.read().replace(repr(tiny_data), repr(data))
    with open(cfg, 'w') as f:
        f.write(text)
    out = str(tmp_path / 'out')
    proc = _start(cfg, out, str(tmp_path / 'stdout'))
    rc = _finish(proc, 120)
    with open(str(tmp_path / 'stdout')) as f:
        output = f.read()
    assert rc != 0
    assert 'uncaught exception, aborting the MPI job' in output
    assert os.path.basename(victim) in output


def test_nan_loss_stops_with_the_iteration(make_config, tmp_path):
    cfg = make_config(iteration=20, base_lr=1e5, eval_every=100, snapshot_every=1)
    out = str(tmp_path / 'out')
    p = run([TRAIN, '--config', cfg, '--out', out], n_ranks=2)
    assert p.returncode == 1, p.stdout[-3000:]
    m = re.search(r'error: non-finite loss at iteration (\d+): main/loss = (nan|inf)', p.stdout)
    assert m, p.stdout[-3000:]
    bad = int(m.group(1))
    # snapshots stop before the bad iteration
    assert os.path.exists(os.path.join(out, 'snapshot_iter_{}'.format(bad - 1)))
    assert not os.path.exists(os.path.join(out, 'snapshot_iter_{}'.format(bad)))


def test_missing_config():
    p = run([TRAIN, '--config', 'no/such/config.py'])
    assert p.returncode == 2
    assert 'error: config file not found: no/such/config.py' in p.stdout


def test_invalid_config_names_file_and_key(tmp_path):
    cfg = tmp_path / 'bad.py'
    cfg.write_text('from experiments.pfdet.toy_base import config as _base\n'
                   'from pfdet.training import deep_update\n'
                   "config = deep_update(_base, {'train': {'batchsize': -4}})\n")
    p = run([TRAIN, '--config', str(cfg)])
    assert p.returncode == 2
    assert '{}: invalid config'.format(cfg) in p.stdout
    assert 'train.batchsize: expected a positive number, got -4' in p.stdout


def test_config_typo_in_delta(tmp_path):
    cfg = tmp_path / 'typo.py'
    cfg.write_text('from experiments.pfdet.toy_base import config as _base\n'
                   'from pfdet.training import deep_update\n'
                   "config = deep_update(_base, {'train': {'batch_size': 4}})\n")
    p = run([TRAIN, '--config', str(cfg)])
    assert p.returncode == 2
    assert re.search(r"typo\.py:3: deep_update: unknown key 'train.batch_size'", p.stdout), \
        p.stdout


def test_gpu_config_on_cpu(make_config):
    cfg = make_config(extra="config['mpi']['gpu'] = False\nconfig['mpi']['gpu'] = True\n")
    p = run([TRAIN, '--config', cfg, '--communicator', 'naive'])
    assert p.returncode == 2
    assert 'mpi.gpu is True but CuPy/CUDA is not available' in p.stdout


def test_unknown_communicator(make_config):
    p = run([TRAIN, '--config', make_config(), '--communicator', 'hierarchical'])
    assert p.returncode == 2
    assert "error: cannot create the 'hierarchical' communicator" in p.stdout


def test_missing_data_directory(make_config, tmp_path):
    cfg = make_config(extra="config['dataset']['root'] = {!r}\n".format(str(tmp_path / 'x')))
    p = run([TRAIN, '--config', cfg])
    assert p.returncode == 2
    assert 'dataset.class_list: file not found: {}'.format(tmp_path / 'x') in p.stdout


@pytest.mark.parametrize('content,message', [
    (None, 'snapshot not found'),
    (b'garbage', 'not a readable snapshot'),
])
def test_bad_snapshot(make_config, tmp_path, content, message):
    snap = tmp_path / 'snapshot_iter_7'
    if content is not None:
        snap.write_bytes(content)
    p = run([TRAIN, '--config', make_config(), '--out', str(tmp_path / 'out'),
             '--resume', str(snap)])
    assert p.returncode == 2, p.stdout[-3000:]
    assert 'error: ' in p.stdout and message in p.stdout and str(snap) in p.stdout


def test_evaluate_missing_model(make_config, tmp_path):
    p = run(['examples/evaluate.py', '--config', make_config(), '--model',
             str(tmp_path / 'none.npz'), '--out', str(tmp_path / 'ev')])
    assert p.returncode == 2
    assert 'error: model file not found: {}'.format(tmp_path / 'none.npz') in p.stdout


def test_bad_csv_row_names_file_and_line(make_config, tiny_data, tmp_path):
    data = str(tmp_path / 'data')
    shutil.copytree(tiny_data, data)
    csv = os.path.join(data, 'train-annotations-bbox.csv')
    with open(csv) as f:
        lines = f.read().splitlines()
    cells = lines[3].split(',')
    cells[4] = 'not-a-number'   # XMin of line 4
    lines[3] = ','.join(cells)
    with open(csv, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    cfg = make_config(extra="config['dataset']['root'] = {!r}\n".format(data))
    p = run([TRAIN, '--config', cfg])
    assert p.returncode == 2, p.stdout[-3000:]
    assert 'error: ' in p.stdout and csv in p.stdout and '4' in p.stdout
    assert 'Traceback' not in p.stdout
