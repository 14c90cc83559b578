"""The portal's only table: its browser sessions, findable by the Portero session they came from."""

from __future__ import annotations

from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class PortalSession(AbstractBaseSession):
    """A browser session of the portal, with the `sid` and `sub` of the ID token it signed in with.

    Django keeps a session's data as one encoded blob, which no query can look into. A
    back-channel logout token names only a Portero session (`sid`) or a person (`sub`), so both
    are copied into indexed columns beside the data: ending "every session with this sid" is
    then one DELETE instead of decoding every session in the table.
    """

    sid = models.CharField(max_length=255, blank=True, db_index=True)
    sub = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        db_table = "portal_session"

    def __str__(self) -> str:
        return self.session_key
