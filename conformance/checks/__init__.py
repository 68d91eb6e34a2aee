"""Check modules, one per area; importing this package registers every check."""

from conformance.checks import (  # noqa: F401
    async_results,
    encryption,
    envelope,
    fields,
    flows,
    fuzzing,
    limits,
    pagination,
    replay,
    rules,
    signature,
    tenancy,
)
