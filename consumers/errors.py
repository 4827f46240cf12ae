"""Errors a handler raises to tell the runtime what to do with a message.

`InvalidMessage` and `PermanentFailure` (and `integrations.http.PermanentHTTPError`)
send the message straight to the consumer's dead-letter topic. Any other exception,
`TransientHTTPError` included, is retried in place with exponential backoff, then
dead-lettered with the number of attempts.
"""


class InvalidMessage(Exception):
    """The message cannot be processed as it is: bad payload, unknown version..."""


class PermanentFailure(Exception):
    """Processing failed in a way retrying cannot fix (e.g. a 4xx from an external API)."""
