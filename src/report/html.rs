//! Pieces of HTML the report is made of: escaped text, tables of rounded numbers
//! with units in their headers, colour swatches, and the page's style sheet.

use plotters::style::RGBColor;
use std::fmt::Write;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small square in a label's colour.
pub fn swatch(c: RGBColor) -> String {
    format!(
        "<span class=\"sw\" style=\"background:#{:02x}{:02x}{:02x}\"></span>",
        c.0, c.1, c.2
    )
}

/// A table: a header row and rows of cells already HTML (numbers right-aligned by
/// the style sheet, text left-aligned with class "t").
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

pub enum Cell {
    /// Escaped on output.
    Text(String),
    /// Already HTML.
    Html(String),
    /// A number, rounded to 4 significant digits (empty when NaN).
    Num(f64),
}

impl Table {
    pub fn html(&self) -> String {
        let mut h = String::from("<table class=\"data\"><thead><tr>");
        for c in &self.headers {
            let _ = write!(h, "<th>{}</th>", escape(c));
        }
        h.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            h.push_str("<tr>");
            for cell in row {
                match cell {
                    Cell::Text(t) => {
                        let _ = write!(h, "<td class=\"t\">{}</td>", escape(t));
                    }
                    Cell::Html(t) => {
                        let _ = write!(h, "<td class=\"t\">{t}</td>");
                    }
                    Cell::Num(x) => {
                        let _ = write!(h, "<td>{}</td>", crate::plot::format::number(*x, 4));
                    }
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
        h
    }
}

pub const STYLE: &str = "\
body{font-family:'DejaVu Sans',sans-serif;max-width:1500px;margin:1.5em auto;padding:0 1em;color:#222}\
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table.data{border-collapse:collapse;font-size:12px;margin:.6em 0}\
table.data td,table.data th{border:1px solid #ccc;padding:2px 6px;text-align:right}\
table.data td.t{text-align:left}table.data th{background:#eee}\
table.facts td,table.facts th{text-align:left;padding:1px 10px 1px 0;vertical-align:top}\
table.facts th{font-weight:normal;color:#555}\
table.grid{border-collapse:collapse;width:100%;table-layout:fixed}\
table.grid td{padding:2px;vertical-align:top}\
table.grid th{font-size:13px;padding:2px;text-align:center}\
table.grid th.row{width:5.5em;text-align:right;padding-right:6px}\
table.grid svg{width:100%;height:auto;border:1px solid #e4e4e4}\
.fig svg{max-width:100%;height:auto;border:1px solid #ddd;margin:.3em 0}\
.sw{display:inline-block;width:.8em;height:.8em;margin-right:.35em;vertical-align:-.05em}\
ol.index{columns:3 22em;font-size:13px}\
pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:12px}\
.note{color:#666;font-size:13px}nav a{margin-right:1em}\
";
