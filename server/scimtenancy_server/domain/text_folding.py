"""The identity of case-insensitive lookup values (`userName`, `displayName`, `emails.value`).

RFC 7643 §4.1.1 makes `userName` unique and caseExact=false, but leaves "case" to the
service. Two names a person cannot tell apart must be one name, so the fold is Unicode's
compatibility caseless match (The Unicode Standard §3.13, D146; the idea behind the derived
property NFKC_Casefold): `NFKC(casefold(NFKC(s)))`.

- NFKC first: canonically equivalent forms are one name (NFC `café` = NFD `café`), and so
  are compatibility forms (`admin` in full-width letters, U+FF41 U+FF44 …, = `admin`;
  the ligature U+FB01 = `fi`).
- Full case folding (`str.casefold`), not lower-casing: `straße` = `STRASSE`, and the
  ohm sign U+2126 = `ω`.
- NFKC again, because folding can leave a sequence unnormalised; the result is a fixed point
  (folding it again changes nothing: checked for every code point, and by property tests).

Why not RFC 8265 PRECIS UsernameCaseMapped (the `precis-i18n` package): it is an
enforcement profile, not a comparison. Its IdentifierClass refuses spaces and compatibility
characters (`John Smith`, U+FB01), so it would refuse names identity providers already send and
that are stored today; and its case mapping is `toLowerCase`, under which `straße` and
`STRASSE` stay two names. Here the stored value is kept as sent; only the comparison folds.

The fold depends on the Unicode version of the running Python (`unicodedata.unidata_version`);
after an upgrade that changes it, `scimtenancy-migrate refold-shadow-fields` brings stored
MongoDB shadow fields up to date.
"""

from __future__ import annotations

import unicodedata


def fold_identity(text: str) -> str:
    """The comparison form of a lookup value: equal folds mean one name."""
    if text.isascii():
        return text.lower()  # NFKC leaves ASCII as it is, and casefold is lower there
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
