"""Find a desa or kecamatan from what people type: a code, or a name in any case/spacing, with the
known spelling variants of Mukomuko (FACTS.md). Desa names repeat across kecamatan, so a repeated
name needs its kecamatan; an unknown name gets the closest suggestions."""

from __future__ import annotations

import difflib
import re

import pandas as pd

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


class DesaLookupError(ValueError):
    """A field-level lookup failure; the message is safe to show and ``field`` names the input."""

    def __init__(self, message: str, field: str = "desa") -> None:
        super().__init__(message)
        self.field = field


def normalise_name(value: object) -> str:
    text = re.sub(r"[^\w\s]", " ", str(value or "").lower().replace("'", ""))
    text = " ".join(text.split())
    text = _PREFIX.sub("", text)
    return text


class DesaLookup:
    """Built from the desa frame (code, name, kecamatan_code, kecamatan_name)."""

    def __init__(self, desa: pd.DataFrame) -> None:
        self.desa = desa[["code", "name", "kecamatan_code", "kecamatan_name"]].copy()
        self.desa["key"] = [normalise_name(n) for n in self.desa["name"]]
        self.codes = set(self.desa["code"])
        kec = self.desa.drop_duplicates("kecamatan_code")
        self.kecamatan_names = dict(zip(kec["kecamatan_code"], kec["kecamatan_name"]))
        self.kecamatan_by_key = {normalise_name(n): c for c, n in self.kecamatan_names.items()}
        self.names = dict(zip(self.desa["code"], self.desa["name"]))
        self.kecamatan_of = dict(zip(self.desa["code"], self.desa["kecamatan_code"]))

    # -- kecamatan --------------------------------------------------------------------------------
    def kecamatan(self, value: object) -> str:
        text = str(value or "").strip()
        if _KEC_CODE.match(text):
            if text in self.kecamatan_names:
                return text
            raise DesaLookupError(f"kode kecamatan {text} tidak dikenal / unknown kecamatan code", "kecamatan")
        key = normalise_name(text)
        key = KECAMATAN_VARIANTS.get(key, key)
        if key in self.kecamatan_by_key:
            return self.kecamatan_by_key[key]
        close = difflib.get_close_matches(key, list(self.kecamatan_by_key), n=3, cutoff=0.6)
        hint = (
            f"; mungkin / did you mean: {', '.join(self.kecamatan_names[self.kecamatan_by_key[c]] for c in close)}"
            if close
            else ""
        )
        raise DesaLookupError(f"kecamatan {text!r} tidak dikenal / unknown{hint}", "kecamatan")

    # -- desa -------------------------------------------------------------------------------------
    def desa_code(self, code: object) -> str:
        text = str(code or "").strip()
        if not _DESA_CODE.match(text):
            raise DesaLookupError(
                f"kode desa {text!r} bukan kode Kemendagri seperti 17.06.08.2006 / not a desa code", "desa_code"
            )
        if text not in self.codes:
            raise DesaLookupError(f"kode desa {text} tidak ada di Mukomuko / unknown desa code", "desa_code")
        return text

    def desa_by_name(self, name: object, kecamatan: object = None) -> str:
        text = str(name or "").strip()
        key = normalise_name(text)
        candidates = self.desa[self.desa["key"] == key]
        kec_code = self.kecamatan(kecamatan) if kecamatan not in (None, "") and str(kecamatan).strip() else None
        if kec_code:
            in_kec = candidates[candidates["kecamatan_code"] == kec_code]
            if len(in_kec) == 1:
                return in_kec.iloc[0]["code"]
            if candidates.empty or in_kec.empty:
                pool = self.desa[self.desa["kecamatan_code"] == kec_code]
                close = difflib.get_close_matches(key, list(pool["key"]), n=3, cutoff=0.6)
                names = [pool[pool["key"] == c].iloc[0]["name"] for c in close]
                hint = f"; mungkin / did you mean: {', '.join(names)}" if names else ""
                raise DesaLookupError(
                    f"desa {text!r} tidak ada di Kecamatan {self.kecamatan_names[kec_code]} / not in that kecamatan{hint}"
                )
        if len(candidates) == 1:
            return candidates.iloc[0]["code"]
        if len(candidates) > 1:
            where = ", ".join(sorted(candidates["kecamatan_name"]))
            raise DesaLookupError(
                f"nama desa {text!r} ada di beberapa kecamatan ({where}); sebutkan kecamatannya / "
                "name exists in several kecamatan: give the kecamatan"
            )
        close = difflib.get_close_matches(key, list(dict.fromkeys(self.desa["key"])), n=3, cutoff=0.6)
        labels = []
        for c in close:
            for _, r in self.desa[self.desa["key"] == c].iterrows():
                labels.append(f"{r['name']} (Kec. {r['kecamatan_name']})")
        hint = f"; mungkin / did you mean: {', '.join(labels)}" if labels else ""
        raise DesaLookupError(f"desa {text!r} tidak dikenal / unknown desa{hint}")
