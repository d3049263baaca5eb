"""SCIM REST → ResourceService and DiscoveryService RPCs, one handler per route: HTTP in,
RPC, HTTP out. The server renders every SCIM body; no SCIM rules here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import grpc
from starlette.requests import Request
from starlette.responses import Response

from scimtenancy.discovery.v1 import discovery_pb2 as dpb
from scimtenancy.resources.v1 import resources_pb2 as pb
from scimtenancy_common.logs import tenant_var
from scimtenancy_common.wire import changes_data
from scimtenancy_transcoder.body import read_body
from scimtenancy_transcoder.errors import SCIM_MEDIA_TYPE, HttpScimError, from_rpc_error
from scimtenancy_transcoder.rpc_client import CallOptions, ResourceClient
from scimtenancy_transcoder.stopping import change_sent
from scimtenancy_transcoder.strategies import UrlStrategy

_Reply = TypeVar("_Reply")
# RFC 7644 §3.11: /Me is an alias of the caller's User, whose URL is under /Users.
ME_ENDPOINT = "Users"
# Credentials travel as gRPC metadata, which the server caps (bootstrap.MAX_METADATA_BYTES);
# the largest tokens identity providers issue are a few kilobytes.
MAX_AUTHORIZATION_BYTES = 16_384
# A tenant id has at most 63 characters (domain.tenant); a longer hint names no tenant.
MAX_TENANT_HINT = 63
# Base URLs kept rendered, by the request's scheme, Host and tenant hint; clients choose the
# last two, so the cache is emptied when it is full, and a Host longer than any DNS name
# with a port (which a wildcard trusted host could still admit) is rendered, not kept: the
# cache holds at most about a megabyte.
MAX_RENDERED_BASE_URLS = 1024
MAX_KEPT_HOST = 262
URL_SAFE = ":/@!$&'()*+,;=%-._~[]"


# Whether each request message type's RPC may change data, found once per type.
_CHANGES: dict[type, bool] = {}


def _changes(message_type: type) -> bool:
    try:
        return _CHANGES[message_type]
    except KeyError:
        name = message_type.DESCRIPTOR.name.removesuffix("Request")  # type: ignore[attr-defined]
        changes = _CHANGES[message_type] = changes_data(name)
        return changes


def _metadata_safe(value: str) -> bool:
    return value.isascii() and value.isprintable()


class ScimRoutes:
    def __init__(self, client: ResourceClient, strategy: UrlStrategy, max_body: int) -> None:
        self._client = client
        self._discovery = client.discovery
        self._strategy = strategy
        self._max_body = max_body
        self._base_urls: dict[tuple[str, str, str | None], str] = {}

    def _options(self, request: Request) -> CallOptions:
        authorization = request.headers.get("authorization", "")
        if len(authorization) > MAX_AUTHORIZATION_BYTES:
            raise HttpScimError(
                431, f"the Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes"
            )
        if not _metadata_safe(authorization):
            raise HttpScimError(401, "the bearer credential is malformed")
        hint = self._strategy.tenant_hint(request)
        if hint is not None and (len(hint) > MAX_TENANT_HINT or not _metadata_safe(hint)):
            raise HttpScimError(403, "the credential does not belong to the tenant in the URL")
        if hint:
            tenant_var.set(hint)  # for the access line; a 2xx means the credential's tenant
        return CallOptions(authorization, hint, self._base_url(request, hint))

    def _base_url(self, request: Request, hint: str | None) -> str:
        """The strategy's base URL for the request, rendered once per scheme, Host and hint
        (all it depends on); a refused Host is refused every time."""
        host = request.headers.get("host", "")
        key = (request.scope.get("scheme", "http"), host, hint)
        rendered = self._base_urls.get(key)
        if rendered is None:
            rendered = quote(self._strategy.base_url(request, hint), safe=URL_SAFE)
            if len(host) <= MAX_KEPT_HOST:
                if len(self._base_urls) >= MAX_RENDERED_BASE_URLS:
                    self._base_urls.clear()
                self._base_urls[key] = rendered
        return rendered

    async def _call(
        self,
        rpc: Callable[..., Awaitable[_Reply]],
        message: Any,
        options: CallOptions,
        seconds: float | None = None,
    ) -> _Reply:
        changes = _changes(type(message))
        if changes:
            change_sent.set(True)
        try:
            return await rpc(
                message, metadata=options.metadata(), timeout=seconds or self._client.timeout
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, changes=changes) from None

    def _resource(
        self, resource: pb.Resource, options: CallOptions, endpoint: str, status: int = 200
    ) -> Response:
        """One resource, with its `Location` (RFC 7644 §3.3, and as §3.4.1 and §3.5.1 show it
        on reads and replacements) and `ETag` (§3.14)."""
        headers = _resource_headers(resource, options, endpoint)
        return Response(resource.json, status, headers, media_type=SCIM_MEDIA_TYPE)

    async def _me(self, options: CallOptions) -> str:
        """The id of the caller's own User (RFC 7644 §3.11)."""
        reply = await self._call(self._client.stub.ResolveMe, pb.ResolveMeRequest(), options)
        return str(reply.id)

    async def _document(self, request: Request, rpc: Callable[..., Any], message: Any) -> Response:
        reply = await self._call(rpc, message, self._options(request))
        return _scim_body(reply.json)

    async def _get(
        self, request: Request, options: CallOptions, endpoint: str, resource_id: str
    ) -> Response:
        reply = await self._call(
            self._client.stub.GetResource,
            pb.GetResourceRequest(
                resource_type=endpoint, id=resource_id, projection=_projection(request)
            ),
            options,
        )
        version = reply.resource.version
        if version and _none_match(request.headers.get("if-none-match", ""), version):
            return Response(status_code=304, headers={"ETag": version})
        return self._resource(reply.resource, options, endpoint)

    async def _replace(
        self, request: Request, options: CallOptions, endpoint: str, resource_id: str
    ) -> Response:
        body = await read_body(request, self._max_body)
        reply = await self._call(
            self._client.stub.ReplaceResource,
            pb.ReplaceResourceRequest(
                resource_type=endpoint,
                id=resource_id,
                json=body,
                if_match=request.headers.get("if-match", ""),
                projection=_projection(request),
            ),
            options,
        )
        return self._resource(reply.resource, options, endpoint)

    async def _patch(
        self, request: Request, options: CallOptions, endpoint: str, resource_id: str
    ) -> Response:
        body = await read_body(request, self._max_body)
        preference = _return_preference(request.headers.getlist("prefer"))
        reply = await self._call(
            self._client.stub.PatchResource,
            pb.PatchResourceRequest(
                resource_type=endpoint,
                id=resource_id,
                json=body,
                if_match=request.headers.get("if-match", ""),
                projection=_projection(request),
                return_preference=preference,
            ),
            options,
        )
        if reply.minimal:
            headers = _resource_headers(reply.resource, options, endpoint)
            if preference == pb.RETURN_PREFERENCE_MINIMAL:
                headers["Preference-Applied"] = "return=minimal"  # RFC 7240 §3
            return Response(status_code=204, headers=headers)
        response = self._resource(reply.resource, options, endpoint)
        if preference == pb.RETURN_PREFERENCE_REPRESENTATION:
            response.headers["Preference-Applied"] = "return=representation"
        return response

    async def _delete(
        self, request: Request, options: CallOptions, endpoint: str, resource_id: str
    ) -> Response:
        await self._call(
            self._client.stub.DeleteResource,
            pb.DeleteResourceRequest(
                resource_type=endpoint,
                id=resource_id,
                if_match=request.headers.get("if-match", ""),
            ),
            options,
        )
        return Response(status_code=204)

    # Resource endpoints (RFC 7644 §3.3 to §3.7).

    async def create(self, request: Request) -> Response:
        options = self._options(request)
        endpoint = request.path_params["endpoint"]
        body = await read_body(request, self._max_body)
        reply = await self._call(
            self._client.stub.CreateResource,
            pb.CreateResourceRequest(
                resource_type=endpoint,
                json=body,
                projection=_projection(request),
                idempotency_key=_idempotency_key(request),
            ),
            options,
        )
        return self._resource(reply.resource, options, endpoint, 201)

    async def get(self, request: Request) -> Response:
        return await self._get(request, self._options(request), *_target(request))

    async def replace(self, request: Request) -> Response:
        return await self._replace(request, self._options(request), *_target(request))

    async def patch(self, request: Request) -> Response:
        return await self._patch(request, self._options(request), *_target(request))

    async def delete(self, request: Request) -> Response:
        return await self._delete(request, self._options(request), *_target(request))

    async def list(self, request: Request) -> Response:
        options = self._options(request)
        params = request.query_params
        message = pb.ListResourcesRequest(
            resource_type=request.path_params["endpoint"],
            filter=params.get("filter", ""),
            projection=_projection(request),
            sort_by=params.get("sortBy", ""),
            sort_order=params.get("sortOrder", ""),
            view=pb.LIST_VIEW_LIST_RESPONSE,
        )
        for name, field in (("startIndex", "start_index"), ("count", "count")):
            if name in params:
                setattr(message, field, _integer(name, params[name]))
        if "cursor" in params:
            message.cursor = params["cursor"]
        reply = await self._call(self._client.stub.ListResources, message, options)
        return _scim_body(reply.list_response_json)

    async def search(self, request: Request) -> Response:
        """POST /.search and POST /{endpoint}/.search (RFC 7644 §3.4.3)."""
        options = self._options(request)
        body = await read_body(request, self._max_body)
        message = pb.SearchResourcesRequest(
            resource_type=request.path_params.get("endpoint", ""),
            json=body,
            view=pb.LIST_VIEW_LIST_RESPONSE,
        )
        reply = await self._call(self._client.stub.SearchResources, message, options)
        return _scim_body(reply.list_response_json)

    async def bulk(self, request: Request) -> Response:
        """POST /Bulk (RFC 7644 §3.7)."""
        options = self._options(request)
        body = await read_body(request, self._max_body)
        message = pb.BulkRequest(json=body, idempotency_key=_idempotency_key(request))
        reply = await self._call(
            self._client.stub.Bulk, message, options, self._client.bulk_timeout
        )
        return _scim_body(reply.json)

    # /Me (RFC 7644 §3.11): the caller's own User, served at its /Users URL.

    async def get_me(self, request: Request) -> Response:
        options = self._options(request)
        return await self._get(request, options, ME_ENDPOINT, await self._me(options))

    async def replace_me(self, request: Request) -> Response:
        options = self._options(request)
        return await self._replace(request, options, ME_ENDPOINT, await self._me(options))

    async def patch_me(self, request: Request) -> Response:
        options = self._options(request)
        return await self._patch(request, options, ME_ENDPOINT, await self._me(options))

    async def delete_me(self, request: Request) -> Response:
        options = self._options(request)
        return await self._delete(request, options, ME_ENDPOINT, await self._me(options))

    # Discovery (RFC 7644 §4): documents the server renders for the caller's tenant.

    async def service_provider_config(self, request: Request) -> Response:
        message = dpb.GetServiceProviderConfigRequest()
        return await self._document(request, self._discovery.GetServiceProviderConfig, message)

    async def resource_types(self, request: Request) -> Response:
        message = dpb.ListResourceTypesRequest()
        return await self._document(request, self._discovery.ListResourceTypes, message)

    async def resource_type(self, request: Request) -> Response:
        message = dpb.GetResourceTypeRequest(id=request.path_params["id"])
        return await self._document(request, self._discovery.GetResourceType, message)

    async def schemas(self, request: Request) -> Response:
        message = dpb.ListSchemasRequest()
        return await self._document(request, self._discovery.ListSchemas, message)

    async def schema(self, request: Request) -> Response:
        message = dpb.GetSchemaRequest(id=request.path_params["id"])
        return await self._document(request, self._discovery.GetSchema, message)


