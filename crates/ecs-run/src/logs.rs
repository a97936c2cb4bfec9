//! The watched container's CloudWatch Logs (awslogs driver), streamed to
//! stderr while the task runs and once more when it has stopped, each event
//! once: GetLogEvents from the head, following nextForwardToken.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::Region;
use serde_json::Value;

/// CloudWatch Logs clients: the tool's region, or the log group's own.
pub struct Logs {
    sdk: Option<deploykit::aws::SdkConfig>,
    default: Client,
}

impl Logs {
    pub fn new(sdk: &deploykit::aws::SdkConfig) -> Self {
        Logs {
            sdk: Some(sdk.clone()),
            default: Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
                    .interceptor(deploykit::aws::StallWatch)
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

    fn client(&self, region: Option<&str>) -> Client {
        match (region, &self.sdk) {
            (Some(region), Some(sdk)) if sdk.region().map(|r| r.as_ref()) != Some(region) => {
                let config = aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
                    .region(Region::new(region.to_string()))
                    .interceptor(deploykit::aws::StallWatch)
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
    group: String,
    prefix: Option<String>,
    region: Option<String>,
}

impl Source {
    /// The container definition's awslogs settings, if it logs there.
    pub fn of(container: &Value) -> Option<Source> {
        let log = &container["logConfiguration"];
        if log["logDriver"] != "awslogs" {
            return None;
        }
        let option = |key: &str| log["options"][key].as_str().map(str::to_string);
        Some(Source {
            group: option("awslogs-group")?,
            prefix: option("awslogs-stream-prefix"),
            region: option("awslogs-region"),
        })
    }
}

/// One task's log stream, read as it grows.
pub struct Stream {
    source: Source,
    container: String,
    /// `prefix/container/task-id`; none without a prefix (the stream is
    /// then named by the container's id, which nothing gives in advance).
    name: Option<String>,
    token: Option<String>,
    said: bool,
}

impl Stream {
    pub fn new(source: &Source, container: &str, task_id: &str) -> Self {
        Stream {
            name: source
                .prefix
                .as_ref()
                .map(|p| format!("{p}/{container}/{task_id}")),
            source: source.clone(),
            container: container.to_string(),
            token: None,
            said: false,
        }
    }

    /// Prints the events not printed yet, and returns them. Failures never
    /// fail the run: said once on stderr (`last`: a stream still missing is
    /// said too).
    pub async fn poll(&mut self, logs: &Logs, last: bool) -> Vec<String> {
        let mut printed = Vec::new();
        let Some(name) = self.name.clone() else {
            if !self.said {
                self.said = true;
                deploykit::cli::warn(format!(
                    "logs: the log configuration of container {:?} has no awslogs-stream-prefix, so its stream cannot be named; its logs are in group {}",
                    self.container, self.source.group
                ));
            }
            return printed;
        };
        let client = logs.client(self.source.region.as_deref());
        // A bounded number of pages a poll: the next poll goes on.
        for _ in 0..20 {
            let answer = client
                .get_log_events()
                .log_group_name(&self.source.group)
                .log_stream_name(&name)
                .start_from_head(true)
                .set_next_token(self.token.clone())
                .send()
                .await;
            let page = match answer {
                Ok(page) => page,
                Err(e) => {
                    let missing = e
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception());
                    if (!missing || last) && !self.said {
                        self.said = true;
                        deploykit::cli::warn(format!(
                            "logs: {}/{name}: {}",
                            self.source.group,
                            if missing {
                                "no such log stream (the container may never have started)"
                                    .to_string()
                            } else if deploykit::aws::is_denied(&e) {
                                // Optional: the run goes on without its logs.
                                let said = deploykit::aws::describe(&e);
                                let advice =
                                    deploykit::aws::denied_advice(&said, Some("logs:GetLogEvents"));
                                format!("{said}{advice}; the task runs on, its logs not shown")
                            } else {
                                deploykit::aws::describe(&e)
                            }
                        ));
                    }
                    return printed;
                }
            };
            for event in page.events() {
                let line = format!(
                    "{} | {}",
                    self.container,
                    event.message().unwrap_or_default().trim_end_matches('\n')
                );
                deploykit::cli::foreign_line(&line);
                printed.push(line);
            }
            let next = page.next_forward_token().map(str::to_string);
            if next.is_none() || next == self.token {
                return printed;
            }
            self.token = next;
        }
        printed
    }
}
