"""Log lines written once per turn of the event loop, none lost."""

from __future__ import annotations

import asyncio
import io
import logging

from scimtenancy_common.logs import TurnBatchingHandler


def _logger(stream: io.StringIO) -> tuple[logging.Logger, TurnBatchingHandler]:
    handler = TurnBatchingHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test_log_batching.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, handler


class CountingStream(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_lines_of_one_turn_are_written_together_at_its_end() -> None:
    stream = CountingStream()
    logger, _ = _logger(stream)
    for number in range(5):
        logger.info("line %d", number)
    assert stream.getvalue() == ""  # still this turn
    await asyncio.sleep(0)  # the turn ends
    assert stream.getvalue() == "".join(f"INFO line {n}\n" for n in range(5))
    assert stream.writes == 1


async def test_a_warning_is_written_at_once_after_what_waits_before_it() -> None:
    stream = CountingStream()
    logger, _ = _logger(stream)
    logger.info("first")
    logger.warning("then this")
    assert stream.getvalue() == "INFO first\nWARNING then this\n"
    await asyncio.sleep(0)
    assert stream.getvalue() == "INFO first\nWARNING then this\n"  # nothing twice


def test_outside_an_event_loop_each_line_is_written_at_once() -> None:
    stream = CountingStream()
    logger, _ = _logger(stream)
    logger.info("no loop here")
    assert stream.getvalue() == "INFO no loop here\n"


async def test_what_waits_is_written_by_a_flush() -> None:
    stream = CountingStream()
    logger, handler = _logger(stream)
    logger.info("before shutdown")
    handler.flush()  # what logging.shutdown does at exit
    assert stream.getvalue() == "INFO before shutdown\n"
    await asyncio.sleep(0)
    assert stream.getvalue() == "INFO before shutdown\n"
