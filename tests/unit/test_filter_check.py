"""check_filter refuses filters that evaluation would refuse, before any resource is read."""

from __future__ import annotations

import pytest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.filter_compile import check_filter
from scimtenancy_server.domain.schema import GROUP, USER


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le"])
@pytest.mark.parametrize("attribute", ["meta.created", "meta.lastModified"])
def test_date_time_comparisons_pass_the_check(attribute: str, op: str) -> None:
    for resource_type in (USER, GROUP):
        check_filter(resource_type, parse_filter(f'{attribute} {op} "2020-01-01T00:00:00Z"'))


def test_a_date_time_without_a_time_zone_is_an_invalid_filter() -> None:
    with pytest.raises(ScimError) as refused:
        check_filter(USER, parse_filter('meta.lastModified gt "2020-01-01T00:00:00"'))
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidFilter")
