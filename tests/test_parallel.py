import pytest

from vpskit.errors import VpsError
from vpskit.parallel import default_jobs, map_videos


def _square_plus(ctx, x):
    return x * x + ctx


def _fail_on_three(ctx, x):
    if x == 3:
        raise VpsError(f"video {x:04d}", "broken")
    return x


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_in_item_order(jobs):
    items = list(range(20, 0, -1))
    assert map_videos(_square_plus, items, context=7, jobs=jobs) == [x * x + 7 for x in items]


@pytest.mark.parametrize("jobs", [1, 2])
def test_first_error_is_raised_with_its_message(jobs):
    with pytest.raises(VpsError, match="^video 0003: broken$"):
        map_videos(_fail_on_three, [1, 2, 3, 4, 5], jobs=jobs)


def test_empty_and_defaults():
    assert map_videos(_square_plus, [], context=0) == []
    assert default_jobs() >= 1
