//! A container's CloudWatch Logs (the `awslogs` driver): where its task
//! definition sends them, a client for the log group's region, and its
//! last lines, made safe to show: any value of the definition's
//! `environment` masked, control characters escaped. ecs-run streams a
//! task's logs with it; the wait engine reads a crashed container's last
//! words. Reading logs is optional (logs:GetLogEvents): a refusal is said
//! by the caller, never fatal.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::Region;
use serde_json::Value;

use crate::aws::{self, SdkConfig};
use crate::error::{Error, Result};

/// CloudWatch Logs clients: the tool's region, or the log group's own.
pub struct Logs {
    sdk: Option<SdkConfig>,
    default: Client,
}

impl Logs {
    pub fn new(sdk: &SdkConfig) -> Self {
        Logs {
            sdk: Some(sdk.clone()),
            default: Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
                    .interceptor(aws::StallWatch)
                    .build(),
            ),
        }
    }

    /// One client for every region (tests: a scripted one).
    pub fn with_client(client: Client) -> Self {
        Logs {
            sdk: None,
            default: client,
        }
    }

    /// The client for `region` (none: the tool's).
    pub fn client(&self, region: Option<&str>) -> Client {
        match (region, &self.sdk) {
            (Some(region), Some(sdk)) if sdk.region().map(|r| r.as_ref()) != Some(region) => {
                let config = aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
                    .region(Region::new(region.to_string()))
                    .interceptor(aws::StallWatch)
                    .build();
                Client::from_conf(config)
            }
            _ => self.default.clone(),
        }
    }
}

/// Where a container's awslogs go.
#[derive(Debug, Clone)]
pub struct Source {
    pub group: String,
    pub prefix: Option<String>,
    pub region: Option<String>,
}

/// Where a container definition sends its logs.
#[derive(Debug, Clone)]
pub enum Destination {
    /// CloudWatch Logs (the `awslogs` driver, with a group).
    Awslogs(Source),
    /// Another driver (`splunk`, `awsfirelens`, `json-file`, ...), or
    /// awslogs with no group named.
    Elsewhere(String),
    /// No log configuration: the container's output is not kept.
    Nowhere,
}

impl Source {
    /// The container definition's awslogs settings, if it logs there.
    pub fn of(container: &Value) -> Option<Source> {
        match destination(container) {
            Destination::Awslogs(source) => Some(source),
            _ => None,
        }
    }

    /// The stream a container of a task writes to
    /// (`prefix/container/task-id`); none without a prefix (the stream is
    /// then named by the container's id, which nothing gives in advance).
    pub fn stream(&self, container: &str, task_id: &str) -> Option<String> {
        self.prefix
            .as_ref()
            .map(|p| format!("{p}/{container}/{task_id}"))
    }
}

/// Where `container` (a container definition) sends its logs.
pub fn destination(container: &Value) -> Destination {
    let log = &container["logConfiguration"];
    let Some(driver) = log["logDriver"].as_str() else {
        return Destination::Nowhere;
    };
    let option = |key: &str| log["options"][key].as_str().map(str::to_string);
    match (driver, option("awslogs-group")) {
        ("awslogs", Some(group)) => Destination::Awslogs(Source {
            group,
            prefix: option("awslogs-stream-prefix"),
            region: option("awslogs-region"),
        }),
        ("awslogs", None) => Destination::Elsewhere("awslogs, with no awslogs-group".to_string()),
        (driver, _) => Destination::Elsewhere(format!("the {driver} log driver")),
    }
}

/// Environment values shorter than this are not masked: `1`, `on` or
/// `443` would garble every line and hide nothing.
pub const MASKED_FROM: usize = 4;

/// What replaces a masked value.
pub const MASK: &str = "***";

/// The longest a log line is kept (characters): a CloudWatch event may be
/// 256 KiB, and the lines land in the CI log, on stdout and in the job
/// summary (1 MiB a step).
pub const MAX_LINE: usize = 1000;

