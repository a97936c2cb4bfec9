//! The benchmark figures, from the injected clock (no wall time): how long
//! after COMPLETED appears the wait returns, and how many DescribeServices
//! calls it makes a minute. Printed with `--nocapture`
//! (`cargo test -p ecs-wait --test figures -- --nocapture`); the README
//! quotes them. The assertions hold the targets: within 2 s during the
//! first 30 s after an update, within one --interval afterwards (with the
//! default interval; at the shortest, 3 s, the 20-a-minute cap makes one
//! gap of 18 s after the fast start), and never more than 20 calls in any
//! 60 s.

mod common;

use common::*;
use ecs_wait::{Plan, Until, WaitArgs};
use serde_json::json;

fn rollout(appears: u64) -> Vec<(u64, serde_json::Value)> {
    vec![
        (
            0,
            service(
                "web",
                json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)]),
            ),
        ),
        (
            appears,
            service(
                "web",
                json!([deployment("ecs-svc/2", "PRIMARY", Some("COMPLETED"), 2)]),
            ),
        ),
    ]
}

/// (latency in seconds, DescribeServices calls) of one wait whose rollout
/// completes at `appears`.
async fn one(appears: u64, interval: Option<&str>) -> (u64, Vec<u64>) {
    let clock = FakeClock::default();
    let describe = service_timeline(&clock, rollout(appears));
    let client = client(&[&describe]);
    let plan = Plan::with(
        &WaitArgs {
            until: Some(Until::Deployed),
            timeout: Some("30m".into()),
            interval: interval.map(str::to_string),
            max_failed_tasks: None,
        },
        vec![target("web", None)],
    )
    .unwrap();
    let (w, _) = run(&client, &clock, &plan).await;
    assert!(w.error.is_none());
    assert_eq!(describe.num_calls(), w.polls.len());
    (
        clock.secs() - appears,
        w.polls.iter().map(|t| t.as_secs()).collect(),
    )
}

fn most_in_a_minute(polls: &[u64]) -> usize {
    polls
        .iter()
        .map(|&start| {
            polls
                .iter()
                .filter(|&&t| t >= start && t < start + 60)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[allow(clippy::print_stderr)]
#[tokio::test]
async fn figures_from_the_injected_clock() {
    for interval in [None, Some("3s")] {
        let mut early = Vec::new();
        let mut late = Vec::new();
        let mut busiest = 0;
        for appears in 0..=300 {
            let (latency, polls) = one(appears, interval).await;
            if appears < 30 {
                early.push(latency);
            } else {
                late.push(latency);
            }
            busiest = busiest.max(most_in_a_minute(&polls));
        }
        let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len() as f64;
        let max = |v: &[u64]| *v.iter().max().unwrap();
        let pace = interval.map_or(10, |_| 3);
        eprintln!(
            "ecs-wait figures (--interval {}): COMPLETED at 0-29 s after the update: returns {:.1} s later on average, {} s at most; at 30-300 s: {:.1} s on average, {} s at most; at most {} DescribeServices calls in any 60 s (aws ecs wait services-stable: 15 s apart, up to 15 s late, 4 calls a minute)",
            interval.unwrap_or("10s (default)"),
            mean(&early),
            max(&early),
            mean(&late),
            max(&late),
            busiest
        );
        assert!(max(&early) <= 2, "{early:?}");
        assert!(busiest <= 20, "{busiest} calls in a minute");
        if interval.is_none() {
            assert!(max(&late) <= pace, "{late:?}");
        } else {
            // At 3 s, the first 30 s at 2 s leave 4 calls for the next
            // 30 s: the cap holds the poll after 42 s back to 60 s.
            assert_eq!(max(&late), 17, "{late:?}");
        }
    }
}
