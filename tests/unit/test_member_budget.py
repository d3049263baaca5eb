"""A list answer carries at most MAX_FILTER_SCAN members in all (a page of big groups is not an
answer to give); a single group's GET has no such bound. In memory, through the service."""

from __future__ import annotations

import orjson
import pytest

from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import build_application
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.membership import Member
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.schema import GROUP_SCHEMA
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import IsolationLevel, TenantContext


async def test_a_page_of_groups_carries_a_bounded_number_of_members() -> None:
    app = build_application(Settings(max_filter_scan=25))
    tenant = await app.administration.create_tenant("budget", "", IsolationLevel.STANDARD)
    ctx = TenantContext(tenant, "test")
    body = orjson.dumps({"schemas": [GROUP_SCHEMA], "displayName": "G"})
    for number in range(3):
        group = await app.resources.create(ctx, "Groups", body)
        members = [Member(f"g{number}-u{i}", "User") for i in range(10)]
        await app.repository.memberships.add(tenant, group.id, members)

    two = await app.resources.list_resources(ctx, "Groups", ListRequest(count=2))
    assert [len(g.attributes["members"]) for g in two.page.resources] == [10, 10]
    with pytest.raises(ScimError) as refused:
        await app.resources.list_resources(ctx, "Groups", ListRequest())
    assert (refused.value.status, refused.value.scim_type) == (400, "tooMany")
    assert "excludedAttributes=members" in refused.value.detail
    without = ListRequest(projection=Projection(excluded=("members",)))
    page = (await app.resources.list_resources(ctx, "Groups", without)).page
    assert [("members" in g.attributes) for g in page.resources] == [False] * 3
    one = await app.resources.get(ctx, "Groups", page.resources[0].id, Projection())
    assert len(one.attributes["members"]) == 10
    await app.close()