/// The values a task definition's `environment` holds (every container's),
/// to mask in the lines its containers log: they land in the CI log and
/// on stdout. Each value is masked as it is and in the forms a logger
/// writes it (JSON-escaped, percent-encoded), whatever the case; values
/// that overlap in a line are masked together. Secrets given as `secrets`
/// are never known to us, so cannot be masked.
#[derive(Debug, Clone, Default)]
pub struct Mask {
    /// Each value and its other forms, lower-cased (ASCII).
    forms: Vec<String>,
}

impl Mask {
    pub fn of(td: &Value) -> Mask {
        let values = td["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["environment"].as_array().into_iter().flatten())
            .filter_map(|kv| kv["value"].as_str());
        Mask::default().with(values)
    }

    /// This mask and `values` too (ecs-run's `--env` overrides).
    #[must_use]
    pub fn with<'a>(mut self, values: impl IntoIterator<Item = &'a str>) -> Mask {
        for value in values
            .into_iter()
            .filter(|v| v.chars().count() >= MASKED_FROM)
        {
            let json = serde_json::to_string(value).unwrap_or_default();
            let json = json[1..json.len().saturating_sub(1).max(1)].to_string();
            let forms = [
                value.to_string(),
                json.clone(),
                json.replace('/', "\\/"),
                percent_encoded(value),
            ];
            for form in forms {
                let form = form.to_ascii_lowercase();
                if !form.is_empty() && !self.forms.contains(&form) {
                    self.forms.push(form);
                }
            }
        }
        self
    }

    /// `line` with each value masked, control characters escaped (`\u{1b}`;
    /// a line break as `\n`, tabs kept), cut at [`MAX_LINE`] characters.
    pub fn apply(&self, line: &str) -> String {
        // Every byte any form covers, found case-blind (ASCII lowering
        // keeps byte offsets), then each run of covered bytes masked once.
        let lower = line.to_ascii_lowercase();
        let mut covered = vec![false; line.len()];
        for form in &self.forms {
            for (at, _) in lower.match_indices(form.as_str()) {
                covered[at..at + form.len()]
                    .iter_mut()
                    .for_each(|c| *c = true);
            }
        }
        let mut masked = String::with_capacity(line.len());
        let mut in_mask = false;
        for (i, c) in line.char_indices() {
            if covered[i] {
                if !in_mask {
                    masked.push_str(MASK);
                    in_mask = true;
                }
            } else {
                in_mask = false;
                masked.push(c);
            }
        }
        cut(&escape_controls(&masked))
    }
}

/// `value` as a URL or form carries it: every byte but the unreserved
/// ones as `%XX`.
fn percent_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// `line` cut at [`MAX_LINE`] characters, saying how many were left out.
fn cut(line: &str) -> String {
    let count = line.chars().count();
    if count <= MAX_LINE {
        return line.to_string();
    }
    let kept: String = line.chars().take(MAX_LINE).collect();
    format!("{kept}… ({} more characters)", count - MAX_LINE)
}

/// Control characters (a tab kept) and the bidirectional ones escaped:
/// `\n`, `\r`, else `\u{1b}`.
pub fn escape_controls(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() || crate::cli::reorders(c) => {
                out.push_str(&c.escape_unicode().to_string());
            }
            c => out.push(c),
        }
    }
    out
}

/// Lines read per container at most.
pub const LAST_LINES: usize = 20;

