"""Site codes, regions and SKUs: the names people type, read and compare, so two that look alike must be one.

A code is taken in Unicode NFC (so "É" typed as E + combining accent is the same code as the one-character "É"),
without surrounding spaces, and may hold only letters and digits (of any script: Unicode categories L and Nd),
"-", "_" and ".", beginning with a letter or a digit. Everything else is refused as INVALID on the field: spaces
inside, punctuation, and above all what cannot be seen: format characters (category Cf: zero-width space and
joiners, bidirectional marks, soft hyphen), control characters, combining marks left over after NFC, and the
Hangul filler letters, which show nothing. A lookup by code takes the same normal form (`normal`).
"""

from __future__ import annotations

import unicodedata

from pooling.errors import ErrorCode, Field, PoolingError

CHARACTERS = 'letters, digits, "-", "_" and "."'
SITE_CODE_LENGTH, REGION_LENGTH, SKU_LENGTH = 32, 64, 64
PUNCTUATION = frozenset("-_.")
# Letters by category that show nothing: the Hangul fillers (Lo), a known way to make a blank look-alike.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def described(longest: int) -> str:
    """The rule in a sentence, for the API's schema."""
    return (
        f"1 to {longest} {CHARACTERS} (letters and digits of any script), beginning with a letter or digit; taken "
        "in Unicode NFC without surrounding spaces. Anything else (spaces inside, punctuation, invisible, format or "
        "control characters such as a zero-width space) is INVALID."
    )


def normal(value: str) -> str:
    """The form a code is stored and compared in (NFC, no surrounding spaces); lookups use it too."""
    return unicodedata.normalize("NFC", value).strip(" \t\r\n")


def checked(value: str, field: str, longest: int) -> str:
    """A new code in its normal form, or INVALID naming the field and the first character it cannot hold."""
    code = normal(value)
    if not code:
        raise PoolingError(ErrorCode.INVALID, "{name} cannot be empty.", field, name=Field(field))
    if len(code) > longest:
        raise PoolingError(
            ErrorCode.INVALID, "{name} is longer than {longest} characters.", field, name=Field(field), longest=longest
        )
    for position, character in enumerate(code):
        if not _allowed(character, first=position == 0):
            raise PoolingError(
                ErrorCode.INVALID,
                "{name} may hold only {characters}, beginning with a letter or digit; it has {character} at "
                "position {position}.",
                field,
                name=Field(field),
                characters=CHARACTERS,
                character=_shown(character),
                position=position + 1,
            )
    return code


def _allowed(character: str, first: bool) -> bool:
    if character in BLANK_LETTERS:
        return False
    kind = unicodedata.category(character)
    return kind.startswith("L") or kind == "Nd" or (not first and character in PUNCTUATION)


def _shown(character: str) -> str:
    """A character named so that it can be seen: U+200B (ZERO WIDTH SPACE)."""
    name = unicodedata.name(character, unicodedata.category(character))
    return f"U+{ord(character):04X} ({name})"