async def read_only(request: Request) -> Response:
    """A write to a discovery endpoint, refused there rather than routed as a resource's."""
    raise HttpScimError(405, f"{request.url.path} is read-only")


async def no_such_endpoint(request: Request) -> Response:
    raise HttpScimError(404, "no such endpoint")


def _scim_body(json: bytes) -> Response:
    return Response(json, media_type=SCIM_MEDIA_TYPE)


def _target(request: Request) -> tuple[str, str]:
    """The endpoint and id a resource URL names."""
    return request.path_params["endpoint"], request.path_params["id"]


def _idempotency_key(request: Request) -> str:
    """The `Idempotency-Key` header as sent; the server checks its form and length, so a
    gRPC caller meets the same rules."""
    return ",".join(request.headers.getlist("idempotency-key"))


_WHOLE = pb.Projection()  # copied into each request message it is given to


def _projection(request: Request) -> pb.Projection:
    if not request.scope.get("query_string"):
        return _WHOLE
    params = request.query_params
    attributes = [a for a in params.get("attributes", "").split(",") if a.strip()]
    excluded = [a for a in params.get("excludedAttributes", "").split(",") if a.strip()]
    return pb.Projection(attributes=attributes, excluded_attributes=excluded)


_RETURN_PREFERENCES = {
    "minimal": pb.RETURN_PREFERENCE_MINIMAL,
    "representation": pb.RETURN_PREFERENCE_REPRESENTATION,
}
# The Prefer header text read for `return=`; real clients send a few dozen bytes.
_MAX_PREFER = 1024


