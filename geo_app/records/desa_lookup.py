"""Find a desa, kecamatan or kabupaten from what people type: a code, or a name in any case/spacing, with
the known spelling variants of Mukomuko (FACTS.md). Desa names repeat across kecamatan and far more across
kabupaten (in Bengkulu 128 names occur in more than one kabupaten/kota), so a repeated name needs its
kecamatan or kabupaten; the error lists every candidate with both. An unknown name gets the closest
suggestions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

import pandas as pd

from ..i18n import Message, msg_as

#: Spellings seen in news and KPU text for the boundary data's names (FACTS.md).
KECAMATAN_VARIANTS = {
    "air majunto": "air manjunto",
    "air manjuto": "air manjunto",
    "kota muko muko": "kota mukomuko",
    "mukomuko": "kota mukomuko",
    "14 koto": "xiv koto",
    "5 koto": "v koto",
    "teramang": "teramang jaya",
}
_PREFIX = re.compile(r"^(kecamatan|kec\.?|desa|kelurahan|kel\.?|ds\.?)\s+")
_DESA_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
_KEC_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
_KAB_CODE = re.compile(r"^\d{2}\.\d{2}$")


class DesaLookupError(ValueError):
    """A field-level lookup failure; the message is safe to show and ``field`` names the input."""

    def __init__(self, message: str, field: str = "desa") -> None:  # a Message: pages show one language
        super().__init__(message)
        self.field = field


def normalise_name(value: object) -> str:
    text = re.sub(r"[^\w\s]", " ", str(value or "").lower().replace("'", ""))
    text = " ".join(text.split())
    text = _PREFIX.sub("", text)
    return text


class DesaLookup:
    """Built from the desa frame (code, name, kecamatan_code, kecamatan_name, and when the frame has them
    kabupaten_code, kabupaten_name; otherwise the kabupaten is the code's first five characters)."""

    def __init__(self, desa: pd.DataFrame) -> None:
        self.desa = desa[["code", "name", "kecamatan_code", "kecamatan_name"]].copy()
        self.desa["kabupaten_code"] = (
            desa["kabupaten_code"].to_numpy() if "kabupaten_code" in desa else self.desa["code"].str.slice(0, 5)
        )
        self.desa["kabupaten_name"] = (
            desa["kabupaten_name"].to_numpy() if "kabupaten_name" in desa else self.desa["kabupaten_code"]
        )
        self.desa["key"] = [normalise_name(n) for n in self.desa["name"]]
        self.codes = set(self.desa["code"])
        kec = self.desa.drop_duplicates("kecamatan_code")
        self.kecamatan_names = dict(zip(kec["kecamatan_code"], kec["kecamatan_name"]))
        self.kecamatan_by_key = {normalise_name(n): c for c, n in self.kecamatan_names.items()}
        self.kecamatan_kabupaten = dict(zip(kec["kecamatan_code"], kec["kabupaten_code"]))
        kab = self.desa.drop_duplicates("kabupaten_code")
        self.kabupaten_names = dict(zip(kab["kabupaten_code"], kab["kabupaten_name"]))
        self.kabupaten_by_key = {kabupaten_key(n): c for c, n in self.kabupaten_names.items()}
        self.names = dict(zip(self.desa["code"], self.desa["name"]))
        self.kecamatan_of = dict(zip(self.desa["code"], self.desa["kecamatan_code"]))

    @property
    def several_kabupaten(self) -> bool:
        return len(self.kabupaten_names) > 1

    def _area(self) -> str:
        """Where the loaded desa are, for messages: "Mukomuko", or "10 kabupaten/kota"."""
        if self.several_kabupaten:
            count = len(self.kabupaten_names)
            return msg_as(
                f"wilayah yang dimuat ({count} kabupaten/kota)",
                "wilayah yang dimuat (%(count)s kabupaten/kota)",
                count=count,
            )
        name = next(iter(self.kabupaten_names.values()), "")
        return name.removeprefix("Kabupaten ") or msg_as("wilayah yang dimuat", "wilayah yang dimuat")

    def _place(self, row: pd.Series) -> str:
        """``Kec. X`` (one kabupaten loaded) or ``Kec. X, Kabupaten Y``."""
        where = f"Kec. {row['kecamatan_name']}"
        return f"{where}, {row['kabupaten_name']}" if self.several_kabupaten else where

    # -- kabupaten --------------------------------------------------------------------------------
    def kabupaten(self, value: object) -> str:
        """A kabupaten code (``17.06``) or name (``Mukomuko``, ``Kabupaten Mukomuko``, ``Kota Bengkulu``)."""
        text = str(value or "").strip()
        if _KAB_CODE.match(text):
            if text in self.kabupaten_names:
                return text
            raise DesaLookupError(
                msg_as(
                    f"kode kabupaten {text} tidak dikenal / unknown kabupaten code",
                    "kode kabupaten %(code)s tidak dikenal",
                    code=text,
                ),
                "kabupaten",
            )
        key = kabupaten_key(text)
        if key in self.kabupaten_by_key:
            return self.kabupaten_by_key[key]
        close = difflib.get_close_matches(key, list(self.kabupaten_by_key), n=3, cutoff=0.6)
        names = [self.kabupaten_names[self.kabupaten_by_key[c]] for c in close]
        hint = _did_you_mean(names)
        raise DesaLookupError(
            msg_as(
                f"kabupaten {text!r} tidak dikenal / unknown{hint}",
                "kabupaten %(name)r tidak dikenal%(hint)s",
                name=text,
                hint=hint,
            ),
            "kabupaten",
        )

    # -- kecamatan --------------------------------------------------------------------------------
    def kecamatan(self, value: object, kabupaten: object = None) -> str:
        """A kecamatan code or name; with ``kabupaten`` given, it must lie in that kabupaten."""
        kab_code = self._optional_kabupaten(kabupaten)
        text = str(value or "").strip()
        if _KEC_CODE.match(text):
            if text in self.kecamatan_names:
                return self._in_kabupaten(text, kab_code)
            raise DesaLookupError(
                msg_as(
                    f"kode kecamatan {text} tidak dikenal / unknown kecamatan code",
                    "kode kecamatan %(code)s tidak dikenal",
                    code=text,
                ),
                "kecamatan",
            )
        key = normalise_name(text)
        key = KECAMATAN_VARIANTS.get(key, key)
        if key in self.kecamatan_by_key:
            return self._in_kabupaten(self.kecamatan_by_key[key], kab_code)
        pool = {
            k: c
            for k, c in self.kecamatan_by_key.items()
            if kab_code is None or self.kecamatan_kabupaten[c] == kab_code
        }
        close = difflib.get_close_matches(key, list(pool), n=3, cutoff=0.6)
        hint = _did_you_mean([self.kecamatan_names[pool[c]] for c in close])
        raise DesaLookupError(
            msg_as(
                f"kecamatan {text!r} tidak dikenal / unknown{hint}",
                "kecamatan %(name)r tidak dikenal%(hint)s",
                name=text,
                hint=hint,
            ),
            "kecamatan",
        )

    def _optional_kabupaten(self, kabupaten: object) -> str | None:
        return self.kabupaten(kabupaten) if kabupaten not in (None, "") and str(kabupaten).strip() else None

    def _in_kabupaten(self, kec_code: str, kab_code: str | None) -> str:
        if kab_code and self.kecamatan_kabupaten[kec_code] != kab_code:
            name = self.kecamatan_names[kec_code]
            actual = self.kabupaten_names[self.kecamatan_kabupaten[kec_code]]
            given = self.kabupaten_names[kab_code]
            raise DesaLookupError(
                msg_as(
                    f"Kecamatan {name} ada di {actual}, bukan {given} / the kecamatan is in another kabupaten",
                    "Kecamatan %(kecamatan)s ada di %(actual)s, bukan %(given)s",
                    kecamatan=name,
                    actual=actual,
                    given=given,
                ),
                "kecamatan",
            )
        return kec_code

    # -- desa -------------------------------------------------------------------------------------
    def desa_code(self, code: object) -> str:
        text = str(code or "").strip()
        if not _DESA_CODE.match(text):
            raise DesaLookupError(
                msg_as(
                    f"kode desa {text!r} bukan kode Kemendagri seperti 17.06.08.2006 / not a desa code",
                    "kode desa %(code)r bukan kode Kemendagri seperti 17.06.08.2006",
                    code=text,
                ),
                "desa_code",
            )
        if text not in self.codes:
            area = self._area()
            raise DesaLookupError(
                msg_as(
                    f"kode desa {text} tidak ada di {area} / unknown desa code",
                    "kode desa %(code)s tidak ada di %(area)s",
                    code=text,
                    area=area,
                ),
                "desa_code",
            )
        return text

    def desa_by_name(self, name: object, kecamatan: object = None, kabupaten: object = None) -> str:
        """The desa a name means, narrowed by its kecamatan and/or kabupaten (code or name). A name that
        still fits several desa is an error listing each with its kecamatan and kabupaten."""
        text = str(name or "").strip()
        key = normalise_name(text)
        candidates = self.desa[self.desa["key"] == key]
        kab_code = self._optional_kabupaten(kabupaten)
        kec_code = (
            self.kecamatan(kecamatan, kab_code) if kecamatan not in (None, "") and str(kecamatan).strip() else None
        )
        if kec_code:
            in_kec = candidates[candidates["kecamatan_code"] == kec_code]
            if len(in_kec) == 1:
                return in_kec.iloc[0]["code"]
            if candidates.empty or in_kec.empty:
                pool = self.desa[self.desa["kecamatan_code"] == kec_code]
                close = difflib.get_close_matches(key, list(pool["key"]), n=3, cutoff=0.6)
                names = [pool[pool["key"] == c].iloc[0]["name"] for c in close]
                hint = _did_you_mean(names)
                kec_name = self.kecamatan_names[kec_code]
                raise DesaLookupError(
                    msg_as(
                        f"desa {text!r} tidak ada di Kecamatan {kec_name} / not in that kecamatan{hint}",
                        "desa %(name)r tidak ada di Kecamatan %(kecamatan)s%(hint)s",
                        name=text,
                        kecamatan=kec_name,
                        hint=hint,
                    )
                )
            candidates = in_kec
        elif kab_code:
            in_kab = candidates[candidates["kabupaten_code"] == kab_code]
            if len(in_kab) == 1:
                return in_kab.iloc[0]["code"]
            if in_kab.empty:
                pool = self.desa[self.desa["kabupaten_code"] == kab_code]
                hint = self._suggest(key, pool)
                kab_name = self.kabupaten_names[kab_code]
                raise DesaLookupError(
                    msg_as(
                        f"desa {text!r} tidak ada di {kab_name} / not in that kabupaten{hint}",
                        "desa %(name)r tidak ada di %(kabupaten)s%(hint)s",
                        name=text,
                        kabupaten=kab_name,
                        hint=hint,
                    )
                )
            candidates = in_kab
        if len(candidates) == 1:
            return candidates.iloc[0]["code"]
        if len(candidates) > 1:
            raise DesaLookupError(self._ambiguous(text, candidates))
        hint = self._suggest(key, self.desa)
        raise DesaLookupError(
            msg_as(
                f"desa {text!r} tidak dikenal / unknown desa{hint}",
                "desa %(name)r tidak dikenal%(hint)s",
                name=text,
                hint=hint,
            )
        )

    def _ambiguous(self, text: str, candidates: pd.DataFrame) -> Message:
        kabupaten = sorted(set(candidates["kabupaten_name"]))
        if len(kabupaten) == 1:
            where = ", ".join(sorted(candidates["kecamatan_name"]))
            return msg_as(
                f"nama desa {text!r} ada di beberapa kecamatan ({where}) di {kabupaten[0]}; sebutkan kecamatannya / "
                "name exists in several kecamatan: give the kecamatan",
                "nama desa %(name)r ada di beberapa kecamatan (%(where)s) di %(kabupaten)s; sebutkan kecamatannya",
                name=text,
                where=where,
                kabupaten=kabupaten[0],
            )
        rows = candidates.sort_values(["kabupaten_code", "kecamatan_code"])
        where = "; ".join(
            f"{r['code']} (Kec. {r['kecamatan_name']}, {r['kabupaten_name']})" for _, r in rows.iterrows()
        )
        return msg_as(
            f"nama desa {text!r} ada di {len(kabupaten)} kabupaten/kota: {where}; sebutkan kecamatan atau "
            "kabupatennya (atau kode desa) / name exists in several kabupaten: give the kecamatan or kabupaten",
            "nama desa %(name)r ada di %(count)s kabupaten/kota: %(where)s; sebutkan kecamatan atau "
            "kabupatennya (atau kode desa)",
            name=text,
            count=len(kabupaten),
            where=where,
        )

    def _suggest(self, key: str, pool: pd.DataFrame) -> str:
        close = difflib.get_close_matches(key, list(dict.fromkeys(pool["key"])), n=3, cutoff=0.6)
        labels = [f"{r['name']} ({self._place(r)})" for c in close for _, r in pool[pool["key"] == c].iterrows()]
        return _did_you_mean(labels)


def _did_you_mean(names: list[str]) -> str:
    """``"; mungkin / did you mean: A, B"`` after a lookup message (a Message: one language on pages); ``""``
    for no suggestion."""
    if not names:
        return ""
    joined = ", ".join(names)
    return msg_as(f"; mungkin / did you mean: {joined}", "; mungkin: %(names)s", names=joined)


def kabupaten_key(name: object) -> str:
    """A kabupaten name without case, spacing and the word "Kabupaten" ("Kota" stays: Kota Bengkulu)."""
    key = " ".join(re.sub(r"[^\w\s]", " ", str(name or "").lower()).split())
    for prefix in ("kabupaten ", "kab "):
        key = key.removeprefix(prefix)
    return key


def find_kabupaten(known: Mapping[str, str], text: str) -> str | None:
    """The code in ``known`` (``code -> name``) that ``text`` names: the code itself (``17.71``) or the
    name in any case, with or without "Kabupaten" (``Mukomuko``, ``kota bengkulu``); ``None`` if none.
    The callers raise their own error, naming what they hold."""
    if text in known:
        return text
    key = kabupaten_key(text)
    return next((code for code, name in known.items() if kabupaten_key(name) == key), None)
