import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlatformMessage(_message.Message):
    __slots__ = ("notify_call_started", "notify_audio_data", "notify_dtmf_received_start_data", "notify_dtmf_received_end_data", "notify_playback_started_data", "notify_playback_completed_data", "notify_audio_cleared_data", "notify_dtmf_play_started_data", "notify_dtmf_play_completed_data", "notify_call_ended", "notify_error", "notify_buffer")
    class NotifyCallStartedMessage(_message.Message):
        __slots__ = ("call_id", "to", "is_inbound", "metadata", "content_type")
        CALL_ID_FIELD_NUMBER: _ClassVar[int]
        TO_FIELD_NUMBER: _ClassVar[int]
        FROM_FIELD_NUMBER: _ClassVar[int]
        IS_INBOUND_FIELD_NUMBER: _ClassVar[int]
        METADATA_FIELD_NUMBER: _ClassVar[int]
        CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
        call_id: str
        to: str
        is_inbound: bool
        metadata: _containers.RepeatedScalarFieldContainer[str]
        content_type: str
        def __init__(self, call_id: _Optional[str] = ..., to: _Optional[str] = ..., is_inbound: _Optional[bool] = ..., metadata: _Optional[_Iterable[str]] = ..., content_type: _Optional[str] = ..., **kwargs) -> None: ...
    class NotifyAudioMessage(_message.Message):
        __slots__ = ("audio_data", "start_tstamp", "end_tstamp", "sequence_num")
        AUDIO_DATA_FIELD_NUMBER: _ClassVar[int]
        START_TSTAMP_FIELD_NUMBER: _ClassVar[int]
        END_TSTAMP_FIELD_NUMBER: _ClassVar[int]
        SEQUENCE_NUM_FIELD_NUMBER: _ClassVar[int]
        audio_data: bytes
        start_tstamp: _timestamp_pb2.Timestamp
        end_tstamp: _timestamp_pb2.Timestamp
        sequence_num: int
        def __init__(self, audio_data: _Optional[bytes] = ..., start_tstamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_tstamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence_num: _Optional[int] = ...) -> None: ...
    class NotifyDTMFReceivedStartedMessage(_message.Message):
        __slots__ = ("digit", "start_tstamp")
        DIGIT_FIELD_NUMBER: _ClassVar[int]
        START_TSTAMP_FIELD_NUMBER: _ClassVar[int]
        digit: str
        start_tstamp: _timestamp_pb2.Timestamp
        def __init__(self, digit: _Optional[str] = ..., start_tstamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class NotifyDTMFReceivedEndedMessage(_message.Message):
        __slots__ = ("digit", "end_tstamp")
        DIGIT_FIELD_NUMBER: _ClassVar[int]
        END_TSTAMP_FIELD_NUMBER: _ClassVar[int]
        digit: str
        end_tstamp: _timestamp_pb2.Timestamp
        def __init__(self, digit: _Optional[str] = ..., end_tstamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class NotifyBufferDepthMessage(_message.Message):
        __slots__ = ("buffer_type", "depth", "buffer_size")
        class BufferType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            DTMF: _ClassVar[PlatformMessage.NotifyBufferDepthMessage.BufferType]
            Audio: _ClassVar[PlatformMessage.NotifyBufferDepthMessage.BufferType]
        DTMF: PlatformMessage.NotifyBufferDepthMessage.BufferType
        Audio: PlatformMessage.NotifyBufferDepthMessage.BufferType
        BUFFER_TYPE_FIELD_NUMBER: _ClassVar[int]
        DEPTH_FIELD_NUMBER: _ClassVar[int]
        BUFFER_SIZE_FIELD_NUMBER: _ClassVar[int]
        buffer_type: PlatformMessage.NotifyBufferDepthMessage.BufferType
        depth: int
        buffer_size: int
        def __init__(self, buffer_type: _Optional[_Union[PlatformMessage.NotifyBufferDepthMessage.BufferType, str]] = ..., depth: _Optional[int] = ..., buffer_size: _Optional[int] = ...) -> None: ...
    class NotifyCallEndedMessage(_message.Message):
        __slots__ = ("call_id", "reason_code", "reason")
        class ReasonCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            CALLER_DISCONNECT: _ClassVar[PlatformMessage.NotifyCallEndedMessage.ReasonCode]
            APPLICATION_DISCONNECT: _ClassVar[PlatformMessage.NotifyCallEndedMessage.ReasonCode]
            PLATFORM_DISCONNECT: _ClassVar[PlatformMessage.NotifyCallEndedMessage.ReasonCode]
            PLATFORM_ERROR: _ClassVar[PlatformMessage.NotifyCallEndedMessage.ReasonCode]
        CALLER_DISCONNECT: PlatformMessage.NotifyCallEndedMessage.ReasonCode
        APPLICATION_DISCONNECT: PlatformMessage.NotifyCallEndedMessage.ReasonCode
        PLATFORM_DISCONNECT: PlatformMessage.NotifyCallEndedMessage.ReasonCode
        PLATFORM_ERROR: PlatformMessage.NotifyCallEndedMessage.ReasonCode
        CALL_ID_FIELD_NUMBER: _ClassVar[int]
        REASON_CODE_FIELD_NUMBER: _ClassVar[int]
        REASON_FIELD_NUMBER: _ClassVar[int]
        call_id: str
        reason_code: PlatformMessage.NotifyCallEndedMessage.ReasonCode
        reason: str
        def __init__(self, call_id: _Optional[str] = ..., reason_code: _Optional[_Union[PlatformMessage.NotifyCallEndedMessage.ReasonCode, str]] = ..., reason: _Optional[str] = ...) -> None: ...
    class NotifyAudioPlaybackStartedMessage(_message.Message):
        __slots__ = ("id", "timestamp")
        ID_FIELD_NUMBER: _ClassVar[int]
        TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
        id: str
        timestamp: _timestamp_pb2.Timestamp
        def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class NotifyAudioPlaybackCompletedMessage(_message.Message):
        __slots__ = ("id", "timestamp")
        ID_FIELD_NUMBER: _ClassVar[int]
        TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
        id: str
        timestamp: _timestamp_pb2.Timestamp
        def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class NotifyAudioBufferClearedMessage(_message.Message):
        __slots__ = ("id", "timestamp")
        ID_FIELD_NUMBER: _ClassVar[int]
        TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
        id: str
        timestamp: _timestamp_pb2.Timestamp
        def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class NotifyDTMFPlayStartedMessage(_message.Message):
        __slots__ = ("id", "timestamp")
        ID_FIELD_NUMBER: _ClassVar[int]
        TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
        id: str
        timestamp: _timestamp_pb2.Timestamp
        def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class NotifyDTMFPlayCompletedMessage(_message.Message):
        __slots__ = ("id", "timestamp")
        ID_FIELD_NUMBER: _ClassVar[int]
        TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
        id: str
        timestamp: _timestamp_pb2.Timestamp
        def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class NotifyErrorMessage(_message.Message):
        __slots__ = ("error_message", "error_id")
        ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
        ERROR_ID_FIELD_NUMBER: _ClassVar[int]
        error_message: str
        error_id: str
        def __init__(self, error_message: _Optional[str] = ..., error_id: _Optional[str] = ...) -> None: ...
    NOTIFY_CALL_STARTED_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_AUDIO_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_DTMF_RECEIVED_START_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_DTMF_RECEIVED_END_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_PLAYBACK_STARTED_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_PLAYBACK_COMPLETED_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_AUDIO_CLEARED_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_DTMF_PLAY_STARTED_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_DTMF_PLAY_COMPLETED_DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_CALL_ENDED_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_ERROR_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_BUFFER_FIELD_NUMBER: _ClassVar[int]
    notify_call_started: PlatformMessage.NotifyCallStartedMessage
    notify_audio_data: PlatformMessage.NotifyAudioMessage
    notify_dtmf_received_start_data: PlatformMessage.NotifyDTMFReceivedStartedMessage
    notify_dtmf_received_end_data: PlatformMessage.NotifyDTMFReceivedEndedMessage
    notify_playback_started_data: PlatformMessage.NotifyAudioPlaybackStartedMessage
    notify_playback_completed_data: PlatformMessage.NotifyAudioPlaybackCompletedMessage
    notify_audio_cleared_data: PlatformMessage.NotifyAudioBufferClearedMessage
    notify_dtmf_play_started_data: PlatformMessage.NotifyDTMFPlayStartedMessage
    notify_dtmf_play_completed_data: PlatformMessage.NotifyDTMFPlayCompletedMessage
    notify_call_ended: PlatformMessage.NotifyCallEndedMessage
    notify_error: PlatformMessage.NotifyErrorMessage
    notify_buffer: PlatformMessage.NotifyBufferDepthMessage
    def __init__(self, notify_call_started: _Optional[_Union[PlatformMessage.NotifyCallStartedMessage, _Mapping]] = ..., notify_audio_data: _Optional[_Union[PlatformMessage.NotifyAudioMessage, _Mapping]] = ..., notify_dtmf_received_start_data: _Optional[_Union[PlatformMessage.NotifyDTMFReceivedStartedMessage, _Mapping]] = ..., notify_dtmf_received_end_data: _Optional[_Union[PlatformMessage.NotifyDTMFReceivedEndedMessage, _Mapping]] = ..., notify_playback_started_data: _Optional[_Union[PlatformMessage.NotifyAudioPlaybackStartedMessage, _Mapping]] = ..., notify_playback_completed_data: _Optional[_Union[PlatformMessage.NotifyAudioPlaybackCompletedMessage, _Mapping]] = ..., notify_audio_cleared_data: _Optional[_Union[PlatformMessage.NotifyAudioBufferClearedMessage, _Mapping]] = ..., notify_dtmf_play_started_data: _Optional[_Union[PlatformMessage.NotifyDTMFPlayStartedMessage, _Mapping]] = ..., notify_dtmf_play_completed_data: _Optional[_Union[PlatformMessage.NotifyDTMFPlayCompletedMessage, _Mapping]] = ..., notify_call_ended: _Optional[_Union[PlatformMessage.NotifyCallEndedMessage, _Mapping]] = ..., notify_error: _Optional[_Union[PlatformMessage.NotifyErrorMessage, _Mapping]] = ..., notify_buffer: _Optional[_Union[PlatformMessage.NotifyBufferDepthMessage, _Mapping]] = ...) -> None: ...

class AppMessage(_message.Message):
    __slots__ = ("audio_data", "clear_audio_buffer", "dtmf_data", "terminate_call", "end_stream", "query_buffer")
    class PlayAudioMessage(_message.Message):
        __slots__ = ("id", "audio_data", "content_type", "sequence_num", "last_message")
        ID_FIELD_NUMBER: _ClassVar[int]
        AUDIO_DATA_FIELD_NUMBER: _ClassVar[int]
        CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
        SEQUENCE_NUM_FIELD_NUMBER: _ClassVar[int]
        LAST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
        id: str
        audio_data: bytes
        content_type: str
        sequence_num: int
        last_message: bool
        def __init__(self, id: _Optional[str] = ..., audio_data: _Optional[bytes] = ..., content_type: _Optional[str] = ..., sequence_num: _Optional[int] = ..., last_message: _Optional[bool] = ...) -> None: ...
    class ClearAudioBufferMessage(_message.Message):
        __slots__ = ("id",)
        ID_FIELD_NUMBER: _ClassVar[int]
        id: str
        def __init__(self, id: _Optional[str] = ...) -> None: ...
    class PressDTMFMessage(_message.Message):
        __slots__ = ("id", "dtmf_digits", "press_duration_ms", "break_duration_ms", "sequence_num")
        ID_FIELD_NUMBER: _ClassVar[int]
        DTMF_DIGITS_FIELD_NUMBER: _ClassVar[int]
        PRESS_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
        BREAK_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
        SEQUENCE_NUM_FIELD_NUMBER: _ClassVar[int]
        id: str
        dtmf_digits: str
        press_duration_ms: int
        break_duration_ms: int
        sequence_num: int
        def __init__(self, id: _Optional[str] = ..., dtmf_digits: _Optional[str] = ..., press_duration_ms: _Optional[int] = ..., break_duration_ms: _Optional[int] = ..., sequence_num: _Optional[int] = ...) -> None: ...
    class QueryBufferDepthMessage(_message.Message):
        __slots__ = ("buffer_type",)
        class BufferType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            DTMF: _ClassVar[AppMessage.QueryBufferDepthMessage.BufferType]
            Audio: _ClassVar[AppMessage.QueryBufferDepthMessage.BufferType]
        DTMF: AppMessage.QueryBufferDepthMessage.BufferType
        Audio: AppMessage.QueryBufferDepthMessage.BufferType
        BUFFER_TYPE_FIELD_NUMBER: _ClassVar[int]
        buffer_type: AppMessage.QueryBufferDepthMessage.BufferType
        def __init__(self, buffer_type: _Optional[_Union[AppMessage.QueryBufferDepthMessage.BufferType, str]] = ...) -> None: ...
    class TerminateCallMessage(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class EndGrpcStreamMessage(_message.Message):
        __slots__ = ("action_url",)
        ACTION_URL_FIELD_NUMBER: _ClassVar[int]
        action_url: str
        def __init__(self, action_url: _Optional[str] = ...) -> None: ...
    AUDIO_DATA_FIELD_NUMBER: _ClassVar[int]
    CLEAR_AUDIO_BUFFER_FIELD_NUMBER: _ClassVar[int]
    DTMF_DATA_FIELD_NUMBER: _ClassVar[int]
    TERMINATE_CALL_FIELD_NUMBER: _ClassVar[int]
    END_STREAM_FIELD_NUMBER: _ClassVar[int]
    QUERY_BUFFER_FIELD_NUMBER: _ClassVar[int]
    audio_data: AppMessage.PlayAudioMessage
    clear_audio_buffer: AppMessage.ClearAudioBufferMessage
    dtmf_data: AppMessage.PressDTMFMessage
    terminate_call: AppMessage.TerminateCallMessage
    end_stream: AppMessage.EndGrpcStreamMessage
    query_buffer: AppMessage.QueryBufferDepthMessage
    def __init__(self, audio_data: _Optional[_Union[AppMessage.PlayAudioMessage, _Mapping]] = ..., clear_audio_buffer: _Optional[_Union[AppMessage.ClearAudioBufferMessage, _Mapping]] = ..., dtmf_data: _Optional[_Union[AppMessage.PressDTMFMessage, _Mapping]] = ..., terminate_call: _Optional[_Union[AppMessage.TerminateCallMessage, _Mapping]] = ..., end_stream: _Optional[_Union[AppMessage.EndGrpcStreamMessage, _Mapping]] = ..., query_buffer: _Optional[_Union[AppMessage.QueryBufferDepthMessage, _Mapping]] = ...) -> None: ...