def _resource_headers(resource: pb.Resource, options: CallOptions, endpoint: str) -> dict[str, str]:
    """`Location`, and `ETag` when the server sent a version (none for tenants it offers
    none: RFC 7644 §3.14 makes versions optional)."""
    headers = {"Location": f"{options.base_url}/{endpoint}/{resource.id}"}
    if resource.version:
        headers["ETag"] = resource.version
    return headers


def _return_preference(headers: list[str]) -> pb.ReturnPreference:
    """`Prefer: return=minimal | representation` (RFC 7240 §4.2); other preferences and
    unknown values are ignored, as §2 asks."""
    for preference in ",".join(headers)[:_MAX_PREFER].split(","):
        name, _, value = preference.split(";")[0].partition("=")
        if name.strip().lower() == "return":
            return _RETURN_PREFERENCES.get(
                value.strip().strip('"').lower(), pb.RETURN_PREFERENCE_UNSPECIFIED
            )
    return pb.RETURN_PREFERENCE_UNSPECIFIED


def _none_match(if_none_match: str, version: str) -> bool:
    """RFC 7232 §3.2 If-None-Match, compared weakly: `*` or any listed tag."""
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",") if t.strip()]
    return any(tag in ("*", version.removeprefix("W/")) for tag in tags)


def _integer(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise HttpScimError(400, f"{name} must be an integer", "invalidValue") from None
    return max(min(value, 2**62), -(2**62))
