"""SCIM operations on a tenant's resources (RFC 7644 §3.3 to §3.6): protocol rules, no transport.

`ResourceService` is the one face the adapters and the other services use; its parts live
beside it, one concern each, over a shared base:

- `resource_reads`: the base (collaborators, resource types), GET with computed attributes,
  `/Me`, usage and health;
- `resource_queries`: list and search, filters, sorting, index and cursor paging;
- `resource_writes`: PUT, PATCH and DELETE on a resource's version, with their audit events;
- `resource_creates`: POST, under a reserved id, and a create run again after a lost outcome.
"""

from __future__ import annotations

from scimtenancy_server.services.resource_creates import ResourceCreates
from scimtenancy_server.services.resource_queries import ListResult, ResourceQueries, SearchResult
from scimtenancy_server.services.resource_reads import Health, Usage
from scimtenancy_server.services.resource_writes import Change, Patched

__all__ = [
    "Change",
    "Health",
    "ListResult",
    "Patched",
    "ResourceService",
    "SearchResult",
    "Usage",
]


class ResourceService(ResourceQueries, ResourceCreates):
    """Reads, queries and changes of a tenant's resources; what a caller may do is checked
    against its `TenantContext` (permissions, the tenant's status and response options)."""
