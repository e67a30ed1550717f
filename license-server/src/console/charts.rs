//! The console's pictures: server-rendered SVG bar charts, with the numbers beside them.
//!
//! A chart is a `<figure>`: the SVG (`role="img"`, named by its caption) for those who look,
//! and a table of the same numbers in a `<details>` for those who read or use a screen reader.
//! Colours come from the console's stylesheet (`.chart .bar`), so the charts follow the light
//! and dark themes; the SVG holds no script and no style attribute (the console's CSP).

use std::fmt::Write as _;

use crate::db::charts::DAY;

/// One bar: its label under the axis, its height, and the value as people read it.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Under the bar (a day, an hour).
    pub label: String,
    /// Height, in the chart's unit.
    pub value: f64,
    /// The value written out (`12`, `98 %`).
    pub text: String,
}

/// A chart ready for a template: its SVG and its rows.
#[derive(Debug, Clone)]
pub struct Chart {
    /// `id` of the figure (unique in the page).
    pub id: &'static str,
    /// What it shows.
    pub caption: String,
    /// The SVG markup, every text in it escaped.
    pub svg: String,
    /// The bars, for the table.
    pub bars: Vec<Bar>,
    /// Whether every bar is zero (the page then says there is nothing yet).
    pub empty: bool,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 10.0;

/// A bar chart of `bars`, the axis up to at least `floor` (so that a few small values do not
/// fill the picture).
pub fn bars(id: &'static str, caption: &str, bars: Vec<Bar>, floor: f64) -> Chart {
    let max = bars.iter().map(|b| b.value).fold(floor, f64::max);
    let n = bars.len().max(1);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let step = plot_w / f64::from(u32::try_from(n).unwrap_or(u32::MAX));
    let mut svg = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-caption" focusable="false">"#
    );
    for (value, y) in [(max, TOP), (max / 2.0, TOP + plot_h / 2.0), (0.0, TOP + plot_h)] {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0,
            escape(&short(value)),
        );
    }
    // Every label when there are few, else one in four, so they never overlap.
    let every = if n > 16 { 4 } else { 1 };
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + step * f64::from(u32::try_from(i).unwrap_or(0));
        let h = if max > 0.0 { (b.value / max).clamp(0.0, 1.0) * plot_h } else { 0.0 };
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{}: {}</title></rect>"#,
            x + step * 0.15,
            TOP + plot_h - h,
            step * 0.7,
            escape(&b.label),
            escape(&b.text),
        );
        if i.checked_rem(every) == Some(0) {
            let _ = write!(
                svg,
                r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x + step / 2.0,
                HEIGHT - 6.0,
                escape(&b.label),
            );
        }
    }
    svg.push_str("</svg>");
    let empty = bars.iter().all(|b| b.value == 0.0);
    Chart { id, caption: caption.to_owned(), svg, bars, empty }
}

/// `days` bars ending today, each the count of its day in `counts` (`(day, n)`), 0 if absent.
pub fn daily(today: i64, days: i64, counts: &[(i64, i64)]) -> Vec<Bar> {
    (today.saturating_sub(days.saturating_sub(1))..=today)
        .map(|day| {
            let n = counts.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| *n);
            Bar { label: day_label(day), value: as_f64(n), text: n.to_string() }
        })
        .collect()
}

/// `Nov 21`.
pub fn day_label(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day.saturating_mul(DAY))
        .ok()
        .and_then(|t| t.format(time::macros::format_description!("[month repr:short] [day padding:none]")).ok())
        .unwrap_or_default()
}

/// `14:00`.
pub fn hour_label(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(time::macros::format_description!("[hour]:00")).ok())
        .unwrap_or_default()
}

/// A count as a chart's height (exact up to 2^53, more than any count here).
#[allow(clippy::cast_precision_loss)]
pub fn as_f64(n: i64) -> f64 {
    n as f64
}

/// An axis value: whole numbers as they are, fractions to one place.
fn short(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// Text safe inside SVG markup.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_a_bar_a_day_and_escapes_its_text() {
        let today = 20_000;
        let days = daily(today, 7, &[(today, 5), (today - 6, 2), (today - 30, 9)]);
        assert_eq!(days.len(), 7);
        assert_eq!(days.iter().map(|b| b.value).collect::<Vec<_>>(), [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0]);
        let chart = bars("c", "Licenses", days, 1.0);
        assert_eq!(chart.svg.matches("<rect").count(), 7);
        assert!(!chart.empty);
        let odd = bars("c", "x", vec![Bar { label: "<b>&".into(), value: 1.0, text: "\"1\"".into() }], 1.0);
        assert!(odd.svg.contains("&lt;b&gt;&amp;") && odd.svg.contains("&quot;1&quot;") && !odd.svg.contains("<b>"));
        assert!(bars("c", "x", daily(today, 3, &[]), 1.0).empty);
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(day_label(20_779), "Nov 22");
        assert_eq!(hour_label(20_779 * DAY + 14 * 3600 + 59), "14:00");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(0.5), "0.5");
    }
}
