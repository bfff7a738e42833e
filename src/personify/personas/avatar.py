"""A persona's picture: an illustrated Avataaars-style avatar from ``python_avatars``.

``python_avatars`` (MIT licence; the Avataaars artwork by Pablo Stanley is free for personal
and commercial use) assembles SVG parts that ship inside the wheel: it works offline and
never draws a real person. The avatar is matched to the persona:

- gender (the segment's majority, or the gender its name was picked for): hair styles,
  facial hair;
- age band (under 30, 30-49, 50-64, 65 and over, from the median age): clothing, glasses,
  grey hair from 50, thinning hair for some older men;
- style: smart clothes (blazer) for a persona worth more than its size (revenue share above
  customer share), casual ones otherwise; a serious face for a negative persona.

Everything else (skin tone, hair colour, the exact cut) is drawn from a hash of the
persona's slug, so a persona keeps its face from run to run and no two look alike by
chance. No customer data, text or id reaches the SVG. The SVG's element ids are prefixed
per persona, so several avatars can be inlined in one HTML page.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import python_avatars as pa

__all__ = ["AvatarTraits", "avatar_traits", "persona_avatar_svg"]

_GENDER = {
    **dict.fromkeys(("female", "f", "woman", "w", "weiblich", "frau", "femme"), "female"),
    **dict.fromkeys(("male", "m", "man", "männlich", "mann", "homme"), "male"),
}
HAIR = {
    "female": (
        pa.HairType.BOB,
        pa.HairType.LONG_NOT_TOO_LONG,
        pa.HairType.STRAIGHT_1,
        pa.HairType.STRAIGHT_2,
        pa.HairType.CURVY,
        pa.HairType.BUN,
        pa.HairType.MIA_WALLACE,
        pa.HairType.CURLY,
        pa.HairType.BIG_HAIR,
    ),
    "male": (
        pa.HairType.SHORT_FLAT,
        pa.HairType.SHORT_WAVED,
        pa.HairType.SHORT_ROUND,
        pa.HairType.CAESAR,
        pa.HairType.CAESAR_SIDE_PART,
        pa.HairType.SHORT_CURLY,
        pa.HairType.SHAGGY,
    ),
    None: (
        pa.HairType.SHORT_WAVED,
        pa.HairType.BOB,
        pa.HairType.SHORT_CURLY,
        pa.HairType.CURLY,
        pa.HairType.SHORT_ROUND,
    ),
}
SKIN = (
    pa.SkinColor.PALE,
    pa.SkinColor.LIGHT,
    pa.SkinColor.BROWN,
    pa.SkinColor.DARK_BROWN,
    pa.SkinColor.BLACK,
)
YOUNG_HAIR = (
    pa.HairColor.BLACK,
    pa.HairColor.BROWN,
    pa.HairColor.BROWN_DARK,
    pa.HairColor.BLONDE,
    pa.HairColor.BLONDE_GOLDEN,
    pa.HairColor.AUBURN,
)
OLD_HAIR = (pa.HairColor.SILVER_GRAY, pa.HairColor.PLATINUM)
CLOTHING = {
    ("smart", "young"): (pa.ClothingType.BLAZER_SWEATER, pa.ClothingType.COLLAR_SWEATER),
    ("smart", "older"): (pa.ClothingType.BLAZER_SHIRT, pa.ClothingType.BLAZER_SWEATER),
    ("casual", "young"): (pa.ClothingType.HOODIE, pa.ClothingType.SHIRT_CREW_NECK),
    ("casual", "older"): (
        pa.ClothingType.SHIRT_V_NECK,
        pa.ClothingType.COLLAR_SWEATER,
        pa.ClothingType.SHIRT_SCOOP_NECK,
    ),
}
CLOTHES_COLOUR = (
    pa.ClothingColor.BLUE_02,
    pa.ClothingColor.BLUE_03,
    pa.ClothingColor.HEATHER,
    pa.ClothingColor.PASTEL_GREEN,
    pa.ClothingColor.RED,
    pa.ClothingColor.PASTEL_ORANGE,
    pa.ClothingColor.GRAY_02,
    pa.ClothingColor.PASTEL_BLUE,
)
BACKGROUND = ("#dbe4ff", "#d3f9d8", "#fff3bf", "#ffe3e3", "#e5dbff", "#c5f6fa", "#ffe8cc")


class AvatarTraits(dict[str, Any]):
    """gender ('female', 'male' or None), age_band, style ('smart'/'casual'), negative."""


def _age_band(age: float | None) -> str:
    if age is None:
        return "30-49"
    return "under 30" if age < 30 else "30-49" if age < 50 else "50-64" if age < 65 else "65+"


def _name_gender(name: str) -> str | None:
    from personify.personas.naming import FIRST_NAMES, FIRST_NAMES_DE

    found = {
        g
        for table in (FIRST_NAMES, FIRST_NAMES_DE)
        for (g, _), names in table.items()
        if name in names
    }
    return found.pop() if len(found) == 1 else None


def avatar_traits(doc: dict[str, Any]) -> AvatarTraits:
    """What the avatar is matched to, read from a persona document."""
    demo = doc.get("demographics") or {}
    gender = None
    shares = demo.get("gender") or []
    if shares:
        gender = _GENDER.get(str(shares[0].get("value", "")).strip().lower())
    named = _name_gender(str(doc.get("name") or ""))
    if named:  # the name was picked for a gender: the picture matches the name
        gender = named
    age = (demo.get("age") or {}).get("median")
    value, size = doc.get("value") or {}, doc.get("size") or {}
    revenue, customers = value.get("revenue_share"), size.get("share")
    smart = (
        isinstance(revenue, int | float)
        and isinstance(customers, int | float)
        and revenue > customers
    )
    style = "smart" if smart else "casual"
    return AvatarTraits(
        gender=gender,
        age_band=_age_band(float(age) if isinstance(age, int | float) else None),
        style=style,
        negative=bool(doc.get("negative")),
    )


def _pick(options: tuple[Any, ...], digest: bytes, i: int) -> Any:
    return options[digest[i] % len(options)]


def persona_avatar_svg(
    key: str, traits: AvatarTraits | None = None, *, size: int = 96, prefix: str | None = None
) -> str:
    """The avatar as an inline ``<svg>`` of ``size`` pixels, deterministic for ``key``."""
    traits = traits or AvatarTraits(gender=None, age_band="30-49", style="casual", negative=False)
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    gender, band = traits.get("gender"), traits.get("age_band", "30-49")
    older = band in ("50-64", "65+")
    top: Any = _pick(HAIR.get(gender, HAIR[None]), digest, 0)
    if gender == "male" and band == "65+" and digest[1] % 2:
        top = pa.HairType.SIDES  # thinning on top
    hair_colour = _pick(OLD_HAIR if older else YOUNG_HAIR, digest, 2)
    facial = pa.FacialHairType.NONE
    if gender == "male" and digest[3] % 3 == 0:
        facial = _pick((pa.FacialHairType.BEARD_LIGHT, pa.FacialHairType.BEARD_MEDIUM), digest, 4)
    accessory = pa.AccessoryType.NONE
    if older and digest[5] % 3 != 0:
        accessory = _pick((pa.AccessoryType.PRESCRIPTION_1, pa.AccessoryType.ROUND), digest, 6)
    elif digest[5] % 5 == 0:
        accessory = pa.AccessoryType.PRESCRIPTION_2
    clothing = _pick(
        CLOTHING[(str(traits.get("style", "casual")), "older" if older else "young")], digest, 7
    )
    negative = bool(traits.get("negative"))
    avatar = pa.Avatar(
        style=pa.AvatarStyle.CIRCLE,
        background_color=_pick(BACKGROUND, digest, 8),
        top=top,
        hair_color=hair_colour,
        facial_hair=facial,
        facial_hair_color=hair_colour,
        skin_color=_pick(SKIN, digest, 9),
        eyebrows=pa.EyebrowType.FLAT_NATURAL if negative else pa.EyebrowType.DEFAULT_NATURAL,
        eyes=pa.EyeType.DEFAULT,
        nose=pa.NoseType.DEFAULT,
        mouth=pa.MouthType.SERIOUS
        if negative
        else _pick((pa.MouthType.SMILE, pa.MouthType.DEFAULT, pa.MouthType.TWINKLE), digest, 10),
        accessory=accessory,
        clothing=clothing,
        clothing_color=_pick(CLOTHES_COLOUR, digest, 11),
    )
    return _inline(avatar.render(), prefix or "av" + digest.hex()[:8], size)


def _inline(svg: str, prefix: str, size: int) -> str:
    """The library's SVG made safe to inline many times: ids prefixed, no title or desc."""
    svg = re.sub(r"<title[^>]*>.*?</title>|<desc>.*?</desc>", "", svg, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    mapping = {old: f"{prefix}-{i}" for i, old in enumerate(sorted(ids))}
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{mapping[m.group(1)]}"', svg)
    svg = re.sub(
        r"(url\(#|href=\"#)([^)\"]+)",
        lambda m: m.group(1) + mapping.get(m.group(2), m.group(2)),
        svg,
    )
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    px = int(size)
    # Square: the library's canvas is 264 x 280; its circle sits in the top 264 x 264... so
    # keep the whole canvas and let the width set the size.
    svg = re.sub(
        r"<svg [^>]*>",
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{px}" height="{px}" viewBox="0 0 264 280" role="img" '
        'aria-hidden="true">',
        svg,
        count=1,
    )
    from personify.personas.charts import presentation_attributes

    return presentation_attributes(re.sub(r">\s+<", "><", svg).strip())
