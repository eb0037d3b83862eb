"""ZAN trajectory of a territory (commune, EPCI, SCoT, PMA, any level): consumption of natural, agricultural and
forest land (ENAF) against the 2021–2030 envelope.

The figures come from the engine's cube (indicators of `catalogue/foncier_consommation.yaml`, Cerema flows already
carried to the latest COG: a merged commune is the sum of its former parts, `missing` when one of them had no value).
The rules, the same at every level and in every output (table, chart, report, API):

* **reference** = consumption of the ten annual flows 2011 → 2020 (1 January 2011 → 1 January 2021);
* **commune envelope** = max(reference × (1 − reduction), 1 ha floor), the reduction being 50 % or the territorialised
  objective of `zan.yaml`; the floor is the communal guarantee of the law of 20 July 2023, applied to each commune
  of the latest COG (a commune nouvelle counts once);
* **envelope of a group** (EPCI, SCoT, PMA) = the sum of its communes' envelopes — never −50 % of the group's own
  reference, which would ignore the floors (the 1 ha floor is applied once, in one place: `_commune_table`, and
  every output reads that result; sparte, « Mon diagnostic artificialisation », applies it in its table but not in
  its chart);
* **consumed since 2021** = the flows 2021 → last year of the file; **remaining envelope** = envelope − consumed;
* **projection to 2030**: `moyenne` = mean of the last N observed years × the years still to come, counted from the
  year after the last flow to 2030 included (with flows up to 2022, 8 years: 2023…2030; sparte multiplies by a fixed
  9 years whatever the last year known);
  `tendance` = least-squares line on the last N years, extended year by year to 2030, floored at zero.

A year absent from the file, or a commune without a value, is never read as zero: the reference and the envelope
are then not computed (`None`) and the messages say which year or commune is missing; a consumption total that
lacks years is given as a lower bound (`complete = False`).

`trajectory(wh, code)` returns a `ZanTrajectory` whose `to_dict()` is what the CLI, the web page and the ZAN report
read: annual series (total and by destination), reference, envelope, consumption since 2021, projections, the
commune table, the economic land still planned (AU zones), and a comparison with the territories of the same level
in the same département, ranked by consumption per inhabitant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from vigie.errors import ConfigurationError, NotFoundError, VigieError
from vigie.modules.foncier.cerema import DESTINATIONS
from vigie.warehouse import Warehouse
from vigie.warehouse.base import Territory

CONFIG_PATH = Path(__file__).with_name("zan.yaml")
TOTAL = "consommation_enaf"
BY_DESTINATION = {slug: f"consommation_enaf_{slug}" for slug, _ in DESTINATIONS.values()}
DESTINATION_LABELS = {slug: label for slug, label in DESTINATIONS.values()}
METHODS = {"moyenne": "moyenne des dernières années", "tendance": "tendance linéaire"}
POPULATION_INDICATORS = ("population_legale", "population")
DEMO_NOTICE = "données fictives de démonstration"
HECTARE = 10_000.0


class ZanParameterError(VigieError):
    """A projection method or window the trajectory cannot use (422 on the web)."""

    http_status = 422


# ---------------------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class Objective:
    level: str
    code: str
    reduction: float
    source: str = ""


@dataclass(frozen=True)
class ZanConfig:
    reference: tuple[int, int] = (2011, 2020)
    period: tuple[int, int] = (2021, 2030)
    reduction: float = 0.5
    floor_m2: float = HECTARE
    method: str = "moyenne"
    years: int = 3
    objectives: tuple[Objective, ...] = ()

    def with_projection(self, method: str | None = None, years: int | None = None) -> "ZanConfig":
        from dataclasses import replace

        method = method or self.method
        if method not in METHODS:
            raise ZanParameterError(f"Méthode de projection inconnue « {method} » : choisissez « moyenne » ou « tendance ».")
        years = self.years if years is None else int(years)
        if years < 1 or (method == "tendance" and years < 2):
            raise ZanParameterError("La projection demande au moins 1 année (2 pour une tendance).")
        return replace(self, method=method, years=years)


def load_config(path: Path | str | None = None) -> ZanConfig:
    """Read `zan.yaml` (the bundled one by default); every problem is a French ConfigurationError."""
    path = Path(path or CONFIG_PATH)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"Configuration ZAN {path.name} illisible : {exc}") from None
    try:
        ref = tuple(int(y) for y in data.get("periode_reference", [2011, 2020]))
        period = tuple(int(y) for y in data.get("periode_objectif", [2021, 2030]))
        reduction = float(data.get("reduction", 0.5))
        floor = float(data.get("plancher_communal_ha", 1.0)) * HECTARE
        projection = data.get("projection") or {}
        method, window = str(projection.get("methode", "moyenne")), int(projection.get("annees", 3))
        objectives = tuple(
            Objective(str(o["niveau"]), str(o["code"]), float(o["reduction"]), str(o.get("source", "")))
            for o in data.get("objectifs_territorialises") or []
        )
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ConfigurationError(f"Configuration ZAN {path.name} : valeur incorrecte ({exc}).") from None
    if len(ref) != 2 or len(period) != 2 or ref[0] > ref[1] or period[0] > period[1]:
        raise ConfigurationError(f"Configuration ZAN {path.name} : périodes attendues sous la forme [début, fin].")
    for r in (reduction, *(o.reduction for o in objectives)):
        if not 0 <= r <= 1:
            raise ConfigurationError(f"Configuration ZAN {path.name} : un taux de réduction est compris entre 0 et 1 (lu : {r}).")
    if floor < 0:
        raise ConfigurationError(f"Configuration ZAN {path.name} : le plancher communal ne peut pas être négatif.")
    try:
        return ZanConfig(ref, period, reduction, floor, objectives=objectives).with_projection(method, window)
    except VigieError as exc:
        raise ConfigurationError(f"Configuration ZAN {path.name} : {exc.message}") from None


# ---------------------------------------------------------------------------------------------------- result
@dataclass
class Projection:
    method: str
    label: str
    years_used: list[int]
    remaining_years: list[int]
    annual_rate_m2: float | None  # mean of the window (moyenne) or slope per year (tendance)
    path: dict[int, float]  # projected flow per remaining year
    projected_rest_m2: float
    projected_total_m2: float
    excess_m2: float | None  # projected total − envelope (positive = overshoot)
    exhausted_in: int | None  # first year whose cumulative consumption exceeds the envelope
    statement: str


@dataclass
class ZanTrajectory:
    territory: dict[str, Any]
    cog: int
    config: dict[str, Any]
    first_year: int
    last_year: int
    series: list[dict[str, Any]]
    reference: dict[str, Any]
    envelope: dict[str, Any]
    consumed: dict[str, Any]
    remaining_m2: float | None
    allowed_pace_m2: float | None  # yearly consumption that would exactly use the remaining envelope
    projection: Projection | None
    projections: dict[str, Projection | None]
    communes: list[dict[str, Any]]
    planned_economic: dict[str, Any]
    comparison: list[dict[str, Any]]
    messages: list[str]
    synthetic: bool
    sources: list[dict[str, Any]]
    rules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# ---------------------------------------------------------------------------------------------------- computation
def trajectory(
    wh: Warehouse,
    code: str,
    level: str | None = None,
    *,
    config: ZanConfig | None = None,
    method: str | None = None,
    years: int | None = None,
    planned_economic_m2: float | None = None,
    compare: bool = True,
) -> ZanTrajectory:
    """The ZAN trajectory of the territory `code` (at `level` if the code is ambiguous)."""
    config = (config or load_config()).with_projection(method, years)
    cog = _cube_cog(wh)
    found = wh.find_territory(code, level)
    territory = Territory(found.level, found.code, cog, found.name)
    members = _members(wh, territory)
    data = _commune_values(wh, members, cog)
    file_years = _file_years(wh, cog)
    first_year, last_year = file_years[0], file_years[-1]
    ref0, ref1 = config.reference
    p0, p1 = config.period
    messages: list[str] = []
    absent = [y for y in range(min(first_year, ref0), last_year + 1) if y not in file_years]
    for y in absent:
        messages.append(f"Le flux {y} (du 1er janvier {y} au 1er janvier {y + 1}) est absent du fichier du Cerema : "
                        "il n'est pas compté comme un zéro.")
    if last_year < p0:
        messages.append(f"Le fichier s'arrête au flux {last_year} : aucune consommation depuis {p0} n'est connue.")

    messages += _assign_objectives(wh, members, config, cog)
    table, commune_messages = _commune_table(members, data, config, file_years, last_year)
    messages += commune_messages
    weights = members.set_index("code")["weight"]
    w = weights.reindex(table["code"]).to_numpy()

    ref_complete = bool(table["reference_complete"].all())
    reference_known = float(np.nansum(table["reference_known_m2"] * w))
    envelope = float((table["envelope_m2"] * w).sum()) if ref_complete else None
    envelope_raw = float((table["envelope_without_floor_m2"] * w).sum()) if ref_complete else None
    if not ref_complete:
        messages.append(f"Consommation de référence {ref0}-{ref1} incomplète : l'enveloppe {p0}-{p1} n'est pas calculée "
                        f"(au moins {_ha(reference_known)} consommés sur les années connues).")

    observed = [y for y in range(p0, min(last_year, p1) + 1)]
    cons_complete = bool(table["consumed_complete"].all())
    consumed_known = float(np.nansum(table["consumed_known_m2"] * w))
    remaining = envelope - consumed_known if envelope is not None and cons_complete else None

    series = _series(data, weights, file_years, first_year, last_year)
    by_dest_ref = _destination_totals(series, range(ref0, ref1 + 1))
    by_dest_since = _destination_totals(series, observed)
    totals = {row["year"]: row["total_m2"] for row in series}

    future = list(range(max(last_year + 1, p0), p1 + 1))
    projections = {
        m: _project(m, config.years, totals, last_year, future, consumed_known, envelope, observed)
        for m in METHODS
    }
    chosen = projections[config.method]
    if chosen is None:
        messages.append(f"Projection impossible : pas assez d'années observées complètes parmi les {config.years} dernières.")
    pace = remaining / len(future) if remaining is not None and future else None

    planned = _planned_economic(wh, territory, list(members["code"]), planned_economic_m2, remaining)
    comparison = _comparison(wh, territory, members, cog, config) if compare else []
    sources = wh.query_df(
        "SELECT title, producer, vintage, synthetic, imported_at FROM source WHERE kind = 'consommation-naf' ORDER BY id")
    synthetic = bool(sources["synthetic"].any()) if len(sources) else False
    if synthetic:
        messages.insert(0, f"Flux de consommation : {DEMO_NOTICE}.")

    return ZanTrajectory(
        territory={"level": territory.level, "code": territory.code, "name": territory.name,
                   "communes": int(len(members))},
        cog=cog,
        config={"reference": list(config.reference), "period": list(config.period), "reduction": config.reduction,
                "floor_m2": config.floor_m2, "method": config.method, "method_label": METHODS[config.method],
                "years": config.years,
                "objectives": [asdict(o) for o in config.objectives]},
        first_year=first_year,
        last_year=last_year,
        series=series,
        reference={"years": [ref0, ref1], "m2": reference_known if ref_complete else None,
                   "known_m2": reference_known, "complete": ref_complete, "by_destination_m2": by_dest_ref,
                   "annual_mean_m2": reference_known / (ref1 - ref0 + 1) if ref_complete else None},
        envelope={"m2": envelope, "without_floor_m2": envelope_raw,
                  "floor_communes": int(table["floor_applied"].sum()),
                  "floor_gain_m2": envelope - envelope_raw if envelope is not None else None,
                  "reduction_default": config.reduction,
                  "territorialised": sorted({o for o in table["objective"] if o})},
        consumed={"years": observed, "m2": consumed_known, "complete": cons_complete, "by_destination_m2": by_dest_since,
                  "share_of_envelope": consumed_known / envelope if envelope else None,
                  "communes_over_envelope": int((table["remaining_m2"] < 0).sum())},
        remaining_m2=remaining,
        allowed_pace_m2=pace,
        projection=chosen,
        projections=projections,
        communes=table.drop(columns=["reference_known_m2", "consumed_known_m2"]).to_dict("records"),
        planned_economic=planned,
        comparison=comparison,
        messages=messages,
        synthetic=synthetic,
        sources=[{k: (str(v) if k == "imported_at" else v) for k, v in r.items()} for r in sources.to_dict("records")],
        rules=rules_text(config),
    )


def rules_text(config: ZanConfig) -> list[str]:
    """The rules applied, in French, for every output that shows the figures."""
    (r0, r1), (p0, p1) = config.reference, config.period
    floor = f"{_number(config.floor_m2 / HECTARE, 1)} ha"
    return [
        f"Consommation de référence : flux du 1er janvier {r0} au 1er janvier {r1 + 1} (Cerema, fichiers fonciers).",
        f"Enveloppe {p0}-{p1} de chaque commune : consommation de référence × (1 − {_number(100 * config.reduction, 0)} %) "
        "ou l'objectif territorialisé configuré, et au moins la garantie communale de "
        f"{floor} (loi du 20 juillet 2023)." if config.floor_m2 else
        f"Enveloppe {p0}-{p1} de chaque commune : consommation de référence × (1 − {_number(100 * config.reduction, 0)} %) "
        "ou l'objectif territorialisé configuré (sans plancher communal).",
        "Enveloppe d'un EPCI, d'un SCoT ou du pôle métropolitain : somme des enveloppes de ses communes (au COG le plus "
        "récent), la même règle dans le tableau, le graphique et le rapport.",
        "Projection « moyenne » : moyenne des N dernières années observées × nombre d'années restant jusqu'en "
        f"{p1} inclus. Projection « tendance » : droite des moindres carrés sur les N dernières années, prolongée "
        "année par année et ramenée à zéro si elle devient négative.",
        "Une année absente du fichier ou une commune sans valeur n'est jamais comptée comme un zéro.",
    ]


def _cube_cog(wh: Warehouse) -> int:
    rows = wh.query("SELECT max(cog) FROM cube WHERE indicator = ? AND level = 'commune'", (TOTAL,))
    if not rows or rows[0][0] is None:
        raise NotFoundError(
            "Aucune donnée de consommation d'espaces dans l'entrepôt : importez le fichier communal du Cerema "
            "(vigie import consommation-naf <fichier> --option cog=AAAA) puis lancez « vigie build ».")
    return int(rows[0][0])


def _members(wh: Warehouse, territory: Territory) -> pd.DataFrame:
    if territory.level == "commune":
        return pd.DataFrame({"code": [territory.code], "name": [territory.name], "weight": [1.0]})
    members = wh.members(territory, "commune", cog=territory.cog)
    if members.empty:
        raise NotFoundError(f"Le territoire « {territory.name} » ({territory.level}) n'a aucune commune au COG {territory.cog}.")
    members["weight"] = members["weight"].astype(float)
    return members


def _commune_values(wh: Warehouse, members: pd.DataFrame, cog: int) -> pd.DataFrame:
    indicators = [TOTAL, *BY_DESTINATION.values()]
    codes = list(members["code"])
    frames = []
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        frames.append(wh.query_df(
            "SELECT indicator, code, year, value, status FROM cube WHERE cog = ? AND level = 'commune' "
            f"AND indicator IN ({', '.join('?' * len(indicators))}) AND code IN ({', '.join('?' * len(chunk))})",
            [cog, *indicators, *chunk]))
    data = pd.concat(frames, ignore_index=True)
    data["year"] = data["year"].astype(int)
    data["value"] = data["value"].astype(float)
    data.loc[~data["status"].isin(["ok", "fragile"]), "value"] = np.nan
    return data


def _file_years(wh: Warehouse, cog: int) -> list[int]:
    return [int(r[0]) for r in wh.query(
        "SELECT DISTINCT year FROM cube WHERE indicator = ? AND level = 'commune' AND cog = ? ORDER BY year", (TOTAL, cog))]


def _assign_objectives(wh: Warehouse, members: pd.DataFrame, config: ZanConfig, cog: int) -> list[str]:
    """Reduction rate of each commune: the territorialised objective of the smallest territory that contains it
    (a commune's own objective first), else the default rate. Adds `reduction` and `objective` to `members`."""
    rates = {c: config.reduction for c in members["code"]}
    labels = {c: "" for c in members["code"]}
    best: dict[str, int] = {}
    messages = []
    for o in config.objectives:
        if o.level == "commune":
            codes, size = [o.code], 0
        else:
            codes = [r[0] for r in wh.query(
                "SELECT child_code FROM membership WHERE cog = ? AND child_level = 'commune' AND parent_level = ? "
                "AND parent_code = ?", (cog, o.level, o.code))]
            size = len(codes)
        if not codes:
            messages.append(f"Objectif territorialisé ignoré : le territoire {o.level} « {o.code} » n'a aucune commune "
                            f"au COG {cog}.")
        for c in codes:
            if c in rates and size < best.get(c, 10**9):
                best[c] = size
                rates[c] = o.reduction
                labels[c] = f"{o.level} {o.code}" + (f" ({o.source})" if o.source else "")
    members["reduction"] = members["code"].map(rates).astype(float)
    members["objective"] = members["code"].map(labels)
    return messages


def _commune_table(members: pd.DataFrame, data: pd.DataFrame, config: ZanConfig, file_years: list[int],
                   last_year: int) -> tuple[pd.DataFrame, list[str]]:
    """One row per commune: reference, envelope (floor applied here and only here), consumed, remaining."""
    ref_years = list(range(config.reference[0], config.reference[1] + 1))
    since = list(range(config.period[0], min(last_year, config.period[1]) + 1))
    totals = data[data["indicator"] == TOTAL].pivot_table(index="code", columns="year", values="value", aggfunc="first",
                                                          dropna=False)
    totals = totals.reindex(index=members["code"], columns=sorted(set(ref_years) | set(since) | set(file_years)))
    ref = totals[ref_years]
    cons = totals[since] if since else totals[[]]
    rates, labels = members["reduction"].tolist(), members["objective"].tolist()
    table = pd.DataFrame({
        "code": members["code"].to_numpy(),
        "name": members["name"].to_numpy(),
        "reference_known_m2": ref.sum(axis=1, min_count=1).fillna(0.0).to_numpy(),
        "reference_complete": ref.notna().all(axis=1).to_numpy(),
        "reduction": rates,
        "objective": labels,
        "consumed_known_m2": cons.sum(axis=1).to_numpy() if since else np.zeros(len(members)),
        "consumed_complete": cons.notna().all(axis=1).to_numpy() if since else np.ones(len(members), bool),
    })
    table["reference_m2"] = np.where(table["reference_complete"], table["reference_known_m2"], np.nan)
    table["envelope_without_floor_m2"] = table["reference_m2"] * (1.0 - table["reduction"])
    table["envelope_m2"] = np.maximum(table["envelope_without_floor_m2"], config.floor_m2)
    table.loc[~table["reference_complete"], "envelope_m2"] = np.nan
    table["floor_applied"] = table["reference_complete"] & (table["envelope_without_floor_m2"] < config.floor_m2)
    table["consumed_m2"] = np.where(table["consumed_complete"], table["consumed_known_m2"], np.nan)
    table["remaining_m2"] = table["envelope_m2"] - table["consumed_m2"]
    messages = []
    incomplete = table[~table["reference_complete"]]
    file_set = set(file_years)
    for _, row in incomplete.head(10).iterrows():
        lacking = [y for y in ref_years if pd.isna(totals.at[row["code"], y]) and y in file_set]
        if lacking:
            messages.append(f"Commune {row['name'] or row['code']} ({row['code']}) : pas de valeur pour "
                            f"{', '.join(map(str, lacking))} (commune absente du fichier ou ancienne commune sans donnée).")
    if len(incomplete) > 10:
        messages.append(f"… et {len(incomplete) - 10} autres communes sans consommation de référence complète.")
    return table, messages


def _series(data: pd.DataFrame, weights: pd.Series, file_years: list[int], first: int, last: int) -> list[dict[str, Any]]:
    """Yearly totals of the territory (total and by destination); None where a year or a member is missing."""
    years = list(range(first, last + 1))
    present = set(file_years)
    out: list[dict[str, Any]] = [{"year": y} for y in years]
    for key, indicator in [("total_m2", TOTAL), *[(f"{slug}_m2", ind) for slug, ind in BY_DESTINATION.items()]]:
        sub = data[data["indicator"] == indicator]
        if sub.empty:
            for row in out:
                row[key] = None
            continue
        pivot = sub.pivot(index="code", columns="year", values="value").reindex(index=weights.index, columns=years)
        complete = pivot.notna().all(axis=0)
        sums = pivot.mul(weights, axis=0).sum(axis=0)
        for row in out:
            y = row["year"]
            row[key] = float(sums[y]) if y in present and bool(complete[y]) else None
    for row in out:
        row["status"] = "absent" if row["year"] not in present else ("ok" if row["total_m2"] is not None else "missing")
    return out


def _destination_totals(series: list[dict[str, Any]], years) -> dict[str, float | None]:
    rows = [r for r in series if r["year"] in set(years)]
    out: dict[str, float | None] = {}
    for slug in BY_DESTINATION:
        values = [r[f"{slug}_m2"] for r in rows]
        out[slug] = float(sum(values)) if values and all(v is not None for v in values) else None
    return out


def _project(method: str, n: int, totals: dict[int, float | None], last_year: int, future: list[int],
             consumed: float, envelope: float | None, observed: list[int]) -> Projection | None:
    if method == "tendance" and n < 2:
        n = 2
    window = list(range(last_year - n + 1, last_year + 1))
    points = [(y, totals.get(y)) for y in window if totals.get(y) is not None]
    if not points or (method == "tendance" and len(points) < 2):
        return None
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    if method == "moyenne":
        rate = float(ys.mean())
        path = {y: rate for y in future}
        how = (f"moyenne des années {_years(points)} ({_ha(rate)} par an) × {len(future)} année(s) restante(s) "
               f"({future[0]}-{future[-1]})" if future else "période terminée : rien à projeter")
    else:
        x_mean, y_mean = xs.mean(), ys.mean()
        slope = float(((xs - x_mean) * (ys - y_mean)).sum() / ((xs - x_mean) ** 2).sum())
        rate = slope
        path = {y: max(0.0, float(y_mean + slope * (y - x_mean))) for y in future}
        how = (f"droite des moindres carrés sur {_years(points)} ({'+' if slope >= 0 else '−'}{_ha(abs(slope))} par an), "
               f"prolongée de {future[0]} à {future[-1]}, ramenée à zéro si négative" if future else "période terminée")
    rest = float(sum(path.values()))
    total = consumed + rest
    exhausted = None
    if envelope is not None:
        cumulative = 0.0
        for y in [*observed, *future]:
            cumulative += (totals.get(y) or 0.0) if y in observed else path[y]
            if cumulative > envelope + 1e-6:
                exhausted = y
                break
    skipped = [y for y in window if totals.get(y) is None]
    statement = how + (f" ; année(s) {', '.join(map(str, skipped))} sans donnée complète, écartée(s)" if skipped else "")
    return Projection(method, METHODS[method], [p[0] for p in points], future, rate, path, rest, total,
                      total - envelope if envelope is not None else None, exhausted, statement)


def _planned_economic(wh: Warehouse, territory: Territory, communes: list[str], given: float | None,
                      remaining: float | None) -> dict[str, Any]:
    """Economic land still planned (AU zones of economic vocation), set against the remaining envelope.

    The value given by the caller if any, else the atlas's economic AU zones still free (`atlas.free_au_zones`: PLU
    zones AUc/AUs/AU of economic destination, minus the parts an activity zone already covers, its vacant or
    available plots counting as free), summed over the communes of the territory."""
    out: dict[str, Any] = {"m2": None, "gross_m2": None, "zones": None, "method": None, "share_of_remaining": None}
    if given is not None:
        out.update(m2=float(given), method="surface indiquée par l'utilisateur")
    else:
        try:
            from vigie.modules.foncier.atlas import free_au_zones
        except ImportError:  # pragma: no cover - the atlas ships with the module
            free_au_zones = None
        zones = free_au_zones(wh) if free_au_zones is not None else pd.DataFrame()
        if len(zones):
            zones = zones[zones["commune"].isin(communes)]
        if len(zones):
            out.update(m2=float(zones["free_ha"].sum()) * HECTARE, gross_m2=float(zones["area_ha"].sum()) * HECTARE,
                       zones=int(len(zones)),
                       method="zones AU à vocation économique des PLU encore libres (atlas du foncier économique : hors "
                              "parties déjà couvertes par une zone d'activité, lots vacants ou disponibles comptés libres)")
    if out["m2"] is None:
        out["method"] = "aucune zone AU à vocation économique connue : importez le zonage des PLU (zone_urba) ou indiquez la surface"
    elif remaining:
        out["share_of_remaining"] = out["m2"] / remaining
    return out


def _comparison(wh: Warehouse, territory: Territory, members: pd.DataFrame, cog: int, config: ZanConfig) -> list[dict[str, Any]]:
    """Territories of the same level sharing a département with this one, ranked by reference consumption per
    inhabitant (m²/hab.), with their consumption since 2021. A level with fewer than three such territories (a SCoT,
    the PMA) is compared with the EPCI of the département as well."""
    codes = list(members["code"])
    deps = [r[0] for r in wh.query(
        f"SELECT DISTINCT parent_code FROM membership WHERE cog = ? AND child_level = 'commune' AND parent_level = 'departement' "
        f"AND child_code IN ({', '.join('?' * len(codes))})", [cog, *codes])]
    groups = [(territory.level, _peers(wh, territory.level, deps, cog))]
    if territory.level not in ("commune", "epci") and len(groups[0][1]) < 3:
        groups.append(("epci", _peers(wh, "epci", deps, cog)))
    if territory.code not in groups[0][1]:
        groups[0][1].append(territory.code)
    rows: list[dict[str, Any]] = []
    for level, peers in groups:
        if peers:
            rows += _peer_figures(wh, level, peers, cog, config, territory)
    rows.sort(key=lambda r: (r["reference_per_inhabitant_m2"] is None, -(r["reference_per_inhabitant_m2"] or 0.0), r["code"]))
    rank = 0
    for row in rows:
        if row["reference_per_inhabitant_m2"] is not None:
            rank += 1
            row["rank"] = rank
        else:
            row["rank"] = None
    return rows


def _peers(wh: Warehouse, level: str, deps: list[str], cog: int) -> list[str]:
    """Territories of `level` with at least one commune in the départements `deps` (all of the level if none)."""
    if not deps:
        return [r[0] for r in wh.query("SELECT code FROM territory WHERE level = ? AND cog = ? ORDER BY code", (level, cog))]
    marks = ", ".join("?" * len(deps))
    if level == "commune":
        return [r[0] for r in wh.query(
            "SELECT DISTINCT child_code FROM membership WHERE cog = ? AND child_level = 'commune' "
            f"AND parent_level = 'departement' AND parent_code IN ({marks}) ORDER BY 1", [cog, *deps])]
    return [r[0] for r in wh.query(
        "SELECT DISTINCT p.parent_code FROM membership p JOIN membership d ON d.cog = p.cog AND d.child_level = 'commune' "
        f"AND d.child_code = p.child_code AND d.parent_level = 'departement' AND d.parent_code IN ({marks}) "
        "WHERE p.cog = ? AND p.child_level = 'commune' AND p.parent_level = ? ORDER BY 1", [*deps, cog, level])]


def _peer_figures(wh: Warehouse, level: str, peers: list[str], cog: int, config: ZanConfig,
                  territory: Territory) -> list[dict[str, Any]]:
    (r0, r1), (p0, p1) = config.reference, config.period
    marks = ", ".join("?" * len(peers))
    ok = "status IN ('ok', 'fragile')"
    flows = wh.query_df(
        "SELECT code, "
        f" sum(CASE WHEN year BETWEEN ? AND ? THEN value END) AS reference,"
        f" count(CASE WHEN year BETWEEN ? AND ? AND {ok} THEN 1 END) AS reference_years,"
        f" sum(CASE WHEN year BETWEEN ? AND ? THEN value END) AS consumed,"
        f" count(CASE WHEN year BETWEEN ? AND ? THEN 1 END) AS consumed_rows,"
        f" count(CASE WHEN year BETWEEN ? AND ? AND {ok} THEN 1 END) AS consumed_years "
        f"FROM cube WHERE indicator = ? AND level = ? AND cog = ? AND code IN ({marks}) GROUP BY code",
        [r0, r1, r0, r1, p0, p1, p0, p1, p0, p1, TOTAL, level, cog, *peers]).set_index("code")
    population = pd.DataFrame(columns=["code", "year", "value"]).set_index("code")
    for indicator in POPULATION_INDICATORS:
        population = wh.query_df(
            "SELECT code, year, value FROM (SELECT code, year, value, row_number() OVER (PARTITION BY code ORDER BY year DESC) AS rn "
            f"FROM cube WHERE indicator = ? AND level = ? AND cog = ? AND {ok} AND value IS NOT NULL AND code IN ({marks})) p "
            "WHERE rn = 1", [indicator, level, cog, *peers]).set_index("code")
        if len(population):
            break
    names = dict(wh.query(f"SELECT code, name FROM territory WHERE level = ? AND cog = ? AND code IN ({marks})",
                          [level, cog, *peers]))
    rows = []
    for code in peers:
        f = flows.loc[code] if code in flows.index else None
        reference = float(f["reference"]) if f is not None and int(f["reference_years"]) == r1 - r0 + 1 else None
        consumed = (float(f["consumed"]) if f is not None and int(f["consumed_rows"]) and
                    int(f["consumed_years"]) == int(f["consumed_rows"]) else None)
        pop = float(population.at[code, "value"]) if code in population.index else None
        rows.append({
            "level": level, "code": code, "name": names.get(code, code),
            "current": level == territory.level and code == territory.code,
            "reference_m2": reference, "consumed_m2": consumed, "population": pop,
            "population_year": int(population.at[code, "year"]) if code in population.index else None,
            "reference_per_inhabitant_m2": reference / pop if reference is not None and pop else None,
        })
    return rows


# ---------------------------------------------------------------------------------------------------- wording
def _number(value: float, decimals: int = 0) -> str:
    from vigie import formatting as fmt

    return fmt.number(value, decimals)


def _ha(m2: float | None) -> str:
    from vigie import formatting as fmt

    return fmt.quantity(None if m2 is None else m2 / HECTARE, "ha", 1)


def _years(points: list[tuple[int, float]]) -> str:
    ys = [p[0] for p in points]
    return f"{ys[0]}-{ys[-1]}" if len(ys) > 1 else str(ys[0])
