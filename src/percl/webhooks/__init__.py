"""Webhooks: bodies (payloads), FreeClimb-Signature (signing), the dispatcher and its transports.

Implements engine.ports.WebhookSender. Depends only on engine.ports, domain and percl (privacy masking).
"""

from percl.webhooks.dispatcher import WebhookDispatcher
from percl.webhooks.payloads import build_body, encode, mask
from percl.webhooks.signing import signature_header, verify
from percl.webhooks.transport import TransportError, TransportResponse, WebhookTransport

__all__ = [
    "TransportError",
    "TransportResponse",
    "WebhookDispatcher",
    "WebhookTransport",
    "build_body",
    "encode",
    "mask",
    "signature_header",
    "verify",
]
