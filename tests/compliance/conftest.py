from __future__ import annotations

from e2e.conftest import memory_stack, mongodb_stack, stack  # noqa: F401