/// The last `n` events of `stream` in `source`'s group, oldest first,
/// masked and escaped. A refusal is an [`Error`] marked denied, naming
/// logs:GetLogEvents; a stream that does not exist is `Ok(None)`.
pub async fn last_lines(
    logs: &Logs,
    source: &Source,
    stream: &str,
    n: usize,
    mask: &Mask,
) -> Result<Option<Vec<String>>> {
    let client = logs.client(source.region.as_deref());
    let answer = client
        .get_log_events()
        .log_group_name(&source.group)
        .log_stream_name(stream)
        .start_from_head(false)
        .limit(i32::try_from(n).unwrap_or(i32::MAX))
        .send()
        .await;
    match answer {
        Ok(page) => Ok(Some(
            page.events()
                .iter()
                .map(|e| mask.apply(e.message().unwrap_or_default().trim_end_matches('\n')))
                .collect(),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => {
            let said = aws::describe(&e);
            if aws::is_denied(&e) {
                let advice = aws::denied_advice(&said, Some("logs:GetLogEvents"));
                Err(
                    Error::failed(format!("reading {}/{stream}: {said}{advice}", source.group))
                        .denied(),
                )
            } else {
                Err(Error::failed(format!(
                    "reading {}/{stream}: {said}",
                    source.group
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td() -> Value {
        json!({"containerDefinitions": [
            {"name": "web", "environment": [
                {"name": "DB_PASSWORD", "value": "hunter2-secret"},
                {"name": "DEBUG", "value": "1"},
                {"name": "DB_URL", "value": "postgres://app:hunter2-secret@db/app"}]},
            {"name": "side", "environment": [{"name": "TOKEN", "value": "tok-abc"}]}]})
    }

    #[test]
    fn environment_values_are_masked_longest_first() {
        let mask = Mask::of(&td());
        assert_eq!(
            mask.apply("connecting to postgres://app:hunter2-secret@db/app as tok-abc"),
            "connecting to *** as ***"
        );
        assert_eq!(
            mask.apply("password hunter2-secret rejected"),
            "password *** rejected"
        );
    }

    #[test]
    fn the_forms_a_logger_writes_are_masked_too() {
        let mask = Mask::of(&json!({"containerDefinitions": [{"environment": [
            {"name": "PW", "value": "p@ss/w0rd\"Q"}]}]}));
        for (line, shown) in [
            (r#"{"pw":"p@ss\/w0rd\"Q"}"#, r#"{"pw":"***"}"#),
            (r#"pw=p@ss/w0rd\"Q"#, "pw=***"),
            ("PW=P@SS/W0RD\"Q", "PW=***"),
            ("url?pw=p%40ss%2Fw0rd%22Q&x=1", "url?pw=***&x=1"),
        ] {
            assert_eq!(mask.apply(line), shown, "{line}");
        }
    }

    #[test]
    fn overlapping_values_are_masked_together() {
        let mask = Mask::of(&json!({"containerDefinitions": [{"environment": [
            {"name": "A", "value": "tokenAAAA-BBBB"}, {"name": "B", "value": "BBBB-secretpart"}]}]}));
        assert_eq!(mask.apply("got tokenAAAA-BBBB-secretpart!"), "got ***!");
    }

    #[test]
    fn a_long_line_is_cut_saying_how_much() {
        let shown = Mask::default().apply(&"x".repeat(MAX_LINE + 5));
        assert!(shown.ends_with("x… (5 more characters)"), "{shown}");
    }

    #[test]
    fn short_values_are_not_masked() {
        assert_eq!(Mask::of(&td()).apply("retry 1 of 3"), "retry 1 of 3");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            Mask::default().apply("\u{1b}[31mred\u{1b}[0m\tok\r\nnext\u{202e}"),
            "\\u{1b}[31mred\\u{1b}[0m\tok\\r\\nnext\\u{202e}"
        );
    }

    #[test]
    fn the_destination_names_another_driver() {
        let c =
            json!({"logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "x"}}});
        assert!(
            matches!(destination(&c), Destination::Elsewhere(d) if d == "the splunk log driver")
        );
        assert!(matches!(destination(&json!({})), Destination::Nowhere));
        let c = json!({"logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"}}});
        let Destination::Awslogs(source) = destination(&c) else {
            panic!()
        };
        assert_eq!(source.stream("web", "t1").as_deref(), Some("ecs/web/t1"));
    }
}
