//! Tests only: a summary's Markdown read back as GitHub reads it, so that
//! tests assert on what a reader sees, not on the text that makes it.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// What a reader of the rendered page sees, block by block.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    /// The header row, then the body rows, each cell's text.
    Table(Vec<Vec<String>>),
    /// A fenced code block: its info string and its text.
    Code(String, String),
    /// Raw HTML, as written.
    Html(String),
}

/// `md` as GitHub reads it (tables on). Inline text is gathered as it
/// shows (a `<br>` as a line break); any other inline HTML, link or
/// image is shown as `<html …>`, `<link …>`, `<image …>`, so a test
/// sees text that became markup.
pub fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut code: Option<String> = None;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                code = Some(match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                });
                text.clear();
            }
            Event::End(TagEnd::CodeBlock) => {
                out.push(Block::Code(code.take().unwrap(), std::mem::take(&mut text)));
            }
            Event::End(TagEnd::Heading(_)) => {
                out.push(Block::Heading(std::mem::take(&mut text)));
            }
            Event::End(TagEnd::Paragraph) => {
                out.push(Block::Paragraph(std::mem::take(&mut text)));
            }
            Event::End(TagEnd::TableCell) => row.push(std::mem::take(&mut text)),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                table.push(std::mem::take(&mut row));
            }
            Event::End(TagEnd::Table) => out.push(Block::Table(std::mem::take(&mut table))),
            Event::Html(html) => out.push(Block::Html(html.trim_end().to_string())),
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push('\n'),
            Event::InlineHtml(h) if &*h == "<br>" => text.push('\n'),
            Event::InlineHtml(h) => text.push_str(&format!("<html {h}>")),
            Event::Start(Tag::Link { dest_url, .. }) => {
                text.push_str(&format!("<link {dest_url}>"));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                text.push_str(&format!("<image {dest_url}>"));
            }
            _ => {}
        }
    }
    out
}
