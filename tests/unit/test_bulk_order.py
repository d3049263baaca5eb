"""The /Bulk execution order: earliest runnable operation first, forward references waited
for, cycles set apart — the same order as the plain restart-from-the-top rule below."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scimtenancy_server.domain.bulk import BulkOperation, execution_order, operation_references


def reference_order(operations: list[BulkOperation]) -> tuple[list[int], list[int]]:
    creators = {op.bulk_id: op.index for op in operations if op.method == "POST" and op.bulk_id}
    waits = {
        op.index: {creators[r] for r in operation_references(op) if r in creators} - {op.index}
        for op in operations
    }
    done: list[int] = []
    progress = True
    while progress:
        progress = False
        for op in operations:
            if op.index not in done and waits[op.index] <= set(done):
                done.append(op.index)
                progress = True
                break
    return done, [op.index for op in operations if op.index not in done]


@st.composite
def bulk_operations(draw: st.DrawFn) -> list[BulkOperation]:
    count = draw(st.integers(0, 12))
    operations = []
    for index in range(count):
        post = draw(st.booleans())
        refs = draw(st.lists(st.integers(0, 12), max_size=3))
        data = {"members": [{"value": f"bulkId:b{r}"} for r in refs]}
        method, path = ("POST", "/Groups") if post else ("PATCH", f"/Groups/bulkId:b{index}")
        operations.append(
            BulkOperation(index, method, path, f"b{index}" if post else None, "", data)
        )
    return operations


@given(bulk_operations())
def test_the_order_is_the_earliest_runnable_first(operations: list[BulkOperation]) -> None:
    order, cyclic = execution_order(operations)
    expected_order, expected_cyclic = reference_order(operations)
    assert [op.index for op in order] == expected_order
    assert [op.index for op in cyclic] == expected_cyclic
