from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ScimError(_message.Message):
    __slots__ = ("status", "scim_type", "detail")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SCIM_TYPE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    status: int
    scim_type: str
    detail: str
    def __init__(self, status: _Optional[int] = ..., scim_type: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...
