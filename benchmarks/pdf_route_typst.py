"""The comparison route for the Fiche Quartier: the same collected data (`fiche_quartier.FicheData`) laid out in
Typst (PyPI `typst`), with the map and the charts drawn as SVG. Not product code: used by
`benchmarks/pdf_fiches.py` to compare speed, output and install weight with the reportlab route.

Same content as the product fiche: header, intro, map of the QPV in its communes, key figures, key messages,
one table per theme (QPV | communes | EPCI | pôle) and one chart per theme, the age pyramid as a chart, sources.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import shapely

from vigie.publish.pdf import fiche_quartier as fq
from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf.figures import text
from vigie.publish.pdf.fonts import FONT_DIR

COLOURS = ["#c2410c", "#1d4e89", "#5b8fc7", "#7c8b99", "#b8c2cc", "#d9a441"]


def _typst_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _content(value: str) -> str:
    """Text as Typst content (markup characters escaped)."""
    out = []
    for ch in value:
        out.append("\\" + ch if ch in "#*_`$<>@[]\\/~=-+" else ch)
    return "".join(out)


def map_svg(data: fq.FicheData, width: float = 340, height: float = 250) -> str:
    m = data.map
    minx, miny, maxx, maxy = m.bounds
    dx, dy = maxx - minx, maxy - miny
    minx, maxx, miny, maxy = minx - dx * 0.06, maxx + dx * 0.06, miny - dy * 0.06, maxy + dy * 0.06
    scale = min(width / (maxx - minx), height / (maxy - miny))
    ox = width / 2 - (minx + maxx) / 2 * scale
    oy = height / 2 + (miny + maxy) / 2 * scale

    def path(geom) -> str:
        geom = shapely.simplify(geom, 0.33 / scale)
        parts = []
        for poly in getattr(geom, "geoms", [geom]):
            if poly.geom_type != "Polygon":
                continue
            for ring in [poly.exterior, *poly.interiors]:
                coords = shapely.get_coordinates(ring)
                parts.append("M" + " L".join(f"{x * scale + ox:.1f},{oy - y * scale:.1f}" for x, y in coords) + "Z")
        return "".join(parts)

    body = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
            f'<rect width="{width}" height="{height}" fill="white" stroke="#cbd2d9"/>']
    for geoms, fill, stroke in ((m.neighbours, "#f5f5f4", "#d6d3d1"), (m.communes, "#e0ecf7", "#1d4e89"),
                                (m.other_qpv, "#fbd5c0", "#e8a27c"), ([m.qpv], "#c2410c", "#7c2d12")):
        for g in geoms:
            body.append(f'<path d="{path(g)}" fill="{fill}" stroke="{stroke}" stroke-width="0.6" fill-rule="evenodd"/>')
    for g, name in zip(m.communes, m.commune_names):
        p = g.representative_point()
        body.append(f'<text x="{p.x * scale + ox:.1f}" y="{oy - p.y * scale:.1f}" font-family="DejaVu Sans" '
                    f'font-size="7" font-weight="bold" text-anchor="middle">{escape(name)}</text>')
    metres = 1000 if (width * 0.25 / scale) >= 1000 else 500
    body.append(f'<rect x="8" y="{height - 14}" width="{metres * scale:.1f}" height="3" fill="black"/>')
    body.append(f'<text x="{metres * scale + 12:.1f}" y="{height - 10}" font-family="DejaVu Sans" font-size="6.5">'
                f'{metres // 1000 if metres >= 1000 else metres} {"km" if metres >= 1000 else "m"}</text>')
    body.append(f'<text x="{width - 14}" y="20" font-family="DejaVu Sans" font-size="9" text-anchor="middle">N ▲</text>')
    body.append("</svg>")
    return "".join(body)


def columns_svg(categories: list[str], series: list[tuple[str, list, str]], unit: str, decimals: int,
                width: float = 520, height: float = 120) -> str:
    shown = [v for _n, values, _c in series for v in values if v is not None] or [1.0]
    top = max(shown) * 1.15
    plot_h = height - 40
    group_w = width / len(categories)
    bar_w = min(26.0, (group_w - 10) / len(series))
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for g, cat in enumerate(categories):
        x0 = g * group_w + (group_w - bar_w * len(series)) / 2
        body.append(f'<text x="{g * group_w + group_w / 2:.1f}" y="{plot_h + 12}" font-family="DejaVu Sans" font-size="7" '
                    f'text-anchor="middle">{escape(cat)}</text>')
        for s_i, (_name, values, colour) in enumerate(series):
            v = values[g]
            if v is None:
                continue
            h = plot_h * v / top
            x = x0 + s_i * bar_w
            label = fmt.percent(v, decimals) if unit == "%" else fmt.number(v, decimals)
            body.append(f'<rect x="{x:.1f}" y="{plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{colour}"/>')
            body.append(f'<text x="{x + bar_w / 2:.1f}" y="{plot_h - h - 2:.1f}" font-family="DejaVu Sans" font-size="5.5" '
                        f'text-anchor="middle">{escape(label)}</text>')
    x = 0.0
    for name, _values, colour in series:
        body.append(f'<rect x="{x:.1f}" y="{height - 10}" width="7" height="7" fill="{colour}"/>'
                    f'<text x="{x + 10:.1f}" y="{height - 4}" font-family="DejaVu Sans" font-size="7">{escape(name)}</text>')
        x += 20 + len(name) * 4
    body.append("</svg>")
    return "".join(body)


def source(data: fq.FicheData, files: dict[str, str]) -> str:
    t = data.territory
    communes = ", ".join(n for _c, n, _w in data.communes)
    lines = [
        '#set page(paper: "a4", margin: (x: 1.27cm, top: 2.4cm, bottom: 1.6cm), '
        'header: block(fill: rgb("#1d4e89"), inset: 8pt, width: 100%)[#text(fill: white, weight: "bold", size: 14pt)['
        + _content(f"Fiche quartier — {t.name}") + ']], footer: context [#set text(size: 7pt); '
        + _content(f"Fiche quartier — {t.name}") + ' #h(1fr) page #counter(page).display() sur #counter(page).final().first()])',
        '#set text(font: "DejaVu Sans Condensed", size: 9pt, lang: "fr")',
        '#set table(stroke: 0.3pt + rgb("#cbd2d9"))',
        _content(f"Le quartier prioritaire « {t.name} » ({t.code}) est situé sur {communes}.") + "\n",
    ]
    for note in data.notes:
        lines.append("_" + _content(note) + "_\n")
    if data.synthetic:
        lines.append('#text(fill: rgb("#b54708"), weight: "bold")[Données fictives de démonstration]\n')
    key = []
    for indicator, label in (("population", "Habitants"), ("part_0014", "Moins de 15 ans"), ("taux_chomage", "Taux de chômage"),
                             ("part_hlm", "Locataires HLM"), ("part_familles_monoparentales", "Familles monoparentales")):
        d = data.definitions.get(indicator)
        if d:
            key.append(f'#text(size: 14pt, weight: "bold", fill: rgb("#c2410c"))[{_content(text(d, data.figure(indicator, 0), unit=False))}] \\ '
                       f'#text(size: 7pt)[{_content(label)}]')
    key_block = " \\ ".join(key)
    lines.append(f'#grid(columns: (2fr, 1fr), gutter: 10pt, image({_typst_string(files["map"])}, width: 100%), [{key_block}])')
    lines.append("== Messages clés")
    for sentence in fq.key_messages(data):
        lines.append("- " + _content(sentence))
    headers = ["Indicateur"] + [c.header for c in data.columns]
    for theme in [fq.DEMOGRAPHY, *fq.THEMES]:
        lines.append("== " + _content(theme.title))
        cells = [f'table.header({", ".join("[*" + _content(h) + "*]" for h in headers)})']
        for label, figs, definition in fq.theme_rows(data, theme):
            row = [f"[{_content(label)}]"]
            for fig in figs:
                d = data.definitions.get(fig.indicator, definition)
                row.append(f"[{_content(text(d, fig, unit=False))}]")
            cells.append(", ".join(row))
        lines.append(f'#table(columns: (3fr, {", ".join(["1fr"] * len(data.columns))}), align: (left, {", ".join(["right"] * len(data.columns))}), '
                     + ", ".join(cells) + ")")
        if theme.title in files:
            lines.append(f"#image({_typst_string(files[theme.title])}, width: 100%)")
    lines.append("== Sources et millésimes")
    for line in fq.sources(data):
        lines.append("- " + _content(line))
    return "\n".join(lines)


def chart_files(data: fq.FicheData, folder: Path) -> dict[str, str]:
    files = {"map": "map.svg"}
    (folder / "map.svg").write_text(map_svg(data))
    pyramid = [("Quartier", [data.figure(i, 0).value for i, _l in fq.PYRAMID], COLOURS[0]),
               (data.columns[1].name, [data.figure(i, 1).value for i, _l in fq.PYRAMID], COLOURS[1])]
    (folder / "demo.svg").write_text(columns_svg([label for _i, label in fq.PYRAMID], pyramid, "%", 1))
    files[fq.DEMOGRAPHY.title] = "demo.svg"
    for n, theme in enumerate(fq.THEMES):
        series = []
        for i in fq.chart_columns(data, theme):
            inds = theme.chart_qpv if i == 0 and theme.chart_qpv else theme.chart
            series.append((data.columns[i].header, [data.figure(ind, i).value for ind in inds], COLOURS[i]))
        (folder / f"c{n}.svg").write_text(columns_svg(list(theme.chart_labels), series, theme.chart_unit, 1))
        files[theme.title] = f"c{n}.svg"
    return files


class TypstRoute:
    """One Typst compiler per process (fonts loaded once), a scratch folder per fiche."""

    def __init__(self) -> None:
        import typst

        self._typst = typst
        self.fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(FONT_DIR)])

    def render(self, data: fq.FicheData, path: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            files = chart_files(data, folder)
            (folder / "main.typ").write_text(source(data, files))
            self._typst.compile(str(folder / "main.typ"), output=path, root=str(folder), font_paths=self.fonts)


_route: TypstRoute | None = None


def render(data: fq.FicheData, path: str) -> None:
    """Render one fiche through Typst (the compiler is made once per process)."""
    global _route
    if _route is None:
        _route = TypstRoute()
    _route.render(data, path)
