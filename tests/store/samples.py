"""Sample records for the store tests: every field away from its default, so a dropped or swapped
column shows up."""

from __future__ import annotations

import dataclasses

from percl.domain.enums import (
    AccountStatus,
    AccountType,
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    ConferenceStatus,
    MessageDirection,
    MessageStatus,
    PlayBeep,
)
from percl.domain.records import (
    Account,
    Application,
    Call,
    Conference,
    IncomingNumber,
    Message,
    Participant,
    Queue,
    QueueMember,
)

AC1 = "AC" + "1" * 40
AC2 = "AC" + "2" * 40


def call_id(n: int) -> str:
    return f"CA{n:040x}"


ACCOUNT = Account(
    account_id=AC1,
    api_key="key-1",
    signing_secret="sec-1",
    alias="main",
    label="the label",
    type=AccountType.TRIAL,
    status=AccountStatus.SUSPENDED,
    date_created=1_767_225_600.125,
    date_updated=1_767_225_601.5,
    revision=7,
)

APPLICATION = Application(
    application_id="AP" + "a" * 40,
    account_id=AC1,
    alias="ivr",
    voice_url="http://app/voice",
    voice_fallback_url="http://app/fallback",
    call_connect_url="http://app/connect",
    status_callback_url="http://app/status",
    sms_url="http://app/sms",
    sms_fallback_url="http://app/sms-fallback",
    date_created=10.25,
    date_updated=11.75,
    revision=3,
)

NUMBER = IncomingNumber(
    phone_number_id="PN" + "b" * 40,
    account_id=AC1,
    phone_number="+15551230001",
    application_id=APPLICATION.application_id,
    alias="support line",
    region="CA",
    country="US",
    voice_enabled=False,
    sms_enabled=False,
    toll_free=True,
    date_created=20.5,
    date_updated=21.5,
    revision=2,
)

CALL = Call(
    call_id=call_id(1),
    account_id=AC1,
    from_="+15550000001",
    to="+15550000002",
    direction=CallDirection.OUTBOUND_DIAL,
    status=CallStatus.COMPLETED,
    application_id=APPLICATION.application_id,
    parent_call_id=call_id(99),
    phone_number_id=NUMBER.phone_number_id,
    answered_by=AnsweredBy.MACHINE,
    caller_name="Ada",
    call_ended_reason=CallEndedReason.FAR_END_HANGUP,
    conference_id="CF" + "c" * 40,
    queue_id="QU" + "d" * 40,
    request_id="RQ" + "e" * 40,
    start_time=100.1,
    connect_time=103.3,
    end_time=160.7,
    date_created=99.9,
    date_updated=160.8,
    revision=5,
    call_connect_url="http://app/cc",
    status_callback_url="http://app/sc",
    if_machine="redirect",
    if_machine_url="http://app/machine",
    send_digits="1{2}3",
    timeout_s=45,
    privacy_mode=True,
)


CF1 = "CF" + "1" * 40
CF2 = "CF" + "2" * 40
QU1 = "QU" + "1" * 40

CONFERENCE = Conference(
    conference_id=CF1, account_id=AC1, alias="room 7", play_beep=PlayBeep.ENTRY_ONLY, record=True,
    status=ConferenceStatus.IN_PROGRESS, wait_url="http://app/wait.wav", action_url="http://app/created",
    status_callback_url="http://app/status", request_id="RQ" + "3" * 40, date_created=100.5,
    date_updated=101.25, revision=4,
)
PARTICIPANT = Participant(
    conference_id=CF1, call_id=call_id(1), account_id=AC1, talk=False, listen=False,
    dtmf_pass_through=False, start_conf_on_enter=False, allow_call_control=True,
    call_control_sequence="*9", call_control_url="http://app/cc", leave_conference_url="http://app/left",
    notification_url="http://app/added", date_created=102.0, date_updated=103.0, revision=2,
)
QUEUE = Queue(
    queue_id=QU1, account_id=AC1, alias="support", max_size=7, removed_count=3, removed_total_s=45.5,
    dequeued_count=2, dequeued_total_s=30.25, date_created=5.0, date_updated=6.0, revision=3,
)
MEMBER = QueueMember(
    queue_id=QU1, call_id=call_id(9), account_id=AC1, date_enqueued=50.0, seq=4,
    wait_url="http://app/wait", action_url="http://app/action", notification_url="http://app/note",
)
MESSAGE = Message(
    message_id="SM" + "5" * 40, account_id=AC1, from_="+15551230001", to="+15557770001", text="hi there",
    direction=MessageDirection.OUTBOUND, status=MessageStatus.SENT, notification_url="http://app/sms",
    application_id="AP" + "a" * 40, phone_number_id="PN" + "b" * 40, call_id=call_id(3), segment_count=2,
    media_urls=("http://app/a.png", "http://app/b.png"), request_id="RQ" + "6" * 40,
    date_created=70.0, date_updated=71.0, revision=2,
)


def mk_call(n: int, **changes: object) -> Call:
    """A bare inbound call `n` of AC1, created at clock second n."""
    base = Call(call_id(n), AC1, "+15550000001", "+15550000002", CallDirection.INBOUND)
    return dataclasses.replace(base, **{"date_created": float(n), **changes})  # type: ignore[arg-type]
