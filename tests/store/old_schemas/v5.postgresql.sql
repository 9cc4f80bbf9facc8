CREATE TABLE public.accounts (
    account_id character varying NOT NULL,
    api_key character varying NOT NULL,
    signing_secret character varying NOT NULL,
    alias character varying,
    label character varying,
    type character varying NOT NULL,
    status character varying NOT NULL,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.applications (
    application_id character varying NOT NULL,
    account_id character varying NOT NULL,
    alias character varying,
    voice_url character varying,
    voice_fallback_url character varying,
    call_connect_url character varying,
    status_callback_url character varying,
    sms_url character varying,
    sms_fallback_url character varying,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.blobs (
    blob_id character varying NOT NULL,
    account_id character varying NOT NULL,
    alias character varying NOT NULL,
    content text NOT NULL,
    expires_at double precision NOT NULL,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.calls (
    call_id character varying NOT NULL,
    account_id character varying NOT NULL,
    from_number character varying NOT NULL,
    to_number character varying NOT NULL,
    direction character varying NOT NULL,
    status character varying NOT NULL,
    application_id character varying,
    parent_call_id character varying,
    phone_number_id character varying,
    answered_by character varying,
    caller_name character varying,
    call_ended_reason character varying,
    conference_id character varying,
    queue_id character varying,
    request_id character varying,
    start_time double precision,
    connect_time double precision,
    end_time double precision,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL,
    call_connect_url character varying,
    status_callback_url character varying,
    if_machine character varying,
    if_machine_url character varying,
    send_digits character varying,
    timeout_s integer NOT NULL,
    privacy_mode boolean NOT NULL
);
CREATE TABLE public.conferences (
    conference_id character varying NOT NULL,
    account_id character varying NOT NULL,
    alias character varying,
    play_beep character varying NOT NULL,
    record boolean NOT NULL,
    status character varying NOT NULL,
    wait_url character varying,
    action_url character varying,
    status_callback_url character varying,
    request_id character varying,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.exports (
    export_id character varying NOT NULL,
    account_id character varying NOT NULL,
    resource_type character varying NOT NULL,
    fields text NOT NULL,
    query text NOT NULL,
    status character varying NOT NULL,
    size integer NOT NULL,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.logs (
    log_id integer NOT NULL,
    "timestamp" bigint NOT NULL,
    level character varying NOT NULL,
    account_id character varying NOT NULL,
    message text NOT NULL,
    request_id character varying,
    call_id character varying,
    metadata text NOT NULL
);
CREATE SEQUENCE public.logs_log_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.logs_log_id_seq OWNED BY public.logs.log_id;
CREATE TABLE public.messages (
    message_id character varying NOT NULL,
    account_id character varying NOT NULL,
    from_number character varying NOT NULL,
    to_number character varying NOT NULL,
    text text NOT NULL,
    direction character varying NOT NULL,
    status character varying NOT NULL,
    notification_url character varying,
    application_id character varying,
    phone_number_id character varying,
    call_id character varying,
    segment_count integer NOT NULL,
    media_urls text NOT NULL,
    request_id character varying,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.numbers (
    phone_number_id character varying NOT NULL,
    account_id character varying NOT NULL,
    phone_number character varying NOT NULL,
    application_id character varying,
    alias character varying,
    region character varying,
    country character varying,
    voice_enabled boolean NOT NULL,
    sms_enabled boolean NOT NULL,
    toll_free boolean NOT NULL,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.participants (
    conference_id character varying NOT NULL,
    call_id character varying NOT NULL,
    account_id character varying NOT NULL,
    talk boolean NOT NULL,
    listen boolean NOT NULL,
    dtmf_pass_through boolean NOT NULL,
    start_conf_on_enter boolean NOT NULL,
    allow_call_control boolean NOT NULL,
    call_control_sequence character varying,
    call_control_url character varying,
    leave_conference_url character varying,
    notification_url character varying,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.queue_members (
    call_id character varying NOT NULL,
    queue_id character varying NOT NULL,
    account_id character varying NOT NULL,
    date_enqueued double precision NOT NULL,
    seq integer NOT NULL,
    wait_url character varying,
    action_url character varying,
    notification_url character varying,
    inserted bigint DEFAULT '0'::bigint NOT NULL
);
CREATE TABLE public.queues (
    queue_id character varying NOT NULL,
    account_id character varying NOT NULL,
    alias character varying,
    max_size integer NOT NULL,
    removed_count integer NOT NULL,
    removed_total_s double precision NOT NULL,
    dequeued_count integer NOT NULL,
    dequeued_total_s double precision NOT NULL,
    date_created double precision NOT NULL,
    date_updated double precision NOT NULL,
    revision integer NOT NULL
);
CREATE TABLE public.schema_version (
    version integer NOT NULL
);
ALTER TABLE ONLY public.logs ALTER COLUMN log_id SET DEFAULT nextval('public.logs_log_id_seq'::regclass);
INSERT INTO public.accounts VALUES ('AC1111111111111111111111111111111111111111', 'key-1', 'sec-1', 'main', 'the label', 'trial', 'suspended', 1767225600.125, 1767225601.5, 7);
INSERT INTO public.applications VALUES ('APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'AC1111111111111111111111111111111111111111', 'ivr', 'http://app/voice', 'http://app/fallback', 'http://app/connect', 'http://app/status', 'http://app/sms', 'http://app/sms-fallback', 10.25, 11.75, 3);
INSERT INTO public.calls VALUES ('CA0000000000000000000000000000000000000001', 'AC1111111111111111111111111111111111111111', '+15550000001', '+15550000002', 'outboundDial', 'completed', 'APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'CA0000000000000000000000000000000000000063', 'PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'machine', 'Ada', 'farEndHangup', 'CFcccccccccccccccccccccccccccccccccccccccc', 'QUdddddddddddddddddddddddddddddddddddddddd', 'RQeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', 100.1, 103.3, 160.7, 99.9, 160.8, 5, 'http://app/cc', 'http://app/sc', 'redirect', 'http://app/machine', '1{2}3', 45, true);
INSERT INTO public.conferences VALUES ('CF1111111111111111111111111111111111111111', 'AC1111111111111111111111111111111111111111', 'room 7', 'entryOnly', true, 'inProgress', 'http://app/wait.wav', 'http://app/created', 'http://app/status', 'RQ3333333333333333333333333333333333333333', 100.5, 101.25, 4);
INSERT INTO public.logs VALUES (1, 1700000000000000, 'info', 'AC1111111111111111111111111111111111111111', 'old line', 'RQ1111111111111111111111111111111111111111', 'CA0000000000000000000000000000000000000001', '{"k":[1,"two"]}');
INSERT INTO public.messages VALUES ('SM5555555555555555555555555555555555555555', 'AC1111111111111111111111111111111111111111', '+15551230001', '+15557770001', 'hi there', 'outbound', 'sent', 'http://app/sms', 'APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'CA0000000000000000000000000000000000000003', 2, '["http://app/a.png","http://app/b.png"]', 'RQ6666666666666666666666666666666666666666', 70, 71, 2);
INSERT INTO public.numbers VALUES ('PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'AC1111111111111111111111111111111111111111', '+15551230001', 'APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'support line', 'CA', 'US', false, false, true, 20.5, 21.5, 2);
INSERT INTO public.participants VALUES ('CF1111111111111111111111111111111111111111', 'CA0000000000000000000000000000000000000001', 'AC1111111111111111111111111111111111111111', false, false, false, false, true, '*9', 'http://app/cc', 'http://app/left', 'http://app/added', 102, 103, 2);
INSERT INTO public.queue_members VALUES ('CA0000000000000000000000000000000000000009', 'QU1111111111111111111111111111111111111111', 'AC1111111111111111111111111111111111111111', 50, 4, 'http://app/wait', 'http://app/action', 'http://app/note', 0);
INSERT INTO public.queues VALUES ('QU1111111111111111111111111111111111111111', 'AC1111111111111111111111111111111111111111', 'support', 7, 3, 45.5, 2, 30.25, 5, 6, 3);
INSERT INTO public.schema_version VALUES (5);
SELECT pg_catalog.setval('public.logs_log_id_seq', 1, true);
ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (account_id);
ALTER TABLE ONLY public.applications
    ADD CONSTRAINT applications_pkey PRIMARY KEY (application_id);
ALTER TABLE ONLY public.blobs
    ADD CONSTRAINT blobs_pkey PRIMARY KEY (blob_id);
ALTER TABLE ONLY public.calls
    ADD CONSTRAINT calls_pkey PRIMARY KEY (call_id);
ALTER TABLE ONLY public.conferences
    ADD CONSTRAINT conferences_pkey PRIMARY KEY (conference_id);
ALTER TABLE ONLY public.exports
    ADD CONSTRAINT exports_pkey PRIMARY KEY (export_id);
ALTER TABLE ONLY public.logs
    ADD CONSTRAINT logs_pkey PRIMARY KEY (log_id);
ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (message_id);
ALTER TABLE ONLY public.numbers
    ADD CONSTRAINT numbers_pkey PRIMARY KEY (phone_number_id);
ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_pkey PRIMARY KEY (conference_id, call_id);
ALTER TABLE ONLY public.queue_members
    ADD CONSTRAINT queue_members_pkey PRIMARY KEY (call_id);
ALTER TABLE ONLY public.queues
    ADD CONSTRAINT queues_pkey PRIMARY KEY (queue_id);
CREATE INDEX ix_applications_account ON public.applications USING btree (account_id);
CREATE INDEX ix_blobs_expires_at ON public.blobs USING btree (expires_at);
CREATE INDEX ix_calls_account_created ON public.calls USING btree (account_id, date_created);
CREATE INDEX ix_calls_status ON public.calls USING btree (status);
CREATE INDEX ix_conferences_account_created ON public.conferences USING btree (account_id, date_created);
CREATE INDEX ix_exports_account_created ON public.exports USING btree (account_id, date_created);
CREATE INDEX ix_logs_account_timestamp ON public.logs USING btree (account_id, "timestamp");
CREATE INDEX ix_logs_call_timestamp ON public.logs USING btree (call_id, "timestamp");
CREATE INDEX ix_messages_account_created ON public.messages USING btree (account_id, date_created);
CREATE INDEX ix_numbers_account ON public.numbers USING btree (account_id);
CREATE INDEX ix_participants_call ON public.participants USING btree (call_id);
CREATE INDEX ix_queue_members_queue ON public.queue_members USING btree (queue_id, date_enqueued, seq);
CREATE INDEX ix_queues_account_created ON public.queues USING btree (account_id, date_created);
CREATE UNIQUE INDEX ux_blobs_account_alias ON public.blobs USING btree (account_id, alias);
CREATE UNIQUE INDEX ux_numbers_phone_number ON public.numbers USING btree (phone_number);
