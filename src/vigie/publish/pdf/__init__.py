"""Printed publications of Vigie (PDF, reportlab) and the small toolkit they are made with.

Publications: `fiche_quartier` (a QPV's « Fiche Quartier »), `tableau_de_bord` (a territory's dashboard), each
with its XLSX data pack (`datapack`), made one at a time or in batch (`batch`, spawn-based process pool), from
the CLI (`cli`: `vigie fiche qpv CODE`, `vigie fiches qpv --all`, `vigie tableau-de-bord CODE [--tous]`).

How to write another publication (baromètre, survey report, ZAN report…) with the toolkit:

1. Collect, then render. Read every figure first (`figures.FigureStore(engine, territories, indicators)`: one
   query, the engine's rules for the latest year and secrecy) into plain picklable data (`figures.Place`,
   `figures.Definition`, `figures.Figure`: no pandas, DuckDB or pydantic object, so that worker processes start
   fast); render from that data only, so that `batch.run` can spread the rendering over worker processes
   (`batch.Job` names the renderer; add yours to `batch._render`).
2. Render with `document.Publication(path, title, subtitle, synthetic=...)`: A4 pages with header, footer
   (« page n sur N ») and the demo-data mark. Flow helpers move a cursor down the page: `heading`, `paragraph`
   (wrapped, French typography through `typography.french`), `reserve(height)` → a `Box` to draw in (`box.split`
   for side-by-side boxes), `sources([...])`, `note()` for a footnote; `save()` returns the page count.
3. Draw in boxes: `charts.bars / grouped_bars / lines / pyramid` (vector, French number labels, missing and
   secret values drawn as words, never as bars), `maps.draw_map(c, box, [Layer(...)], bounds, source=...)` from
   Lambert-93 geometries (scale bar, north arrow; `choropleth_colours` + `class_legend` with `Engine.classes`),
   `tables.draw_table(pub, header, rows, widths)` with `tables.Cell(text, status)` (secret / fragile marks).
4. Key sentences: `messages.compare(Subject("le taux de chômage"), value, reference, "l'agglomération", unit="%")`.
5. Write the data pack beside the PDF: `datapack.write(path, title, records)` with one `datapack.Record` per
   figure shown (written with XlsxWriter).
6. Numbers: `numbers.number / percent / quantity` are `vigie.formatting`'s, memoised (Babel is slow per call).

Every number a person reads goes through `vigie.formatting`; fonts are DejaVu Sans Condensed, bundled in
`fonts/` with their licence (no download, real selectable text).
"""
