"""What a filter evaluated in the server costs (issue 10, class 4): the old style (the reference
evaluator `matches`, which resolves every path and builds every comparator for every term and
every resource) against `compile_filter` (once per request), for n users x terms `or` chains.

The old style is timed on `--sample` users and scaled to n (its cost is linear in users). The
embedded storage's whole list (`InMemoryResourceRepository.list`, compiled filter, sorted) is
timed at n users too, with the longest time the event loop went without a turn while it ran.
255 terms is past the default `max_filter_terms` (100): those filters are parsed with the limit
raised, to compare with the issue's figure. Not a test (the suite asserts no time):
`python -m bench.filter_cost [--users 20000] [--terms 1,100,255] [--sample 1000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from scimtenancy_server.domain.filter import Filter, parse_filter
from scimtenancy_server.domain.filter_compile import compile_filter
from scimtenancy_server.domain.filter_eval import matches
from scimtenancy_server.domain.limits import InputLimits
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import USER, USER_SCHEMA
from scimtenancy_server.domain.sorting import resolve_sort
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantStatus
from scimtenancy_server.storage.memory import InMemoryResourceRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)
UNLIMITED = InputLimits(max_filter_length=1_000_000, max_filter_terms=1000)
# term number -> one attribute expression; none matches a generated user.
SHAPES: dict[str, Callable[[int], str]] = {
    "userName eq (one path)": lambda i: f'userName eq "nobody{i}"',
    "userName co (one path)": lambda i: f'userName co "nobody{i}"',
    "mixed paths and ops": lambda i: (
        f'title eq "t{i}"',
        f'emails.value sw "x{i}"',
        f'name.givenName co "g{i}"',
        f'displayName eq "d{i}"',
    )[i % 4],
}


def users(n: int) -> list[StoredResource]:
    return [
        StoredResource(
            "User",
            f"u{i:06d}",
            1,
            T0,
            T0,
            {
                "schemas": [USER_SCHEMA],
                "userName": f"user{i}",
                "title": "Engineer",
                "name": {"givenName": f"Given{i}"},
                "emails": [{"value": f"user{i}@example.com", "type": "work"}],
            },
        )
        for i in range(n)
    ]


def chain(shape: Callable[[int], str], terms: int) -> Filter:
    return parse_filter(" or ".join(shape(i) for i in range(terms)), UNLIMITED)


def old_style(people: list[StoredResource], where: Filter) -> float:
    started = time.perf_counter()
    _ = [p for p in people if matches(USER, p, where)]
    return time.perf_counter() - started


def compiled(people: list[StoredResource], where: Filter) -> float:
    started = time.perf_counter()
    keep = compile_filter(USER, where)
    _ = [p for p in people if keep(p)]
    return time.perf_counter() - started


async def list_on_embedded(people: list[StoredResource], where: Filter) -> tuple[float, float]:
    """Seconds of `list` over every user, and the longest gap between event-loop turns."""
    repository = InMemoryResourceRepository()
    tenant = Tenant("bench", "bench", IsolationLevel.STANDARD, TenantStatus.ACTIVE, T0, {})
    for person in people:
        await repository.insert(tenant, person, USER)
    longest, done = 0.0, asyncio.Event()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    watch = asyncio.create_task(ticker())
    started = time.perf_counter()
    sort = resolve_sort(USER, "userName", "descending")
    await repository.list(tenant, USER, where, 0, 100, sort, max_scan=len(people))
    elapsed = time.perf_counter() - started
    done.set()
    await watch
    return elapsed, longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--terms", default="1,100,255")
    parser.add_argument("--sample", type=int, default=1000, help="users the old style runs on")
    args = parser.parse_args()
    people = users(args.users)
    sample = people[: args.sample]
    header = f"{'shape':<26}{'terms':>6}{'old s':>10}{'compiled s':>12}{'x':>8}"
    print(f"{args.users} users; old style timed on {len(sample)} and scaled")
    print(header + f"{'embedded list s':>17}{'longest turn ms':>17}")
    for name, shape in SHAPES.items():
        for terms in (int(t) for t in args.terms.split(",")):
            where = chain(shape, terms)
            old = old_style(sample, where) * len(people) / len(sample)
            new = compiled(people, where)
            listed, turn = asyncio.run(list_on_embedded(people, where))
            print(
                f"{name:<26}{terms:>6}{old:>10.2f}{new:>12.3f}{old / new:>8.0f}"
                f"{listed:>17.3f}{turn * 1000:>17.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
