"""What the fault tests check: each answer as it comes, and each resource afterwards against
the answers its requests got."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import httpx
from e2e.stack import ScimClient
from e2e.test_bad_input import assert_scim_error

UNKNOWN = "outcome is unknown"
# Words of gRPC, the driver or Python that a SCIM error must never show.
INTERNALS = ("grpc", "StatusCode", "Traceback", "debug_error_string", "pymongo", "motor")


@dataclass(frozen=True)
class State:
    """What a client sees of a resource."""

    exists: bool
    display: str = ""
    members: frozenset[str] = frozenset()
    etag: str = ""

    def same_content(self, other: State) -> bool:
        return (self.exists, self.display, self.members) == (
            other.exists,
            other.display,
            other.members,
        )


GONE = State(False)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (status 0: no HTTP answer at all)."""

    worker: int
    phase: str
    method: str
    path: str
    expected: tuple[int, ...]
    status: int
    detail: str
    sent: float  # time.monotonic()
    elapsed: float
    problem: str  # what is wrong with the answer itself; empty when nothing

    @property
    def ok(self) -> bool:
        return self.status in self.expected

    @property
    def kind(self) -> str:
        """`ok`, the contract's two 503s (`unknown`, `retry`), or `bad`."""
        if self.ok:
            return "ok"
        if self.status == 503 and UNKNOWN in self.detail:
            return "unknown"
        if self.status == 503 and "retry" in self.detail:
            return "retry"
        return "bad"

    @property
    def answered(self) -> float:
        return self.sent + self.elapsed

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.detail!r} ({self.phase})"


def answer_problem(
    response: httpx.Response | None, expected: tuple[int, ...], elapsed: float, deadline: float
) -> str:
    if response is None:
        return "no HTTP answer"
    if elapsed >= deadline:
        return f"answered after {elapsed:.1f} s, past the RPC deadline of {deadline} s"
    if response.status_code in expected:
        return ""
    if response.status_code != 503:
        return f"expected {expected}, got {response.status_code}: {response.text[:300]}"
    try:
        assert_scim_error(response, 503)
    except (AssertionError, ValueError) as error:
        return f"not a SCIM 503: {error}"
    if leaked := [word for word in INTERNALS if word.lower() in response.text.lower()]:
        return f"the 503 shows internals {leaked}: {response.text[:300]}"
    detail = response.json()["detail"]
    if UNKNOWN not in detail and "retry" not in detail:
        return f"a 503 saying neither 'retry' nor {UNKNOWN!r}: {detail!r}"
    return ""


def error_detail(response: httpx.Response | None) -> str:
    if response is None or response.is_success:
        return ""
    try:
        return str(response.json().get("detail", ""))
    except ValueError:
        return response.text[:100]


def observed(response: httpx.Response) -> State:
    body = response.json()
    members = frozenset(m["value"] for m in body.get("members", []))
    return State(True, body.get("displayName", ""), members, response.headers.get("etag", ""))


@dataclass
class Resource:
    kind: str  # "Users" or "Groups"
    name: str  # its userName or displayName, unique in its tenant
    id: str = ""  # known once its create is acknowledged
    acked: State = GONE
    doubt: Exchange | None = None  # the change answered without success; left alone since
    effect: State = GONE  # the state that change would have made

    @property
    def path(self) -> str:
        return f"/{self.kind}/{self.id}"


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # each "outcome is unknown" and what it was

    def message(self) -> str:
        lines = [f"{len(self.problems)} problems:", *self.problems[:30]]
        if len(self.problems) > 30:
            lines.append(f"... and {len(self.problems) - 30} more")
        return "\n".join([*lines, "outcomes reported unknown:", *self.unknown])


async def verify_tenant(scim: ScimClient, resources: list[Resource], findings: Findings) -> None:
    """Each resource as its answers allow, and no other resource in the tenant."""
    present = Counter[str]()
    for resource in resources:
        actual = await _final_state(scim, resource, findings)
        present[resource.kind] += actual.exists
        _judge(resource, actual, findings)
    for kind in ("Users", "Groups"):
        listed = await scim.get(f"/{kind}", params={"count": 0})
        assert listed.status_code == 200, listed.text
        if listed.json()["totalResults"] != present[kind]:
            findings.problems.append(
                f"tenant {scim.tenant_id} holds {listed.json()['totalResults']} "
                f"{kind}, of which {present[kind]} are accounted for"
            )


async def _final_state(scim: ScimClient, resource: Resource, findings: Findings) -> State:
    if not resource.id:
        attribute = "userName" if resource.kind == "Users" else "displayName"
        listed = await scim.get(
            f"/{resource.kind}", params={"filter": f'{attribute} eq "{resource.name}"'}
        )
        assert listed.status_code == 200, listed.text
        found = [r["id"] for r in listed.json()["Resources"]]
        if len(found) > 1:
            findings.problems.append(f"{resource.kind} {resource.name} exists {len(found)} times")
        if not found:
            return GONE
        resource.id = found[0]
    response = await scim.get(resource.path)
    assert response.status_code in (200, 404), f"{resource.path}: {response.text}"
    return GONE if response.status_code == 404 else observed(response)


def _judge(resource: Resource, actual: State, findings: Findings) -> None:
    doubt, label = resource.doubt, f"{resource.kind} {resource.name}"
    if doubt is None:
        if actual != resource.acked:
            findings.problems.append(f"{label}: acknowledged {resource.acked}, found {actual}")
        return
    untouched = actual == resource.acked
    applied = actual.same_content(resource.effect) and not (
        actual.exists and actual.etag == resource.acked.etag
    )
    if doubt.kind == "retry":
        if not untouched:
            findings.problems.append(
                f"{doubt} promised nothing was done, yet {label} went from "
                f"{resource.acked} to {actual}"
            )
        return
    if not (untouched or applied):
        findings.problems.append(
            f"{doubt}: {label} is neither as acknowledged ({resource.acked}) nor as the change "
            f"would make it ({resource.effect}): {actual}"
        )
    if doubt.kind == "unknown":
        outcome = "applied" if applied else "not applied" if untouched else "NOT WHOLE"
        findings.unknown.append(f"{doubt}: {outcome}")
