//! One blocking client call, run on libuv's thread pool.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_engine_client::{Client, Error as ClientError, Result as ClientResult};
use napi::bindgen_prelude::Task;
use napi::Env;

use crate::error::to_js_error;
use crate::reply::Reply;

/// A blocking call of the client.
#[derive(Debug)]
pub enum Op {
    /// `hello`.
    Info,
    /// `stats`.
    Stats,
    /// One event, waiting at most the time-out (`None`: no limit).
    Next(Option<Duration>),
    /// Up to `max` events, waiting at most the time-out for the first.
    NextBatch(usize, Option<Duration>),
    /// Publish these events (in the SDK core's batches).
    Publish(Vec<Vec<u8>>),
    /// Quit.
    Quit,
    /// Fails with this error without a request (an argument checked on the event-loop thread,
    /// reported through the Promise like every other error).
    Fail(ClientError),
}

impl Op {
    fn run(self, client: &mut Client) -> ClientResult<Reply> {
        Ok(match self {
            Op::Info => Reply::Info(client.hello()?.into()),
            Op::Stats => Reply::Stats(client.stats()?.into()),
            Op::Next(timeout) => Reply::Event(client.next(timeout)?.map(|e| e.data)),
            Op::NextBatch(max, timeout) => Reply::Events(
                client
                    .next_batch(max, timeout)?
                    .into_iter()
                    .map(|e| e.data)
                    .collect(),
            ),
            Op::Publish(events) => Reply::Count(client.publish_many(&events)? as f64),
            Op::Fail(e) => return Err(e),
            Op::Quit => {
                client.quit()?;
                Reply::Nothing
            }
        })
    }
}

/// An [`Op`] on a shared client, as a napi [`Task`]: `compute` runs on a libuv worker thread,
/// `resolve` on the event-loop thread.
pub struct ClientTask {
    client: Arc<Mutex<Client>>,
    op: Option<Op>,
}

impl ClientTask {
    /// A task that runs `op` on `client`.
    pub fn new(client: Arc<Mutex<Client>>, op: Op) -> Self {
        ClientTask {
            client,
            op: Some(op),
        }
    }
}

impl Task for ClientTask {
    type Output = ClientResult<Reply>;
    type JsValue = Reply;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let Some(op) = self.op.take() else {
            return Ok(Err(ClientError::UnexpectedReply(
                "the call was already made".into(),
            )));
        };
        let client = &self.client;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // A poisoned lock only means an earlier call panicked; the client itself is in a
            // consistent state between requests.
            let mut client = client.lock().unwrap_or_else(|p| p.into_inner());
            op.run(&mut client)
        }));
        Ok(outcome.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(ClientError::UnexpectedReply(format!(
                "internal error in the client (panic: {what})"
            )))
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        output.map_err(|e| to_js_error(&env, &e))
    }
}
