"""The cube rows of a territory in microseconds: an in-memory copy of the cube, sorted by territory, built once.

A portrait reads every indicator of one territory and of its reference. The cube table is not ordered by
territory, so each such read scans it whole (~10 ms on the demo cube of 320,000 rows, on two cores). The app
never writes the warehouse, so it may keep a read-only copy of the cube of its COG, as numpy arrays sorted by
(level, code) with the slice of each territory: a lookup is then a slice. Masked values are not copied (secret
rows carry no value).

The copy is only made when the cube is small enough (`VIGIE_CUBE_INDEX_MAX_ROWS`, 5 million rows by default,
about 200 MB); a national cube is read with one SQL query per portrait instead.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from vigie.warehouse import Warehouse

DEFAULT_MAX_ROWS = 5_000_000


class CubeIndex:
    """`rows(level, code)` → {indicator: [row dicts by year]}; `enabled` is False when the cube is too big."""

    def __init__(self, wh: Warehouse, cog: int, max_rows: int | None = None):
        self.cog = cog
        self.max_rows = max_rows if max_rows is not None else int(os.environ.get("VIGIE_CUBE_INDEX_MAX_ROWS", DEFAULT_MAX_ROWS))
        start = time.perf_counter()
        n = int(wh.query("SELECT count(*) FROM cube WHERE cog = ?", (cog,))[0][0])
        self.size = n
        self.enabled = n <= self.max_rows
        self._slices: dict[tuple[str, str], tuple[int, int]] = {}
        if self.enabled:
            order = "ORDER BY level, code, indicator, year"
            frame = wh.query_df(
                "SELECT indicator, year, CASE WHEN status = 'secret' THEN NULL ELSE value END AS value, "
                f"status, synthetic, members, covered FROM cube WHERE cog = ? {order}",
                (cog,),
            )
            counts = wh.query(
                "SELECT level, code, count(*) FROM cube WHERE cog = ? GROUP BY level, code ORDER BY level, code", (cog,))
            indicator = pd.Categorical(frame["indicator"])
            status = pd.Categorical(frame["status"])
            self.indicators = [str(c) for c in indicator.categories]
            self.statuses = [str(c) for c in status.categories]
            self.indicator = np.asarray(indicator.codes)
            self.status = np.asarray(status.codes)
            self.year = frame["year"].to_numpy(dtype=np.int64)
            self.value = frame["value"].to_numpy(dtype=float, na_value=np.nan)
            self.synthetic = frame["synthetic"].to_numpy(dtype=bool)
            self.members = frame["members"].to_numpy(dtype=float, na_value=np.nan)
            self.covered = frame["covered"].to_numpy(dtype=float, na_value=np.nan)
            offset = 0
            for level, code, count in counts:
                self._slices[(level, code)] = (offset, offset + int(count))
                offset += int(count)
            if offset != len(frame):  # the two reads must agree, or the slices would be wrong
                raise RuntimeError("copie du cube incohérente")
        self.seconds = time.perf_counter() - start

    def rows(self, level: str, code: str) -> dict[str, list[dict]]:
        found = self._slices.get((level, code))
        out: dict[str, list[dict]] = {}
        if found is None:
            return out
        start, end = found
        indicators, statuses = self.indicators, self.statuses
        rows = zip(self.indicator[start:end].tolist(), self.year[start:end].tolist(), self.value[start:end].tolist(),
                   self.status[start:end].tolist(), self.synthetic[start:end].tolist(),
                   self.members[start:end].tolist(), self.covered[start:end].tolist())
        for ind, year, value, st, synthetic, members, covered in rows:
            status = statuses[st]
            out.setdefault(indicators[ind], []).append({
                "year": year, "value": None if status == "secret" or value != value else value,
                "status": status, "synthetic": synthetic,
                "members": None if members != members else int(members),
                "covered": None if covered != covered else int(covered),
            })
        return out

