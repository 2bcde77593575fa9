import os

import pytest

SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))


def shared_path(*parts):
    """Path under ``../shared`` (beside the checkout), or skip the test."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip('needs ../shared beside the checkout (not found: {})'.format(path))
    return path


@pytest.fixture
def shared():
    return shared_path
