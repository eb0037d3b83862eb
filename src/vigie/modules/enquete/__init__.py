"""Household survey module ("enquête usages et pratiques du territoire").

One file per job:

* `codebook` — the YAML data dictionary (variables, modalities, respondent id, home commune, weight, destinations
  per motive) and its validation;
* `schema` — the module's own warehouse tables (portable SQL, DuckDB and PostgreSQL);
* `importer` — validated, all-or-nothing import of survey microdata (CSV or XLSX);
* `calibration` — INSEE Calmar calibration (linear, raking, bounded logit), trimming, IPF raking as in R `survey`,
  and the weighting report;
* `margins` — calibration margins taken from the census in the warehouse, or from a YAML file;
* `estimates` — design-based totals, means, shares, ratios with linearised standard errors (stratified, clustered,
  calibrated designs), cross-tabulations with the Rao–Scott test;
* `survey` — a stored survey read back from the warehouse, its weights and its design;
* `weighting` — calibrating a stored survey and keeping its weights;
* `flows` — origin–destination flows per motive, attraction of the poles, catchment areas, leakage;
* `interviews` — interview notes, their coding with a theme grid, theme counts and quotations;
* `synthetic` — the deterministic synthetic demo survey;
* `cli` — the `vigie enquete` commands.
"""
