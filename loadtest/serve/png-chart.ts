import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * A Vega-Lite chart as a PNG, offline: Vega-Lite compiles to Vega, Vega renders SVG headlessly
 * (no browser, no canvas), and resvg (Rust, shipped as a prebuilt npm binary) rasterises it with
 * the system's fonts. `scale` multiplies the pixel size for sharp figures.
 */
export async function renderChartPng(spec: TopLevelSpec, scale = 2): Promise<Buffer> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG(scale);
    // DejaVu Sans is the usual system font on Debian; resvg falls back to any loaded font.
    return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  } finally {
    view.finalize();
  }
}
