import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReturnPreference(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETURN_PREFERENCE_UNSPECIFIED: _ClassVar[ReturnPreference]
    RETURN_PREFERENCE_MINIMAL: _ClassVar[ReturnPreference]
    RETURN_PREFERENCE_REPRESENTATION: _ClassVar[ReturnPreference]

class ListView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIST_VIEW_UNSPECIFIED: _ClassVar[ListView]
    LIST_VIEW_LIST_RESPONSE: _ClassVar[ListView]
RETURN_PREFERENCE_UNSPECIFIED: ReturnPreference
RETURN_PREFERENCE_MINIMAL: ReturnPreference
RETURN_PREFERENCE_REPRESENTATION: ReturnPreference
LIST_VIEW_UNSPECIFIED: ListView
LIST_VIEW_LIST_RESPONSE: ListView

class CheckHealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResourceUsage(_message.Message):
    __slots__ = ("resource_type", "used", "limit")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    used: int
    limit: int
    def __init__(self, resource_type: _Optional[str] = ..., used: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class CheckHealthResponse(_message.Message):
    __slots__ = ("tenant_id", "isolation_level", "storage_round_trip", "usage")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ISOLATION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    STORAGE_ROUND_TRIP_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    isolation_level: str
    storage_round_trip: _duration_pb2.Duration
    usage: _containers.RepeatedCompositeFieldContainer[ResourceUsage]
    def __init__(self, tenant_id: _Optional[str] = ..., isolation_level: _Optional[str] = ..., storage_round_trip: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., usage: _Optional[_Iterable[_Union[ResourceUsage, _Mapping]]] = ...) -> None: ...

class BulkRequest(_message.Message):
    __slots__ = ("json", "idempotency_key")
    JSON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    json: bytes
    idempotency_key: str
    def __init__(self, json: _Optional[bytes] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class BulkResponse(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: bytes
    def __init__(self, json: _Optional[bytes] = ...) -> None: ...

class ResolveMeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResolveMeResponse(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Projection(_message.Message):
    __slots__ = ("attributes", "excluded_attributes")
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.RepeatedScalarFieldContainer[str]
    excluded_attributes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, attributes: _Optional[_Iterable[str]] = ..., excluded_attributes: _Optional[_Iterable[str]] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ("id", "resource_type", "version", "json")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    resource_type: str
    version: str
    json: bytes
    def __init__(self, id: _Optional[str] = ..., resource_type: _Optional[str] = ..., version: _Optional[str] = ..., json: _Optional[bytes] = ...) -> None: ...

class CreateResourceRequest(_message.Message):
    __slots__ = ("resource_type", "json", "projection", "idempotency_key")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    json: bytes
    projection: Projection
    idempotency_key: str
    def __init__(self, resource_type: _Optional[str] = ..., json: _Optional[bytes] = ..., projection: _Optional[_Union[Projection, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CreateResourceResponse(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ...) -> None: ...

class GetResourceRequest(_message.Message):
    __slots__ = ("resource_type", "id", "projection")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    id: str
    projection: Projection
    def __init__(self, resource_type: _Optional[str] = ..., id: _Optional[str] = ..., projection: _Optional[_Union[Projection, _Mapping]] = ...) -> None: ...

class GetResourceResponse(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ...) -> None: ...

class ReplaceResourceRequest(_message.Message):
    __slots__ = ("resource_type", "id", "json", "if_match", "projection")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    id: str
    json: bytes
    if_match: str
    projection: Projection
    def __init__(self, resource_type: _Optional[str] = ..., id: _Optional[str] = ..., json: _Optional[bytes] = ..., if_match: _Optional[str] = ..., projection: _Optional[_Union[Projection, _Mapping]] = ...) -> None: ...

class ReplaceResourceResponse(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ...) -> None: ...

class PatchResourceRequest(_message.Message):
    __slots__ = ("resource_type", "id", "json", "if_match", "projection", "return_preference")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    RETURN_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    id: str
    json: bytes
    if_match: str
    projection: Projection
    return_preference: ReturnPreference
    def __init__(self, resource_type: _Optional[str] = ..., id: _Optional[str] = ..., json: _Optional[bytes] = ..., if_match: _Optional[str] = ..., projection: _Optional[_Union[Projection, _Mapping]] = ..., return_preference: _Optional[_Union[ReturnPreference, str]] = ...) -> None: ...

class PatchResourceResponse(_message.Message):
    __slots__ = ("resource", "minimal")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    MINIMAL_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    minimal: bool
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ..., minimal: _Optional[bool] = ...) -> None: ...

class DeleteResourceRequest(_message.Message):
    __slots__ = ("resource_type", "id", "if_match")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    id: str
    if_match: str
    def __init__(self, resource_type: _Optional[str] = ..., id: _Optional[str] = ..., if_match: _Optional[str] = ...) -> None: ...

class DeleteResourceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListResourcesRequest(_message.Message):
    __slots__ = ("resource_type", "filter", "start_index", "count", "projection", "sort_by", "sort_order", "cursor", "view")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    SORT_ORDER_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    filter: str
    start_index: int
    count: int
    projection: Projection
    sort_by: str
    sort_order: str
    cursor: str
    view: ListView
    def __init__(self, resource_type: _Optional[str] = ..., filter: _Optional[str] = ..., start_index: _Optional[int] = ..., count: _Optional[int] = ..., projection: _Optional[_Union[Projection, _Mapping]] = ..., sort_by: _Optional[str] = ..., sort_order: _Optional[str] = ..., cursor: _Optional[str] = ..., view: _Optional[_Union[ListView, str]] = ...) -> None: ...

class ListResourcesResponse(_message.Message):
    __slots__ = ("total_results", "start_index", "resources", "next_cursor", "previous_cursor", "cursor_paging", "list_response_json")
    TOTAL_RESULTS_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CURSOR_FIELD_NUMBER: _ClassVar[int]
    CURSOR_PAGING_FIELD_NUMBER: _ClassVar[int]
    LIST_RESPONSE_JSON_FIELD_NUMBER: _ClassVar[int]
    total_results: int
    start_index: int
    resources: _containers.RepeatedCompositeFieldContainer[Resource]
    next_cursor: str
    previous_cursor: str
    cursor_paging: bool
    list_response_json: bytes
    def __init__(self, total_results: _Optional[int] = ..., start_index: _Optional[int] = ..., resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., previous_cursor: _Optional[str] = ..., cursor_paging: _Optional[bool] = ..., list_response_json: _Optional[bytes] = ...) -> None: ...

class SearchResourcesRequest(_message.Message):
    __slots__ = ("resource_type", "json", "view")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    json: bytes
    view: ListView
    def __init__(self, resource_type: _Optional[str] = ..., json: _Optional[bytes] = ..., view: _Optional[_Union[ListView, str]] = ...) -> None: ...

class SearchResourcesResponse(_message.Message):
    __slots__ = ("total_results", "start_index", "resources", "next_cursor", "previous_cursor", "cursor_paging", "list_response_json")
    TOTAL_RESULTS_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CURSOR_FIELD_NUMBER: _ClassVar[int]
    CURSOR_PAGING_FIELD_NUMBER: _ClassVar[int]
    LIST_RESPONSE_JSON_FIELD_NUMBER: _ClassVar[int]
    total_results: int
    start_index: int
    resources: _containers.RepeatedCompositeFieldContainer[Resource]
    next_cursor: str
    previous_cursor: str
    cursor_paging: bool
    list_response_json: bytes
    def __init__(self, total_results: _Optional[int] = ..., start_index: _Optional[int] = ..., resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., previous_cursor: _Optional[str] = ..., cursor_paging: _Optional[bool] = ..., list_response_json: _Optional[bytes] = ...) -> None: ...
