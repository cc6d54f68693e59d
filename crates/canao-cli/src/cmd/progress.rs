//! Progress for phases without a count (loading, embedding, scoring the teacher).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner showing `msg` and the time spent; without a terminal (the bar hidden), the message
/// as one line instead.
pub fn spinner(msg: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"))
        .with_message(msg.to_string());
    if bar.is_hidden() {
        eprintln!("{msg}");
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
