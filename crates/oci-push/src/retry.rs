//! Transient registry failures (a connection reset or refused, a time-out,
//! 408, 429, 5xx) tried again with backoff, a bounded number of times.
//! Callers that upload check first that the blob is not there already, so
//! a committed blob is never sent twice.

use std::future::Future;
use std::time::Duration;

use deploykit::Error;
use oci_client::errors::{OciDistributionError, OciErrorCode};

/// How many tries, and the first pause (doubled after each).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub tries: u32,
    pub first: Duration,
}

/// Four tries over about 3.5 s: enough for a registry restarting behind a
/// load balancer or a 429 burst, short enough for a CI job to fail fast.
pub const DEFAULT: Policy = Policy {
    tries: 4,
    first: Duration::from_millis(500),
};

/// A failed try: the error, and why another may work (None: it will not).
pub struct Failure {
    pub error: Error,
    pub transient: Option<String>,
}

impl Failure {
    pub fn fatal(error: Error) -> Self {
        Failure {
            error,
            transient: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::fatal(error)
    }
}

/// Runs `op` (given the try's number, from 1) until it succeeds, fails
/// for good, or has been tried `policy.tries` times; each retry is said on
/// stderr with its reason (a status or an error kind, never a URL).
pub async fn retry<T, F, Fut>(what: &str, policy: Policy, mut op: F) -> Result<T, Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut pause = policy.first;
    let mut attempt = 1;
    loop {
        match op(attempt).await {
            Ok(value) => return Ok(value),
            Err(Failure {
                error,
                transient: Some(why),
            }) if attempt < policy.tries => {
                deploykit::cli::note(format!(
                    "{what}: {why}; trying again in {:.1} s (try {} of {})",
                    pause.as_secs_f64(),
                    attempt + 1,
                    policy.tries
                ));
                drop(error);
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            // Given up on a failure another try might have passed (a cut
            // connection, a 5xx): marked, so the caller may ask why.
            Err(Failure {
                error,
                transient: Some(_),
            }) => return Err(error.transient()),
            Err(failure) => return Err(failure.error),
        }
    }
}

/// Why an HTTP status is worth another try, if it is.
pub fn status(code: u16) -> Option<String> {
    (code == 408 || code == 429 || (500..600).contains(&code)).then(|| format!("HTTP {code}"))
}

/// Why a reqwest failure is worth another try, if it is: the connection
/// failed, was cut, or timed out (a body we stream may still be resent:
/// the caller rebuilds it).
pub fn request(e: &reqwest::Error) -> Option<String> {
    if let Some(code) = e.status() {
        return status(code.as_u16());
    }
    if e.is_timeout() {
        Some("the request timed out".to_string())
    } else if e.is_connect() {
        Some("the connection failed".to_string())
    } else if e.is_request() || e.is_body() {
        Some("the connection was cut".to_string())
    } else {
        None
    }
}

/// Why an oci-client failure is worth another try, if it is.
pub fn oci(e: &OciDistributionError) -> Option<String> {
    match e {
        OciDistributionError::ServerError { code, .. } => status(*code),
        OciDistributionError::RequestError(r) => request(r),
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Toomanyrequests))
            .then(|| "too many requests".to_string()),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    const NOW: Policy = Policy {
        tries: 3,
        first: Duration::ZERO,
    };

    /// A future run to its end on a runtime with a clock (this crate's
    /// async unit tests).
    pub(crate) fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn transient() -> Failure {
        Failure {
            error: Error::failed("503"),
            transient: Some("HTTP 503".into()),
        }
    }

    #[test]
    fn a_transient_failure_is_tried_again_until_it_works() {
        let tries = Cell::new(0);
        let got = block_on(retry("x", NOW, |n| {
            tries.set(n);
            async move { if n < 3 { Err(transient()) } else { Ok(n) } }
        }));
        assert_eq!(got.unwrap(), 3);
        assert_eq!(tries.get(), 3);
    }

    #[test]
    fn tries_are_bounded() {
        let tries = Cell::new(0);
        let got: Result<(), Error> = block_on(retry("x", NOW, |n| {
            tries.set(n);
            async { Err(transient()) }
        }));
        assert!(got.is_err());
        assert_eq!(tries.get(), 3);
    }

    #[test]
    fn a_fatal_failure_is_not_tried_again() {
        let tries = Cell::new(0);
        let got: Result<(), Error> = block_on(retry("x", NOW, |n| {
            tries.set(n);
            async { Err(Failure::fatal(Error::failed("401"))) }
        }));
        assert!(got.is_err());
        assert_eq!(tries.get(), 1);
    }

    #[test]
    fn statuses_worth_another_try() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(status(code).is_some(), "{code}");
        }
        for code in [400, 401, 403, 404, 413] {
            assert!(status(code).is_none(), "{code}");
        }
    }

    #[test]
    fn an_oci_server_error_is_classified_by_its_status() {
        let e = |code| OciDistributionError::ServerError {
            url: "u".into(),
            code,
            message: "m".into(),
        };
        assert_eq!(oci(&e(503)).as_deref(), Some("HTTP 503"));
        assert_eq!(oci(&e(404)), None);
    }
}
