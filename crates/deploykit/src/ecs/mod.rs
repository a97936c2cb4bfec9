//! ECS, shared by every tool that reads or registers task definitions or
//! updates services or follows their rollouts (taskdef-render, ecs-deploy,
//! ecs-wait, ecs-run):
//!
//! - [`model`]: the ECS API model at run time (aws-sdk-ecs's schemas): a
//!   definition's field names and types checked, and converted where there
//!   is one reading;
//! - [`clean`]: the one cleaning rule that makes describe output or a
//!   template valid RegisterTaskDefinition input, with a report of what it
//!   removed (the tool decides how to show it);
//! - [`check`]: what RegisterTaskDefinition requires, and unfilled templates;
//! - [`api`]: register from JSON keeping every field (the body replaced in
//!   `mutate_request`), the unknown-field check, describe calls with the raw
//!   JSON kept, ECS errors made readable, and the console link;
//! - [`definition`]: a definition read from a stream object, made ready to
//!   register, and registered unless the revision it names (or another
//!   candidate) says the same ([`compare`]): one way for ecs-deploy and
//!   ecs-run.
//! - [`logs`]: a container's CloudWatch Logs: where they go, the last
//!   lines, masked and escaped (ecs-run's stream, a crash's last words);
//! - [`region`]: the region worked in against the images' ECR region: a
//!   cluster or service not found looked up once where the images are, and
//!   the cross-region pull warning;
//! - [`wait`]: the wait engine of ecs-wait and ecs-deploy --wait: follow
//!   rollouts until they end, and say why one failed.
//!
//! Nothing here prints: findings and reports go back to the tool.

pub mod api;
pub mod check;
pub mod clean;
pub mod compare;
pub mod definition;
pub mod diff;
pub mod fargate;
pub mod logs;
pub mod model;
pub mod region;
pub mod wait;

pub use model::{Finding, Found, check_task_definition};
