//! String escapes of the text form: exactly those Rust's `{:?}` writes for a `str`, which is how
//! names and string attributes are printed, so that any string prints and parses back as itself.

/// The string a quoted body (without its quotes) stands for.
pub fn unescape(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or("a string ends with a lone `\\`")?;
        out.push(match e {
            '"' | '\\' | '\'' => e,
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'u' => unicode(&mut chars)?,
            other => return Err(format!("unsupported escape `\\{other}` in a string")),
        });
    }
    Ok(out)
}

/// The `{XXXX}` of a `\u{XXXX}` escape.
fn unicode(chars: &mut std::str::Chars<'_>) -> Result<char, String> {
    if chars.next() != Some('{') {
        return Err("`\\u` must be followed by `{hex}`".into());
    }
    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
    u32::from_str_radix(&hex, 16)
        .ok()
        .filter(|_| hex.len() <= 6)
        .and_then(char::from_u32)
        .ok_or_else(|| format!("`\\u{{{hex}}}` is not a character"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_survives_debug_then_unescape() {
        for s in [
            "plain",
            "q\"uote",
            "back\\slash",
            "nul\0",
            "tab\tcr\rnl\n",
            "é ü \u{200b} \u{7f}",
            "'",
        ] {
            let printed = format!("{s:?}");
            assert_eq!(unescape(&printed[1..printed.len() - 1]).unwrap(), s);
        }
        assert!(unescape("bad \\q").is_err());
        assert!(unescape("\\u{110000}").is_err());
        assert!(unescape("\\u{zz}").is_err());
        assert!(unescape("end \\").is_err());
    }
}
