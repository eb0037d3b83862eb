"""Key messages written from the figures, in French: « Le taux de chômage du quartier est 2,1 fois celui de
l'agglomération (31,2 % contre 14,9 %). »

A message is only written when both figures are shown (never from a secret or missing value); the wording
follows the size of the gap: « n fois » beyond a ratio of 1.5, a difference in points (rates) or in percent
otherwise, « proche » under a small threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.publish.pdf import numbers as fmt


@dataclass(frozen=True)
class Subject:
    """What a sentence speaks about: « le taux de chômage » (masculine) or « la part des familles… » (feminine)."""

    words: str
    feminine: bool = False

    @property
    def pronoun(self) -> str:
        return "celle" if self.feminine else "celui"

    def agree(self, adjective: str) -> str:
        return adjective + ("e" if self.feminine and not adjective.endswith("e") else "")


def _value(value: float, unit: str, decimals: int) -> str:
    return fmt.quantity(value, unit, decimals)


def compare(subject: Subject, value: float | None, reference: float | None, reference_words: str, *, unit: str,
            decimals: int = 1, whose: str = "du quartier") -> str | None:
    """One sentence comparing a figure with a reference (`reference_words`: « l'agglomération », « Lens »…)."""
    if value is None or reference is None:
        return None
    both = f"({_value(value, unit, decimals)} contre {_value(reference, unit, decimals)})"
    head = f"{subject.words[0].upper()}{subject.words[1:]} {whose}"
    of_ref = f"{subject.pronoun} {_de(reference_words)}"
    if reference > 0 and value > 0:
        ratio = value / reference
        if ratio >= 1.5:
            return f"{head} est {fmt.number(ratio, 1)} fois {of_ref} {both}."
        if ratio <= 1 / 1.5:
            return f"{head} est {fmt.number(1 / ratio, 1)} fois moins {subject.agree('élevé')} que {of_ref} {both}."
    gap = value - reference
    if unit == "%":
        if abs(gap) < 1:
            return f"{head} est {subject.agree('proche')} de {of_ref} {both}."
        word = subject.agree("supérieur") if gap > 0 else subject.agree("inférieur")
        plural = "s" if abs(gap) >= 2 else ""
        return f"{head} est {word} de {fmt.number(abs(gap), 1)} point{plural} à {of_ref} {both}."
    if reference == 0:
        return None
    percent = gap / reference * 100
    if abs(percent) < 5:
        return f"{head} est {subject.agree('proche')} de {of_ref} {both}."
    word = subject.agree("supérieur") if gap > 0 else subject.agree("inférieur")
    return f"{head} est {word} de {fmt.number(abs(percent), 0)}\u00a0% à {of_ref} {both}."


def _de(words: str) -> str:
    """« de » before a name, elided or contracted: de Lens, de l'agglomération, d'Arras, du Pôle…"""
    lowered = words.lower()
    if lowered.startswith("le "):
        return "du " + words[3:]
    if lowered.startswith("les "):
        return "des " + words[4:]
    if words[:1].lower() in "aeiouyéèêàâîïôûh" and not lowered.startswith(("la ", "l'", "l’")):
        return "d'" + words
    return "de " + words


def share(part_words: str, value: float | None, whole_words: str, share_percent: float | None) -> str | None:
    """« Le quartier compte 3 456 habitants, soit 12,3 % de la population de Lens. »"""
    if value is None:
        return None
    sentence = f"{part_words} compte {fmt.number(value)} habitants"
    if share_percent is not None:
        sentence += f", soit {fmt.percent(share_percent, 1)} de la population {_de(whole_words)}"
    return sentence + "."
