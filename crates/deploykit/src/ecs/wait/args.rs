//! The flags of a wait, as clap parses them: ecs-wait's and ecs-deploy
//! --wait's, one definition. [`super::Plan::with`] checks them.

use clap::ValueEnum;

/// The flags of a wait, shared by `ecs-wait` and `ecs-deploy --wait`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct WaitArgs {
    /// What ends the wait with success
    #[arg(long, value_enum, value_name = "WHAT", help_heading = "Wait")]
    pub until: Option<Until>,

    /// Give up after this long, exit 3: 90s, 15m, 1h, 1h30m [default: 30m]
    #[arg(long, value_name = "DURATION", help_heading = "Wait")]
    pub timeout: Option<String>,

    /// Time between polls after the first 30 s (at least 3s) [default: 10s]
    #[arg(long, value_name = "DURATION", help_heading = "Wait")]
    pub interval: Option<String>,

    /// Fail as soon as this many tasks of the new deployment have stopped
    #[arg(long, value_name = "N", help_heading = "Wait")]
    pub max_failed_tasks: Option<u32>,
}

/// `--until`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Until {
    /// The rollout finished: service deployment SUCCESSFUL, or rolloutState COMPLETED
    #[default]
    Deployed,
    /// The classic waiter's rule: one deployment, running == desired
    Stable,
    /// As deployed, or a PAUSE lifecycle hook awaits action
    Paused,
}
