BEGIN TRANSACTION;
CREATE TABLE accounts (
	account_id VARCHAR NOT NULL, 
	api_key VARCHAR NOT NULL, 
	signing_secret VARCHAR NOT NULL, 
	alias VARCHAR, 
	label VARCHAR, 
	type VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (account_id)
);
INSERT INTO "accounts" VALUES('AC1111111111111111111111111111111111111111','key-1','sec-1','main','the label','trial','suspended',1767225600.125,1767225601.5,7);
CREATE TABLE applications (
	application_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	alias VARCHAR, 
	voice_url VARCHAR, 
	voice_fallback_url VARCHAR, 
	call_connect_url VARCHAR, 
	status_callback_url VARCHAR, 
	sms_url VARCHAR, 
	sms_fallback_url VARCHAR, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (application_id)
);
INSERT INTO "applications" VALUES('APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','AC1111111111111111111111111111111111111111','ivr','http://app/voice','http://app/fallback','http://app/connect','http://app/status','http://app/sms','http://app/sms-fallback',10.25,11.75,3);
CREATE TABLE blobs (
	blob_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	alias VARCHAR NOT NULL, 
	content TEXT NOT NULL, 
	expires_at FLOAT NOT NULL, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (blob_id)
);
CREATE TABLE calls (
	call_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	from_number VARCHAR NOT NULL, 
	to_number VARCHAR NOT NULL, 
	direction VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	application_id VARCHAR, 
	parent_call_id VARCHAR, 
	phone_number_id VARCHAR, 
	answered_by VARCHAR, 
	caller_name VARCHAR, 
	call_ended_reason VARCHAR, 
	conference_id VARCHAR, 
	queue_id VARCHAR, 
	request_id VARCHAR, 
	start_time FLOAT, 
	connect_time FLOAT, 
	end_time FLOAT, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	call_connect_url VARCHAR, 
	status_callback_url VARCHAR, 
	if_machine VARCHAR, 
	if_machine_url VARCHAR, 
	send_digits VARCHAR, 
	timeout_s INTEGER NOT NULL, 
	privacy_mode BOOLEAN NOT NULL, 
	audio_stream_ms INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (call_id)
);
INSERT INTO "calls" VALUES('CA0000000000000000000000000000000000000001','AC1111111111111111111111111111111111111111','+15550000001','+15550000002','outboundDial','completed','APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','CA0000000000000000000000000000000000000063','PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','machine','Ada','farEndHangup','CFcccccccccccccccccccccccccccccccccccccccc','QUdddddddddddddddddddddddddddddddddddddddd','RQeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',100.1,103.3,160.7,99.9,160.8,5,'http://app/cc','http://app/sc','redirect','http://app/machine','1{2}3',45,1,0);
CREATE TABLE conferences (
	conference_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	alias VARCHAR, 
	play_beep VARCHAR NOT NULL, 
	record BOOLEAN NOT NULL, 
	status VARCHAR NOT NULL, 
	wait_url VARCHAR, 
	action_url VARCHAR, 
	status_callback_url VARCHAR, 
	request_id VARCHAR, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (conference_id)
);
INSERT INTO "conferences" VALUES('CF1111111111111111111111111111111111111111','AC1111111111111111111111111111111111111111','room 7','entryOnly',1,'inProgress','http://app/wait.wav','http://app/created','http://app/status','RQ3333333333333333333333333333333333333333',100.5,101.25,4);
CREATE TABLE exports (
	export_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	resource_type VARCHAR NOT NULL, 
	fields TEXT NOT NULL, 
	"query" TEXT NOT NULL, 
	status VARCHAR NOT NULL, 
	size INTEGER NOT NULL, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (export_id)
);
CREATE TABLE leases (
	kind VARCHAR NOT NULL, 
	"key" VARCHAR NOT NULL, 
	owner VARCHAR NOT NULL, 
	expires_at FLOAT NOT NULL, 
	PRIMARY KEY (kind, "key")
);
CREATE TABLE logs (
	log_id INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	level VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	message TEXT NOT NULL, 
	request_id VARCHAR, 
	call_id VARCHAR, 
	metadata TEXT NOT NULL, 
	PRIMARY KEY (log_id)
);
INSERT INTO "logs" VALUES(1,1700000000000000,'info','AC1111111111111111111111111111111111111111','old line','RQ1111111111111111111111111111111111111111','CA0000000000000000000000000000000000000001','{"k":[1,"two"]}');
CREATE TABLE messages (
	message_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	from_number VARCHAR NOT NULL, 
	to_number VARCHAR NOT NULL, 
	text TEXT NOT NULL, 
	direction VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	notification_url VARCHAR, 
	application_id VARCHAR, 
	phone_number_id VARCHAR, 
	call_id VARCHAR, 
	segment_count INTEGER NOT NULL, 
	media_urls TEXT NOT NULL, 
	request_id VARCHAR, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (message_id)
);
INSERT INTO "messages" VALUES('SM5555555555555555555555555555555555555555','AC1111111111111111111111111111111111111111','+15551230001','+15557770001','hi there','outbound','sent','http://app/sms','APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','CA0000000000000000000000000000000000000003',2,'["http://app/a.png","http://app/b.png"]','RQ6666666666666666666666666666666666666666',70.0,71.0,2);
CREATE TABLE numbers (
	phone_number_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	phone_number VARCHAR NOT NULL, 
	application_id VARCHAR, 
	alias VARCHAR, 
	region VARCHAR, 
	country VARCHAR, 
	voice_enabled BOOLEAN NOT NULL, 
	sms_enabled BOOLEAN NOT NULL, 
	toll_free BOOLEAN NOT NULL, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (phone_number_id)
);
INSERT INTO "numbers" VALUES('PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','AC1111111111111111111111111111111111111111','+15551230001','APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','support line','CA','US',0,0,1,20.5,21.5,2);
CREATE TABLE participants (
	conference_id VARCHAR NOT NULL, 
	call_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	talk BOOLEAN NOT NULL, 
	listen BOOLEAN NOT NULL, 
	dtmf_pass_through BOOLEAN NOT NULL, 
	start_conf_on_enter BOOLEAN NOT NULL, 
	allow_call_control BOOLEAN NOT NULL, 
	call_control_sequence VARCHAR, 
	call_control_url VARCHAR, 
	leave_conference_url VARCHAR, 
	notification_url VARCHAR, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (conference_id, call_id)
);
INSERT INTO "participants" VALUES('CF1111111111111111111111111111111111111111','CA0000000000000000000000000000000000000001','AC1111111111111111111111111111111111111111',0,0,0,0,1,'*9','http://app/cc','http://app/left','http://app/added',102.0,103.0,2);
CREATE TABLE queue_members (
	call_id VARCHAR NOT NULL, 
	queue_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	date_enqueued FLOAT NOT NULL, 
	seq INTEGER NOT NULL, 
	wait_url VARCHAR, 
	action_url VARCHAR, 
	notification_url VARCHAR, 
	inserted BIGINT DEFAULT '0' NOT NULL, 
	PRIMARY KEY (call_id)
);
INSERT INTO "queue_members" VALUES('CA0000000000000000000000000000000000000009','QU1111111111111111111111111111111111111111','AC1111111111111111111111111111111111111111',50.0,4,'http://app/wait','http://app/action','http://app/note',0);
CREATE TABLE queues (
	queue_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	alias VARCHAR, 
	max_size INTEGER NOT NULL, 
	removed_count INTEGER NOT NULL, 
	removed_total_s FLOAT NOT NULL, 
	dequeued_count INTEGER NOT NULL, 
	dequeued_total_s FLOAT NOT NULL, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	PRIMARY KEY (queue_id)
);
INSERT INTO "queues" VALUES('QU1111111111111111111111111111111111111111','AC1111111111111111111111111111111111111111','support',7,3,45.5,2,30.25,5.0,6.0,3);
CREATE TABLE rates (
	"key" VARCHAR NOT NULL, 
	tat FLOAT NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE recordings (
	recording_id VARCHAR NOT NULL, 
	account_id VARCHAR NOT NULL, 
	call_id VARCHAR, 
	conference_id VARCHAR, 
	duration_sec INTEGER NOT NULL, 
	date_created FLOAT NOT NULL, 
	date_updated FLOAT NOT NULL, 
	revision INTEGER NOT NULL, 
	duration_ms INTEGER NOT NULL, 
	size INTEGER NOT NULL, 
	PRIMARY KEY (recording_id)
);
CREATE TABLE schema_version (
	version INTEGER NOT NULL
);
INSERT INTO "schema_version" VALUES(9);
CREATE INDEX ix_applications_account ON applications (account_id);
CREATE UNIQUE INDEX ux_numbers_phone_number ON numbers (phone_number);
CREATE INDEX ix_numbers_account ON numbers (account_id);
CREATE INDEX ix_calls_account_created ON calls (account_id, date_created);
CREATE INDEX ix_calls_status ON calls (status);
CREATE INDEX ix_logs_account_timestamp ON logs (account_id, timestamp);
CREATE INDEX ix_logs_call_timestamp ON logs (call_id, timestamp);
CREATE INDEX ix_conferences_account_created ON conferences (account_id, date_created);
CREATE INDEX ix_participants_call ON participants (call_id);
CREATE INDEX ix_queues_account_created ON queues (account_id, date_created);
CREATE INDEX ix_queue_members_queue ON queue_members (queue_id, date_enqueued, seq);
CREATE INDEX ix_messages_account_created ON messages (account_id, date_created);
CREATE INDEX ix_blobs_expires_at ON blobs (expires_at);
CREATE UNIQUE INDEX ux_blobs_account_alias ON blobs (account_id, alias);
CREATE INDEX ix_exports_account_created ON exports (account_id, date_created);
CREATE INDEX ix_leases_expires_at ON leases (expires_at);
CREATE INDEX ix_leases_owner ON leases (owner);
CREATE INDEX ix_recordings_account_created ON recordings (account_id, date_created);
CREATE INDEX ix_recordings_created ON recordings (date_created);
CREATE INDEX ix_recordings_call ON recordings (call_id);
CREATE INDEX ix_recordings_conference ON recordings (conference_id);
CREATE INDEX ix_rates_tat ON rates (tat);
COMMIT;
