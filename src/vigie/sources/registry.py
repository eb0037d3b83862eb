"""Import kinds known to `vigie import <kind> <file>`, each mapped to its importer class."""

from __future__ import annotations

import importlib

from vigie.errors import VigieError
from vigie.sources.base import Importer

# kind -> (module, class, French description)
KINDS: dict[str, tuple[str, str, str]] = {
    "referentiel": ("vigie.sources.cog_referential", "CommunesTableImporter", "Référentiel communes/EPCI tabulaire (avec populations légales)"),
    "decoupage-administratif": ("vigie.sources.cog_referential", "DecoupageAdministratifImporter", "Référentiel @etalab/decoupage-administratif (communes.json, epci.json)"),
    "cog-insee": ("vigie.sources.cog_referential", "InseeCogImporter", "Code officiel géographique INSEE (v_commune_AAAA.csv)"),
    "appartenance": ("vigie.sources.appartenance", "AppartenanceImporter", "Table d'appartenance géographique des communes (INSEE)"),
    "passage": ("vigie.sources.passage", "PassageImporter", "Table de passage entre millésimes du COG"),
    "contours": ("vigie.sources.contours", "ContoursImporter", "Contours de territoires (GeoJSON, GeoPackage, Shapefile)"),
    "recensement": ("vigie.sources.census", "CensusImporter", "Recensement INSEE, bases communales/infracommunales (base-cc, base-ic)"),
    "qpv": ("vigie.sources.qpv", "QpvImporter", "Quartiers prioritaires de la politique de la ville (ANCT)"),
    "filosofi": ("vigie.sources.filosofi", "FilosofiImporter", "Revenus disponibles Filosofi (INSEE)"),
    "friches": ("vigie.sources.friches", "FrichesImporter", "Friches (Cartofriches / standard CNIG friches)"),
    "couche": ("vigie.sources.layer", "LayerImporter", "Couche géographique de points ou polygones (GeoJSON, GeoPackage, Shapefile)"),
    "csv": ("vigie.sources.generic_csv", "GenericCsvImporter", "CSV quelconque décrit par un fichier de correspondance YAML"),
    "territoires": ("vigie.sources.custom_territories", "CustomTerritoriesImporter", "Territoires personnalisés déclarés comme unions (PMA, SCoT, PETR…)"),
    "contours-territoires": ("vigie.sources.custom_territories", "CustomContoursImporter", "Contours des territoires personnalisés, par union des contours des communes"),
    "cnig-pole-eco": ("vigie.modules.foncier.cnig", "PoleImporter", "Pôles économiques, standard CNIG sites économiques (pole-eco)"),
    "cnig-site-eco": ("vigie.modules.foncier.cnig", "SiteImporter", "Zones d'activité, standard CNIG sites économiques (site-eco)"),
    "cnig-terrain-eco": ("vigie.modules.foncier.cnig", "TerrainImporter", "Terrains des zones d'activité, standard CNIG (terrain-eco)"),
    "cnig-etablissement": ("vigie.modules.foncier.cnig", "EtablissementImporter", "Établissements des zones d'activité, standard CNIG (etablissement)"),
    "plu-zones": ("vigie.modules.foncier.plu", "PluZonesImporter", "Zonage des PLU/PLUi au format ZONE_URBA (Géoportail de l'Urbanisme)"),
    "sirene-zones": ("vigie.modules.foncier.sirene", "SireneZonesImporter", "Établissements SIRENE des zones d'activité (stock + géolocalisation)"),
    "chomage-ze": ("vigie.modules.barometre.import_chomage", "ChomageZoneImporter", "Taux de chômage localisés trimestriels par zone d'emploi (INSEE)"),
    "urssaf-effectifs": ("vigie.modules.barometre.import_urssaf", "UrssafEmploymentImporter", "Effectifs salariés du secteur privé par commune et secteur (Urssaf)"),
    "demandeurs-emploi": ("vigie.modules.barometre.import_defm", "JobseekersImporter", "Demandeurs d'emploi inscrits, catégories A et ABC (France Travail)"),
    "creations-sirene": ("vigie.modules.barometre.import_sirene", "SireneCreationsImporter", "Créations d'entreprises d'après le stock SIRENE des établissements"),
    "sitadel": ("vigie.modules.barometre.import_sitadel", "SitadelImporter", "Logements autorisés et commencés, séries mensuelles par commune (Sitadel)"),
    "dvf": ("vigie.modules.barometre.import_dvf", "DvfImporter", "Ventes et prix des logements, DVF géolocalisées (DGFiP/Etalab)"),
    "consommation-naf": ("vigie.modules.foncier.cerema", "CeremaConsommationImporter", "Consommation d'espaces naturels, agricoles et forestiers par commune (Cerema)"),
}


def importer_class(kind: str) -> type[Importer]:
    try:
        module, cls, _ = KINDS[kind]
    except KeyError:
        raise VigieError(f"Type d'import inconnu « {kind} ». Types possibles : {', '.join(sorted(KINDS))}.") from None
    return getattr(importlib.import_module(module), cls)
