"""The scanner's identity: the application user ``metis`` (DataOS' ``runAsUser: metis``).

Created when the catalog first opens, with no API key (an operator, or later the scanner
stack, creates one). It is the only identity that receives source credentials in clear
(see ``access``); what it may write is up to policies on ``/metis/**``.
"""

from __future__ import annotations

from dataos_defs.metis.access import SCANNER_ROLE_TAG, SCANNER_USER_ID
from dataos_defs.poros.identities import Identities, UserExists

SCANNER_NAME = "Metis scanner"


def ensure_scanner_user(identities: Identities) -> None:
    if identities.get_user(SCANNER_USER_ID) is not None:
        return
    try:
        identities.create_user(
            SCANNER_USER_ID, "application", SCANNER_NAME, tags=[SCANNER_ROLE_TAG], actor="metis"
        )
    except UserExists:
        return
