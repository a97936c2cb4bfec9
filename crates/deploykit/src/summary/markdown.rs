//! The Markdown of a step summary, built so that text from elsewhere (a
//! service's name, an ECS reason, a container's log line) is always text:
//! it cannot open a link, an image, a table cell or an HTML element, and a
//! log line cannot close the code block that holds it.
//!
//! Foreign text goes in through [`Inline::text`] (table cells, headings,
//! paragraphs), [`Inline::code`] (a code span) or [`Markdown::details`] (a
//! fenced code block in a collapsed `<details>`); [`Inline::link`] takes
//! only URLs the toolkit made itself.

use std::fmt::Write as _;

/// A piece of inline Markdown, safe to put in a paragraph, a heading or a
/// table cell: every constructor escapes what it is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inline(String);

impl Inline {
    /// `s` as plain text: HTML's `<`, `>` and `&` as entities, Markdown's
    /// punctuation backslash-escaped (`|` included, so a table cell ends
    /// where the table says), line breaks as `<br>`, control characters
    /// shown escaped (`\u{1b}`).
    pub fn text(s: &str) -> Self {
        let mut out = String::with_capacity(s.len());
        for c in visible(&one_line_breaks(s)).chars() {
            match c {
                '\n' => out.push_str("<br>"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '|' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        Inline(out)
    }

    /// `s` in a code span: delimited by more backticks than it holds in a
    /// row, on one line, with `|` escaped for tables (GitHub takes that
    /// escape out before the span is read).
    pub fn code(s: &str) -> Self {
        let s = visible(&one_line_breaks(s)).replace('\n', " ");
        if s.is_empty() {
            return Inline::default();
        }
        let ticks = "`".repeat(longest_run(&s, '`') + 1);
        // A span that begins or ends with a backtick needs a space inside.
        let pad = if s.starts_with('`') || s.ends_with('`') {
            " "
        } else {
            ""
        };
        Inline(format!("{ticks}{pad}{}{pad}{ticks}", s.replace('|', "\\|")))
    }

    /// `label` linking to `url`: for URLs the toolkit builds (a console
    /// link), whose characters it knows; anything else is `label` alone.
    pub fn link(label: &str, url: &str) -> Self {
        let safe = url.starts_with("https://")
            && url
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/?=&%:".contains(&b));
        if safe {
            Inline(format!("[{}]({url})", Inline::text(label).0))
        } else {
            Inline::text(label)
        }
    }

    /// `inner` in bold.
    pub fn strong(inner: Inline) -> Self {
        if inner.0.is_empty() {
            return inner;
        }
        Inline(format!("**{}**", inner.0))
    }

    /// The pieces one after the other, with `sep` (text) between them.
    pub fn join(pieces: impl IntoIterator<Item = Inline>, sep: &str) -> Self {
        let sep = Inline::text(sep).0;
        Inline(
            pieces
                .into_iter()
                .map(|p| p.0)
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(&sep),
        )
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Markdown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Inline {
    fn from(s: &str) -> Self {
        Inline::text(s)
    }
}

impl From<String> for Inline {
    fn from(s: String) -> Self {
        Inline::text(&s)
    }
}

/// The longest a log line is shown in a summary: GitHub takes at most
/// 1 MiB of summary a step.
pub const MAX_LINE: usize = 1000;

/// Blocks of Markdown, each followed by a blank line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markdown(String);

impl Markdown {
    /// Nothing yet.
    pub fn new() -> Self {
        Markdown::default()
    }

    /// A heading of `level` (1 to 6).
    pub fn heading(&mut self, level: usize, text: impl Into<Inline>) -> &mut Self {
        let hashes = "#".repeat(level.clamp(1, 6));
        let _ = write!(self.0, "{hashes} {}\n\n", text.into().0);
        self
    }

    /// A paragraph.
    pub fn paragraph(&mut self, text: impl Into<Inline>) -> &mut Self {
        let text = text.into();
        if !text.is_empty() {
            let _ = write!(self.0, "{}\n\n", text.0);
        }
        self
    }

    /// A table: `headers` (the toolkit's own words), then one row a
    /// `rows` entry, each cut or padded to the headers' width. No rows, no
    /// table.
    pub fn table(&mut self, headers: &[&str], rows: &[Vec<Inline>]) -> &mut Self {
        if rows.is_empty() || headers.is_empty() {
            return self;
        }
        let line = |cells: Vec<&str>| format!("| {} |\n", cells.join(" | "));
        let heads: Vec<Inline> = headers.iter().map(|h| Inline::text(h)).collect();
        self.0
            .push_str(&line(heads.iter().map(Inline::as_str).collect()));
        self.0
            .push_str(&line(headers.iter().map(|_| "---").collect()));
        for row in rows {
            let cells = (0..headers.len())
                .map(|i| row.get(i).map_or("", Inline::as_str))
                .collect();
            self.0.push_str(&line(cells));
        }
        self.0.push('\n');
        self
    }

    /// `lines` in a fenced code block inside a collapsed `<details>` whose
    /// `<summary>` is `title`. The fence is longer than any run of
    /// backticks in the lines, so none can close it; inside it, `<`, `|`
    /// and the rest are shown as they are, never read as Markdown or HTML.
    /// Control characters are shown escaped, and a line longer than
    /// [`MAX_LINE`] characters is cut, saying how much was left out.
    pub fn details(&mut self, title: &str, lines: &[String]) -> &mut Self {
        let body: Vec<String> = lines.iter().map(|l| shown_line(l)).collect();
        let body = body.join("\n");
        let fence = "`".repeat(longest_run(&body, '`').max(2) + 1);
        let _ = write!(
            self.0,
            "<details><summary>{}</summary>\n\n{fence}text\n{body}\n{fence}\n\n</details>\n\n",
            html_text(title)
        );
        self
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Markdown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Adds `other`'s blocks after these.
    pub fn append(&mut self, other: &Markdown) -> &mut Self {
        self.0.push_str(&other.0);
        self
    }
}

/// A log line as a code block shows it: its own line breaks and control
/// characters escaped (one line stays one line), cut at [`MAX_LINE`].
fn shown_line(line: &str) -> String {
    let line = visible(&line.replace('\n', "\\n").replace('\r', "\\r"));
    let count = line.chars().count();
    if count <= MAX_LINE {
        return line;
    }
    let kept: String = line.chars().take(MAX_LINE).collect();
    format!("{kept}… (cut here: {} more characters)", count - MAX_LINE)
}

/// `\r\n` and a lone `\r` as `\n`.
fn one_line_breaks(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Control characters but a line break and a tab, and the characters that
/// reorder text, shown escaped (`\u{1b}`).
fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            let hidden = (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if hidden {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Text inside an HTML element: entities for what HTML reads.
fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in visible(&one_line_breaks(s)).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for x in s.chars() {
        run = if x == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::parsed::{Block, blocks};

    fn cells(row: &[&str]) -> Vec<String> {
        row.iter().map(|c| c.to_string()).collect()
    }

    /// A log line that tries every way out: a fence of its own, the end of
    /// the `<details>`, a table's `|`, a script. It stays one line of text
    /// in the code block, and the block is the last thing in the section.
    #[test]
    fn a_log_line_cannot_break_out_of_its_block() {
        let lines = vec![
            "ok".to_string(),
            "```".to_string(),
            "````` </details> | a | b |".to_string(),
            "<script>alert(1)</script> ~~~".to_string(),
            "# not a heading".to_string(),
        ];
        let mut md = Markdown::new();
        md.details("container web <b>x</b> | `y`", &lines);
        md.paragraph("after");
        let got = blocks(md.as_str());
        assert_eq!(
            got,
            vec![
                Block::Html(
                    "<details><summary>container web &lt;b&gt;x&lt;/b&gt; | `y`</summary>".into()
                ),
                Block::Code("text".into(), format!("{}\n", lines.join("\n"))),
                Block::Html("</details>".into()),
                Block::Paragraph("after".into()),
            ],
            "{}",
            md.as_str()
        );
    }

    #[test]
    fn a_log_line_stays_one_line_with_control_characters_shown() {
        let mut md = Markdown::new();
        md.details("t", &["a\nb\r\u{1b}[2J".to_string()]);
        assert_eq!(
            blocks(md.as_str())[1],
            Block::Code("text".into(), "a\\nb\\r\\u{1b}[2J\n".into())
        );
    }

    #[test]
    fn a_long_log_line_is_cut_saying_so() {
        let mut md = Markdown::new();
        md.details("t", &["x".repeat(MAX_LINE + 5)]);
        let Block::Code(_, text) = &blocks(md.as_str())[1] else {
            panic!("{}", md.as_str())
        };
        assert!(
            text.ends_with("… (cut here: 5 more characters)\n"),
            "{text}"
        );
    }

    /// Cell text with a `|`, a line break, HTML, a link and backticks: the
    /// table keeps its columns and the text is text.
    #[test]
    fn table_cells_hold_any_text_as_text() {
        let nasty = "a | b\nc <script>x</script> [l](https://e.example) ![i](x) `c` *s* \\";
        let mut md = Markdown::new();
        md.table(
            &["One", "Two", "Three"],
            &[vec![
                Inline::text(nasty),
                Inline::code("sha256:ab|`c`"),
                Inline::link(
                    "web",
                    "https://eu-west-1.console.aws.amazon.com/ecs/v2/x?region=eu-west-1",
                ),
            ]],
        );
        assert_eq!(
            blocks(md.as_str()),
            vec![Block::Table(vec![
                cells(&["One", "Two", "Three"]),
                cells(&[
                    nasty,
                    "sha256:ab|`c`",
                    "<link https://eu-west-1.console.aws.amazon.com/ecs/v2/x?region=eu-west-1>web"
                ]),
            ])],
            "{}",
            md.as_str()
        );
    }

    #[test]
    fn a_link_to_anything_but_a_plain_https_url_is_its_label() {
        for url in [
            "javascript:alert(1)",
            "https://e.example/a b",
            "https://e.example/)x",
            "http://e.example",
        ] {
            let mut md = Markdown::new();
            md.paragraph(Inline::link("web", url));
            assert_eq!(
                blocks(md.as_str()),
                vec![Block::Paragraph("web".into())],
                "{url}"
            );
        }
    }

    #[test]
    fn a_heading_of_foreign_text_is_one_heading_of_that_text() {
        let mut md = Markdown::new();
        md.heading(3, "ecs-wait: web ## <i>x</i>\n# two");
        assert_eq!(
            blocks(md.as_str()),
            vec![Block::Heading("ecs-wait: web ## <i>x</i>\n# two".into())]
        );
    }
}
