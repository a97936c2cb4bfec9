//! The watched container's CloudWatch Logs (awslogs driver), streamed to
//! stderr while the task runs and once more when it has stopped, each event
//! once: GetLogEvents from the head, following nextForwardToken.

use deploykit::ecs::logs::{LAST_LINES, Mask};

pub use deploykit::ecs::logs::{Destination, Logs, Source, destination};

/// One task's log stream, read as it grows.
pub struct Stream {
    source: Source,
    container: String,
    /// `prefix/container/task-id`; none without a prefix (the stream is
    /// then named by the container's id, which nothing gives in advance).
    name: Option<String>,
    token: Option<String>,
    said: bool,
    /// The definition's environment values, masked in every line.
    mask: Mask,
    /// The last lines read (masked), for the failure report.
    last: std::collections::VecDeque<String>,
}

impl Stream {
    pub fn new(source: &Source, container: &str, task_id: &str, mask: Mask) -> Self {
        Stream {
            name: source.stream(container, task_id),
            source: source.clone(),
            container: container.to_string(),
            token: None,
            said: false,
            mask,
            last: std::collections::VecDeque::new(),
        }
    }

    /// The last [`LAST_LINES`] lines read, oldest first, as logged (masked
    /// and escaped, without the container's name).
    pub fn last_lines(&self) -> Vec<String> {
        self.last.iter().cloned().collect()
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
                let said = self
                    .mask
                    .apply(event.message().unwrap_or_default().trim_end_matches('\n'));
                let line = format!("{} | {said}", self.container);
                deploykit::cli::foreign_line(&line);
                printed.push(line);
                if self.last.len() == LAST_LINES {
                    self.last.pop_front();
                }
                self.last.push_back(said);
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
