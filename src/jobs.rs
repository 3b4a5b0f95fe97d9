//! Background passes: a job that runs every so many seconds on the blocking pool.

use crate::error::ApiError;
use std::time::Duration;

/// Runs `pass` every `interval_secs` on the blocking pool, one pass at a time, logging what it
/// did; 0 seconds disables it (`setting` names the variable in the log line).
pub fn every<R, F>(name: &'static str, setting: &'static str, interval_secs: u64, pass: F)
where
    R: std::fmt::Debug + Default + PartialEq + Send + 'static,
    F: Fn() -> Result<R, ApiError> + Clone + Send + 'static,
{
    if interval_secs == 0 {
        tracing::info!("{name} disabled ({setting}=0)");
        return;
    }
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(interval_secs));
        loop {
            tick.tick().await;
            match actix_web::web::block(pass.clone()).await {
                Ok(Ok(r)) if r != R::default() => tracing::info!(?r, "{name} pass"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "{name} pass failed"),
                Err(e) => tracing::error!(error = %e, "{name} pass panicked"),
            }
        }
    });
}
