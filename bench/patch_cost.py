"""What a PATCH costs in the domain as its operations grow (issue 15, item 5).

Each shape runs at n and at 10n operations, through the stages the server runs: the check
before the resource is read (`check_patch`), the operations on the stored attributes, and
the validated result. Linear work shows a ratio near 10. Not a test (the suite asserts no
time): `python -m bench.patch_cost [--n 100] [--emails 200] [--repeat 5] [--fresh]`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from scimtenancy_server.domain.patch import PATCH_OP_SCHEMA, PatchRun, check_patch, parse_patch
from scimtenancy_server.domain.schema import GROUP, GROUP_SCHEMA, USER, USER_SCHEMA, ResourceType

Operations = list[dict[str, Any]]


def many_emails(count: int) -> dict[str, Any]:
    emails = [{"value": f"u{i}@example.com", "type": f"t{i}"} for i in range(count)]
    return {"schemas": [USER_SCHEMA], "userName": "bjensen", "emails": emails}


def filtered_replaces(n: int, emails: int) -> Operations:
    """Entra ID's habit: one `emails[type eq "…"].value` replace per value."""
    return [
        {"op": "Replace", "path": f'emails[type eq "t{i % emails}"].value', "value": f"n{i}@x.org"}
        for i in range(n)
    ]


def attribute_replaces(n: int, emails: int) -> Operations:
    """No-path replaces of single-valued attributes (Okta's habit), one per operation."""
    return [
        {"op": "replace", "value": {"title": f"T{i}", "name.givenName": f"G{i}"}} for i in range(n)
    ]


def email_adds(n: int, emails: int) -> Operations:
    """Adds of an email already held: the add keeps one copy."""
    return [
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": f"u{i % emails}@example.com", "type": f"t{i % emails}"}],
        }
        for i in range(n)
    ]


def member_adds(n: int, emails: int) -> Operations:
    return [{"op": "add", "path": "members", "value": [{"value": f"m{i}"}]} for i in range(n)]


SHAPES: dict[str, tuple[ResourceType, Callable[[int, int], Operations]]] = {
    "emails[type eq].value": (USER, filtered_replaces),
    "no-path replace": (USER, attribute_replaces),
    "add held email": (USER, email_adds),
    "group members add": (GROUP, member_adds),
}


def run_patch(rt: ResourceType, stored: dict[str, Any], items: Operations, fresh: bool) -> None:
    """Parse, check, apply, validate. `fresh`: the run works the operations out again
    instead of taking the check's plan."""
    operations = parse_patch({"schemas": [PATCH_OP_SCHEMA], "Operations": items})
    plan = check_patch(rt, operations)
    run = PatchRun(rt, stored) if fresh else plan.run(stored)
    for operation in operations:
        run.apply(operation)
    run.result()


def cost(
    rt: ResourceType, stored: dict[str, Any], items: Operations, repeat: int, fresh: bool
) -> float:
    """Best of `repeat` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run_patch(rt, stored, items, fresh)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="the smaller operation count")
    parser.add_argument("--emails", type=int, default=200, help="emails the user holds")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best kept)")
    parser.add_argument(
        "--fresh", action="store_true", help="the run works the operations out again"
    )
    args = parser.parse_args()
    n, big = args.n, 10 * args.n
    print(f"{'shape':<24}{f'{n} ops ms':>14}{f'{big} ops ms':>16}{'ratio':>9}")
    for name, (rt, operations) in SHAPES.items():
        stored = (
            many_emails(args.emails)
            if rt is USER
            else {"schemas": [GROUP_SCHEMA], "displayName": "G"}
        )
        small_ms = cost(rt, stored, operations(n, args.emails), args.repeat, args.fresh)
        big_ms = cost(rt, stored, operations(big, args.emails), args.repeat, args.fresh)
        ratio = big_ms / small_ms if small_ms else float("nan")
        print(f"{name:<24}{small_ms:>14.3f}{big_ms:>16.3f}{ratio:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
