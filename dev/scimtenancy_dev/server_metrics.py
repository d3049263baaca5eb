"""The server process's metrics on the command's own metrics page: at each scrape, its
loopback page is read and its families are served beside the command's, so that one page shows
both sides of the hop, as it did when they shared a process."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# Both processes are one service (one resource), so the server's resource family repeats the
# command's and would make the page invalid (a family named twice).
SHARED_FAMILIES = frozenset({"target_info"})
FETCH_TIMEOUT_SECONDS = 5.0


class ServerMetrics(Collector):
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"

    def describe(self) -> list[Metric]:
        """Nothing is known before a scrape (and registering must not fetch)."""
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            with urllib.request.urlopen(self.url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (a loopback http URL of ours)
                text = response.read().decode()
        except OSError as error:
            logger.warning("the server process's metrics could not be read: %s", error)
            return
        for family in text_string_to_metric_families(text):
            if family.name not in SHARED_FAMILIES:
                yield family
