"""Shared vocabulary: ids, phone numbers, wire enums, frozen records and the Clock protocol."""
