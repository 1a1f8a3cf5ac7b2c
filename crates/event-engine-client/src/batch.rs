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

/// The batches [`Client::publish_many`] sends, for a binding that must take events from its
/// language between two requests (Python pulls an iterator with the GIL, then sends with it
/// released): each item is the next batch, checked, or the error that ends the iteration (the
/// first `Err` of `events`, or an empty event).
///
/// ```
/// use event_engine_client::batch::batches;
///
/// let events = (0..70_000).map(|i| Ok(format!("TypeA{i}")));
/// let sizes: Vec<usize> = batches(events).map(|b| b.unwrap().len()).collect();
/// assert_eq!(sizes, [65_536, 4_464]);
/// ```
pub fn batches<I, B>(events: I) -> Batches<I::IntoIter>
where
    I: IntoIterator<Item = Result<B, Error>>,
    B: AsRef<[u8]>,
{
    Batches {
        events: events.into_iter(),
        taken: 0,
        done: false,
    }
}

/// The iterator of [`batches`].
#[derive(Debug)]
pub struct Batches<I> {
    events: I,
    /// Events taken so far, for the position in error messages.
    taken: usize,
    done: bool,
}

impl<I, B> Iterator for Batches<I>
where
    I: Iterator<Item = Result<B, Error>>,
    B: AsRef<[u8]>,
{
    type Item = Result<Vec<B>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut batch: Vec<B> = Vec::new();
        for event in self.events.by_ref() {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.taken += 1;
            if event.as_ref().is_empty() {
                self.done = true;
                return Some(Err(Error::InvalidArgument(format!(
                    "event {} of the batch is empty",
                    self.taken
                ))));
            }
            batch.push(event);
            if batch.len() == batch_limit() {
                return Some(Ok(batch));
            }
        }
        self.done = true;
        (!batch.is_empty()).then_some(Ok(batch))
    }
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
        let mut published = 0;
        for batch in batches(events) {
            let sent = batch.and_then(|b| self.publish_batch(&b));
            match sent {
                Ok(n) => published += n,
                Err(error) => return Err(PublishError { published, error }),
            }
        }
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_full_but_the_last_and_stop_at_the_first_error() {
        let n = 2 * batch_limit() + 1;
        let sizes: Vec<usize> = batches((0..n).map(|_| Ok(b"a")))
            .map(|b| b.map(|b| b.len()).unwrap_or(0))
            .collect();
        assert_eq!(sizes, [batch_limit(), batch_limit(), 1]);
        assert_eq!(
            batches(std::iter::empty::<Result<&[u8], Error>>()).count(),
            0
        );
        let events: Vec<Result<&[u8], Error>> = vec![Ok(b"a"), Ok(b""), Ok(b"c")];
        let got: Vec<_> = batches(events).collect();
        assert_eq!(got.len(), 1);
        assert!(matches!(&got[0], Err(Error::InvalidArgument(m)) if m.contains("event 2")));
        let events: Vec<Result<&[u8], Error>> =
            vec![Ok(b"a"), Err(Error::InvalidArgument("x".into())), Ok(b"c")];
        assert_eq!(batches(events).count(), 1);
    }
}
