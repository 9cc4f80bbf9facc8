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
	PRIMARY KEY (call_id)
);
INSERT INTO "calls" VALUES('CA0000000000000000000000000000000000000001','AC1111111111111111111111111111111111111111','+15550000001','+15550000002','outboundDial','completed','APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','CA0000000000000000000000000000000000000063','PNbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','machine','Ada','farEndHangup','CFcccccccccccccccccccccccccccccccccccccccc','QUdddddddddddddddddddddddddddddddddddddddd','RQeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',100.1,103.3,160.7,99.9,160.8,5,'http://app/cc','http://app/sc','redirect','http://app/machine','1{2}3',45,1);
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
CREATE TABLE schema_version (
	version INTEGER NOT NULL
);
INSERT INTO "schema_version" VALUES(1);
CREATE INDEX ix_applications_account ON applications (account_id);
CREATE UNIQUE INDEX ux_numbers_phone_number ON numbers (phone_number);
CREATE INDEX ix_numbers_account ON numbers (account_id);
CREATE INDEX ix_calls_status ON calls (status);
CREATE INDEX ix_calls_account_created ON calls (account_id, date_created);
CREATE INDEX ix_logs_account_timestamp ON logs (account_id, timestamp);
CREATE INDEX ix_logs_call ON logs (call_id);
COMMIT;
