import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IsolationLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ISOLATION_LEVEL_UNSPECIFIED: _ClassVar[IsolationLevel]
    ISOLATION_LEVEL_STRICT: _ClassVar[IsolationLevel]
    ISOLATION_LEVEL_STANDARD: _ClassVar[IsolationLevel]
    ISOLATION_LEVEL_SHARED: _ClassVar[IsolationLevel]

class TenantStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TENANT_STATUS_UNSPECIFIED: _ClassVar[TenantStatus]
    TENANT_STATUS_ACTIVE: _ClassVar[TenantStatus]
    TENANT_STATUS_SUSPENDED: _ClassVar[TenantStatus]
    TENANT_STATUS_MOVING: _ClassVar[TenantStatus]

class Compatibility(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPATIBILITY_UNSPECIFIED: _ClassVar[Compatibility]
    COMPATIBILITY_STRICT: _ClassVar[Compatibility]
    COMPATIBILITY_LENIENT: _ClassVar[Compatibility]

class PatchAnswer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PATCH_ANSWER_UNSPECIFIED: _ClassVar[PatchAnswer]
    PATCH_ANSWER_REPRESENTATION: _ClassVar[PatchAnswer]
    PATCH_ANSWER_NO_CONTENT: _ClassVar[PatchAnswer]

class AuditOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_OUTCOME_UNSPECIFIED: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_PENDING: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_SUCCESS: _ClassVar[AuditOutcome]
    AUDIT_OUTCOME_FAILURE: _ClassVar[AuditOutcome]
ISOLATION_LEVEL_UNSPECIFIED: IsolationLevel
ISOLATION_LEVEL_STRICT: IsolationLevel
ISOLATION_LEVEL_STANDARD: IsolationLevel
ISOLATION_LEVEL_SHARED: IsolationLevel
TENANT_STATUS_UNSPECIFIED: TenantStatus
TENANT_STATUS_ACTIVE: TenantStatus
TENANT_STATUS_SUSPENDED: TenantStatus
TENANT_STATUS_MOVING: TenantStatus
COMPATIBILITY_UNSPECIFIED: Compatibility
COMPATIBILITY_STRICT: Compatibility
COMPATIBILITY_LENIENT: Compatibility
PATCH_ANSWER_UNSPECIFIED: PatchAnswer
PATCH_ANSWER_REPRESENTATION: PatchAnswer
PATCH_ANSWER_NO_CONTENT: PatchAnswer
AUDIT_OUTCOME_UNSPECIFIED: AuditOutcome
AUDIT_OUTCOME_PENDING: AuditOutcome
AUDIT_OUTCOME_SUCCESS: AuditOutcome
AUDIT_OUTCOME_FAILURE: AuditOutcome

class Tenant(_message.Message):
    __slots__ = ("tenant_id", "display_name", "isolation_level", "status", "create_time", "limits", "permissions", "compatibility", "response_options", "rate_limit", "extensions")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ISOLATION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    COMPATIBILITY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    display_name: str
    isolation_level: IsolationLevel
    status: TenantStatus
    create_time: _timestamp_pb2.Timestamp
    limits: Limits
    permissions: _containers.RepeatedScalarFieldContainer[str]
    compatibility: Compatibility
    response_options: ResponseOptions
    rate_limit: RateLimit
    extensions: _containers.RepeatedCompositeFieldContainer[SchemaExtension]
    def __init__(self, tenant_id: _Optional[str] = ..., display_name: _Optional[str] = ..., isolation_level: _Optional[_Union[IsolationLevel, str]] = ..., status: _Optional[_Union[TenantStatus, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., permissions: _Optional[_Iterable[str]] = ..., compatibility: _Optional[_Union[Compatibility, str]] = ..., response_options: _Optional[_Union[ResponseOptions, _Mapping]] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ..., extensions: _Optional[_Iterable[_Union[SchemaExtension, _Mapping]]] = ...) -> None: ...

class AuthenticationScheme(_message.Message):
    __slots__ = ("type", "name", "description", "spec_uri", "documentation_uri", "primary")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SPEC_URI_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_URI_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    description: str
    spec_uri: str
    documentation_uri: str
    primary: bool
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., spec_uri: _Optional[str] = ..., documentation_uri: _Optional[str] = ..., primary: _Optional[bool] = ...) -> None: ...

class ResponseOptions(_message.Message):
    __slots__ = ("documentation_uri", "authentication_schemes", "bulk", "sort", "etag", "filter_max_results", "patch_answer")
    DOCUMENTATION_URI_FIELD_NUMBER: _ClassVar[int]
    AUTHENTICATION_SCHEMES_FIELD_NUMBER: _ClassVar[int]
    BULK_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FILTER_MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    PATCH_ANSWER_FIELD_NUMBER: _ClassVar[int]
    documentation_uri: str
    authentication_schemes: _containers.RepeatedCompositeFieldContainer[AuthenticationScheme]
    bulk: bool
    sort: bool
    etag: bool
    filter_max_results: int
    patch_answer: PatchAnswer
    def __init__(self, documentation_uri: _Optional[str] = ..., authentication_schemes: _Optional[_Iterable[_Union[AuthenticationScheme, _Mapping]]] = ..., bulk: _Optional[bool] = ..., sort: _Optional[bool] = ..., etag: _Optional[bool] = ..., filter_max_results: _Optional[int] = ..., patch_answer: _Optional[_Union[PatchAnswer, str]] = ...) -> None: ...

class RateLimit(_message.Message):
    __slots__ = ("requests_per_second", "burst")
    REQUESTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    requests_per_second: float
    burst: int
    def __init__(self, requests_per_second: _Optional[float] = ..., burst: _Optional[int] = ...) -> None: ...

class SchemaExtension(_message.Message):
    __slots__ = ("resource_type", "schema_urn", "required", "schema_json")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_URN_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    schema_urn: str
    required: bool
    schema_json: bytes
    def __init__(self, resource_type: _Optional[str] = ..., schema_urn: _Optional[str] = ..., required: _Optional[bool] = ..., schema_json: _Optional[bytes] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_users", "max_groups")
    MAX_USERS_FIELD_NUMBER: _ClassVar[int]
    MAX_GROUPS_FIELD_NUMBER: _ClassVar[int]
    max_users: int
    max_groups: int
    def __init__(self, max_users: _Optional[int] = ..., max_groups: _Optional[int] = ...) -> None: ...

class CreateTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "display_name", "isolation_level", "limits", "permissions", "compatibility", "response_options", "rate_limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ISOLATION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    COMPATIBILITY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    display_name: str
    isolation_level: IsolationLevel
    limits: Limits
    permissions: _containers.RepeatedScalarFieldContainer[str]
    compatibility: Compatibility
    response_options: ResponseOptions
    rate_limit: RateLimit
    def __init__(self, tenant_id: _Optional[str] = ..., display_name: _Optional[str] = ..., isolation_level: _Optional[_Union[IsolationLevel, str]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., permissions: _Optional[_Iterable[str]] = ..., compatibility: _Optional[_Union[Compatibility, str]] = ..., response_options: _Optional[_Union[ResponseOptions, _Mapping]] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ...) -> None: ...

class CreateTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class GetTenantRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class ListTenantsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTenantsResponse(_message.Message):
    __slots__ = ("tenants", "next_page_token")
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenants: _containers.RepeatedCompositeFieldContainer[Tenant]
    next_page_token: str
    def __init__(self, tenants: _Optional[_Iterable[_Union[Tenant, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class IssueApiKeyRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class IssueApiKeyResponse(_message.Message):
    __slots__ = ("key_id", "api_key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    api_key: str
    def __init__(self, key_id: _Optional[str] = ..., api_key: _Optional[str] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("key_id", "create_time", "expire_time", "revoked", "last_use_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    LAST_USE_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    revoked: bool
    last_use_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: _Optional[bool] = ..., last_use_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListApiKeysRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListApiKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[ApiKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[ApiKey, _Mapping]]] = ...) -> None: ...

class RevokeApiKeyRequest(_message.Message):
    __slots__ = ("tenant_id", "key_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    key_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class RevokeApiKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: ApiKey
    def __init__(self, key: _Optional[_Union[ApiKey, _Mapping]] = ...) -> None: ...

class RotateApiKeyRequest(_message.Message):
    __slots__ = ("tenant_id", "key_id", "overlap")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    key_id: str
    overlap: _duration_pb2.Duration
    def __init__(self, tenant_id: _Optional[str] = ..., key_id: _Optional[str] = ..., overlap: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RotateApiKeyResponse(_message.Message):
    __slots__ = ("key_id", "api_key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    api_key: str
    def __init__(self, key_id: _Optional[str] = ..., api_key: _Optional[str] = ...) -> None: ...

class SuspendTenantRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class SuspendTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class ActivateTenantRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ActivateTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class DeleteTenantRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class DeleteTenantResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RegisterSchemaExtensionRequest(_message.Message):
    __slots__ = ("tenant_id", "resource_type", "schema_json", "required")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    resource_type: str
    schema_json: bytes
    required: bool
    def __init__(self, tenant_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., schema_json: _Optional[bytes] = ..., required: _Optional[bool] = ...) -> None: ...

class RegisterSchemaExtensionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MoveTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "isolation_level")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ISOLATION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    isolation_level: IsolationLevel
    def __init__(self, tenant_id: _Optional[str] = ..., isolation_level: _Optional[_Union[IsolationLevel, str]] = ...) -> None: ...

class MoveTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class UpdateTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "display_name", "limits", "permissions", "update_permissions", "compatibility", "response_options", "rate_limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    COMPATIBILITY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    display_name: str
    limits: Limits
    permissions: _containers.RepeatedScalarFieldContainer[str]
    update_permissions: bool
    compatibility: Compatibility
    response_options: ResponseOptions
    rate_limit: RateLimit
    def __init__(self, tenant_id: _Optional[str] = ..., display_name: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., permissions: _Optional[_Iterable[str]] = ..., update_permissions: _Optional[bool] = ..., compatibility: _Optional[_Union[Compatibility, str]] = ..., response_options: _Optional[_Union[ResponseOptions, _Mapping]] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ...) -> None: ...

class UpdateTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class GetServerStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerStatsResponse(_message.Message):
    __slots__ = ("credential_cache_hits", "credential_cache_misses")
    CREDENTIAL_CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_CACHE_MISSES_FIELD_NUMBER: _ClassVar[int]
    credential_cache_hits: int
    credential_cache_misses: int
    def __init__(self, credential_cache_hits: _Optional[int] = ..., credential_cache_misses: _Optional[int] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("event_id", "tenant_id", "time", "actor", "operation", "resource_type", "resource_id", "outcome", "version_before", "version_after", "error_status", "error_type", "bulk")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    VERSION_BEFORE_FIELD_NUMBER: _ClassVar[int]
    VERSION_AFTER_FIELD_NUMBER: _ClassVar[int]
    ERROR_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    BULK_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    tenant_id: str
    time: _timestamp_pb2.Timestamp
    actor: str
    operation: str
    resource_type: str
    resource_id: str
    outcome: AuditOutcome
    version_before: int
    version_after: int
    error_status: int
    error_type: str
    bulk: bool
    def __init__(self, event_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., operation: _Optional[str] = ..., resource_type: _Optional[str] = ..., resource_id: _Optional[str] = ..., outcome: _Optional[_Union[AuditOutcome, str]] = ..., version_before: _Optional[int] = ..., version_after: _Optional[int] = ..., error_status: _Optional[int] = ..., error_type: _Optional[str] = ..., bulk: _Optional[bool] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
