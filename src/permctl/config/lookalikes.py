"""Text that looks like one name but is another: refused before it can name a principal.

Names in the file are matched against names in the cloud, and CloudSSO compares them without
regard to case (Unicode case: the Kelvin sign K lower-cases to a plain k). A name with a
Cyrillic a (U+0430) in `alice`, a zero-width space, or a compatibility character would either match
nobody with an error that shows two identical-looking names, or, through case folding, match
somebody else. So such text is refused where it is written, naming the character.
"""

from __future__ import annotations

import unicodedata

# Letters of scripts other than Latin that are drawn like a Latin letter.
_LATIN_LOOKALIKES = {
    **dict(zip("аеорсхуіјѕԁԛԝһӏкү", "aeopcxyijsdqwhlky", strict=True)),
    **dict(zip("АВЕКМНОРСТХЅІЈԚԜУҮӀ", "ABEKMHOPCTXSIJQWYYI", strict=True)),
    **dict(zip("αορνυικχϲϳ", "aopvuikxcj", strict=True)),
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),  # noqa: RUF001
}
_CONFUSABLE_SCRIPTS = ("CYRILLIC", "GREEK")

# Drawn as nothing at all, besides the format characters (zero-width space and joiner, bidi
# overrides, byte order mark).
_INVISIBLE = frozenset(
    (
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0),
        *range(0x180B, 0x1810),  # Mongolian variation selectors
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    )
)


def lookalike_problem(text: str) -> str | None:
    """Why `text` could pass for another name, or None when it cannot."""
    for char in text:
        if ord(char) in _INVISIBLE or unicodedata.category(char) == "Cf":
            return f"contains the invisible character {_describe(char)}; remove it"
        variant_of = unicodedata.normalize("NFKC", char)
        if variant_of != char:
            return f"contains {_describe(char)}, a variant of {variant_of!r}; write {variant_of!r}"
    if unicodedata.normalize("NFC", text) != text:
        return _combining_problem(text)
    return _script_problem(text)


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED')}"


def _combining_problem(text: str) -> str:
    index = next(i for i, c in enumerate(text) if unicodedata.combining(c) and i > 0)
    merged = unicodedata.normalize("NFC", text[index - 1 : index + 1])
    if len(merged) == 1:
        return (
            f"contains {_describe(text[index])}, which merges with the letter before it into "
            f"{merged!r}; write {merged!r} as one character"
        )
    return f"contains {_describe(text[index])} out of its usual order; retype the name"


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ", 1)[0]


def _script_problem(text: str) -> str | None:
    letters = [c for c in text if c.isalpha()]
    foreign = [c for c in letters if _script(c) in _CONFUSABLE_SCRIPTS]
    if not foreign:
        return None
    if any(_script(c) == "LATIN" for c in letters):
        first = foreign[0]
        looks = f", which looks like the Latin {_LATIN_LOOKALIKES[first]!r}"
        return (
            f"mixes Latin letters with {_describe(first)}"
            f"{looks if first in _LATIN_LOOKALIKES else ''}; write the name in one script"
        )
    if all(c in _LATIN_LOOKALIKES for c in letters):
        latin = "".join(_LATIN_LOOKALIKES.get(c, c) for c in text)
        return (
            f"is written in {_script(foreign[0]).title()} letters that look like the Latin "
            f"{latin!r}; write it in Latin letters"
        )
    return None
