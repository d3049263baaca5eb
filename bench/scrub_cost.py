"""What scrubbing credentials from a log line costs as the line grows (issue 10, class 1).

Hostile shapes (repeated JWT prefixes, repeated secret names and schemes, mixes) are scrubbed
at n and at 8n characters; linear work shows a ratio near 8, quadratic work near 64. Not a
test (the suite asserts no time): `python -m bench.scrub_cost [--n 7500] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import time

from scimtenancy_common.logs import scrub

# Each unit is repeated up to the line length.
UNITS = {
    "eyJ-": "eyJ-",
    "-eyJa": "-eyJa",
    "eyJa.": "eyJa.",
    "eyJa.eyJ-": "eyJa.eyJ-eyJ-",
    "eyJa.b.": "eyJa.b.",
    "token=": "token=",
    "token ": "token ",
    "api_key=": "api_key=",
    "password: ": "password: ",
    "Bearer ": "Bearer ",
    "authorization: basic ": "authorization: basic ",
    "mix": "-eyJa.token=Bearer -api-key: eyJ-",
}


def line(unit: str, length: int) -> str:
    return "GET /tenants/acme/scim/v2/Users/" + unit * (length // len(unit)) + " 401"


def cost(text: str, repeat: int) -> float:
    """Best of `repeat` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        scrub(text)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=7500, help="the smaller length (characters)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    args = parser.parse_args()
    n, big = args.n, 8 * args.n
    print(f"{'shape':<24}{f'n={n} ms':>14}{f'8n={big} ms':>16}{'ratio':>9}")
    for name, unit in UNITS.items():
        small_ms, big_ms = cost(line(unit, n), args.repeat), cost(line(unit, big), args.repeat)
        ratio = big_ms / small_ms if small_ms else float("nan")
        print(f"{name:<24}{small_ms:>14.3f}{big_ms:>16.3f}{ratio:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
