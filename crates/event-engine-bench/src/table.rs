//! Results and the table they print as.

use std::time::Duration;

/// One measured line.
pub struct Row {
    pub what: String,
    pub events: u64,
    pub elapsed: Duration,
    pub lost: u64,
    /// The rate this row is compared with (`None`: it is the reference).
    pub baseline: Option<f64>,
}

impl Row {
    pub fn rate(&self) -> f64 {
        let received = self.events.saturating_sub(self.lost);
        received as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Prints rows as a Markdown table.
pub fn print(title: &str, rows: &[Row]) {
    println!("\n### {title}\n");
    println!("| measurement | events | time | events/s | ratio | lost |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let ratio = match r.baseline {
            Some(b) => format!("{:.2}×", r.rate() / b),
            None => "1.00× (reference)".to_string(),
        };
        println!(
            "| {} | {} | {:.2} s | {} | {} | {} |",
            r.what,
            r.events,
            r.elapsed.as_secs_f64(),
            thousands(r.rate()),
            ratio,
            r.lost
        );
    }
}

pub fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
