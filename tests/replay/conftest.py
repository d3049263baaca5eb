from __future__ import annotations

from e2e.conftest import isolation, memory_stack, mongodb_stack, stack  # noqa: F401
