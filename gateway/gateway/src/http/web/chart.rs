//! Bar charts for the dashboard, laid out here and drawn as inline SVG by
//! the template: no chart library, no script, readable without colour (each
//! bar carries its number and a `<title>`; the table beside it has all
//! figures).

/// A grouped bar chart: one group per category (a month), one bar per
/// series (a channel) in each.
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// Baseline of the bars (y of value 0).
    pub base: u32,
    pub groups: Vec<Group>,
    pub legend: Vec<Legend>,
    /// Horizontal grid lines with their value.
    pub ticks: Vec<Tick>,
}

pub struct Group {
    pub label: String,
    /// x of the label's centre.
    pub label_x: u32,
    pub bars: Vec<Bar>,
}

pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub value: i64,
    /// The series' colour class (`s0`…`s5`).
    pub class: String,
    /// `2026-10 · 政府网站：12`.
    pub title: String,
}

pub struct Legend {
    pub label: String,
    pub class: String,
}

pub struct Tick {
    pub y: u32,
    pub value: i64,
}

const WIDTH: u32 = 640;
const HEIGHT: u32 = 220;
const LEFT: u32 = 36;
const TOP: u32 = 12;
const BOTTOM: u32 = 28;

/// Lays out `values[group][series]`.
pub fn grouped(categories: &[String], series: &[String], values: &[Vec<i64>]) -> Chart {
    let max = values.iter().flatten().copied().max().unwrap_or(0).max(1);
    let step = nice_step(max);
    let top_value = (max + step - 1) / step * step;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = HEIGHT - BOTTOM;
    let group_w = (WIDTH - LEFT) / u32::try_from(categories.len().max(1)).unwrap_or(1);
    let n = u32::try_from(series.len().max(1)).unwrap_or(1);
    let bar_w = ((group_w.saturating_sub(8)) / n).clamp(2, 40);
    let scale = |v: i64| -> u32 {
        let h = (v.max(0) as f64) * f64::from(plot_h) / (top_value as f64);
        h.round() as u32
    };
    let groups = categories
        .iter()
        .enumerate()
        .map(|(g, label)| {
            let gx = LEFT + u32::try_from(g).unwrap_or(0) * group_w;
            let used = bar_w * n;
            let start = gx + (group_w.saturating_sub(used)) / 2;
            let bars = series
                .iter()
                .enumerate()
                .map(|(s, name)| {
                    let value = values.get(g).and_then(|row| row.get(s)).copied().unwrap_or(0);
                    let height = scale(value);
                    Bar {
                        x: start + u32::try_from(s).unwrap_or(0) * bar_w,
                        y: base - height,
                        width: bar_w.saturating_sub(1).max(1),
                        height,
                        value,
                        class: format!("s{}", s % 6),
                        title: format!("{label} · {name}：{value}"),
                    }
                })
                .collect();
            Group { label: label.clone(), label_x: gx + group_w / 2, bars }
        })
        .collect();
    let ticks = (0..=top_value / step)
        .map(|i| {
            let value = i * step;
            Tick { y: base - scale(value), value }
        })
        .collect();
    let legend = series
        .iter()
        .enumerate()
        .map(|(s, label)| Legend { label: label.clone(), class: format!("s{}", s % 6) })
        .collect();
    Chart { width: WIDTH, height: HEIGHT, base, groups, legend, ticks }
}

/// A step of 1, 2 or 5 × 10ⁿ giving at most five grid lines.
fn nice_step(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if max <= step * m * 5 {
                return step * m;
            }
        }
        step *= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional_and_inside_the_plot() {
        let cats = vec!["2026-09".to_owned(), "2026-10".to_owned()];
        let series = vec!["政府网站".to_owned(), "微信".to_owned()];
        let chart = grouped(&cats, &series, &[vec![10, 5], vec![0, 20]]);
        let bars: Vec<&Bar> = chart.groups.iter().flat_map(|g| &g.bars).collect();
        assert_eq!(bars.len(), 4);
        assert_eq!(bars[3].value, 20);
        assert_eq!(bars[2].height, 0);
        assert_eq!(bars[0].height, bars[1].height * 2);
        assert!(bars.iter().all(|b| b.y + b.height == chart.base && b.y >= TOP && b.x + b.width <= WIDTH));
        assert_eq!(bars[1].title, "2026-09 · 微信：5");
        assert_eq!(chart.ticks.last().map(|t| t.value), Some(20));
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(7), 2);
        assert_eq!(nice_step(23), 5);
        assert_eq!(nice_step(240), 50);
        let empty = grouped(&[], &[], &[]);
        assert!(empty.groups.is_empty());
    }
}
