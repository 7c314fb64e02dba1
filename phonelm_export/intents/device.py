"""The phone a plan runs against (the twin of ``Device`` / ``SimulatedDevice`` in android_demo/core)."""
from __future__ import annotations

from typing import Any

from .intent_types import ContactQuery, Intent
from .values import WHITESPACE


class SimulatedDevice:
    """A deterministic phone: a contact book, and made-up content URIs for intents with results.

    ``contacts``: list of dicts with name, email, phone, address, uri. ACTION_PICK returns the
    first contact's URI (the user "picks" it); other intents with a result return
    ``content://simulated/<function>/<call id>`` (a one-element list for ``uri_list``).
    """

    def __init__(self, contacts: list[dict] | None = None):
        self.contacts = list(contacts or [])

    def query(self, q: ContactQuery) -> Any:
        for c in self.contacts:
            if (q.by == "name" and c.get("name", "").lower() == q.value.strip(WHITESPACE).lower()) or (
                q.by == "uri" and c.get("uri") == q.value
            ):
                return c.get(q.key)
        return None

    def start(self, call: int, function: str, intent: Intent) -> Any:
        if intent.returns is None:
            return None
        if function == "ACTION_PICK":
            return self.contacts[0]["uri"] if self.contacts else None
        uri = f"content://simulated/{function}/{call}"
        return [uri] if intent.returns == "uri_list" else uri


class DryRunDevice(SimulatedDevice):
    """For the desktop: nothing is executed; the result of call N is the text ``resultN``."""

    def query(self, q: ContactQuery) -> Any:
        return None

    def start(self, call: int, function: str, intent: Intent) -> Any:
        return None
