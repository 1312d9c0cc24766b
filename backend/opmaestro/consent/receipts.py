"""Consent receipts: signed JWS documents shaped after Kantara Consent Receipt 1.1 and ISO/IEC TS 27560."""

from email.utils import parseaddr
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.consent.models import CollectionMethod, ConsentEvent, ConsentPurpose, LegalBasis
from opmaestro.core import jwt
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url

RECEIPT_VERSION = "KI-CR-v1.1.0"
CONTROLLER = "OpMaestro"
PURPOSE_CATEGORIES = {
    "marketing_email": ("Marketing", "contact"),
    "product_updates": ("Service updates", "contact"),
    "analytics": ("Analytics and improvement", "usage and device"),
    "personalization": ("Personalisation", "usage"),
    "necessary_cookies": ("Strictly necessary cookies", "device"),
    "marketing_cookies": ("Marketing", "usage and device"),
}
# Kantara: "explicit" when the subject took a clear affirmative step themselves.
IMPLICIT_METHODS = frozenset({CollectionMethod.GPC})


def receipt_claims(event: ConsentEvent, purpose: ConsentPurpose, settings: Settings) -> dict[str, Any]:
    base_url = public_url(settings)
    _, contact_email = parseaddr(settings.mail_from)
    category, pii_category = PURPOSE_CATEGORIES.get(purpose.key, (purpose.name, "account"))
    return {
        "iss": base_url,
        "iat": int(event.created_at.timestamp()),
        "version": RECEIPT_VERSION,
        "jurisdiction": event.jurisdiction,
        "consentTimestamp": int(event.created_at.timestamp()),
        "collectionMethod": event.method,
        "consentReceiptID": str(event.id),
        "language": "en",
        "piiPrincipalId": str(event.subject_user_id) if event.subject_user_id else event.device_id,
        "piiControllers": [
            {
                "piiController": CONTROLLER,
                "contact": "Privacy team",
                "email": contact_email,
                "url": base_url,
            }
        ],
        "policyUrl": public_url(settings, "/privacy"),
        "policyVersion": event.policy_version,
        "policySha256": event.policy_sha256,
        "services": [
            {
                "service": CONTROLLER,
                "purposes": [
                    {
                        "purpose": purpose.key,
                        "purposeName": purpose.name,
                        "purposeVersion": event.purpose_version,
                        "purposeCategory": [category],
                        "consentType": "implicit" if event.method in IMPLICIT_METHODS else "explicit",
                        "legalBasis": purpose.legal_basis,
                        "piiCategory": [pii_category],
                        "primaryPurpose": purpose.legal_basis == LegalBasis.CONTRACT,
                        "termination": "Until withdrawn in the privacy settings or by an unsubscribe link.",
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "action": event.action,
        "eventHash": event.hash,
    }


async def issue(
    session: AsyncSession, event: ConsentEvent, purpose: ConsentPurpose, settings: Settings
) -> tuple[str, dict[str, Any]]:
    """The receipt of one ledger event, signed with the current key (published in the JWKS)."""
    claims = receipt_claims(event, purpose, settings)
    token = await jwt.sign_receipt(session, settings.secret_key.get_secret_value(), claims)
    return token, claims
