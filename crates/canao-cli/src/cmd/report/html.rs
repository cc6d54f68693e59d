//! Small HTML pieces for the run page: escaping, tables of JSON rows, and the few lines of script
//! that sort a table by a clicked column. No framework, nothing loaded from anywhere.

use serde_json::Value;

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value as one table cell: numbers to 4 significant digits, short arrays inline.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => short_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let text = v.to_string();
            if text.len() <= 60 {
                text
            } else {
                format!("[{} items]", a.len())
            }
        }
        other => other.to_string(),
    }
}

fn short_float(f: f64) -> String {
    if f == 0.0 || (1e-3..1e6).contains(&f.abs()) {
        let s = format!("{f:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{f:.4e}")
    }
}

/// The scalar leaves of `v` as (dotted path, value), objects flattened up to `depth` levels;
/// arrays count as leaves.
pub fn leaves(v: &Value, depth: usize) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    flatten("", v, depth, &mut out);
    out
}

fn flatten(prefix: &str, v: &Value, depth: usize, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) if depth > 0 => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, child, depth - 1, out);
            }
        }
        Value::Object(_) => {}
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// A sortable table of rows (each a JSON object, flattened two levels deep), columns in order of
/// first appearance; at most `limit` rows are shown, and the caption says how many there are.
pub fn table(caption: &str, rows: &[Value], limit: usize) -> String {
    let flat: Vec<Vec<(String, Value)>> = rows.iter().take(limit).map(|r| leaves(r, 2)).collect();
    let mut columns: Vec<String> = Vec::new();
    for row in &flat {
        for (k, _) in row {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let shown = if rows.len() > limit {
        format!("first {limit} of {} rows; the raw file has all", rows.len())
    } else {
        format!("{} rows", rows.len())
    };
    let mut html = format!(
        "<table class=\"sortable\"><caption>{} ({shown}; click a column to sort)</caption><thead><tr>",
        escape(caption)
    );
    for c in &columns {
        html.push_str(&format!("<th>{}</th>", escape(c)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in &flat {
        html.push_str("<tr>");
        for c in &columns {
            let v = row.iter().find(|(k, _)| k == c).map_or(String::new(), |(_, v)| cell(v));
            html.push_str(&format!("<td>{}</td>", escape(&v)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// Sorts a `table.sortable` by the clicked header: numerically where both cells are numbers,
/// else as text; a second click reverses.
pub const SORT_SCRIPT: &str = r#"<script>
document.querySelectorAll("table.sortable th").forEach((th, _) => th.addEventListener("click", () => {
  const table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
  const dir = th.dataset.dir === "asc" ? -1 : 1;
  table.querySelectorAll("th").forEach(h => delete h.dataset.dir);
  th.dataset.dir = dir === 1 ? "asc" : "desc";
  const key = tr => tr.cells[col] ? tr.cells[col].textContent : "";
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
    const num = !isNaN(nx) && !isNaN(ny);
    return dir * (num ? nx - ny : x.localeCompare(y));
  });
  rows.forEach(r => body.appendChild(r));
}));
</script>"#;

/// The page's style: readable tables and plots that fit the window.
pub const STYLE: &str = "<style>
body { font-family: sans-serif; margin: 2em; max-width: 75em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #eee; cursor: pointer; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
figure { display: inline-block; margin: 1em; vertical-align: top; }
figure svg { max-width: 100%; height: auto; }
.missing { color: #a00; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
</style>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_cells() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(cell(&serde_json::json!(0.123456789)), "0.1235");
        assert_eq!(cell(&serde_json::json!(3.0)), "3");
        assert_eq!(cell(&serde_json::json!(1.5e-7)), "1.5000e-7");
        assert_eq!(cell(&serde_json::json!(42)), "42");
        assert_eq!(cell(&serde_json::json!((0..40).collect::<Vec<_>>())), "[40 items]");
    }

    #[test]
    fn tables_flatten_rows_and_say_what_they_left_out() {
        let rows: Vec<Value> = (0..5)
            .map(|i| serde_json::json!({"index": i, "evaluation": {"accuracy": 0.5 + i as f64 / 10.0}}))
            .collect();
        let html = table("log.jsonl", &rows, 3);
        assert!(html.contains("<th>evaluation.accuracy</th>") && html.contains("<td>0.7</td>"));
        assert!(html.contains("first 3 of 5 rows") && !html.contains("<td>0.9</td>"));
    }
}
