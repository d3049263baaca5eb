"""The tenants file reloaded in a server process, on the embedded storage: what each outcome
applies, keeps and reports, and how requests for reloads are coalesced."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import jwt
import orjson
import pytest

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_common.settings import JwtIssuer, Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import USER_SCHEMA
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.services.jwt_tokens import DuplicateIssuers, IssuerTable
from scimtenancy_server.services.tenant_config import reloader as reloader_module
from scimtenancy_server.services.tenant_config.metrics import Outcome
from scimtenancy_server.services.tenant_config.reading import TenantsFileSource, read_at_start
from scimtenancy_server.services.tenant_config.reloader import Targets, TenantConfigReloader
from scimtenancy_server.services.tenant_config.requests import ReloadRequests
from scimtenancy_server.tenants_file.admin_port import AdminCallFailed, ServicerAdmin
from scimtenancy_server.tenants_file.problems import TenantsFileInvalid

SECRET = "a-shared-secret-of-at-least-32-bytes!"
ISSUER = "https://idp.acme.example"


def tenants_yaml(*tenants: str) -> str:
    return "version: 1\ntenants:\n" + "".join(tenants)


def tenant(tenant_id: str, users: int, extra: str = "") -> str:
    return f"  - id: {tenant_id}\n    limits: {{users: {users}}}\n{extra}"


def issuer_binding(name: str = ISSUER) -> str:
    return (
        "    jwt_issuers:\n"
        f"      - issuer: {name}\n"
        "        algorithms: [HS256]\n"
        "        secret_env: ACME_JWT_SECRET\n"
    )


class FailingAdmin(ServicerAdmin):
    """The in-process admin port, refusing updates of one tenant as a database outage would."""

    def __init__(self, app: Application, refused: str) -> None:
        super().__init__(app.admin)
        self.refused = refused

    async def update_tenant(self, request: pb.UpdateTenantRequest) -> pb.Tenant:
        if request.tenant_id == self.refused:
            raise AdminCallFailed("UNAVAILABLE", "the database is unavailable; retry later")
        return await super().update_tenant(request)


@dataclass
class Reloading:
    app: Application
    file: Path
    reloader: TenantConfigReloader
    reports: list[bool] = field(default_factory=list)

    def write(self, text: str) -> None:
        staged = self.file.with_name(".staged")
        staged.write_text(text)
        staged.replace(self.file)  # as editors save: a rename over the old file

    async def limit(self, tenant_id: str) -> int | None:
        found = await self.app.tenant_store.get(tenant_id)
        assert found is not None
        return found.limit("User")


def _reloader(
    app: Application,
    settings: Settings,
    reports: list[bool],
    admin: ServicerAdmin | None = None,
    applied: asyncio.Event | None = None,
) -> TenantConfigReloader:
    async def report(current: bool) -> None:
        reports.append(current)
        if current and applied is not None:
            applied.set()

    targets = Targets(admin or ServicerAdmin(app.admin), app.jwt, app.resolver)
    return TenantConfigReloader(
        TenantsFileSource.from_settings(settings), targets, report=report, retry_seconds=0.05
    )


@pytest.fixture
async def reloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Reloading]:
    monkeypatch.setenv("ACME_JWT_SECRET", SECRET)
    file = tmp_path / "tenants.yaml"
    file.write_text(tenants_yaml(tenant("acme", 5), tenant("globex", 3)))
    settings = Settings(tenants_file=[file])
    app = build_application(settings)
    reports: list[bool] = []
    reloader = _reloader(app, settings, reports)
    assert await reloader.start(read_at_start(TenantsFileSource.from_settings(settings))) is (
        Outcome.APPLIED
    )
    try:
        yield Reloading(app, file, reloader, reports)
    finally:
        await app.close()


async def test_start_applies_the_file(reloading: Reloading) -> None:
    assert await reloading.limit("acme") == 5
    assert await reloading.limit("globex") == 3
    assert reloading.reports == [True]


async def test_a_changed_file_is_applied_and_an_unchanged_one_is_not_read(
    reloading: Reloading,
) -> None:
    assert await reloading.reloader.reload() is None  # nothing changed: nothing done
    reloading.write(tenants_yaml(tenant("acme", 2), tenant("globex", 3), tenant("initech", 1)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    assert await reloading.limit("acme") == 2
    assert await reloading.limit("initech") == 1
    assert await reloading.reloader.reload(forced=True) is Outcome.APPLIED  # SIGHUP: always


async def test_an_invalid_file_applies_nothing_and_keeps_the_running_one(
    reloading: Reloading,
) -> None:
    running = reloading.reloader.running
    # A valid change to acme beside an invalid one to globex: neither is applied.
    reloading.write(tenants_yaml(tenant("acme", 1), tenant("globex", -4)))
    assert await reloading.reloader.reload() is Outcome.REJECTED
    assert await reloading.limit("acme") == 5
    assert await reloading.limit("globex") == 3
    assert reloading.reloader.running is running
    assert reloading.reports == [True, False]
    reloading.write(tenants_yaml(tenant("acme", 1), tenant("globex", 3)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    assert await reloading.limit("acme") == 1
    assert reloading.reports == [True, False, True]


async def test_a_failed_apply_says_what_it_applied_and_is_retried(
    reloading: Reloading, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(tenants_file=[reloading.file])
    reports: list[bool] = []
    applied = asyncio.Event()
    failing = FailingAdmin(reloading.app, refused="globex")
    reloader = _reloader(reloading.app, settings, reports, failing, applied)
    await reloader.start(read_at_start(TenantsFileSource.from_settings(settings)))
    reloading.write(tenants_yaml(tenant("acme", 4), tenant("globex", 2)))
    assert await reloader.reload() is Outcome.FAILED
    assert await reloading.limit("acme") == 4  # applied before the error, and said so
    assert await reloading.limit("globex") == 3
    assert "applied before the error: updated acme" in caplog.text
    assert "1 tenant failed, and the apply stopped there" in caplog.text
    assert "! update globex failed: UNAVAILABLE: the database is unavailable" in caplog.text
    assert reports[-1] is False
    applied.clear()
    failing.refused = ""  # the database is back: the retry, due after a failure, applies it
    stop = asyncio.Event()
    worker = asyncio.create_task(reloader.run(stop))
    await asyncio.wait_for(applied.wait(), timeout=30)
    stop.set()
    await worker
    assert await reloading.limit("globex") == 2
    assert reports[-1] is True


async def test_a_refused_tenant_fails_alone_and_the_log_names_it(
    reloading: Reloading, caplog: pytest.LogCaptureFixture
) -> None:
    acme = TenantContext(await reloading.app.administration.get_tenant("acme"), "test")
    for name in ("ann", "bob"):
        body = orjson.dumps({"schemas": [USER_SCHEMA], "userName": name})
        await reloading.app.resources.create(acme, "Users", body)
    # A limit below what acme holds is refused; globex's change still applies.
    reloading.write(tenants_yaml(tenant("acme", 1), tenant("globex", 2), tenant("initech", 4)))
    assert await reloading.reloader.reload() is Outcome.FAILED
    assert await reloading.limit("acme") == 5
    assert await reloading.limit("globex") == 2
    assert await reloading.limit("initech") == 4
    assert reloading.reports[-1] is False
    assert "1 tenant failed; every other change was applied" in caplog.text
    assert "! update acme failed: INVALID_ARGUMENT: the tenant holds 2 Users" in caplog.text
    assert "applied: updated globex, created initech" in caplog.text


async def test_the_log_names_the_setting_that_prunes(
    reloading: Reloading, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=reloader_module.__name__)
    reloading.write(tenants_yaml(tenant("acme", 4)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    hint = "? would delete globex: not in the file (SCIMTENANCY_TENANTS_PRUNE=true deletes it)"
    assert hint in caplog.text
    assert "--prune" not in caplog.text
    assert await reloading.limit("globex") == 3  # kept


async def test_an_issuer_also_in_the_settings_is_refused_with_its_field(
    reloading: Reloading,
) -> None:
    configured = JwtIssuer(issuer=ISSUER, algorithms=["HS256"], secret=SECRET, tenant="acme")
    settings = Settings(tenants_file=[reloading.file], jwt_issuers=[configured])
    reloading.write(tenants_yaml(tenant("acme", 5, issuer_binding())))
    with pytest.raises(TenantsFileInvalid, match=r"tenants\[0\]\.jwt_issuers\[0\]\.issuer: issuer"):
        read_at_start(TenantsFileSource.from_settings(settings))


async def test_a_key_set_without_a_usable_key_is_refused_with_its_field(
    reloading: Reloading,
) -> None:
    binding = (
        "    jwt_issuers:\n"
        f"      - issuer: {ISSUER}\n"
        "        algorithms: [RS256]\n"
        "        jwks: {keys: [{kty: RSA, kid: broken}]}\n"
    )
    reloading.write(tenants_yaml(tenant("acme", 1, binding), tenant("globex", 3)))
    assert await reloading.reloader.reload() is Outcome.REJECTED
    with pytest.raises(TenantsFileInvalid, match=r"tenants\[0\]\.jwt_issuers\[0\]\.jwks: is not"):
        TenantsFileSource.from_settings(Settings(tenants_file=[reloading.file])).read()
    assert await reloading.limit("acme") == 5


def _token(subject: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "iat": now, "exp": now + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def test_file_issuers_apply_to_the_next_request_and_go_with_the_file(
    reloading: Reloading,
) -> None:
    token = f"Bearer {_token('alice')}"
    # (Another token: a refused credential is remembered as unknown for a few seconds.)
    with pytest.raises(ScimError) as before:
        await reloading.app.resolver.resolve(f"Bearer {_token('bob')}")
    assert before.value.status == 401
    reloading.write(tenants_yaml(tenant("acme", 5, issuer_binding()), tenant("globex", 3)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    context = await reloading.app.resolver.resolve(token)  # cached from here on
    assert context.tenant_id == "acme"
    assert context.actor == "jwt:alice"
    reloading.write(tenants_yaml(tenant("acme", 5), tenant("globex", 3)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    with pytest.raises(ScimError) as after:  # its cache entry went with it
        await reloading.app.resolver.resolve(token)
    assert after.value.status == 401


async def test_a_token_refused_just_before_its_issuer_was_bound_is_accepted_at_once(
    reloading: Reloading,
) -> None:
    token = f"Bearer {_token('alice')}"
    with pytest.raises(ScimError) as before:  # and remembered as unknown for a few seconds
        await reloading.app.resolver.resolve(token)
    assert before.value.status == 401
    with pytest.raises(ScimError):  # from the cache: nothing changed yet
        await reloading.app.resolver.resolve(token)
    reloading.write(tenants_yaml(tenant("acme", 5, issuer_binding()), tenant("globex", 3)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    context = await reloading.app.resolver.resolve(token)
    assert context.tenant_id == "acme"
    assert context.actor == "jwt:alice"


async def test_a_reload_that_binds_no_new_issuer_keeps_unknown_credentials_cached(
    reloading: Reloading,
) -> None:
    resolver = reloading.app.resolver
    with pytest.raises(ScimError):
        await resolver.resolve("Bearer not-a-key")
    misses = resolver.misses
    reloading.write(tenants_yaml(tenant("acme", 4), tenant("globex", 3)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    with pytest.raises(ScimError):
        await resolver.resolve("Bearer not-a-key")
    assert resolver.misses == misses  # answered from the cache


async def test_a_limit_another_replica_applied_first_reaches_this_ones_cache(
    reloading: Reloading,
) -> None:
    _, key = await reloading.app.administration.issue_api_key("acme")
    assert (await reloading.app.resolver.resolve(f"Bearer {key}")).tenant.limit("User") == 5
    # Another replica applied the new version first: the stored tenant changed, this
    # process's cache did not, and this replica's plan finds nothing left to change.
    stored = await reloading.app.tenant_store.get("acme")
    assert stored is not None
    await reloading.app.tenant_store.save(replace(stored, limits={"User": 2}))
    assert (await reloading.app.resolver.resolve(f"Bearer {key}")).tenant.limit("User") == 5
    reloading.write(tenants_yaml(tenant("acme", 2), tenant("globex", 3)))
    assert await reloading.reloader.reload() is Outcome.APPLIED
    assert (await reloading.app.resolver.resolve(f"Bearer {key}")).tenant.limit("User") == 2


async def test_requests_during_a_reload_cause_exactly_one_more() -> None:
    requests = ReloadRequests()
    stop = asyncio.Event()
    requests.changed()
    first = await requests.next(stop)
    assert first is not None
    assert first.forced is False
    for _ in range(5):  # a burst while the first reload runs
        requests.changed()
    requests.forced()
    second = await requests.next(stop)
    assert second is not None
    assert second.forced is True
    retry = await requests.next(stop, retry=0.01)  # none pending: the retry is due
    assert retry is not None
    assert retry.forced is True
    stop.set()
    assert await requests.next(stop) is None


def test_an_issuer_table_keeps_fetched_keys_and_refuses_an_issuer_twice() -> None:
    url = JwtIssuer(issuer="https://a.example", jwks_url="https://a.example/keys", tenant="a")
    other = JwtIssuer(issuer="https://b.example", jwks_url="https://b.example/keys", tenant="b")
    first = IssuerTable.build([url, other])
    moved = other.model_copy(update={"jwks_url": "https://b.example/new-keys"})
    second = IssuerTable.build([url, moved], reuse=first)
    assert second.clients["https://a.example"] is first.clients["https://a.example"]
    assert second.clients["https://b.example"] is not first.clients["https://b.example"]
    with pytest.raises(DuplicateIssuers, match=r"https://a\.example"):
        IssuerTable.build([url, url.model_copy(update={"tenant": "b"})])
