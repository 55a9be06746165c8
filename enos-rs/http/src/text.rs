//! Bodies, errors and statuses as short text for error messages and logs.

use http::StatusCode;

/// What [`excerpt`] gives for a body that is empty or only whitespace.
pub const EMPTY_BODY: &str = "(empty body)";

/// The first `max_chars` characters of `body`, as text on one line: invalid UTF-8 replaced,
/// every run of whitespace (line breaks included) turned into one space, leading and trailing
/// whitespace dropped, and `…` appended when something was cut. A body with nothing else than
/// whitespace gives [`EMPTY_BODY`].
pub fn excerpt(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return EMPTY_BODY.to_owned();
    }
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// `error` and its sources, on one line: `error: source: source of the source`. A source whose
/// text is already part of the line (many errors repeat their source's text in their own) is
/// left out.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `status` as its code and reason, `404 Not Found`; only the code, `599`, when it has no
/// standard reason.
pub fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(excerpt(b"  too\nmany   points ", 300), "too many points");
        assert_eq!(excerpt(b"", 300), EMPTY_BODY);
        assert_eq!(excerpt(b" \n\t ", 300), EMPTY_BODY);
        let long = "é".repeat(400);
        let cut = excerpt(long.as_bytes(), 300);
        assert_eq!(cut.chars().count(), 300 + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn excerpts_cut_only_what_is_too_long() {
        assert_eq!(excerpt(b"abcde", 5), "abcde");
        assert_eq!(excerpt(b"abcdef", 5), "abcde…");
        // Whitespace is collapsed before counting.
        assert_eq!(excerpt(b"a  \n  b", 3), "a b");
        assert_eq!(excerpt(b"\xffok", 10), "\u{fffd}ok");
    }

    #[derive(Debug)]
    struct Layer {
        text: &'static str,
        source: Option<Box<Layer>>,
    }

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.text)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.source
                .as_deref()
                .map(|source| source as &(dyn std::error::Error + 'static))
        }
    }

    fn layers(texts: &[&'static str]) -> Layer {
        let mut error: Option<Layer> = None;
        for text in texts.iter().rev() {
            error = Some(Layer {
                text,
                source: error.map(Box::new),
            });
        }
        error.unwrap_or(Layer {
            text: "",
            source: None,
        })
    }

    #[test]
    fn error_chains_show_each_source_once() {
        assert_eq!(error_chain(&layers(&["alone"])), "alone");
        assert_eq!(
            error_chain(&layers(&[
                "error sending request",
                "client error (Connect)",
                "connection refused"
            ])),
            "error sending request: client error (Connect): connection refused"
        );
        assert_eq!(
            error_chain(&layers(&[
                "cannot connect: connection refused",
                "connection refused",
                "os error 111"
            ])),
            "cannot connect: connection refused: os error 111"
        );
    }

    #[test]
    fn statuses_read_with_their_reason() {
        assert_eq!(status_text(StatusCode::NOT_FOUND), "404 Not Found");
        assert_eq!(
            status_text(StatusCode::SERVICE_UNAVAILABLE),
            "503 Service Unavailable"
        );
        let unknown = StatusCode::from_u16(599).expect("a valid status");
        assert_eq!(status_text(unknown), "599");
    }
}
