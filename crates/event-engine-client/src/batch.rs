//! Publishing any number of events: the SDKs' `publish_many` (Python), `publishMany` (Node.js)
//! and `ee_client_publish_batch` (C) all split here, by one rule.
//!
//! Events are taken in order and sent in batches of at most [`MAX_BATCH`] events, one round
//! trip each. A batch is checked before it is sent (an empty event is an invalid argument), so a
//! batch is published whole or not at all; when a batch fails, the ones before it are published
//! and [`PublishError::published`] says how many events that is.

use std::fmt;

use crate::client::Client;
use crate::error::Error;
use crate::wire::MAX_BATCH;

/// A `publish_many` that failed part way: the error, and how many events the batches before it
/// published.
#[derive(Debug)]
pub struct PublishError {
    /// Events published before the failure (whole batches, in order).
    pub published: usize,
    /// Why the next batch was not published.
    pub error: Error,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.published == 0 {
            write!(f, "{}", self.error)
        } else {
            write!(
                f,
                "{} ({} event(s) published before)",
                self.error, self.published
            )
        }
    }
}

impl std::error::Error for PublishError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<PublishError> for Error {
    fn from(e: PublishError) -> Error {
        e.error
    }
}

/// How many events the next batch may hold.
fn batch_limit() -> usize {
    MAX_BATCH as usize
}

impl Client {
    /// Publishes every event of `events`, in order, in as few round trips as the protocol
    /// allows (see the [module](crate::batch)); returns how many were published.
    ///
    /// ```no_run
    /// let mut plugin = event_engine_client::Client::connect("tcp://127.0.0.1:6000")?;
    /// let n = plugin.publish_many((0..100_000).map(|i| format!("TypeB{i}")))?;
    /// assert_eq!(n, 100_000);
    /// # Ok::<(), event_engine_client::Error>(())
    /// ```
    pub fn publish_many<I, B>(&mut self, events: I) -> Result<usize, PublishError>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.try_publish_many(events.into_iter().map(Ok))
    }

    /// [`Client::publish_many`] over events that a binding converts as it goes: the first `Err`
    /// stops it, and the batch it was building is not published.
    pub fn try_publish_many<I, B>(&mut self, events: I) -> Result<usize, PublishError>
    where
        I: IntoIterator<Item = Result<B, Error>>,
        B: AsRef<[u8]>,
    {
        let mut events = events.into_iter();
        let mut published = 0;
        let limit = batch_limit();
        loop {
            let mut batch: Vec<B> = Vec::new();
            for event in events.by_ref() {
                match event {
                    Ok(e) => batch.push(e),
                    Err(error) => return Err(PublishError { published, error }),
                }
                if batch.len() == limit {
                    break;
                }
            }
            if batch.is_empty() {
                return Ok(published);
            }
            let full = batch.len() == limit;
            if let Some(i) = batch.iter().position(|e| e.as_ref().is_empty()) {
                let error = Error::InvalidArgument(format!(
                    "event {} of the batch is empty",
                    published + i + 1
                ));
                return Err(PublishError { published, error });
            }
            match self.publish_batch(&batch) {
                Ok(n) => published += n,
                Err(error) => return Err(PublishError { published, error }),
            }
            if !full {
                return Ok(published);
            }
        }
    }
}
