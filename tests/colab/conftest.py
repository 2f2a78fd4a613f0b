import pytest

from tests.colab.dist import build_dist


@pytest.fixture(scope='session')
def dist(tmp_path_factory):
    """(wheel, sdist), built once per session."""
    return build_dist(tmp_path_factory.mktemp('dist'))
