"""Fixtures for the example-script tests (helpers live in ``example_helpers``: a module
named ``conftest`` is ambiguous once several test folders have one)."""

import textwrap

import pytest

from example_helpers import run
from example_helpers import TINY


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """A 24 + 8 image embedded dataset (64-96 px), generated once per session."""
    out = str(tmp_path_factory.mktemp('data') / 'embedded')
    p = run(['-m', 'pfdet.datasets.synthetic', '--out', out, '--n-images', '24',
             '--n-val', '8', '--seed', '0', '--size', '64', '96'])
    assert p.returncode == 0, p.stdout
    return out


@pytest.fixture
def make_config(tmp_path, tiny_data):
    """Write a tiny config (a delta of toy_base.py) and return its path."""
    def make(name='tiny.py', iteration=6, base_lr=0.02, eval_every=3, snapshot_every=3,
             extra=''):
        path = tmp_path / name
        path.write_text(TINY.format(root=tiny_data, iteration=iteration, base_lr=base_lr,
                                    eval_every=eval_every, snapshot_every=snapshot_every)
                        + textwrap.dedent(extra))
        return str(path)
    return make
