"""The re-fold of MongoDB shadow fields (storage/mongo_refold.py), on the test server, from
documents written the way the code before the identity fold wrote them (`value.lower()`)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import make_tenant

from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import (
    DEFAULT_REGISTRY,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    ResourceType,
)
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant
from scimtenancy_server.storage.mongo import MongoResourceRepository
from scimtenancy_server.storage.mongo_claims import VersionClaims
from scimtenancy_server.storage.mongo_codec import collection_name, document_id, to_document
from scimtenancy_server.storage.mongo_refold import refold_shadow_fields
from scimtenancy_server.storage.repository import Scope

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NFD_CAFE = unicodedata.normalize("NFD", "café")
FULL_WIDTH_BOB = "\uff22\uff4f\uff42"


def resource(rt: ResourceType, resource_id: str, **attributes: Any) -> StoredResource:
    schema = USER_SCHEMA if rt is USER else GROUP_SCHEMA
    return StoredResource(rt.name, resource_id, 1, T0, T0, {"schemas": [schema], **attributes})


PEOPLE = [
    resource(USER, "u1-cafe", userName=NFD_CAFE, emails=[{"value": f"{FULL_WIDTH_BOB}@x.org"}]),
    resource(USER, "u2-strasse", userName="straße", displayName="Straße"),
    resource(USER, "u3-strasse", userName="STRASSE"),
    resource(USER, "u4-plain", userName="plain", emails=[{"value": "Plain@X.org"}]),
]
TEAM = resource(GROUP, "g1", displayName="Straßen-Team")


def old_document(scope: Scope, stored: StoredResource) -> dict[str, Any]:
    """What the code before the identity fold stored: shadow fields lower-cased."""
    document = to_document(scope, stored)
    for name in scope.resource_type.lookup:
        attribute, _, sub = name.partition(".")
        value = stored.attributes.get(attribute)
        field = "lc_" + name.replace(".", "_")
        document.pop(field, None)
        if not sub and isinstance(value, str):
            document[field] = value.lower()
        elif sub and isinstance(value, list):
            lowered = [i[sub].lower() for i in value if isinstance(i.get(sub), str)]
            if lowered:
                document[field] = lowered
    return document


async def written_the_old_way(
    database: Any, tenant: Tenant, resources: list[StoredResource]
) -> None:
    for stored in resources:
        rt = USER if stored.resource_type == USER.name else GROUP
        scope = Scope(tenant.tenant_id, tenant.isolation, rt)
        await database[collection_name(scope)].insert_one(old_document(scope, stored))


@pytest.fixture
async def old_data(mongo_database: Any) -> tuple[MongoResourceRepository, list[Tenant]]:
    repository = MongoResourceRepository(mongo_database)
    tenants = [
        make_tenant(IsolationLevel.STRICT),
        make_tenant(IsolationLevel.STANDARD),
        make_tenant(IsolationLevel.STANDARD),
    ]
    for tenant in tenants:
        await repository.provision(tenant, DEFAULT_REGISTRY.all())
    strict, standard, neighbour = tenants
    for tenant in (strict, standard):
        await written_the_old_way(mongo_database, tenant, [*PEOPLE, TEAM])
    # STRASSE in another tenant collides with nobody.
    await written_the_old_way(mongo_database, neighbour, [PEOPLE[2]])
    return repository, tenants


async def ids(repository: MongoResourceRepository, tenant: Tenant, text: str) -> list[str]:
    rt = GROUP if text.startswith("displayName") else USER
    page = await repository.list(tenant, rt, parse_filter(text), 0, 100)
    return [r.id for r in page.resources]


async def test_refold_rewrites_old_shadow_fields_and_reports_collisions(
    mongo_database: Any, old_data: tuple[MongoResourceRepository, list[Tenant]]
) -> None:
    repository, (strict, standard, neighbour) = old_data
    assert await ids(repository, strict, 'userName eq "café"') == []  # old folds miss it

    report = await refold_shadow_fields(mongo_database, page_size=2)

    users = collection_name(Scope(strict.tenant_id, strict.isolation, USER))
    groups = collection_name(Scope(strict.tenant_id, strict.isolation, GROUP))
    assert (report.scanned[users], report.scanned["users"]) == (4, 5)
    # u1 (userName and e-mail) and u2 (its displayName: its userName collides) per tenant;
    # u3's and u4's old folds are the new ones already.
    assert (report.rewritten[users], report.rewritten["users"]) == (2, 2)
    assert (report.rewritten[groups], report.rewritten["groups"]) == (1, 1)
    assert {(c.tenant_id, c.resource_id, c.holder_id) for c in report.collisions} == {
        (strict.tenant_id, "u2-strasse", "u3-strasse"),
        (standard.tenant_id, "u2-strasse", "u3-strasse"),
    }
    assert report.busy == []
    for tenant in (strict, standard):
        assert await ids(repository, tenant, 'userName eq "CAFÉ"') == ["u1-cafe"]
        assert await ids(repository, tenant, 'emails.value sw "bob@"') == ["u1-cafe"]
        assert await ids(repository, tenant, 'displayName eq "STRASSEN-TEAM"') == ["g1"]
        assert await ids(repository, tenant, 'userName eq "strasse"') == ["u3-strasse"]
        for person in PEOPLE:  # nothing merged, nothing lost
            assert await repository.get(tenant, USER, person.id) == person
    assert await ids(repository, neighbour, 'userName eq "straße"') == ["u3-strasse"]

    again = await refold_shadow_fields(mongo_database)
    assert sum(again.rewritten.values()) == 0  # idempotent
    assert again.collisions == report.collisions  # still there, for a person to resolve


async def test_a_document_being_written_is_left_alone_and_reported(
    mongo_database: Any, old_data: tuple[MongoResourceRepository, list[Tenant]]
) -> None:
    repository, (strict, _, _) = old_data
    scope = Scope(strict.tenant_id, strict.isolation, USER)
    name = collection_name(scope)
    target = f"{name}|{document_id(scope, 'u1-cafe')}"
    claims = VersionClaims(mongo_database)
    assert await claims.claim(target, 2)  # a writer is moving u1 from version 1 to 2

    report = await refold_shadow_fields(mongo_database)
    assert report.busy == [(name, "u1-cafe")]
    assert await ids(repository, strict, 'userName eq "café"') == []

    await claims.release(target, 2)
    report = await refold_shadow_fields(mongo_database)
    assert report.busy == []
    assert report.rewritten[name] == 1
    assert await ids(repository, strict, 'userName eq "café"') == ["u1-cafe"]
