"""The engine's query API: indicator X for territory T in year Y, its evolution and its comparisons.

Reads the materialised cube only. Masked cells come back with their status and no value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from vigie.engine.catalogue import IndicatorDef, load_catalogue
from vigie.errors import NotFoundError, VigieError
from vigie.warehouse import Territory, Warehouse

# Order in which references are proposed for a territory: from the closest to the widest.
SUB_COMMUNAL = {"qpv", "iris"}
REFERENCE_ORDER = ["commune", "epci", "scot", "pole_metropolitain", "petr", "zone_emploi", "departement", "region"]


@dataclass
class Evolution:
    indicator: str
    start: int
    end: int
    start_value: float | None
    end_value: float | None
    absolute: float | None
    percent: float | None
    annual_rate: float | None  # TCAM, in %
    points: float | None  # for rates in %: difference in percentage points
    status: str


class Engine:
    """Figures from the cube of one geography vintage (the latest one built, unless `cog` is given)."""

    def __init__(self, wh: Warehouse, cog: int | None = None, catalogue: dict[str, IndicatorDef] | None = None):
        self.wh = wh
        self.catalogue = catalogue or load_catalogue()
        if cog is None:
            rows = wh.query("SELECT max(cog) FROM cube")
            cog = rows[0][0] if rows and rows[0][0] is not None else None
            if cog is None:
                raise VigieError("Le cube d'indicateurs n'est pas construit : lancez « vigie build ».")
        self.cog = int(cog)

    def indicator(self, indicator_id: str) -> IndicatorDef:
        try:
            return self.catalogue[indicator_id]
        except KeyError:
            raise NotFoundError(f"L'indicateur « {indicator_id} » n'est pas au catalogue.") from None

    def values(self, indicator: str, level: str | None = None, codes: Sequence[str] | None = None,
               years: Sequence[int] | None = None) -> pd.DataFrame:
        """Cube rows: level, code, year, value (None when not shown), status, numerator, denominator, coverage."""
        self.indicator(indicator)
        where, params = ["indicator = ?", "cog = ?"], [indicator, self.cog]
        if level:
            where.append("level = ?")
            params.append(level)
        if codes is not None:
            codes = list(codes)
            if not codes:
                return pd.DataFrame(columns=["level", "code", "year", "value", "status", "numerator", "denominator", "members", "covered", "synthetic"])
            where.append("code IN (" + ", ".join("?" * len(codes)) + ")")
            params += codes
        if years is not None:
            years = list(years)
            where.append("year IN (" + ", ".join("?" * len(years)) + ")")
            params += years
        frame = self.wh.query_df(
            "SELECT level, code, year, CASE WHEN status = 'secret' THEN NULL ELSE value END AS value, status, "
            "CASE WHEN status = 'secret' THEN NULL ELSE numerator END AS numerator, denominator, members, covered, synthetic "
            "FROM cube WHERE " + " AND ".join(where) + " ORDER BY level, code, year", params)
        return frame

    def years(self, indicator: str, level: str | None = None) -> list[int]:
        sql, params = "SELECT DISTINCT year FROM cube WHERE indicator = ? AND cog = ?", [indicator, self.cog]
        if level:
            sql += " AND level = ?"
            params.append(level)
        return [int(r[0]) for r in self.wh.query(sql + " ORDER BY year", params)]

    def figure(self, indicator: str, territory: Territory, year: int | None = None) -> dict:
        """One figure; `year` defaults to the latest year available for the territory's level."""
        frame = self.values(indicator, territory.level, [territory.code], [year] if year else None)
        if frame.empty:
            definition = self.indicator(indicator)
            reason = "non agrégeable à ce niveau" if not definition.additive else "pas de donnée"
            return {"indicator": indicator, "year": year, "value": None, "status": "missing", "reason": reason}
        row = frame.iloc[-1]
        return {"indicator": indicator, "year": int(row["year"]), "value": _num(row["value"]), "status": row["status"],
                "numerator": _num(row["numerator"]), "denominator": _num(row["denominator"]),
                "synthetic": bool(row["synthetic"]), "reason": None}

    def evolution(self, indicator: str, territory: Territory, start: int, end: int) -> Evolution:
        """Change between two years: absolute, percent, annual average growth rate (TCAM), points for rates."""
        definition = self.indicator(indicator)
        a = self.figure(indicator, territory, start)
        b = self.figure(indicator, territory, end)
        status = "ok" if a["status"] == "ok" and b["status"] == "ok" else max(
            (a["status"], b["status"]), key=["ok", "fragile", "missing", "secret"].index)
        v1, v2 = a["value"], b["value"]
        if v1 is None or v2 is None:
            return Evolution(indicator, start, end, v1, v2, None, None, None, None, status)
        absolute = v2 - v1
        percent = (v2 / v1 - 1) * 100 if v1 else None
        annual = ((v2 / v1) ** (1 / (end - start)) - 1) * 100 if v1 and v2 / v1 > 0 and end != start else None
        points = absolute if definition.unit == "%" else None
        if definition.unit == "%":
            percent = annual = None  # a change of a rate is said in points
        return Evolution(indicator, start, end, v1, v2, absolute, percent, annual, points, status)

    def references(self, territory: Territory) -> list[Territory]:
        """The territories containing `territory` at the cube's COG, from the closest to the widest."""
        if territory.level in SUB_COMMUNAL:
            # A QPV or an IRIS: its commune (the one holding most of it), then that commune's references.
            parents = self.wh.parents(territory, cog=self.cog)
            communes = parents[parents["level"] == "commune"].sort_values("weight", ascending=False)
            if communes.empty:
                return []
            main = communes.iloc[0]
            commune = Territory("commune", main["code"], self.cog, main["name"])
            return [commune, *self.references(commune)]
        if territory.level == "commune":
            parents = self.wh.parents(territory, cog=self.cog)
        else:
            # Territories that contain every commune of this one (an EPCI's département, the PMA's…).
            parents = self.wh.query_df(
                "WITH mine AS (SELECT child_code FROM membership WHERE cog = ? AND child_level = 'commune' "
                "              AND parent_level = ? AND parent_code = ?) "
                "SELECT m.parent_level AS level, m.parent_code AS code, t.name FROM membership m "
                "JOIN mine ON mine.child_code = m.child_code "
                "JOIN territory t ON t.level = m.parent_level AND t.code = m.parent_code AND t.cog = m.cog "
                "WHERE m.cog = ? AND m.child_level = 'commune' AND NOT (m.parent_level = ? AND m.parent_code = ?) "
                "GROUP BY m.parent_level, m.parent_code, t.name "
                "HAVING count(*) = (SELECT count(*) FROM mine)",
                (self.cog, territory.level, territory.code, self.cog, territory.level, territory.code),
            )
            parents = parents[parents["level"] != territory.level] if len(parents) else parents
        rank = {lvl: i for i, lvl in enumerate(REFERENCE_ORDER)}
        rows = sorted(parents.itertuples(index=False), key=lambda p: (rank.get(p.level, 50), p.code))
        return [Territory(p.level, p.code, self.cog, p.name) for p in rows]

    def compare(self, indicator: str, territory: Territory, year: int | None = None,
                references: Sequence[Territory] | None = None) -> pd.DataFrame:
        """The territory and its references: value, difference with the territory, index (reference = 100)."""
        refs = list(references) if references is not None else self.references(territory)
        base = self.figure(indicator, territory, year)
        year = base["year"] if base["year"] is not None else year
        rows = []
        for t in [territory, *refs]:
            fig = self.figure(indicator, t, year)
            rows.append({"level": t.level, "code": t.code, "name": t.name, "year": fig["year"], "value": fig["value"],
                         "status": fig["status"]})
        frame = pd.DataFrame(rows)
        v = base["value"]
        frame["difference"] = [None if v is None or r is None else v - r for r in frame["value"]]
        frame["index_100"] = [None if v is None or not r else v / r * 100 for r in frame["value"]]
        return frame

    def rank(self, indicator: str, territory: Territory, year: int | None = None,
             within: Territory | None = None) -> tuple[int | None, int]:
        """Rank (1 = highest value) among the territories of the same level, or among the members of `within`."""
        fig = self.figure(indicator, territory, year)
        if fig["value"] is None:
            return None, 0
        frame = self.values(indicator, territory.level, years=[fig["year"]])
        if within is not None:
            members = self.wh.members(within, child_level=territory.level, cog=self.cog)
            frame = frame[frame["code"].isin(members["code"])]
        shown = frame.dropna(subset=["value"])
        return int((shown["value"] > fig["value"]).sum()) + 1, len(shown)

    def classes(self, indicator: str, level: str, year: int, method: str = "quantiles", k: int = 5,
                bins: Sequence[float] | None = None) -> list[float]:
        """Upper bounds of map classes (mapclassify): quantiles, jenks (Fisher-Jenks), equal intervals or manual."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Numba not installed": the pure-Python path is fast enough here
            import mapclassify

        values = self.values(indicator, level, years=[year])["value"].dropna().to_numpy(dtype=float)
        if len(values) == 0:
            return []
        k = max(1, min(k, len(np.unique(values))))
        if method == "quantiles":
            scheme = mapclassify.Quantiles(values, k=k)
        elif method == "jenks":
            scheme = mapclassify.FisherJenks(values, k=k)
        elif method in ("equal", "equal_interval"):
            scheme = mapclassify.EqualInterval(values, k=k)
        elif method == "manual":
            if not bins:
                raise VigieError("La méthode de classes « manuelle » demande des bornes.")
            scheme = mapclassify.UserDefined(values, bins=list(bins))
        else:
            raise VigieError(f"Méthode de classes inconnue « {method} » (quantiles, jenks, equal, manual).")
        return [float(b) for b in scheme.bins]


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
