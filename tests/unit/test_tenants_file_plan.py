"""Planning a tenants file against the server's tenants: pure, one behaviour per test."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from helpers import LoopTurns

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_server import pacing
from scimtenancy_server.tenants_file.model import TenantsConfig
from scimtenancy_server.tenants_file.plan import Plan, plan_changes, plan_changes_paced

ALL = ["scim:create", "scim:delete", "scim:list", "scim:read", "scim:update"]
EXTENSION: dict[str, Any] = {
    "id": "urn:example:params:scim:schemas:extension:acme:2.0:User",
    "name": "AcmeUser",
    "attributes": [{"name": "badge", "type": "string"}],
}


def config(*tenants: dict[str, Any]) -> TenantsConfig:
    return TenantsConfig.model_validate({"version": 1, "tenants": list(tenants)})


def server_tenant(tenant_id: str = "acme", **fields: Any) -> pb.Tenant:
    """A tenant as the server describes one created from `{"id": tenant_id}`."""
    defaults: dict[str, Any] = {
        "display_name": tenant_id,
        "isolation_level": pb.ISOLATION_LEVEL_STANDARD,
        "status": pb.TENANT_STATUS_ACTIVE,
        "permissions": ALL,
        "compatibility": pb.COMPATIBILITY_STRICT,
    }
    return pb.Tenant(tenant_id=tenant_id, **{**defaults, **fields})


def only(plan: Plan) -> Any:
    assert len(plan.entries) == 1, plan.render()
    return plan.entries[0]


def test_a_tenant_the_server_lacks_is_created_with_everything_the_file_says() -> None:
    spec = {
        "id": "acme",
        "display_name": "Acme",
        "isolation": "strict",
        "limits": {"users": 5},
        "rate_limit": {"requests_per_second": 5, "burst": 10},
        "permissions": ["scim:read"],
        "responses": {"bulk": False, "patch_answer": "no_content"},
        "schema_extensions": [{"resource_type": "User", "schema": EXTENSION}],
    }
    entry = only(plan_changes(config(spec), [], prune=False))
    assert entry.action == "create"
    request = entry.create
    assert (request.tenant_id, request.display_name) == ("acme", "Acme")
    assert request.isolation_level == pb.ISOLATION_LEVEL_STRICT
    assert request.limits == pb.Limits(max_users=5)
    assert list(request.permissions) == ["scim:read"]
    assert request.rate_limit == pb.RateLimit(requests_per_second=5, burst=10)
    assert request.response_options.bulk is False
    assert request.response_options.patch_answer == pb.PATCH_ANSWER_NO_CONTENT
    assert not request.response_options.HasField("sort")  # unset: the server's default
    [extension] = entry.extensions
    assert orjson.loads(extension.schema_json) == EXTENSION
    assert extension.resource_type == "User"


def test_a_tenant_as_the_file_says_is_unchanged() -> None:
    plan = plan_changes(config({"id": "acme"}), [server_tenant()], prune=False)
    assert only(plan).action == "unchanged"
    assert not plan.has_changes


def test_server_defaults_written_out_are_unchanged() -> None:
    spec = {
        "id": "acme",
        "responses": {"bulk": True, "sort": True},
    }
    held = server_tenant(response_options=pb.ResponseOptions(bulk=True, etag=True))
    assert only(plan_changes(config(spec), [held], prune=False)).action == "unchanged"


def test_always_the_resource_differs_from_the_servers_patch_rule() -> None:
    """The server's rule answers 204 after a Group's members change; `representation` always
    answers the resource, so switching between them is a change."""
    spec = {"id": "acme", "responses": {"patch_answer": "representation"}}
    entry = only(plan_changes(config(spec), [server_tenant()], prune=False))
    assert entry.action == "update"
    assert entry.update is not None
    assert entry.update.response_options.patch_answer == pb.PATCH_ANSWER_REPRESENTATION


@pytest.mark.parametrize(
    ("spec", "field", "check"),
    [
        ({"display_name": "Acme Corp"}, "display_name", lambda r: r.display_name == "Acme Corp"),
        (
            {"compatibility": "lenient"},
            "compatibility",
            lambda r: r.compatibility == pb.COMPATIBILITY_LENIENT,
        ),
        (
            {"permissions": ["scim:read", "scim:list"]},
            "permissions",
            lambda r: r.update_permissions and list(r.permissions) == ["scim:list", "scim:read"],
        ),
        ({"limits": {"groups": 3}}, "limits", lambda r: r.limits == pb.Limits(max_groups=3)),
        (
            {"rate_limit": {"requests_per_second": 2.5, "burst": 4}},
            "rate_limit",
            lambda r: r.rate_limit == pb.RateLimit(requests_per_second=2.5, burst=4),
        ),
        (
            {"responses": {"filter_max_results": 50}},
            "responses.filter_max_results",
            lambda r: r.response_options.filter_max_results == 50,
        ),
        (
            {"responses": {"documentation_uri": "https://docs.example/"}},
            "responses.documentation_uri",
            lambda r: r.response_options.documentation_uri == "https://docs.example/",
        ),
        (
            {"responses": {"etag": False}},
            "responses.etag",
            lambda r: r.response_options.HasField("etag") and not r.response_options.etag,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_field_is_an_update_of_that_field_only(
    spec: dict[str, Any], field: str, check: Any
) -> None:
    entry = only(plan_changes(config({"id": "acme", **spec}), [server_tenant()], prune=False))
    assert entry.action == "update"
    assert [c.field for c in entry.changes] == [field]
    request = entry.update
    assert request.tenant_id == "acme"
    assert check(request)
    sent = {f.name for f, _ in request.ListFields()} - {"tenant_id"}
    assert len(sent - {"update_permissions"}) == 1, sent  # nothing else is sent
    assert entry.move is None


def test_a_limit_change_shows_both_values() -> None:
    held = server_tenant(limits=pb.Limits(max_users=100))
    entry = only(
        plan_changes(config({"id": "acme", "limits": {"users": 200}}), [held], prune=False)
    )
    assert "    limits: users=100 -> users=200" in entry.render()


def test_a_rate_limit_gone_from_the_file_returns_to_the_servers() -> None:
    held = server_tenant(rate_limit=pb.RateLimit(requests_per_second=5, burst=5))
    entry = only(plan_changes(config({"id": "acme"}), [held], prune=False))
    assert entry.update.HasField("rate_limit")
    assert entry.update.rate_limit.requests_per_second == 0
    assert entry.changes[0].after == "the server's"


def test_a_new_extension_is_registered_and_a_held_one_is_not_again() -> None:
    spec = {"id": "acme", "schema_extensions": [{"resource_type": "User", "schema": EXTENSION}]}
    entry = only(plan_changes(config(spec), [server_tenant()], prune=False))
    assert entry.action == "update"
    assert len(entry.extensions) == 1
    assert entry.update is None
    held = server_tenant(
        extensions=[
            pb.SchemaExtension(
                resource_type="User",
                schema_urn=EXTENSION["id"],
                schema_json=orjson.dumps({**EXTENSION, "description": ""}),
            )
        ]
    )
    assert only(plan_changes(config(spec), [held], prune=False)).action == "unchanged"


def test_an_extension_the_file_dropped_is_kept_with_a_note() -> None:
    held = server_tenant(
        extensions=[pb.SchemaExtension(resource_type="User", schema_urn="urn:x", schema_json=b"{}")]
    )
    plan = plan_changes(config({"id": "acme"}), [held], prune=False)
    assert only(plan).action == "unchanged"
    assert plan.notes == (
        "acme: extension urn:x is not in the file; the admin API cannot remove it",
    )


def test_an_isolation_change_is_a_move() -> None:
    spec = {"id": "acme", "isolation": "strict", "limits": {"users": 1}}
    entry = only(plan_changes(config(spec), [server_tenant()], prune=False))
    assert entry.action == "move"
    assert entry.move == pb.MoveTenantRequest(
        tenant_id="acme", isolation_level=pb.ISOLATION_LEVEL_STRICT
    )
    assert entry.update is not None  # the limit is updated as well, before the move
    assert {c.field for c in entry.changes} == {"isolation", "limits"}


def test_no_isolation_in_the_file_never_moves() -> None:
    held = server_tenant(isolation_level=pb.ISOLATION_LEVEL_STRICT)
    assert only(plan_changes(config({"id": "acme"}), [held], prune=False)).action == "unchanged"


def test_a_tenant_absent_from_the_file_would_be_deleted_only_with_prune() -> None:
    current = [server_tenant("acme"), server_tenant("zeta"), server_tenant("old")]
    kept = plan_changes(config({"id": "acme"}), current, prune=False)
    assert [(e.action, e.tenant_id) for e in kept.entries] == [
        ("unchanged", "acme"),
        ("would_delete", "old"),
        ("would_delete", "zeta"),
    ]
    assert not kept.has_changes
    pruned = plan_changes(config({"id": "acme"}), current, prune=True)
    assert [(e.action, e.tenant_id) for e in pruned.entries][1:] == [
        ("delete", "old"),
        ("delete", "zeta"),
    ]
    assert pruned.has_changes


def test_the_rendered_plan_is_stable_and_counted() -> None:
    current = [server_tenant("b", limits=pb.Limits(max_users=1)), server_tenant("gone")]
    plan = plan_changes(config({"id": "c"}, {"id": "b"}), current, prune=False)
    assert plan.render() == "\n".join(
        [
            "+ create c",
            "    isolation: the server's",
            "    display_name: c",
            "~ update b",
            "    limits: users=1 -> no limit",
            "? would delete gone: not in the file (--prune deletes it)",
            "Plan: 1 to create, 1 to update, 0 to move, 0 unchanged, 0 to delete,"
            " 1 not in the file.",
        ]
    )


def test_the_prune_hint_is_the_callers() -> None:
    plan = plan_changes(
        config({"id": "c"}), [server_tenant("c"), server_tenant("gone")], prune=False
    )
    hint = "SCIMTENANCY_TENANTS_PRUNE=true"
    assert f"? would delete gone: not in the file ({hint} deletes it)" in plan.render(hint)
    assert plan.entries[1].render(hint) == [
        f"? would delete gone: not in the file ({hint} deletes it)"
    ]
    assert "--prune" not in plan.render(hint)


class SteppingClock:
    """A clock a second later at every look, so that paced work yields at every check."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def _many() -> tuple[TenantsConfig, list[pb.Tenant]]:
    held = pb.SchemaExtension(schema_urn="urn:example:kept", resource_type="User")
    tenants = [{"id": f"t-{n:03d}", "limits": {"users": n}} for n in range(100)]
    current = [server_tenant(f"t-{n:03d}") for n in range(0, 100, 3)]
    current += [server_tenant("t-050", extensions=[held]), server_tenant("zz-gone")]
    return config(*tenants), current


async def test_the_paced_plan_is_the_plan() -> None:
    file, current = _many()
    paced = await plan_changes_paced(file, current, prune=True)
    assert paced == plan_changes(file, current, prune=True)
    assert paced.notes
    assert paced.entries[-1].action == "delete"


async def test_the_paced_plan_gives_the_event_loop_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "time", SteppingClock())
    file, current = _many()
    async with LoopTurns() as turns:
        await plan_changes_paced(file, current, prune=False)
    assert turns.count >= 100 // pacing.CHUNK  # one turn per chunk of tenants at least
